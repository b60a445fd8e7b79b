"""The Mastodon server, through Mastodon.py, with its failures sorted into ours:
temporary (retry), auth (stop) and rejected (try another text)."""
from __future__ import annotations

import html
import re
import time
from dataclasses import dataclass

from mastodon import Mastodon
from mastodon import errors as mastodon_errors

from ..errors import AuthError, RejectedError, TemporaryServerError

SCOPES = ["read:accounts", "read:statuses", "write:statuses"]
OOB_REDIRECT = "urn:ietf:wg:oauth:2.0:oob"  # the code is shown to the user to paste back
USER_AGENT = "songs-x-arxiv-bot (+https://github.com)"


@dataclass(frozen=True)
class Published:
    status_id: str
    url: str | None
    text: str


def plain_text(content: str) -> str:
    """A status' HTML content as the text that was posted."""
    text = re.sub(r"<br\s*/?>", "\n", content or "")
    text = re.sub(r"</p>\s*<p>", "\n\n", text)
    return html.unescape(re.sub(r"<[^>]+>", "", text))


class Gateway:
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
            raise TemporaryServerError(f"{what}: {self._redact(str(e))}") from None
        except mastodon_errors.MastodonServerError as e:
            raise TemporaryServerError(f"{what}: server error {self._status(e)}") from None
        except mastodon_errors.MastodonAPIError as e:
            status = self._status(e)
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
        return text.replace(self.token, "[token]") if self.token else text

    def account(self) -> dict:
        return self._call("verify credentials", self.client.account_verify_credentials)

    def status_limit(self) -> int | None:
        """The server's maximum status length, from its instance information."""
        info = self._call("instance information", self.client.instance_v2)
        try:
            return int(info["configuration"]["statuses"]["max_characters"])
        except (KeyError, TypeError, ValueError):
            return None

    def post(self, text: str, idempotency_key: str, visibility: str, spoiler_text: str | None,
             language: str) -> Published:
        status = self._call("post status", self.client.status_post, text, visibility=visibility,
                            spoiler_text=spoiler_text, language=language, idempotency_key=idempotency_key)
        return Published(str(status["id"]), status.get("url"), text)

    def recent_statuses(self, account_id, limit: int = 40) -> list[Published]:
        statuses = self._call("read own statuses", self.client.account_statuses, account_id, limit=limit)
        return [Published(str(s["id"]), s.get("url"), plain_text(s.get("content", ""))) for s in statuses]


def wait_hint(error: TemporaryServerError, fallback: float) -> float:
    """Seconds to wait before retrying: until the server's rate-limit reset, else the fallback."""
    if error.retry_at:
        return max(0.0, min(error.retry_at - time.time(), 15 * 60)) or fallback
    return fallback
