"""The Mastodon server, through Mastodon.py, with its failures sorted into ours:
temporary (retry), auth (stop) and rejected (try another text)."""
from __future__ import annotations

import html
import re
import time
from dataclasses import dataclass
from datetime import datetime

from mastodon import Mastodon
from mastodon import errors as mastodon_errors

from .settings import redact
from ..errors import AuthError, MissingScopeError, RejectedError, TemporaryServerError

SCOPES = ["read:accounts", "read:statuses", "read:notifications", "write:statuses"]  # notifications: replies
OOB_REDIRECT = "urn:ietf:wg:oauth:2.0:oob"  # the code is shown to the user to paste back
# Who is calling, and where to find out more (servers log it; admins contact the operator through it).
PROJECT_URL = "https://github.com/songs-x-arxiv/songs-x-arxiv-bot"  # placeholder until the repository is published
USER_AGENT = f"songs-x-arxiv-bot/0.1 (+{PROJECT_URL})"
DEFAULT_STATUS_LIMIT = 500  # Mastodon's, for servers that do not say


@dataclass(frozen=True)
class Published:
    status_id: str
    url: str | None
    text: str
    created_at: float | None = None  # epoch seconds, when the server says


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
        return self._call("verify credentials", self.client.account_verify_credentials)

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

    def post(self, text: str, idempotency_key: str, visibility: str, spoiler_text: str | None,
             language: str) -> Published:
        status = self._call("post status", self.client.status_post, text, visibility=visibility,
                            spoiler_text=spoiler_text, language=language, idempotency_key=idempotency_key)
        if not isinstance(status, dict) or not status.get("id"):
            raise TemporaryServerError("post status: the server's answer has no status id (outcome unknown)")
        return Published(str(status["id"]), status.get("url"), text)

    def recent_statuses(self, account_id, limit: int = 40) -> list[Published]:
        """The account's latest statuses, newest first (reblogs left out)."""
        statuses = self._call("read own statuses", self.client.account_statuses, account_id, limit=limit)
        return [Published(str(s["id"]), s.get("url"), plain_text(s.get("content", "")), _epoch(s.get("created_at")))
                for s in statuses if not s.get("reblog")]


@dataclass(frozen=True)
class Counts:
    """A status' engagement as the server counts it: never who reacted."""

    status_id: str
    favourites: int
    boosts: int
    replies: int


def _counts(status: dict) -> Counts:
    number = lambda key: int(status.get(key) or 0)  # noqa: E731
    return Counts(str(status["id"]), number("favourites_count"), number("reblogs_count"), number("replies_count"))


def read_counts(gateway: "Gateway", account_id, status_ids: list[str], max_single: int,
                newest: int = 40) -> dict[str, Counts]:
    """Counts of the account's own statuses: one page of its `newest` (at most 40) latest posts
    (replies left out), then at most max_single single-status reads for the rest. A status the
    server no longer has maps to None. Raises TemporaryServerError (and AuthError)."""
    wanted = set(status_ids)
    page = gateway._call("read own statuses", gateway.client.account_statuses, account_id,
                         exclude_replies=True, limit=max(1, min(40, newest)))
    found: dict[str, Counts | None] = {str(s["id"]): _counts(s) for s in page if str(s["id"]) in wanted}
    for status_id in [i for i in status_ids if i not in found][:max_single]:
        try:
            found[status_id] = _counts(gateway._call("read status", gateway.client.status, status_id))
        except RejectedError:  # 404/410: deleted
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
    (re.compile(r"CERTIFICATE_VERIFY_FAILED|SSLError|certificate", re.I), "TLS certificate problem"),
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


def _id_key(value: str):
    return (0, int(value), "") if str(value).isdigit() else (1, 0, str(value))


class ReplyGateway(Gateway):
    """The calls replies need: mentions, threads, replies and the bot's own recent replies."""

    def mentions(self, after: str | None, limit: int = 40) -> list[Mention]:
        """Mentions newer than notification id `after` (all if None), oldest first, every page.
        Raises MissingScopeError when the token lacks read:notifications."""
        found: dict[str, Mention] = {}
        while True:
            try:
                page = self._call("read mentions", self.client.notifications, types=["mention"], min_id=after,
                                  limit=limit)
            except AuthError as e:
                if "(403)" in str(e):
                    raise MissingScopeError("read mentions: the access token lacks read:notifications; run "
                                            "`bot register` again to answer mentions") from None
                raise
            fresh = [n for n in page if n.get("type") == "mention" and n.get("status") and str(n["id"]) not in found]
            for n in fresh:
                s, a = n["status"], n["account"]
                found[str(n["id"])] = Mention(str(n["id"]), str(s["id"]), str(a["id"]), a.get("acct") or a["username"],
                                              bool(a.get("bot")), s.get("content") or "", s.get("visibility") or "public",
                                              str(s["in_reply_to_id"]) if s.get("in_reply_to_id") else None,
                                              _epoch(s.get("created_at") or n.get("created_at")) or time.time())
            if len(page) < limit or not fresh:
                break
            after = max((str(n["id"]) for n in page), key=_id_key)
        return sorted(found.values(), key=lambda m: _id_key(m.notification_id))

    def ancestor_authors(self, status_id: str) -> list[str]:
        """Account ids of the statuses above this one in its thread, oldest first."""
        context = self._call("read thread", self.client.status_context, status_id)
        return [str(s["account"]["id"]) for s in context.get("ancestors", [])]

    def reply(self, text: str, idempotency_key: str, in_reply_to_id: str, visibility: str,
              spoiler_text: str | None, language: str) -> Published:
        status = self._call("post reply", self.client.status_post, text, in_reply_to_id=in_reply_to_id,
                            visibility=visibility, spoiler_text=spoiler_text, language=language,
                            idempotency_key=idempotency_key)
        return Published(str(status["id"]), status.get("url"), text)

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
