"""The one door every status leaves through, exactly once: posts and replies, on every network.

For each network (an Outlet, bot/outlets/) a status is a delivery in the state store:
1. the intent (text, key, what it answers) is stored before the first attempt;
2. the key goes with every attempt (Mastodon's Idempotency-Key; Bluesky's record key);
3. before any attempt whose predecessor's outcome is unknown (a lost answer, a crash, a stop),
   the network is asked whether it already holds the status (Outlet.find: the account's own
   recent statuses, or the record under the key), because not every server honours keys;
4. the outcome is stored: sent (with the network's id and URL) or refused (with the reason).

Patient deliveries (a post on a bot with one network) retry temporary failures until they work or
the worker stops. Impatient ones (replies; posts when several networks are configured) make one
attempt and leave the delivery pending when it fails for now: the next check settles it, after a
per-network backoff, so one network's outage or one stubborn reply never holds up the others.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import replace
from typing import Callable, Sequence

from ..errors import AuthError, RejectedError, TemporaryServerError
from ..outlets.base import Outbound, Outlet, Published
from ..store import Delivery, Store
from .retry import RetryPolicy, wait_hint
from .schedule import backoff

log = logging.getLogger("bot")


class Publisher:
    def __init__(self, store: Store, outlets: Sequence[Outlet], retry: RetryPolicy,
                 clock: Callable[[], float] = time.time):
        self.store, self.outlets, self.retry, self.clock = store, list(outlets), retry, clock
        self._not_before: dict[str, float] = {}  # network -> when an impatient attempt may go again
        self._failures: dict[str, int] = {}
        self._lock = threading.Lock()  # the worker's and the replier's threads share the gates
        self.stopped: dict[str, str] = {}  # network -> why: an outlet (not the first) whose credentials were refused

    @property
    def networks(self) -> list[str]:
        return [o.network for o in self.outlets]

    def outlet(self, network: str) -> Outlet | None:
        return next((o for o in self.outlets if o.network == network), None)

    def publish(self, outbound: Outbound, patient: bool = True, settling: bool = False) -> dict[str, Published | None]:
        """Deliver outbound on every network: network -> the status, or None (pending: failing for
        now or stopping). settling: outbound was decided by an earlier process, so even a network
        with no delivery record is asked first whether it holds the status. Raises RejectedError
        when every network refused the text, AuthError when the first (main) network refuses the
        credentials (its intent is dropped when nothing went out); another network that does so
        is stopped (Publisher.stopped) and the others go on."""
        live = [o for o in self.outlets if o.network not in self.stopped]
        patient = patient and len(live) == 1
        results: dict[str, Published | None] = {}
        refused: list[RejectedError] = []
        for outlet in live:
            try:
                results[outlet.network] = self.deliver(outbound, outlet, patient, settling)
            except RejectedError as e:
                refused.append(e)
            except AuthError as e:
                if outlet is self.outlets[0]:  # the main network: the worker stops
                    raise
                self.stopped[outlet.network] = str(e)  # only this outlet stops; one line
                log.error("%s: %s; posting there stops until the worker restarts (the other networks go on)",
                          outlet.network, e)
        if refused and len(refused) == len(live):
            raise refused[0]
        return results

    def deliver(self, outbound: Outbound, outlet: Outlet, patient: bool, settling: bool = False) -> Published | None:
        """One network's delivery of outbound (see the module's docstring; settling: see
        publish). Raises RejectedError (stored as refused) and AuthError."""
        kind, ref, network = outbound.kind, outbound.ref, outlet.network
        existing = self.store.delivery(kind, ref, network)
        if existing is not None and existing.state == "sent":
            return Published(existing.remote_id, existing.url, existing.text)
        if existing is not None and existing.state == "refused":
            raise RejectedError(f"{network}: refused before ({existing.reason})")
        if existing is None:
            key = outlet.key(outbound)
            self.store.record_delivery(Delivery(kind, ref, network, outbound.text, key, outbound.reply_to, "pending",
                                                created_at=int(self.clock())))
            unknown = settling
        else:  # an earlier attempt (this process' or a crashed one's): its outcome is unknown
            key, unknown = existing.key, True
            outbound = replace(outbound, text=existing.text, reply_to=existing.reply_to)
        tried = [unknown]

        def attempt() -> Published:
            if tried[0] and (found := outlet.find(outbound, key)) is not None:
                return found
            tried[0] = True
            return outlet.send(outbound, key)

        try:
            published = self.retry.retry(attempt) if patient else self._once(network, attempt)
        except RejectedError as e:
            self.store.mark_refused(kind, ref, network, str(e)[:200])
            raise
        except AuthError:
            if not unknown:  # refused at the first attempt: nothing went out, the slot stays free
                self.store.drop_delivery(kind, ref, network)
            raise
        if published is not None:
            self.store.mark_delivered(kind, ref, network, published.status_id, published.url, int(self.clock()))
        return published

    def _once(self, network: str, attempt: Callable[[], Published]) -> Published | None:
        """One attempt unless this network is backing off; a temporary failure sets its backoff."""
        with self._lock:
            if self.clock() < self._not_before.get(network, 0.0):
                return None
        try:
            published = attempt()
        except TemporaryServerError as e:
            with self._lock:
                failures = self._failures.get(network, 0)
                delay = wait_hint(e, backoff(failures, self.retry.base, self.retry.cap, self.retry.rng))
                self._failures[network] = failures + 1
                self._not_before[network] = self.clock() + delay
            log.warning("%s: %s; next try in %.1f s", network, e, delay)
            return None
        with self._lock:
            self._failures.pop(network, None)
            self._not_before.pop(network, None)
        return published

    def deliveries(self, outbound: Outbound) -> list[Delivery]:
        """The stored deliveries of outbound, on the networks this publisher drives."""
        found = (self.store.delivery(outbound.kind, outbound.ref, o.network) for o in self.outlets)
        return [d for d in found if d is not None]

    def forget(self, outbound: Outbound) -> None:
        """Drop outbound's deliveries (every network refused its text: the slot tries another)."""
        for d in self.deliveries(outbound):
            self.store.drop_delivery(d.kind, d.ref, d.network)

    def pending(self, kind: str) -> list[Delivery]:
        """Unfinished deliveries of this kind ("post" or "reply"), oldest first."""
        return [d for d in self.store.pending_deliveries() if d.kind == kind and self.outlet(d.network)]


def mastodon_outlet(settings, gateway, account_id, status_limit: int | None = None):
    """The Mastodon outlet for these settings (POST_VISIBILITY, POST_CONTENT_WARNING, POST_LANGUAGE)."""
    from ..outlets.mastodon import MastodonOutlet
    from .gateway import DEFAULT_STATUS_LIMIT

    return MastodonOutlet(gateway, account_id, status_limit or DEFAULT_STATUS_LIMIT, settings.visibility,
                          settings.content_warning, settings.language)


def outlets_for(settings, store, gateway, account_id, status_limit: int | None = None) -> list[Outlet]:
    """The outlets NETWORKS names, in its order: Mastodon through gateway (mastodon_outlet);
    Bluesky (bot/outlets/bluesky.py) with its session kept in store's bot_meta, so that a restart
    reuses it instead of logging in (30 logins per 5 minutes). Raises ConfigError when Bluesky is
    named but its handle or app password is not set."""
    from .settings import require_bluesky

    outlets: list[Outlet] = []
    if "mastodon" in settings.networks:
        outlets.append(mastodon_outlet(settings, gateway, account_id, status_limit))
    if "bluesky" in settings.networks:
        from ..outlets.bluesky import StoreSessions, from_settings

        require_bluesky(settings)
        outlets.append(from_settings(settings, StoreSessions(store)))
    return outlets
