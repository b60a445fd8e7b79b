"""deliveries: one row per (kind, ref, network), written as 'pending' before the first attempt,
then 'sent' (with the network's id and URL) or 'refused' (with the reason). The one publisher's
exactly-once record for every network."""
from __future__ import annotations

from .base import StoreBase
from .records import Delivery

_COLUMNS = "kind, ref, network, text, key, reply_to, state, remote_id, url, reason, created_at, sent_at"
_KEY = "kind = ? AND ref = ? AND network = ?"


class DeliveriesTable(StoreBase):
    def record_delivery(self, d: Delivery) -> bool:
        """Durably note, before the first attempt, that d is about to be sent (stored as 'pending'
        whatever d.state says). False if (kind, ref, network) is known already (another instance,
        or a retry): then send nothing."""
        try:
            self._run([(f"INSERT INTO deliveries ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, 'pending', NULL, NULL, "
                        "NULL, ?, NULL)", (d.kind, d.ref, d.network, d.text, d.key, d.reply_to, d.created_at))])
        except self.integrity_errors:
            return False
        return True

    def delivery(self, kind: str, ref: str, network: str) -> Delivery | None:
        rows = self._rows(f"SELECT {_COLUMNS} FROM deliveries WHERE {_KEY}", (kind, ref, network))
        return Delivery(*rows[0]) if rows else None

    def pending_deliveries(self, network: str | None = None) -> list[Delivery]:
        """Deliveries whose outcome is not known yet, oldest first (all networks, or one)."""
        where, params = ("AND network = ?", (network,)) if network is not None else ("", ())
        rows = self._rows(f"SELECT {_COLUMNS} FROM deliveries WHERE state = 'pending' {where} "
                          "ORDER BY created_at, kind, ref, network", params)
        return [Delivery(*r) for r in rows]

    def delivery_counts(self) -> list[tuple[str, str, str, int, int | None]]:
        """(network, kind, state, how many, the latest sent_at in epoch seconds or None) for each
        combination present, ordered by network, kind and state: what `bot stats` shows per network."""
        rows = self._rows("SELECT network, kind, state, COUNT(*), MAX(sent_at) FROM deliveries "
                          "GROUP BY network, kind, state ORDER BY network, kind, state")
        return [(str(n), str(k), str(s), int(c), None if t is None else int(t)) for n, k, s, c, t in rows]

    def mark_delivered(self, kind: str, ref: str, network: str, remote_id: str, url: str | None, now: int) -> None:
        """The network holds it (sent now, or found after an unclear failure)."""
        self._run([(f"UPDATE deliveries SET state = 'sent', remote_id = ?, url = ?, sent_at = ? WHERE {_KEY}",
                    (remote_id, url, now, kind, ref, network))])

    def mark_refused(self, kind: str, ref: str, network: str, reason: str) -> None:
        """The network refused this text: nothing was published there (a sent one stays sent)."""
        self._run([(f"UPDATE deliveries SET state = 'refused', reason = ? WHERE {_KEY} AND state = 'pending'",
                    (reason, kind, ref, network))])

    def drop_delivery(self, kind: str, ref: str, network: str) -> None:
        """Forget a delivery that was never sent (pending: the credentials were refused; refused:
        every network refused the text and the slot tries another), so the same (kind, ref,
        network) may be recorded again later. A sent one stays."""
        self._run([(f"DELETE FROM deliveries WHERE {_KEY} AND state <> 'sent'", (kind, ref, network))])
