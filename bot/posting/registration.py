"""`bot register`: an access token through OAuth's authorization-code flow (Mastodon 4.4 removed
password log-in), written to .env readable only by its owner."""
from __future__ import annotations

import os
import re
from pathlib import Path

from mastodon import Mastodon
from mastodon import errors as mastodon_errors

from ..errors import BotError, RegistrationError
from ..files import atomic_write_text
from .gateway import OOB_REDIRECT, SCOPES, USER_AGENT

APP_NAME = "songs x arXiv mashups"
BOT_FLAG_SCOPE = "write:accounts"  # PATCH update_credentials, to mark the account as a bot


def scopes(bot_flag: bool) -> list[str]:
    """The scopes to ask for: the worker's, plus the one that sets the bot flag unless opted out."""
    return SCOPES + [BOT_FLAG_SCOPE] if bot_flag else list(SCOPES)


def check_env_target(path: Path) -> None:
    """Before the single-use code is spent: the .env file can be written where asked."""
    parent = path.parent
    if not parent.is_dir():
        raise BotError(f"cannot write {path}: directory {parent} does not exist; create it or pass another --env-file")
    if path.is_dir():
        raise BotError(f"cannot write {path}: it is a directory; pass a file name to --env-file")
    if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise BotError(f"cannot write {path}: permission denied; pass another --env-file")


def _guard(what: str, function, *args, **kwargs):
    try:
        return function(*args, **kwargs)
    except mastodon_errors.MastodonNetworkError:
        raise RegistrationError(f"{what}: cannot reach the server; check the URL and your connection") from None
    except mastodon_errors.MastodonError as e:
        raise RegistrationError(f"{what}: the server said no ({e.args[-1] if e.args else e})") from None


def start(server: str, wanted: list[str] = SCOPES) -> tuple[Mastodon, str]:
    """Register the app; returns the client and the URL the account owner must open."""
    client_id, client_secret = _guard("registering the app", Mastodon.create_app, APP_NAME, scopes=wanted,
                                      redirect_uris=OOB_REDIRECT, api_base_url=server, user_agent=USER_AGENT)
    client = Mastodon(client_id=client_id, client_secret=client_secret, api_base_url=server,
                      version_check_mode="none", user_agent=USER_AGENT)
    url = _guard("building the authorization URL", client.auth_request_url, redirect_uris=OOB_REDIRECT,
                 scopes=wanted)
    return client, url


def finish(client: Mastodon, code: str, wanted: list[str] = SCOPES) -> str:
    """Exchange the code the owner pasted for an access token."""
    if not code.strip():
        raise RegistrationError("no code was entered; run `bot register` again and paste the code it shows")
    return _guard("exchanging the code", client.log_in, code=code.strip(), redirect_uri=OOB_REDIRECT, scopes=wanted)


def set_bot_flag(server: str, token: str) -> None:
    """Mark the account as a bot (its profile's "automated account" box): many servers require it."""
    client = Mastodon(api_base_url=server, access_token=token, version_check_mode="none", user_agent=USER_AGENT)
    _guard("setting the bot flag", client.account_update_credentials, bot=True)


def write_env(path: Path, values: dict[str, str]) -> None:
    """Set keys in a .env file, keeping its other lines; the file ends up mode 0600, written
    through a temporary file so a crash leaves the old one."""
    lines = path.read_text(encoding="utf8").splitlines() if path.exists() else []
    remaining = dict(values)
    out = []
    for line in lines:
        m = re.match(r"\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=", line)
        if m and m.group(1) in remaining:
            out.append(f"{m.group(1)}={remaining.pop(m.group(1))}")
        else:
            out.append(line)
    out += [f"{k}={v}" for k, v in remaining.items()]
    atomic_write_text(path, "\n".join(out) + "\n", mode=0o600)
