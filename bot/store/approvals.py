"""approvals and approval_candidates: the owner's approval queue (bot/posting/approval.py), one row
per slot and one per candidate sent; the direct messages themselves are deliveries (kind
"approval", ref "<slot>/<number>"; notes to the owner: kind "approval-note", ref
"<slot>/note/<status answered>"), so they leave through the one publisher, exactly once."""
from __future__ import annotations

import json

from .base import StoreBase
from .records import Approval, ApprovalCandidate, PooledCandidate

_COLUMNS = "slot, decision, number, text, how, answer, refused, asked_at, decided_at, cleaned_at"
_CANDIDATE_COLUMNS = "slot, number, text, canonical, score, temperature, features"
MESSAGE_KINDS = ("approval", "approval-note")


def _candidate(row) -> ApprovalCandidate:
    return ApprovalCandidate(*row[:6], json.loads(row[6] or "{}"))


class ApprovalsTable(StoreBase):
    def open_approval(self, slot: int, candidates: list[PooledCandidate], now: int) -> bool:
        """Durably note that the owner is asked about slot, with the candidates (numbered 1.. in
        the given order), before any message is sent. False if the slot was asked (or decided)
        already: then ask nothing."""
        steps = [(f"INSERT INTO approvals ({_COLUMNS}) VALUES (?, NULL, NULL, NULL, NULL, NULL, NULL, ?, NULL, NULL)",
                  (slot, now))]
        steps += [(f"INSERT INTO approval_candidates ({_CANDIDATE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                   (slot, n, c.text, c.canonical, c.score, c.temperature, json.dumps(c.features)))
                  for n, c in enumerate(candidates, 1)]
        try:
            self._run(steps)
        except self.integrity_errors:
            return False
        return True

    def approval(self, slot: int) -> Approval | None:
        rows = self._rows(f"SELECT {_COLUMNS} FROM approvals WHERE slot = ?", (slot,))
        return Approval(*rows[0]) if rows else None

    def approvals(self, since: int | None = None, uncleaned: bool = False) -> list[Approval]:
        """Every slot's row, oldest first; since: from that slot on; uncleaned: only those whose
        messages are not deleted yet."""
        where, params = ["TRUE"], []
        if since is not None:
            where.append("slot >= ?")
            params.append(since)
        if uncleaned:
            where.append("cleaned_at IS NULL")
        rows = self._rows(f"SELECT {_COLUMNS} FROM approvals WHERE {' AND '.join(where)} ORDER BY slot", tuple(params))
        return [Approval(*r) for r in rows]

    def approval_candidates(self, slot: int | None = None) -> list[ApprovalCandidate]:
        """The candidates sent for slot (every slot's when None), by slot and number."""
        where, params = ("WHERE slot = ?", (slot,)) if slot is not None else ("", ())
        rows = self._rows(f"SELECT {_CANDIDATE_COLUMNS} FROM approval_candidates {where} ORDER BY slot, number",
                          params)
        return [_candidate(r) for r in rows]

    def decide_approval(self, slot: int, decision: str, number: int | None, text: str | None, how: str,
                        answer: str | None, now: int) -> bool:
        """Store the slot's one decision: True if this call made it, False if the slot was decided
        already (the first answer wins; a second favourite, a late answer). A slot never asked
        (the timeout rule at a slot whose messages never went out) gets its row here."""
        def work(cursor):
            cursor.execute(self._sql("UPDATE approvals SET decision = ?, number = ?, text = ?, how = ?, answer = ?, "
                                     "decided_at = ? WHERE slot = ? AND decision IS NULL"),
                           (decision, number, text, how, answer, now, slot))
            if cursor.rowcount:
                return True
            cursor.execute(self._sql("SELECT 1 FROM approvals WHERE slot = ?"), (slot,))
            if cursor.fetchall():
                return False
            cursor.execute(self._sql(f"INSERT INTO approvals ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, NULL, ?, ?, NULL)"),
                           (slot, decision, number, text, how, answer, now, now))
            return True
        try:
            return self._transact(work)
        except self.integrity_errors:  # another process wrote the row between the two statements
            return False

    def refuse_answer(self, slot: int, why: str) -> None:
        """Note an answer that could not be used (shown by `bot queue`); the slot stays open."""
        self._run([("UPDATE approvals SET refused = ? WHERE slot = ?", (why[:300], slot))])

    def mark_cleaned(self, slot: int, now: int) -> None:
        self._run([("UPDATE approvals SET cleaned_at = ? WHERE slot = ?", (now, slot))])

    def approval_message(self, status_id: str) -> tuple[int, int] | None:
        """(slot, candidate number) of one of the bot's approval messages by its status id; number
        0 for a note to the owner. None for any other status."""
        rows = self._rows("SELECT kind, ref FROM deliveries WHERE remote_id = ? AND kind IN (?, ?)",
                          (str(status_id), *MESSAGE_KINDS))
        if not rows:
            return None
        kind, ref = rows[0]
        slot, _, rest = ref.partition("/")
        return int(slot), (int(rest) if kind == "approval" else 0)

    def approval_messages(self, slot: int) -> list[str]:
        """Status ids of the slot's messages that reached the server."""
        rows = self._rows("SELECT remote_id FROM deliveries WHERE kind IN (?, ?) AND ref LIKE ? AND state = 'sent' "
                          "AND remote_id IS NOT NULL ORDER BY created_at, ref", (*MESSAGE_KINDS, f"{int(slot)}/%"))
        return [r[0] for r in rows]

    def message_times(self, since: int) -> list[int]:
        """When each approval message (and note) from since on was begun, epoch seconds."""
        return [r[0] for r in self._rows("SELECT created_at FROM deliveries WHERE kind IN (?, ?) AND created_at >= ? "
                                         "AND state <> 'refused' ORDER BY created_at", (*MESSAGE_KINDS, since))]

    def statuses_since(self, network: str, since: int, kinds: tuple[str, ...] | None = None) -> int:
        """Statuses sent, or being sent, to network from since on (of these kinds; default every
        kind: posts, replies, messages): what the server's status budget counts."""
        where, params = "", ()
        if kinds:
            where, params = f"AND kind IN ({', '.join('?' * len(kinds))})", tuple(kinds)
        return self._rows(f"SELECT COUNT(*) FROM deliveries WHERE network = ? AND created_at >= ? "
                          f"AND state <> 'refused' {where}", (network, since, *params))[0][0]
