"""The Mastodon server, through Mastodon.py, with its failures sorted into ours:
temporary (retry), auth (stop) and rejected (try another text)."""
from __future__ import annotations

import html
import logging
import re
import time
from dataclasses import dataclass
from datetime import datetime

from mastodon import Mastodon
from mastodon import errors as mastodon_errors

from .settings import redact
from ..outlets.base import Published
from ..errors import AuthError, MissingScopeError, NotReadableError, RejectedError, ServerError, TemporaryServerError

SCOPES = ["read:accounts", "read:statuses", "read:notifications", "write:statuses"]  # notifications: replies
OOB_REDIRECT = "urn:ietf:wg:oauth:2.0:oob"  # the code is shown to the user to paste back
# Who is calling, and where to find out more (servers log it; admins contact the operator through it).
PROJECT_URL = "https://github.com/songs-x-arxiv/songs-x-arxiv-bot"  # placeholder until the repository is published
USER_AGENT = f"songs-x-arxiv-bot/0.1 (+{PROJECT_URL})"
log = logging.getLogger("bot")
DEFAULT_STATUS_LIMIT = 500  # Mastodon's, for servers that do not say


def plain_text(content: str) -> str:
    """A status' HTML content as the text that was posted."""
    text = re.sub(r"<br\s*/?>", "\n", content or "")
    text = re.sub(r"</p>\s*<p>", "\n\n", text)
    return html.unescape(re.sub(r"<[^>]+>", "", text))


class Gateway:
    """Mastodon.py behind the calls the bot makes, its failures sorted into the errors of
    bot/errors.py: TemporaryServerError (network, timeouts, 5xx, 429: retry later), AuthError
    (401/403: retrying cannot help), RejectedError (422 and other 4xx: another text may pass).
    timeout: seconds per HTTP request."""

    def __init__(self, api_base_url: str, access_token: str | None, timeout: float = 30.0):
        self.token = access_token
        # ratelimit "throw": Mastodon.py would otherwise sleep inside the call, deaf to SIGTERM.
        self.client = Mastodon(api_base_url=api_base_url, access_token=access_token, request_timeout=timeout,
                               ratelimit_method="throw", version_check_mode="none", user_agent=USER_AGENT)

    def _call(self, what: str, function, *args, **kwargs):
        """function(*args, **kwargs) with its failures sorted (see the class): 401 and 403 are
        AuthError."""
        return self._sorted(what, False, function, *args, **kwargs)

    def _read_one(self, what: str, function, *args, **kwargs):
        """_call for reading one status, one thread or one list that a server may hide from us:
        401, 403, 404 and 410 are NotReadableError (that item hidden or gone), never AuthError:
        only the credentials check and a refused post stop the worker."""
        return self._sorted(what, True, function, *args, **kwargs)

    def _sorted(self, what: str, one_item: bool, function, *args, **kwargs):
        try:
            return function(*args, **kwargs)
        except mastodon_errors.MastodonRatelimitError:
            raise TemporaryServerError(f"{what}: rate limited (429)", retry_at=self.client.ratelimit_reset) from None
        except mastodon_errors.MastodonNetworkError as e:
            raise TemporaryServerError(f"{what}: {network_problem(self._redact(str(e)), self.client.api_base_url)}") from None
        except mastodon_errors.MastodonServerError as e:
            raise TemporaryServerError(f"{what}: server error {self._status(e)}") from None
        except mastodon_errors.MastodonAPIError as e:
            status = self._status(e)
            if status is None:  # a 200 that is not JSON (a proxy's page, a cut-off body): outcome unknown
                raise TemporaryServerError(f"{what}: the server's answer was not understood (outcome unknown)") from None
            if one_item and status in (401, 403, 404, 410):
                raise NotReadableError(f"{what}: not readable ({status}: {self._reason(e)})", status) from None
            if status in (401, 403):
                raise AuthError(f"{what}: the server refused the access token ({status}); check "
                                "MASTODON_ACCESS_TOKEN or run `bot register` again") from None
            if status == 408:
                raise TemporaryServerError(f"{what}: request timeout (408)") from None
            raise RejectedError(f"{what}: the server rejected it ({status}: {self._reason(e)})") from None

    @staticmethod
    def _status(e) -> int | None:
        return e.args[1] if len(e.args) > 1 and isinstance(e.args[1], int) else None

    def _reason(self, e) -> str:
        return self._redact(str(e.args[3] if len(e.args) > 3 and e.args[3] else e.args[-1]))

    def _redact(self, text: str) -> str:
        return redact(text, self.token)

    def account(self) -> dict:
        """The account the token belongs to. Raises ServerError when the address has no Mastodon
        API (404: a website's address), else as _call."""
        return self._call("verify credentials", self._verify_credentials)

    def _verify_credentials(self) -> dict:
        try:
            return self.client.account_verify_credentials()
        except mastodon_errors.MastodonNotFoundError:
            raise ServerError(f"{self.client.api_base_url} has no Mastodon API (404 on /api/v1/accounts/"
                              "verify_credentials); MASTODON_API_BASE_URL must be your server's address, "
                              "e.g. https://mastodon.social") from None

    def _instance(self) -> dict:
        try:
            return self.client.instance_v2()
        except mastodon_errors.MastodonNotFoundError:  # before Mastodon 4.0, Pleroma, Akkoma, older GoToSocial
            return self.client.instance_v1()

    def status_limit(self) -> int:
        """The server's maximum status length in characters: /api/v2/instance, else /api/v1/instance
        (Mastodon's configuration, then Pleroma's max_toot_chars), else Mastodon's 500."""
        info = self._call("instance information", self._instance)
        for path in (("configuration", "statuses", "max_characters"), ("max_toot_chars",)):
            value = info
            try:
                for key in path:
                    value = value[key]
                if int(value) > 0:
                    return int(value)
            except (KeyError, TypeError, ValueError):
                continue
        return DEFAULT_STATUS_LIMIT

    def recent_statuses(self, account_id, limit: int = 40) -> list[Published]:
        """The account's latest statuses, replies included, newest first (reblogs left out)."""
        statuses = self._call("read own statuses", self.client.account_statuses, account_id, limit=limit)
        return [Published(str(s["id"]), s.get("url"), plain_text(s.get("content", "")), _epoch(s.get("created_at")),
                          str(s["in_reply_to_id"]) if s.get("in_reply_to_id") else None, s.get("visibility") == "direct")
                for s in statuses if isinstance(s, dict) and s.get("id") and not s.get("reblog")]


@dataclass(frozen=True)
class Counts:
    """A status' engagement as the server counts it: never who reacted."""

    status_id: str
    favourites: int
    boosts: int
    replies: int


MAX_COUNT = 1_000_000_000  # the most favourites (boosts, replies) a reading keeps; PostgreSQL's INTEGER holds 2^31 - 1


def _count(value) -> int:
    """One counter as the server sent it, made sane where it enters: below 0 (Mastodon's cached
    counters drift below zero; a proxy bug is enough) is 0, above MAX_COUNT is MAX_COUNT, and
    what is not a number (missing, null, text, a list) is 0."""
    if isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:
            return 0
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:  # value != value: NaN
        return 0
    return int(min(max(value, 0), MAX_COUNT))


def _counts(status: dict) -> Counts:
    return Counts(str(status["id"]), _count(status.get("favourites_count")), _count(status.get("reblogs_count")),
                  _count(status.get("replies_count")))


def read_counts(gateway: "Gateway", account_id, status_ids: list[str], max_single: int,
                newest: int = 40) -> dict[str, Counts | None]:
    """Counts of the account's own statuses: one page of its `newest` (at most 40) latest posts
    (replies left out), then at most max_single single-status reads for the rest. Every counter
    is made sane (_count). A status the server no longer has, or will not show us (401, 403,
    404, 410 on reading it), maps to None. Raises TemporaryServerError, and NotReadableError
    when the page itself is refused (then nothing is read: try later)."""
    wanted = set(status_ids)
    page = gateway._read_one("read own statuses", gateway.client.account_statuses, account_id,
                             exclude_replies=True, limit=max(1, min(40, newest)))
    found: dict[str, Counts | None] = {str(s["id"]): _counts(s) for s in page
                                       if isinstance(s, dict) and str(s.get("id")) in wanted}
    for status_id in [i for i in status_ids if i not in found][:max_single]:
        try:
            status = gateway._read_one("read status", gateway.client.status, status_id)
            found[status_id] = _counts(status) if isinstance(status, dict) and status.get("id") else None
        except (NotReadableError, RejectedError):  # deleted, hidden from us, or refused
            found[status_id] = None
    return found


def _epoch(value) -> float | None:
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None
    return None


_NETWORK_PROBLEMS = (  # urllib3/requests wording -> what it means for the person reading the log
    (re.compile(r"NameResolution|Name or service not known|nodename nor servname|getaddrinfo failed"),
     "the name does not resolve"),
    (re.compile(r"Connection refused|ConnectionRefused"), "connection refused"),
    (re.compile(r"WRONG_VERSION_NUMBER|wrong version number|record layer failure|unknown protocol", re.I),
     "it answers plain HTTP, not HTTPS: use http:// or the server's HTTPS port"),
    (re.compile(r"CERTIFICATE_VERIFY_FAILED|certificate", re.I), "TLS certificate problem"),
    (re.compile(r"SSLError", re.I), "TLS handshake failed"),
    (re.compile(r"timed out|Timeout", re.I), "timed out"),
    (re.compile(r"Network is unreachable|No route to host"), "network unreachable"),
    (re.compile(r"RemoteDisconnected|Connection aborted|Connection reset"), "connection closed by the other side"),
)


def network_problem(raw: str, base_url: str) -> str:
    """One short line for a network failure, with a hint, instead of urllib3's nested reprs."""
    from urllib.parse import urlparse

    reason = next((meaning for pattern, meaning in _NETWORK_PROBLEMS if pattern.search(raw)), None)
    if reason is None:
        reason = raw.rsplit(": ", 1)[-1].strip(" ()\"'")[:120] or "network error"
    host = urlparse(base_url).netloc or base_url
    return f"cannot reach {host} ({reason}); check MASTODON_API_BASE_URL and the network"


@dataclass(frozen=True)
class Mention:
    """A notification of type mention, with what replying to it needs."""
    notification_id: str
    status_id: str
    account_id: str
    acct: str  # user, or user@domain for remote accounts
    bot: bool  # the author's account has the bot flag
    content: str  # the status' HTML
    visibility: str
    in_reply_to_id: str | None
    created_at: float  # epoch seconds


class Mentions(list):
    """Mentions, oldest first, and `newest`: the newest notification id the pages held (answerable
    or not; None when there was nothing new), which the pointer may move to once they are decided."""

    def __init__(self, mentions=(), newest: str | None = None):
        super().__init__(mentions)
        self.newest = newest


MAX_PAGES = 10  # notification pages read per check; the pointer moves, so the next check goes on


def _mention(n: dict) -> Mention | None:
    """The Mention a notification holds, or None when it lacks what a reply needs."""
    s, a = n.get("status"), n.get("account")
    if not isinstance(s, dict) or not isinstance(a, dict) or s.get("id") is None or a.get("id") is None:
        return None
    acct = a.get("acct") or a.get("username")
    if not acct:
        return None
    return Mention(str(n["id"]), str(s["id"]), str(a["id"]), str(acct), bool(a.get("bot")), s.get("content") or "",
                   s.get("visibility") or "public", str(s["in_reply_to_id"]) if s.get("in_reply_to_id") else None,
                   _epoch(s.get("created_at") or n.get("created_at")) or time.time())


def _id_key(value: str):
    return (0, int(value), "") if str(value).isdigit() else (1, 0, str(value))


class ReplyGateway(Gateway):
    """The calls replies need: mentions, threads, replies and the bot's own recent replies."""

    def notifications(self, what: str, types: list[str], after: str | None, limit: int = 40) -> tuple[list[dict], str | None]:
        """Notifications of these types newer than notification id `after` (all of the newest page
        if None), oldest first, and the newest id among them (None: nothing new). Page after page
        (at most MAX_PAGES) while a page brings notifications newer than `after` not seen yet; a
        server that answers min_id with older notifications (or ignores it) costs one more request,
        for its newest page, never a walk through its history. Only objects with an id are kept;
        what else they hold is the caller's to check. Raises NotReadableError (the server will not
        show them: 401, 403, 404, 410) and TemporaryServerError."""
        start = None if after is None else _id_key(after)
        found: dict[str, dict] = {}
        newest, cursor, fallback = None, after, False
        for _ in range(MAX_PAGES):
            page = self._read_one(what, self.client.notifications, types=types, min_id=cursor, limit=limit) or []
            new = [n for n in page if isinstance(n, dict) and n.get("id") is not None and str(n["id"]) not in found
                   and (start is None or _id_key(str(n["id"])) > start)]
            if not new:
                if cursor is not None and not fallback and page:  # min_id answered with older ones (or ignored)
                    cursor, fallback = None, True  # the newest page instead, once
                    continue
                break
            for n in new:
                nid = str(n["id"])
                found[nid] = n
                newest = nid if newest is None or _id_key(nid) > _id_key(newest) else newest
            if len(page) < limit or fallback:
                break
            cursor = max((str(n["id"]) for n in new), key=_id_key)
        return sorted(found.values(), key=lambda n: _id_key(str(n["id"]))), newest

    def mentions(self, after: str | None, limit: int = 40) -> Mentions:
        """Mentions newer than notification id `after` (notifications: paging, oldest first).
        Notifications that are no answerable mention (no account or status: a deleted or
        suspended sender; other types) are left out, and the result's `newest` is the newest
        notification id seen, so the pointer moves past them. Raises MissingScopeError when the
        server will not show the token its notifications (403: no read:notifications)."""
        try:
            raw, newest = self.notifications("read mentions", ["mention"], after, limit)
        except NotReadableError as e:
            need = ("the access token lacks read:notifications" if e.status == 403 else
                    f"the server will not show the notifications ({e.status})")
            raise MissingScopeError(f"read mentions: {need}; run `bot register` again to answer mentions") from None
        found = []
        for n in raw:
            mention = _mention(n) if n.get("type", "mention") == "mention" else None
            if mention is not None:
                found.append(mention)
            elif n.get("type", "mention") == "mention":
                log.info("skipped notification %s: a mention without an account or status (a deleted or "
                         "suspended sender)", n["id"])
        return Mentions(found, newest)

    def ancestor_authors(self, status_id: str) -> list[str]:
        """Account ids of the statuses above this one in its thread, oldest first. Raises
        NotReadableError when the server will not show the thread (401, 403, 404, 410)."""
        context = self._read_one("read thread", self.client.status_context, status_id)
        return [str(s["account"]["id"]) for s in context.get("ancestors") or []
                if isinstance(s, dict) and isinstance(s.get("account"), dict) and s["account"].get("id") is not None]

    def recent_replies(self, account_id, limit: int = 40) -> dict[str, Published]:
        """The account's recent statuses that are replies, by the id of the status they answer."""
        statuses = self._call("read own statuses", self.client.account_statuses, account_id, limit=limit)
        return {str(s["in_reply_to_id"]): Published(str(s["id"]), s.get("url"), plain_text(s.get("content", "")))
                for s in statuses if s.get("in_reply_to_id")}

    def can_read_mentions(self) -> bool:
        """Whether the token has read:notifications (for `bot check`)."""
        try:
            self._call("read mentions", self.client.notifications, types=["mention"], limit=1)
        except AuthError as e:
            if "(403)" in str(e):
                return False
            raise
        return True
