"""Approval mode (APPROVAL=on): before each slot the owner picks what the bot posts.

APPROVAL_AHEAD before a slot the bot sends the owner (APPROVAL_OWNER) the top few candidates of
the worker's own choice path (the learner's pick, then its pick among the rest, ...), one direct
message each, threaded in one conversation. The owner answers from any Mastodon app:

- favourite a candidate's message, or reply with its number: that candidate is posted;
- reply "none" (or "skip", "no"...): the slot is skipped;
- reply with a text of their own: it is screened like any candidate (every filter: safety,
  form, freshness, novelty, mixedness, whole words) and posted if it passes; if not, the bot
  answers why, and the slot stays open.

Only answers from the owner's account count (ungrouped v1 notifications, by account id). The
slot, not the candidate, is the unit: its first usable answer is its one decision (approvals
table), so two favourites or a late answer change nothing, and the post goes out through the
worker's own intent and publisher (Worker.pick asks for_slot here), so a crash at any point gives
one post. No answer by the time the slot is due: APPROVAL_TIMEOUT_ACTION posts the worker's pick
(said in the log and `bot stats`) or skips the slot. `bot queue` acts on the same table.

The messages leave through the one publisher (deliveries, kind "approval"), count toward the
server's status budget (300 per 3 hours on Mastodon) and MAX_POSTS_PER_DAY, and are deleted once
the slot is settled, where the server allows. Every answer is a labelled example stored with the
candidates' features; the curator is refitted from them (bot/curation/picks.py) and the refit
used only where it ranks held-out answers at least as well as the shipped curator.
"""
from __future__ import annotations

import json
import logging
import re
import threading
import time
from dataclasses import dataclass, replace
from typing import Callable

import numpy as np

from ..curation import picks, seams
from ..curation.candidates import FILTER_ORDER, screen
from ..curation.curator import Curator
from ..curation.words import canonical
from ..errors import (ApprovalError, ConfigError, MissingScopeError, NotReadableError, RejectedError,
                      TemporaryServerError)
from ..outlets.base import Outbound
from ..store import Approval, PooledCandidate, Store
from . import schedule
from .replies import mention_text

log = logging.getLogger("bot")
ANSWER_REASON = "approval-answer"  # the replier's skip reason: an answer to an approval message
AFTER_KEY = "approval_after"  # bot_meta: the last notification read for answers
OWNER_KEY = "approval_owner"  # bot_meta: the owner's account, as resolved from APPROVAL_OWNER
CURATOR_KEY = "approval_curator"  # bot_meta: the last refit from the answers (picks.Refit.summary)
# Mastodon's limit on creating statuses: 300 per 3 hours per account (docs.joinmastodon.org/api/rate-limits).
STATUS_BUDGET, BUDGET_WINDOW = 300, 3 * 3600
MIN_NOTICE = 60.0  # seconds: a slot due sooner than this is not asked about (the timeout rule decides it)
NONE_ANSWERS = frozenset({"none", "no", "nope", "skip", "reject", "neither", "nothing", "pass", "0", "none of them",
                          "none of these", "no thanks", "skip it", "skip this one", "reject all", "skip this slot"})
DECISIONS = {"pick": "picked", "edit": "edited", "none": "rejected them all",
             "timeout-post": "no answer: posted the worker's pick", "timeout-skip": "no answer: skipped"}


# -- the pure part ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Answer:
    """What an owner's reply says: "pick" (number), "none", "edit" (text; number: the candidate
    it answered, if any) or "unclear" (text: why)."""
    kind: str
    number: int | None = None
    text: str | None = None


def parse_answer(text: str, count: int) -> Answer:
    """An answer's words (mentions and HTML already removed: replies.mention_text) for a slot
    with count candidates: a number picks, a refusal word rejects them all, anything else is an
    edit. A number outside 1..count is unclear."""
    words = " ".join(text.split())
    bare = words.strip(" .!?,;:'\"()").lower()
    number = re.fullmatch(r"#?(\d{1,3})", bare)
    if number:
        n = int(number.group(1))
        if n == 0:
            return Answer("none")
        if 1 <= n <= count:
            return Answer("pick", n)
        return Answer("unclear", text=f"there is no candidate {n}: answer 1 to {count}")
    if bare in NONE_ANSWERS:
        return Answer("none")
    if not bare:
        return Answer("unclear", text="the answer is empty")
    return Answer("edit", text=words)


def message_text(acct: str, number: int, count: int, text: str, slot: int) -> str:
    """The direct message for one candidate; the first one says how to answer."""
    head = f"@{acct} "
    if number == 1:
        when = time.strftime("%a %H:%M UTC", time.gmtime(slot))
        head += (f"Which one for {when}? Favourite one to post it, or reply with its number, \"none\" to skip the "
                 "slot, or a text of your own.\n\n")
    return f"{head}{number}/{count}: {text}"


ANSWERS = ("pick", "edit", "none")  # the owner's decisions (a timeout is not an answer)


def examples(store: Store) -> list[picks.Example]:
    """Every answered slot as a labelled example (timeouts are not answers): the candidates
    shown and the one picked (an edit counts for the candidate it answered; one typed without
    answering a candidate counts as none of them)."""
    shown: dict[int, list] = {}
    for c in store.approval_candidates():
        shown.setdefault(c.slot, []).append(c.features)
    out = []
    for row in store.approvals():
        if row.decision not in ANSWERS or not shown.get(row.slot):
            continue
        picked = row.number - 1 if row.decision != "none" and row.number else None
        out.append(picks.Example(tuple(shown[row.slot]), picked))
    return out


def refit_summary(store: Store) -> dict:
    """The last refit's summary (picks.Refit.summary), {} before the first."""
    try:
        return json.loads(store.get_meta(CURATOR_KEY) or "{}")
    except ValueError:
        return {}


def adopted_curator(store: Store, shipped: Curator) -> Curator:
    """The curator posts are ranked by: the refit from the owner's answers where it is used
    (picks.Refit.used), else the shipped one."""
    return picks.from_summary(refit_summary(store), shipped) or shipped


def edit_screen(evidence, max_chars: int) -> Callable[[str, frozenset[str]], str | None]:
    """(text, posted canonicals) -> why the filters refuse it ("novelty: ..."), or None: an
    edit passes every filter a candidate passes (candidates.screen)."""
    def check(text: str, posted: frozenset[str]) -> str | None:
        verdicts = screen(text, 0.0, evidence, max_chars, posted).verdicts
        failed = next((name for name in FILTER_ORDER if not verdicts[name].passed), None)
        return None if failed is None else f"{failed}: {verdicts[failed].detail or verdicts[failed].reason}"
    return check


def edit_features(runtime, temperature: float) -> Callable[[str], dict[str, float]]:
    """text -> the curator's features of an owner's edit, computed as for the halves the network
    writes (pipeline.featurize), so the post it makes teaches the engagement learner like any
    other; {} for a text that is not two halves at a seam (the learner then sees only its level).
    No temperature wrote an edit: it gets `temperature` (the worker's mean one), so how it does
    teaches the learner nothing about temperature."""
    from ..curation.pipeline import featurize

    def describe(text: str) -> dict[str, float]:
        parsed = seams.parse(text)
        if not parsed:
            return {}
        seam, song, paper = parsed
        return {**featurize(runtime.sampler, runtime.evidence, [(text, song, paper, seam)])[0],
                "temperature": temperature}
    return describe


def when(slot: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(slot))


def decide(store: Store, slot: int, answer: Answer, how: str, ref: str | None, now: float, interval: float,
           check: Callable[[str, frozenset[str]], str | None]) -> tuple[bool, str]:
    """Store answer as slot's decision if it is the slot's first usable answer and the slot is
    not over. Both front ends (the owner's messages, `bot queue`) decide through here. Returns
    (decided, what happened in words)."""
    row = store.approval(slot)
    if row is None:
        return False, f"slot {when(slot)} was never asked about"
    if row.decision is not None:
        return False, f"slot {when(slot)} was decided already ({DECISIONS[row.decision]})"
    if now >= slot + interval:
        return False, f"slot {when(slot)} is over"
    shown = store.approval_candidates(slot)
    if answer.kind == "pick":
        if not 1 <= (answer.number or 0) <= len(shown):
            return False, f"there is no candidate {answer.number} for slot {when(slot)}: answer 1 to {len(shown)}"
        chosen = shown[answer.number - 1]
        decided = store.decide_approval(slot, "pick", chosen.number, chosen.text, how, ref, int(now))
        done = f"slot {when(slot)} posts {chosen.text!r}"
    elif answer.kind == "none":
        decided = store.decide_approval(slot, "none", None, None, how, ref, int(now))
        done = f"slot {when(slot)} is skipped"
    elif answer.kind == "edit":
        why = check(answer.text, store.posted_canonicals())
        if why is not None:
            store.refuse_answer(slot, f"{answer.text!r}: {why}")
            return False, f"not posted: {answer.text!r} fails the filters ({why})"
        decided = store.decide_approval(slot, "edit", answer.number, answer.text, how, ref, int(now))
        done = f"slot {when(slot)} posts the edit {answer.text!r}"
    else:
        return False, answer.text or "the answer is unclear"
    if not decided:  # another answer got there first
        row = store.approval(slot)
        return False, f"slot {when(slot)} was decided already ({DECISIONS.get(row.decision, row.decision)})"
    return True, done


@dataclass(frozen=True)
class Owner:
    account_id: str
    acct: str  # user for a local account, user@domain for a remote one


@dataclass(frozen=True)
class Notice:
    """A favourite or a mention from the bot's notifications, as the queue reads it."""
    notification_id: str
    kind: str  # "favourite" or "mention"
    account_id: str
    acct: str
    status_id: str  # the favourited status (ours), or the mention
    in_reply_to_id: str | None
    content: str


def resolve_owner(gateway, handle: str) -> Owner:
    """The owner's account on the bot's server (lookup, then a search that resolves remote
    accounts). Raises ConfigError when there is none, TemporaryServerError."""
    found = None
    try:
        found = gateway._read_one("look up APPROVAL_OWNER", gateway.client.account_lookup, handle)
    except (NotReadableError, RejectedError):
        try:
            results = gateway._read_one("search for APPROVAL_OWNER", gateway.client.account_search, handle,
                                        resolve=True, limit=5)
        except (NotReadableError, RejectedError):
            results = []
        # Only the very account: a local "alice" is not alice@their.server.
        found = next((a for a in results or [] if str(a.get("acct", "")).lower() == handle.lower()), None)
    if not isinstance(found, dict) or found.get("id") is None:
        raise ConfigError(f"APPROVAL_OWNER={handle}: no such account seen from {gateway.client.api_base_url}; "
                          "write it as name@their.server")
    return Owner(str(found["id"]), str(found.get("acct") or handle))


def read_notices(gateway, after: str | None, limit: int = 40) -> tuple[list[Notice], str | None]:
    """Favourites and mentions newer than notification id after (the newest page if None), oldest
    first, and the newest notification id seen (None: nothing new): gateway.notifications' paging.
    Raises MissingScopeError (no read:notifications), TemporaryServerError."""
    try:
        raw, newest = gateway.notifications("read answers", ["favourite", "mention"], after, limit)
    except NotReadableError as e:
        raise MissingScopeError(f"read answers: the server will not show the notifications ({e.status}); "
                                "run `bot register` again") from None
    notices = []
    for n in raw:
        status, account = n.get("status"), n.get("account")
        if n.get("type") in ("favourite", "mention") and isinstance(status, dict) and isinstance(account, dict) \
                and status.get("id") is not None and account.get("id") is not None:
            notices.append(Notice(str(n["id"]), n["type"], str(account["id"]), str(account.get("acct") or ""),
                                  str(status["id"]),
                                  str(status["in_reply_to_id"]) if status.get("in_reply_to_id") else None,
                                  status.get("content") or ""))
    return notices, newest


# -- the job ---------------------------------------------------------------------------------------

class ApprovalQueue:
    """The approval job (run every CHECK_EVERY) and the worker's hook (for_slot)."""

    def __init__(self, settings, store: Store, gateway, publisher, worker, owner: Owner, shipped: Curator,
                 check: Callable[[str, frozenset[str]], str | None], describe: Callable[[str], dict[str, float]],
                 clock: Callable[[], float] = time.time):
        """publisher: Mastodon only (messages are not sent to other networks); worker: the
        posting worker (its candidates, choice and schedule); shipped: the curator the refit
        starts from; check: edit_screen's function; describe: edit_features' function."""
        self.settings, self.store, self.gateway, self.publisher = settings, store, gateway, publisher
        self.worker, self.owner, self.shipped, self.check, self.clock = worker, owner, shipped, check, clock
        self.describe = describe
        self._lock = threading.Lock()  # the job's thread and the worker's (for_slot) read answers in turn
        self._said: set = set()  # things logged once (a slot with no room, a refused message)
        self._failing: str | None = None  # why reading answers fails, while it does
        self._handed: set[int] = set()  # slots whose approved text this process gave the worker
        self._refit_at: int | None = None  # answered slots when this process last tried a refit

    # the job
    def run_queue(self) -> None:
        """Send what is due (the next slot's candidates, messages left unsent), read the owner's
        answers, delete the messages of settled slots, refit from new answers."""
        self.ask()
        for row in self.store.approvals(since=int(self.clock() - self.settings.interval)):
            if row.decision is None:
                self.send(row.slot)
        try:
            self.read_answers()
        except (TemporaryServerError, MissingScopeError) as e:  # said once while it lasts
            if self._failing != str(e):
                log.warning("approval: %s; reading the owner's answers later", e)
            self._failing = str(e)
        else:
            if self._failing:
                log.info("approval: reading the owner's answers again")
            self._failing = None
        self.clean_up()
        self.refit()

    def next_slot(self) -> tuple[int, float]:
        """The next slot the worker will post in, and when it is due: as the worker reckons it
        (schedule, quiet hours, the day's cap), past a slot the owner already decided to skip."""
        _, anchor, interval, *rest = self.worker._schedule_state()
        t = self.clock()
        for _ in range(4):
            due = schedule.next_post_time(t, anchor, interval, *rest)
            due = max(due, self.worker.held_until(due) or due)
            slot = schedule.slot_of(due, anchor, interval)
            row = self.store.approval(slot)
            if row is None or row.decision is None or row.posts:
                break
            t = slot + interval  # that slot posts nothing: the one after it
        return slot, due

    def ask(self) -> int:
        """Ask the owner about the next slot once it is APPROVAL_AHEAD away (and at least
        MIN_NOTICE): its candidates stored first, then sent. Returns how many were sent."""
        now = self.clock()
        slot, due = self.next_slot()
        if not MIN_NOTICE <= due - now <= self.settings.approval_ahead or self.store.approval(slot) is not None:
            return 0
        room = self.room(now)
        if room < 1:
            if ("room", slot) not in self._said:
                self._said.add(("room", slot))
                log.warning("approval: no room for messages to @%s about slot %s (they count toward the server's %d "
                            "statuses per 3 h%s); the timeout rule decides it", self.owner.acct, when(slot),
                            STATUS_BUDGET, " and MAX_POSTS_PER_DAY" if self.settings.max_posts_per_day else "")
            return 0
        shown = self.shortlist(min(room, self.settings.approval_candidates))
        if not shown or self.stop_requested() or not self.store.open_approval(slot, shown, int(now)):
            return 0
        log.info("approval: asked @%s about slot %s: %s", self.owner.acct, when(slot),
                 "; ".join(f"{n}. {c.text}" for n, c in enumerate(shown, 1)))
        return self.send(slot)

    def message_times(self, since: float) -> list[int]:
        """When the messages of the last day went out (the worker counts them toward
        MAX_POSTS_PER_DAY)."""
        return self.store.message_times(int(since))

    def stop_requested(self) -> bool:
        return self.worker.stop.is_set()

    def room(self, now: float) -> int:
        """Messages that may go out for one slot: within the server's status budget and
        MAX_POSTS_PER_DAY (posts and messages of the last 24 hours), leaving room for the post."""
        left = STATUS_BUDGET - self.store.statuses_since("mastodon", int(now - BUDGET_WINDOW)) - 1
        cap = self.settings.max_posts_per_day
        if cap:
            day = self.store.statuses_since("mastodon", int(now - 86400), kinds=("post", "approval", "approval-note"))
            left = min(left, cap - day - 1)
        return left

    def shortlist(self, count: int) -> list[PooledCandidate]:
        """The worker's own choice path, count times: its pick, then its pick among the rest."""
        left = list(self.worker._candidates())
        history = self.worker.learner.history()
        chosen = []
        while left and len(chosen) < count:
            choice = self.worker.choose(left, history)
            if choice is None:
                break
            chosen.append(left.pop(choice.index))
        return chosen

    def send(self, slot: int, settle_only: bool = False) -> int:
        """Send the slot's messages in order, each answering the one before (one conversation in
        the owner's app); settle_only: only those begun before (a crash, a failure for now).
        Returns how many the server holds. Stops at one that is pending or refused."""
        shown = self.store.approval_candidates(slot)
        previous, held = None, 0
        for c in shown:
            ref = f"{slot}/{c.number}"
            if settle_only and self.store.delivery("approval", ref, "mastodon") is None:
                break
            outbound = Outbound("approval", ref, message_text(self.owner.acct, c.number, len(shown), c.text, slot),
                                reply_to=previous, visibility="direct")
            try:
                published = self.publisher.publish(outbound, patient=False, settling=settle_only).get("mastodon")
            except RejectedError as e:
                if ("refused", slot) not in self._said:
                    self._said.add(("refused", slot))
                    log.warning("approval: the message about slot %s was refused (%s); the timeout rule decides it",
                                when(slot), e)
                break
            if published is None:
                break
            previous, held = published.status_id, held + 1
        return held

    # answers
    def read_answers(self) -> int:
        """Read the owner's answers since the last read and decide what they decide. Returns how
        many slots they decided. Raises MissingScopeError, TemporaryServerError."""
        decided = 0
        with self._lock:
            notices, newest = read_notices(self.gateway, self.store.get_meta(AFTER_KEY))
            for notice in notices:
                decided += self.handle(notice)
                self.store.set_meta({AFTER_KEY: notice.notification_id})
            if newest is not None:
                self.store.set_meta({AFTER_KEY: newest})
        return decided

    def handle(self, notice: Notice) -> bool:
        """One favourite or mention: an answer if it is the owner's, on one of the slot messages."""
        target = notice.status_id if notice.kind == "favourite" else notice.in_reply_to_id
        found = self.store.approval_message(target) if target else None
        if found is None:
            return False  # not about the queue (a mention is the replier's)
        slot, number = found
        if notice.account_id != self.owner.account_id:
            log.warning("approval: ignored a %s from @%s on a message about slot %s: only @%s answers", notice.kind,
                        notice.acct, when(slot), self.owner.acct)
            return False
        if notice.kind == "favourite":
            if number == 0:
                return False  # a favourite on a note says nothing
            answer, how = Answer("pick", number), "favourite"
        else:
            answer = parse_answer(mention_text(notice.content), len(self.store.approval_candidates(slot)))
            if answer.kind == "edit" and number:
                answer = replace(answer, number=number)
            how = "reply"
        decided, said = decide(self.store, slot, answer, how, notice.notification_id, self.clock(),
                               self.settings.interval, self.check)
        log.log(logging.INFO if decided else logging.WARNING, "approval: %s by @%s: %s", how, self.owner.acct, said)
        if not decided and notice.kind == "mention":  # the owner typed something: say why it did nothing
            self.note(slot, notice.status_id, f"{said[0].upper()}{said[1:]}.")
        return decided

    def note(self, slot: int, reply_to: str, text: str) -> None:
        """A short direct answer to the owner (an answer that did nothing, and why)."""
        outbound = Outbound("approval-note", f"{slot}/note/{reply_to}", f"@{self.owner.acct} {text}"[:480],
                            reply_to=reply_to, visibility="direct")
        try:
            self.publisher.publish(outbound, patient=False)
        except RejectedError as e:
            log.warning("approval: the note to @%s was refused (%s)", self.owner.acct, e)

    # the worker's hook
    def for_slot(self, slot: int, pick: PooledCandidate, how: str) -> tuple[PooledCandidate, str] | None:
        """What slot posts, now that it is due: the owner's pick or edit; with no answer, the
        timeout rule (APPROVAL_TIMEOUT_ACTION: the worker's pick, or nothing); nothing when the
        owner said none. The answers are read once more first. None: post nothing (now)."""
        row = self.store.approval(slot)
        if row is None or row.decision is None:
            try:
                self.read_answers()
            except TemporaryServerError as e:
                log.warning("approval: %s; slot %s waits for the owner's answers to be readable", e, when(slot))
                return None
            except (MissingScopeError, NotReadableError, RejectedError) as e:
                log.error("approval: %s; the timeout rule decides slot %s", e, when(slot))
            row = self.store.approval(slot)
        if row is None or row.decision is None:
            row = self.time_out(slot, pick, asked=row is not None)
        if row.decision in ("pick", "edit") and slot in self._handed:
            # Asked again for the slot by this process: the server refused the approved text (or
            # it was posted before). The timeout rule decides instead.
            log.warning("approval: slot %s: the owner's %s %r could not be posted; %s", when(slot), row.decision,
                        row.text, "posting the worker's pick instead" if self.settings.approval_timeout_action == "post"
                        else "skipping the slot")
            return (pick, how) if self.settings.approval_timeout_action == "post" else None
        if row.decision == "pick":
            shown = {c.number: c for c in self.store.approval_candidates(slot)}
            c = shown[row.number]
            self._handed.add(slot)
            return PooledCandidate(c.text, c.canonical, c.score, c.temperature, c.features), "approved"
        if row.decision == "edit":
            found = self.describe(row.text)
            self._handed.add(slot)
            return PooledCandidate(row.text, canonical(row.text), self.shipped.score(found) if found else 0.0,
                                   found.get("temperature", 0.0), found), "edited"
        if row.decision == "timeout-post":
            return pick, how
        return None  # "none", "timeout-skip"

    def time_out(self, slot: int, pick: PooledCandidate, asked: bool) -> Approval:
        """The slot's decision by APPROVAL_TIMEOUT_ACTION (logged once, by the call that makes it)."""
        posting = self.settings.approval_timeout_action == "post"
        if self.store.decide_approval(slot, "timeout-post" if posting else "timeout-skip",
                                      None, pick.text if posting else None, "timeout", None, int(self.clock())):
            why = (f"no answer from @{self.owner.acct} by the slot" if asked else
                   f"@{self.owner.acct} was not asked (the worker was not running APPROVAL_AHEAD before it)")
            then = f"posting the worker's pick {pick.text!r}" if posting else "skipping the slot"
            log.warning("approval: slot %s: %s; %s (APPROVAL_TIMEOUT_ACTION=%s)", when(slot), why, then,
                        self.settings.approval_timeout_action)
        return self.store.approval(slot)

    # after the slot
    def settled(self, row: Approval, now: float) -> bool:
        """Nothing more can happen in the slot: it is over, skipped, or its post went out."""
        if now >= row.slot + self.settings.interval or row.decision in ("none", "timeout-skip"):
            return True
        post = self.store.delivery("post", str(row.slot), "mastodon")
        return row.posts and post is not None and post.state == "sent"

    def clean_up(self) -> int:
        """Delete the messages of settled slots (a message begun before is settled first, so none
        is left behind). A server that will not let the bot delete them is said once; they stay.
        Returns how many slots were cleaned."""
        now, cleaned = self.clock(), 0
        for row in self.store.approvals(uncleaned=True):
            if not self.settled(row, now) or self.stop_requested():
                continue
            self.send(row.slot, settle_only=True)
            done = True
            for status_id in self.store.approval_messages(row.slot):
                try:
                    self.gateway._read_one("delete an approval message", self.gateway.client.status_delete, status_id)
                except NotReadableError as e:
                    if e.status in (401, 403):
                        if "delete" not in self._said:
                            self._said.add("delete")
                            log.warning("approval: the server will not let the bot delete its messages to @%s (%s); "
                                        "they stay", self.owner.acct, e)
                        break
                except TemporaryServerError:
                    done = False
                    break
                except RejectedError as e:
                    log.warning("approval: %s; the message stays", e)
            if done:
                self.store.mark_cleaned(row.slot, int(now))
                cleaned += 1
        return cleaned

    # learning
    def refit(self) -> picks.Refit | None:
        """Refit from every answer when there are new ones; the refit is used (by this worker's
        learner now, by `bot --dry-run` and restarts through adopted_curator) only where it ranks
        held-out answers at least as well as the shipped curator. New answers are told from the
        count of answered slots (the candidates' features are read only when it changed), so a
        refit that fails is tried, and logged, once per new answer."""
        answered = sum(row.decision in ANSWERS for row in self.store.approvals())
        if answered == self._refit_at:
            return None
        self._refit_at = answered
        found = examples(self.store)
        if not found or refit_summary(self.store).get("answers") == len(found):
            return None
        try:
            result = picks.refit(found, self.shipped)
        except (ValueError, ArithmeticError, np.linalg.LinAlgError) as e:
            log.warning("approval: the refit from %d answers failed (%s); the ranking stays as it was", len(found), e)
            return None
        self.store.set_meta({CURATOR_KEY: json.dumps(result.summary(), sort_keys=True)})
        self.worker.learner.prior = adopted_curator(self.store, self.shipped)
        log.info("approval: learned from %d answers (%d picks)%s", result.answers, result.picks,
                 describe_refit(result.summary()))
        return result


def describe_refit(summary: dict) -> str:
    """"; the owner's pick ranks 1.90 of 3 by the shipped curator, 1.40 by the refit (held out):
    the refit is used", or what is missing."""
    if not summary.get("picks") or summary.get("rank_shipped") is None:
        return ""
    used = ("the refit is used" if summary.get("used") else
            f"the shipped curator stays (a refit is used after {picks.MIN_PICKS} picks)"
            if summary["picks"] < picks.MIN_PICKS else "the shipped curator stays (it ranks them better)")
    return (f"; the owner's pick ranks {summary['rank_shipped']:.2f} of {summary['shown']:.1f} by the shipped "
            f"curator, {summary['rank_refit']:.2f} by the refit (held out): {used}")


def open_slots(store: Store, now: float, interval: float) -> list[Approval]:
    """Slots asked about and not decided that are not over yet, oldest first."""
    return [r for r in store.approvals(since=int(now - interval)) if r.decision is None and now < r.slot + interval]


def queue_lines(store: Store, now: float, interval: float, recent: int = 5) -> list[str]:
    """`bot queue`: the open slots with their candidates, then the last few decisions."""
    lines = []
    for row in open_slots(store, now, interval):
        lines.append(f"slot {when(row.slot)} (--slot {row.slot}): waiting for the owner, asked {when(row.asked_at)}")
        lines += [f"  {c.number}. {c.text}    [curator {c.score:.2f}]" for c in store.approval_candidates(row.slot)]
        if row.refused:
            lines.append(f"  last answer not used: {row.refused}")
    if not lines:
        lines.append("no slot is waiting for the owner's answer")
    decided = [r for r in store.approvals() if r.decision is not None][-recent:]
    if decided:
        lines.append("recent decisions:")
        for r in decided:
            what = f" {r.number}" if r.decision == "pick" else ""
            text = f" {r.text!r}" if r.text else ""
            lines.append(f"  slot {when(r.slot)}: {DECISIONS[r.decision]}{what}{text} ({r.how})")
    return lines


def queue_answer(store: Store, settings, action: str, now: float, number: int | None = None,
                 text: str | None = None, slot: int | None = None,
                 check: Callable[[str, frozenset[str]], str | None] | None = None) -> str:
    """`bot queue approve N | reject | edit TEXT` for slot (default: the oldest open one), as the
    owner's answer would. Returns what happened; raises ApprovalError when nothing did."""
    if slot is None:
        waiting = open_slots(store, now, settings.interval)
        if not waiting:
            raise ApprovalError("no slot is waiting for the owner's answer (`bot queue` lists them)")
        slot = waiting[0].slot
    answer = {"approve": Answer("pick", number), "reject": Answer("none"), "edit": Answer("edit", text=text)}[action]
    decided, said = decide(store, slot, answer, "queue", "queue", now, settings.interval,
                           check or (lambda _text, _posted: None))
    if not decided:
        raise ApprovalError(said)
    return said


def report(store: Store) -> str | None:
    """`bot stats`' lines on the approval queue, None when it was never used."""
    rows = store.approvals()
    if not rows:
        return None
    count = lambda *names: sum(r.decision in names for r in rows)  # noqa: E731
    lines = [f"approval queue: {len(rows)} slots, {count('pick')} picked, {count('edit')} edited, "
             f"{count('none')} rejected, {count('timeout-post')} timed out and posted the worker's pick, "
             f"{count('timeout-skip')} timed out and skipped, {count(None)} open"]
    summary = refit_summary(store)
    if summary.get("answers"):
        lines.append(f"learned from {summary['answers']} answers ({summary['picks']} picks){describe_refit(summary)}")
    return "\n".join(lines)


def queue_for(settings, store: Store, gateway, publisher, worker, runtime, max_chars: int, retry) -> ApprovalQueue:
    """The approval queue for a worker (APPROVAL=on): the owner resolved once (kept in the state
    database while APPROVAL_OWNER stays the same). Raises ConfigError for an owner the server
    does not know."""
    handle = settings.approval_owner
    stored = json.loads(store.get_meta(OWNER_KEY) or "{}")
    if stored.get("handle") == handle:
        owner = Owner(stored["id"], stored["acct"])
    else:
        owner = retry.retry(lambda: resolve_owner(gateway, handle))
        if owner is None:
            raise ConfigError("stopped before APPROVAL_OWNER was looked up")
        store.set_meta({OWNER_KEY: json.dumps({"handle": handle, "id": owner.account_id, "acct": owner.acct})})
    return ApprovalQueue(settings, store, gateway, publisher, worker, owner, runtime.evidence.curator,
                         edit_screen(runtime.evidence, max_chars),
                         edit_features(runtime, sum(settings.temperatures) / len(settings.temperatures)), worker.clock)


def is_answer(store: Store, in_reply_to_id: str | None) -> bool:
    """Whether a mention answers one of the approval messages (the replier leaves it alone)."""
    return bool(in_reply_to_id) and store.approval_message(in_reply_to_id) is not None

