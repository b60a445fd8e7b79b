"""Bluesky as an outlet of the one publisher (base.py), exactly once through the protocol itself.

Bluesky has no Idempotency-Key. Instead each status's record key is chosen by the bot: a TID (tid.py)
from the planned slot time and a fixed clock id, so every attempt for a slot names the same record.
It is written with com.atproto.repo.putRecord and `swapRecord: null` ("only if no record is
there"): the reference PDS creates the record when the key is free, does nothing when the identical
record is already there, and answers 400 InvalidSwap when another record holds the key. A record is
a pure function of the status and its key (createdAt is the key's time), so a re-send after a crash
is the identical record. After an attempt with an unknown outcome, getRecord on the key says whether
the post exists. Sources: https://atproto.com/specs/record-key, the lexicons of
com.atproto.repo.putRecord / getRecord and app.bsky.feed.post, and tests against @atproto/pds 0.5.35.

Sessions: logins (com.atproto.server.createSession) are limited to 30 per 5 minutes and 300 a day
per account, so the outlet logs in once with the app password and keeps the session (access and
refresh tokens) in a SessionKeeper, in practice the state database (StoreSessions): it outlives
restarts wherever the bot runs (a Heroku dyno's disk does not), and the worker already writes there.
The access token is refreshed with the refresh token before it expires (atproto's Client, 15 minutes
early) or when the server calls it expired; only a refused refresh token costs a new login.

The Python client is `atproto` (0.0.x: pinned exactly). Its generated methods drop fields that are
None, so putRecord, whose `swapRecord` must be a JSON null, goes as a raw XRPC call; the other calls
go raw too, so records round-trip as the server wrote them (a profile keeps fields we do not know).
"""
from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Protocol

import httpx

from ..errors import AuthError, RejectedError, ServerError, TemporaryServerError
from . import richtext, tid
from .base import Outbound, Published

log = logging.getLogger("bot.bluesky")

SERVICE = "https://bsky.social"  # where accounts made in the Bluesky app live
POST = "app.bsky.feed.post"
PROFILE = "app.bsky.actor.profile"
POST_CLOCK_ID = 1  # the clock id of posts' keys (a person's app picks a random one of 1024)
REPLY_CLOCK_ID = 2  # replies' keys: the time the intent was recorded
SESSION_KEY = "bluesky_session"  # the state database's bot_meta key of the stored session
WRITE_LIMITS = "5,000 points an hour and 35,000 a day (a post costs 3)"  # docs.bsky.app "Rate Limits"
LOGIN_LIMITS = "30 logins per 5 minutes and 300 a day"
_SESSION_REFUSED = frozenset({"ExpiredToken", "InvalidToken"})
_ACCOUNT_STOPPED = frozenset({"AccountTakedown", "AccountDeactivated", "AccountSuspended"})


class SessionKeeper(Protocol):
    """Where the session lives between calls and restarts: opaque text (it holds tokens: a secret)."""

    def load(self) -> str | None: ...

    def save(self, session: str) -> None: ...


class MemorySessions:
    """A session kept for this process only (`bot check`, `bot register`)."""

    def __init__(self, session: str | None = None):
        self.session = session

    def load(self) -> str | None:
        return self.session

    def save(self, session: str) -> None:
        self.session = session


class StoreSessions:
    """The session in the state database's key-value table (any store with get_meta/set_meta)."""

    def __init__(self, store):
        self.store = store

    def load(self) -> str | None:
        return self.store.get_meta(SESSION_KEY)

    def save(self, session: str) -> None:
        self.store.set_meta({SESSION_KEY: session})


@dataclass(frozen=True)
class Profile:
    """The account as `bot check` shows it."""
    handle: str
    did: str
    service: str  # the PDS the session talks to
    display_name: str | None
    bot_label: bool  # the profile carries the self-label "bot"


def record_time(key: str) -> str:
    """The createdAt of the record under a bot-made key: the key's time, to the millisecond, as
    the lexicon's datetime format wants it (e.g. 2026-12-05T14:00:00.000Z)."""
    micros, _ = tid.decode(key)
    moment = datetime.fromtimestamp(micros // 1000 / 1000, tz=timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def split_uri(uri: str) -> tuple[str, str, str]:
    """at://did/collection/rkey -> (did, collection, rkey). Raises RejectedError for anything else."""
    parts = uri.removeprefix("at://").split("/") if uri.startswith("at://") else []
    if len(parts) != 3 or not all(parts):
        raise RejectedError(f"{uri!r} is not the at:// URI of a Bluesky record")
    return parts[0], parts[1], parts[2]


def web_url(uri: str) -> str:
    """Where a person sees a post in the Bluesky app."""
    did, _, rkey = split_uri(uri)
    return f"https://bsky.app/profile/{did}/post/{rkey}"


class BlueskyOutlet:
    """The Outlet (base.py) for one Bluesky account.

    service: the PDS or entryway URL (https://bsky.social for accounts made in the app);
    identifier: the handle (or DID); app_password: an app password (Settings > Privacy and security
    > App passwords), never the account's own; sessions: where the session is kept; hashtags: the
    POST_HASHTAGS, made tag facets where they stand in a text; language: the posts' `langs`.
    Every call raises TemporaryServerError, AuthError or RejectedError (bot/errors.py)."""

    network = "bluesky"

    def __init__(self, service: str, identifier: str, app_password: str, sessions: SessionKeeper,
                 hashtags: tuple[str, ...] = (), language: str | None = "en", timeout: float = 30.0,
                 clock: Callable[[], float] = time.time):
        from atproto import Client
        from atproto_client.request import Request

        self.service = service.rstrip("/")
        self.identifier = identifier.strip().removeprefix("@")
        self._password = app_password
        self.sessions = sessions
        self.hashtags = tuple(hashtags)
        self.language = language
        self.clock = clock
        self._client = Client(self.service, request=Request(timeout=timeout))
        self._client.on_session_change(self._changed)
        self._lock = threading.RLock()
        self._ready = False  # the client holds a session
        self.logins = 0  # createSession calls made by this outlet (tests and `bot check` read it)

    # --- the Outlet protocol -------------------------------------------------------------------

    def length(self, text: str) -> int:
        return richtext.graphemes(text)

    def limit(self) -> int:
        return richtext.MAX_GRAPHEMES

    def key(self, outbound: Outbound) -> str:
        """Posts: the TID of the planned slot time (slot_time, else ref as epoch seconds) with
        POST_CLOCK_ID; replies: the TID of now with REPLY_CLOCK_ID (stored with the intent)."""
        if outbound.kind == "post":
            slot = outbound.slot_time if outbound.slot_time is not None else float(outbound.ref)
            return tid.from_time(slot, POST_CLOCK_ID)
        return tid.from_time(self.clock(), REPLY_CLOCK_ID)

    def send(self, outbound: Outbound, key: str) -> Published:
        """putRecord under key, only if the key is free. InvalidSwap (another record holds the key:
        this slot already has its post) returns that post, not retried. A text over 300 graphemes
        or 3,000 bytes raises RejectedError without a call."""
        if not tid.is_tid(key):
            raise RejectedError(f"record key {key!r} is not a TID")
        why = richtext.too_long(outbound.text)
        if why:
            raise RejectedError(f"not sent to Bluesky: {why}")
        record = self.record(outbound, key)
        body = {"repo": self._did(), "collection": POST, "rkey": key, "record": record, "swapRecord": None}
        try:
            answer = self._call("com.atproto.repo.putRecord", body=body)
        except _Refused as e:
            if e.error == "InvalidSwap":
                held = self.find(outbound, key)
                if held is None:  # deleted since the answer: the next attempt may write it
                    raise TemporaryServerError(f"Bluesky: {key} was held by another record, now gone") from None
                log.info("bluesky: %s already holds a post (%r); not sending again", key, held.text)
                return held
            raise e.sorted from None
        uri = answer.get("uri")
        if not isinstance(uri, str):
            raise TemporaryServerError("Bluesky answered putRecord without the record's URI")
        return Published(uri, web_url(uri), record["text"], _epoch(record["createdAt"]), outbound.reply_to)

    def find(self, outbound: Outbound, key: str) -> Published | None:
        """getRecord on the key: the post as the PDS holds it, or None."""
        held = self.get_record(self._did(), POST, key)
        if held is None:
            return None
        value = held.get("value") or {}
        parent = ((value.get("reply") or {}).get("parent") or {}).get("uri")
        return Published(held["uri"], web_url(held["uri"]), str(value.get("text", "")),
                         _epoch(value.get("createdAt")), parent)

    # --- records ---------------------------------------------------------------------------------

    def record(self, outbound: Outbound, key: str) -> dict:
        """The app.bsky.feed.post record for a status under key; the same for every attempt."""
        record: dict[str, Any] = {"$type": POST, "text": outbound.text, "createdAt": record_time(key)}
        facets = richtext.tag_facets(outbound.text, self.hashtags)
        if outbound.reply_to:  # a reply starts with its parent's author's handle: a mention of them
            mention = richtext.mention_facet(outbound.text, split_uri(outbound.reply_to)[0])
            facets = [mention, *facets] if mention else facets
        if facets:
            record["facets"] = facets
        if self.language:
            record["langs"] = [self.language]
        if outbound.reply_to:
            record["reply"] = self.reply_ref(outbound.reply_to)
        return record

    def reply_ref(self, parent_uri: str) -> dict:
        """{"root": {uri, cid}, "parent": {uri, cid}} for a reply to the post at parent_uri: the
        root is the parent's own root when the parent is itself a reply."""
        did, collection, rkey = split_uri(parent_uri)
        parent = self.get_record(did, collection, rkey)
        if parent is None:
            raise RejectedError(f"the post replied to is gone ({parent_uri})")
        ref = {"uri": parent["uri"], "cid": parent["cid"]}
        root = ((parent.get("value") or {}).get("reply") or {}).get("root") or ref
        return {"root": {"uri": root["uri"], "cid": root["cid"]}, "parent": ref}

    def get_record(self, repo: str, collection: str, rkey: str) -> dict | None:
        """com.atproto.repo.getRecord: {"uri", "cid", "value"}, or None when there is no such record."""
        try:
            return self._call("com.atproto.repo.getRecord",
                              params={"repo": repo, "collection": collection, "rkey": rkey})
        except _Refused as e:
            if e.error == "RecordNotFound":
                return None
            raise e.sorted from None

    # --- the profile: the account, its bot label -------------------------------------------------

    def profile(self) -> Profile:
        """The account and whether its profile carries the `bot` self-label."""
        session = self._session()
        held = self.get_record(session.did, PROFILE, "self")
        value = (held or {}).get("value") or {}
        return Profile(session.handle, session.did, str(session.pds_endpoint or self.service).removesuffix("/xrpc"),
                       value.get("displayName"), "bot" in _self_labels(value))

    def mark_as_bot(self) -> bool:
        """Add the `bot` self-label (com.atproto.label.defs#selfLabels) to the profile record,
        keeping every other field; written only if the profile did not change meanwhile (swapRecord
        on its cid). Returns False when the label was already there."""
        did = self._did()
        for _ in range(3):  # a profile edited between our read and write: read it again
            held = self.get_record(did, PROFILE, "self")
            value = dict((held or {}).get("value") or {"$type": PROFILE})
            labels = _self_labels(value)
            if "bot" in labels:
                return False
            other = [v for v in ((value.get("labels") or {}).get("values") or [])]
            value["labels"] = {"$type": "com.atproto.label.defs#selfLabels", "values": [*other, {"val": "bot"}]}
            body = {"repo": did, "collection": PROFILE, "rkey": "self", "record": value,
                    "swapRecord": held["cid"] if held else None}
            try:
                self._call("com.atproto.repo.putRecord", body=body)
                return True
            except _Refused as e:
                if e.error != "InvalidSwap":
                    raise e.sorted from None
        raise TemporaryServerError("Bluesky: the profile kept changing while the bot label was added; try again")

    # --- sessions --------------------------------------------------------------------------------

    def _session(self):
        """atproto's Session (handle, did, tokens, PDS endpoint), logging in first if need be."""
        from atproto_client.client.session import Session

        with self._lock:
            self._ensure_session()
            return Session.decode(self._client.export_session_string())

    def _did(self) -> str:
        return self._session().did

    def _changed(self, event, session) -> None:
        """atproto's Client made a new session (a login) or refreshed it: keep it."""
        from atproto_client.client.session import SessionEvent

        if event in (SessionEvent.CREATE, SessionEvent.REFRESH):
            self._keep(session.encode())

    def _keep(self, session: str) -> None:
        self.sessions.save(json.dumps({"service": self.service, "identifier": self.identifier,
                                       "session": session}))

    def _stored(self) -> str | None:
        """The kept session, if it is this account's on this service."""
        try:
            kept = json.loads(self.sessions.load() or "null")
        except ValueError:
            return None
        if not isinstance(kept, dict) or kept.get("service") != self.service \
                or str(kept.get("identifier", "")).lower() != self.identifier.lower():
            return None
        session = kept.get("session")
        return session if isinstance(session, str) and _usable(session) else None

    def _ensure_session(self) -> None:
        if self._ready:
            return
        stored = self._stored()
        if stored:
            self._client.login(session_string=stored, fetch_bsky_profile=False)  # no call
            self._ready = True
            return
        self._login()

    def _login(self) -> None:
        """createSession with the app password (rate-limited: only when no session can be used)."""
        from atproto_client.exceptions import RequestErrorBase

        self._ready = False
        self.logins += 1
        log.info("bluesky: logging in as %s on %s", self.identifier, self.service)
        try:
            self._client.update_base_url(self.service)
            self._client.login(self.identifier, self._password, fetch_bsky_profile=False)
        except httpx.TransportError as e:
            raise _sorted_unanswered(e, "logging in") from None
        except RequestErrorBase as e:
            refused = _Refused.of(e, "logging in")
            if refused is not None and refused.status in (400, 401) and refused.error not in ("RateLimitExceeded",):
                raise AuthError(f"Bluesky refused the login of {self.identifier} on {self.service} "
                                f"({refused.message}); check BLUESKY_HANDLE and BLUESKY_APP_PASSWORD "
                                "(an app password, from Settings > Privacy and security > App passwords)") from None
            raise (refused.sorted if refused else _sorted_unanswered(e, "logging in")) from None
        self._ready = True

    def _renew(self) -> None:
        """The server refused the access token: refresh the session, or log in when the refresh
        token is refused too."""
        from atproto_client.client.session import Session
        from atproto_client.exceptions import RequestErrorBase

        session = Session.decode(self._client.export_session_string()) if self._ready else None
        if session is not None:
            try:
                answer = self._client.invoke_procedure(
                    "com.atproto.server.refreshSession", ignore_session_check=True,
                    headers={"Authorization": f"Bearer {session.refresh_jwt}"})
                content = answer.content if isinstance(answer.content, dict) else {}
                fresh = Session(content["handle"], content["did"], content["accessJwt"], content["refreshJwt"],
                                session.pds_endpoint)
                self._client.login(session_string=fresh.encode(), fetch_bsky_profile=False)
                self._keep(fresh.encode())
                log.info("bluesky: session refreshed")
                return
            except KeyError:
                pass  # an answer without the tokens: log in
            except httpx.TransportError as e:
                raise _sorted_unanswered(e, "refreshing the session") from None
            except RequestErrorBase as e:
                refused = _Refused.of(e, "refreshing the session")
                if refused is None or refused.status >= 500 or refused.status == 429:
                    raise (refused.sorted if refused else _sorted_unanswered(e, "refreshing the session")) from None
        self._login()

    def _call(self, nsid: str, params: dict | None = None, body: dict | None = None) -> dict:
        """One XRPC call with the session: a procedure when body is given, else a query. A refused
        session is renewed once. Raises _Refused for a 4xx the caller may handle (its .sorted is
        the error to raise otherwise), TemporaryServerError, AuthError."""
        from atproto_client.exceptions import LoginRequiredError, RequestErrorBase
        from atproto_server.exceptions import TokenDecodeError

        what = nsid.rsplit(".", 1)[-1]
        for attempt in (1, 2):
            with self._lock:
                self._ensure_session()
            try:
                answer = self._invoke(nsid, params, body)
            except (LoginRequiredError, TokenDecodeError):  # no session, or its tokens are unreadable
                refused = None
            except httpx.TransportError as e:  # atproto passes on all but timeouts and network errors
                raise _sorted_unanswered(e, what) from None
            except RequestErrorBase as e:
                refused = _Refused.of(e, what)
                if refused is None:
                    raise _sorted_unanswered(e, what) from None
                if not refused.session_refused:
                    raise refused.sorted if refused.status >= 500 or refused.status == 429 \
                        or refused.error in _ACCOUNT_STOPPED else refused from None
            else:
                if not isinstance(answer.content, dict):
                    raise TemporaryServerError(f"Bluesky answered {what} with something that is not JSON")
                return answer.content
            if attempt == 2:
                raise AuthError(f"Bluesky keeps refusing the session of {self.identifier} "
                                f"({refused.message if refused else 'no session'}); run `bot register --bluesky`")
            with self._lock:
                self._renew()
        raise AssertionError("unreachable")

    def _invoke(self, nsid: str, params: dict | None, body: dict | None):
        from atproto_client.models.dot_dict import DotDict

        if body is None:
            return self._client.invoke_query(nsid, params=DotDict(params or {}))
        return self._client.invoke_procedure(nsid, content=json.dumps(body).encode("utf-8"),
                                             headers={"Content-Type": "application/json"})

    def close(self) -> None:
        self._client.request.close()


def from_settings(settings, sessions: SessionKeeper) -> BlueskyOutlet:
    """The outlet for these settings (BLUESKY_SERVICE, BLUESKY_HANDLE, BLUESKY_APP_PASSWORD,
    POST_HASHTAGS, POST_LANGUAGE, REQUEST_TIMEOUT); the caller has checked them with
    bot.posting.settings.require_bluesky."""
    return BlueskyOutlet(settings.bluesky_service, settings.bluesky_handle, settings.bluesky_app_password, sessions,
                         hashtags=settings.post_hashtags, language=settings.language, timeout=settings.request_timeout)


class _Refused(Exception):
    """A status the server answered with an XRPC error; .sorted is the bot's error for it."""

    def __init__(self, status: int, error: str, message: str, sorted_error: ServerError):
        super().__init__(message)
        self.status, self.error, self.message, self.sorted = status, error, message, sorted_error

    @property
    def session_refused(self) -> bool:
        return self.error in _SESSION_REFUSED or (self.status == 401 and self.error == "AuthenticationRequired")

    @classmethod
    def of(cls, e, what: str) -> _Refused | None:
        """From atproto's RequestErrorBase; None when no answer came (transport failure)."""
        response = e.response
        if response is None:
            return None
        content = response.content
        error = getattr(content, "error", None) or "Error"
        message = getattr(content, "message", None) or error
        status = response.status_code
        text = f"Bluesky answered {what} with {status} {error}: {message}"
        if status == 429:
            return cls(status, error, message, TemporaryServerError(text, retry_at=_reset_at(response.headers)))
        if status >= 500 or status == 408:
            return cls(status, error, message, TemporaryServerError(text))
        if status in (401, 403) or error in _SESSION_REFUSED or error in _ACCOUNT_STOPPED:
            return cls(status, error, message, AuthError(text))
        return cls(status, error, message, RejectedError(text))


def _usable(text: str) -> bool:
    """A kept session whose PDS is a URL and whose two tokens are readable JWTs."""
    from atproto_client.client.session import Session
    from atproto_core.exceptions import AtProtocolError

    try:
        session = Session.decode(text)
        session.access_jwt_payload, session.refresh_jwt_payload  # noqa: B018 (they parse)
    except (ValueError, AtProtocolError):
        return False
    return str(session.pds_endpoint).startswith(("http://", "https://"))


def _sorted_unanswered(e, what: str) -> TemporaryServerError:
    """A call that got no answer (connection refused or dropped, timeout)."""
    cause = e.__cause__ or e
    return TemporaryServerError(f"Bluesky: {what} got no answer ({type(cause).__name__}: {cause})")


def _reset_at(headers: dict) -> float | None:
    """Epoch seconds a 429 asks us to wait until: RateLimit-Reset (epoch seconds, as the PDS sends
    it), else Retry-After (seconds from now)."""
    for name, base in (("ratelimit-reset", 0.0), ("retry-after", time.time())):
        try:
            return base + float(headers[name])
        except (KeyError, TypeError, ValueError):
            continue
    return None


def _self_labels(profile: dict) -> set[str]:
    labels = profile.get("labels") or {}
    return {v.get("val") for v in labels.get("values") or [] if isinstance(v, dict)}


def _epoch(text: Any) -> float | None:
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None
