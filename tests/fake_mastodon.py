"""A small Mastodon API server on localhost for tests: real HTTP, real Mastodon.py on the other
side, with faults to inject. Statuses live in memory; Idempotency-Key is honoured like Mastodon's
(unless ignore_keys, like GoToSocial and some Pleroma versions).

POST /api/v1/statuses faults (server.faults, consumed in order): ("status", code), ("ratelimit", s),
("drop",) closes the connection without storing; ("drop_after_accept",) stores, then closes;
("nonjson",) stores, then answers 200 with an HTML page; ("stall", s) stores, then waits.
A list of one fault repeated is a server that always does it. read_faults do the same for GETs of
the account and its statuses. instance_v2=False answers 404 on /api/v2/instance (Mastodon before
4.0, Pleroma); instance_v1 is then the v1 body.

Several accounts, each with its own token: a status that names a local account (@name) notifies it
(type mention); statuses carry in_reply_to_id and visibility; threads are served as context; a
token without read:notifications gets 403 on notifications, as Mastodon answers. reply_faults: the
faults of POSTs that have an in_reply_to_id (server.faults is then left to posts).

audience: an Audience (below) that favourites, boosts and replies to the account's statuses;
statuses then carry its counts as of the audience's clock (GET /api/v1/statuses/:id too).
count_overrides (status id -> fields) replace what a status says about its counts, as a drifting
counter or a broken proxy would (negative, absurdly large, not a number).

Reads of one status: hidden (status id -> code) answers GETs of that status and of its thread with
the code (a server hiding one post: 403; deleted: 404), whatever the token.

Notifications: add_notification() stores a raw one (without an account or a status, say, as for a
deleted or suspended sender); hashtags in a status are rendered as Mastodon renders them (links
with class "mention hashtag"); min_id_oldest=True is a server that answers min_id with the oldest
page, whatever the id; notification_requests counts GET /api/v1/notifications.

Direct messages, favourites and deletion (the approval queue): any account favourites a status it
can see with POST /api/v1/statuses/:id/favourite (its author gets a "favourite" notification, once
per account); GET /api/v1/accounts/lookup finds a local account by its acct (lookups counts them;
an account on another server is not found, and there is no search); DELETE
/api/v1/statuses/:id deletes the caller's own status (refuse_delete: a server that answers 403
instead); a direct status is shown to its author and the accounts it mentions only.
Notifications filter by types[], exclude_types[] and account_id as Mastodon's v1 API does."""
from __future__ import annotations

import html
import json
import re
import threading
import time
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

TOKEN = "test-token-5f1c2b"
ALL_SCOPES = ("read", "write")
_MENTION = re.compile(r"(?<![\w@/])@(\w+)(?:@[\w.:-]+\w)?")
_LINK = re.compile(r"https?://[^\s<]+")
_TAG = re.compile(r"(?<![\w/#&])#(\w+)")


class FakeMastodon:
    def __init__(self, max_characters: int = 500):
        self.statuses: list[dict] = []
        self.by_key: dict[str, dict] = {}
        self.faults: list = []  # actions for the next POST /api/v1/statuses, consumed in order
        self.read_faults: list = []  # the same for GET verify_credentials and the account's statuses
        self.read_attempts = 0
        self.ignore_keys = False
        self.instance_v2 = True
        self.instance_v1: dict | None = None  # None: Mastodon's v1 body with configuration
        self.post_attempts = 0
        self.keys_seen: list[str | None] = []
        self.max_characters = max_characters
        self.valid_tokens = {TOKEN}
        self.codes = {"good-code": "token-from-code"}
        self.token_scopes: dict[str, set[str]] = {}  # scopes granted to tokens from /oauth/token
        self.bot = True  # the account's bot flag
        self.refuse_profile_update = False  # a server whose rules forbid changing the profile
        self.release = threading.Event()  # ends a "stall" fault
        self.accepted = threading.Event()  # set when a status is stored
        self.lock = threading.Lock()
        # Accounts: "1" is the bot's (TOKEN's); add_account makes more.
        self.accounts: dict[str, dict] = {}
        self.token_accounts: dict[str, str] = {TOKEN: "1"}
        self.notifications: list[dict] = []
        self.reply_faults: list = []  # like faults, for the next POST that has an in_reply_to_id
        self.reply_accepted = threading.Event()  # set when a reply is stored
        self.next_id = 100
        self.audience: Audience | None = None
        self.count_overrides: dict[str, dict] = {}
        self.hidden: dict[str, int] = {}
        self.min_id_oldest = False
        self.notification_requests = 0
        self.favourites: dict[str, set[str]] = {}  # status id -> ids of the accounts that favourited it
        self.refuse_delete = False
        self.deleted: list[str] = []  # ids of deleted statuses
        self.lookups = 0  # GET /api/v1/accounts/lookup
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                server.handle(self, "GET")

            def do_POST(self):
                server.handle(self, "POST")

            def do_PATCH(self):
                server.handle(self, "PATCH")

            def do_DELETE(self):
                server.handle(self, "DELETE")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

        self.accounts["1"] = self._new_account("1", "mashups", "songs x arXiv", bot=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    # -- helpers for tests --
    def texts(self) -> list[str]:
        return [s["_text"] for s in self.statuses]

    def add_status(self, text: str, created_at: float | None = None) -> dict:
        """A status the account posted before (created_at: epoch seconds, default now)."""
        with self.lock:
            return self._create("1", text, "public", None, created_at=created_at)

    def add_account(self, username: str, bot: bool = False, scopes=ALL_SCOPES) -> tuple[str, str]:
        """A new local account and a token for it; returns (account id, token)."""
        with self.lock:
            account_id = str(len(self.accounts) + 1)
            self.accounts[account_id] = self._new_account(account_id, username, username, bot)
            token = f"token-{username}-{account_id}"
            self.valid_tokens.add(token)
            self.token_accounts[token], self.token_scopes[token] = account_id, set(scopes)
        return account_id, token

    def post_as(self, account_id: str, text: str, visibility: str = "public", in_reply_to_id: str | None = None,
                created_at: float | None = None, content: str | None = None) -> dict:
        """A status by any account, as if its owner had posted it (a person mentioning the bot).
        content: the HTML as another server sent it, instead of this server's rendering of text
        (mentions and notifications still follow text)."""
        with self.lock:
            status = self._create(account_id, text, visibility, in_reply_to_id, created_at=created_at)
            if content is not None:
                status["content"] = content
                for n in self.notifications:
                    if (n.get("status") or {}).get("id") == status["id"]:
                        n["status"] = self.public(status)
            return status

    def add_notification(self, for_account: str = "1", **fields) -> dict:
        """A raw notification for the account (type mention unless fields say otherwise); fields
        may leave out or null the account and the status."""
        with self.lock:
            self.next_id += 1
            n = {"id": str(self.next_id), "type": "mention", "_for": for_account, "created_at": self._time(),
                 "account": None, "status": None, **fields}
            self.notifications.append(n)
            return n

    def by(self, account_id: str) -> list[dict]:
        return [s for s in self.statuses if s["account"]["id"] == account_id]

    def replies_to(self, status_id: str) -> list[dict]:
        return [s for s in self.statuses if s["in_reply_to_id"] == status_id]

    # -- request handling --
    def reply(self, h, code: int, body, headers: dict | None = None):
        data = json.dumps(body).encode()
        h.send_response(code)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        h.send_header("Date", formatdate(usegmt=True))
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(data)

    def params(self, h) -> dict:
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length).decode() if length else ""
        if "json" in (h.headers.get("Content-Type") or ""):
            return json.loads(raw or "{}")
        return {k: v[0] for k, v in parse_qs(raw).items()}

    def authorised(self, h) -> bool:
        return h.headers.get("Authorization", "").removeprefix("Bearer ") in self.valid_tokens

    def account(self, account_id: str = "1") -> dict:
        a = {**self.accounts[account_id], **({"bot": self.bot} if account_id == "1" else {})}
        return {**a, "statuses_count": sum(s["account"]["id"] == account_id for s in self.statuses)}

    def _new_account(self, account_id: str, username: str, display_name: str, bot: bool) -> dict:
        return {"id": account_id, "username": username, "acct": username, "display_name": display_name,
                "bot": bot, "url": f"{self.url}/@{username}", "created_at": "2026-01-01T00:00:00.000Z",
                "note": "", "followers_count": 0, "following_count": 0, "statuses_count": 0}

    @staticmethod
    def _time(t: float | None = None) -> str:
        return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(time.time() if t is None else t))

    def _html(self, text: str, mentioned: dict[str, dict]) -> str:
        """Mastodon's rendering: mentions as h-card links, URLs as links, the rest escaped."""
        out, last = [], 0
        for m in re.finditer(f"{_MENTION.pattern}|{_LINK.pattern}|{_TAG.pattern}", text):
            out.append(html.escape(text[last:m.start()]))
            word = m.group(0)
            account = mentioned.get(m.group(1)) if m.group(1) else None
            if account:
                out.append(f'<span class="h-card" translate="no"><a href="{account["url"]}" class="u-url mention">'
                           f'@<span>{account["username"]}</span></a></span>')
            elif word.startswith("#"):
                tag = html.escape(word[1:])
                out.append(f'<a href="{self.url}/tags/{tag}" class="mention hashtag" rel="tag">#<span>{tag}</span></a>')
            elif word.startswith("http"):
                out.append(f'<a href="{html.escape(word)}" rel="nofollow noopener" target="_blank">'
                           f'<span class="invisible">https://</span><span class="">{html.escape(word[8:])}</span></a>')
            else:
                out.append(html.escape(word))
            last = m.end()
        out.append(html.escape(text[last:]))
        return "<p>" + "".join(out).replace("\n", "<br />") + "</p>"

    def _create(self, account_id: str, text: str, visibility: str, in_reply_to_id: str | None,
                 spoiler_text: str = "", language: str | None = None, created_at: float | None = None) -> dict:
        """Store a status and notify the local accounts it mentions. Call with the lock held."""
        by_name = {a["username"]: a for a in self.accounts.values()}
        mentioned = {name: by_name[name] for name in _MENTION.findall(text) if name in by_name}
        parent = next((s for s in self.statuses if s["id"] == in_reply_to_id), None) if in_reply_to_id else None
        self.next_id += 1
        sid = str(self.next_id)
        author = self.account(account_id)
        status = {"id": sid, "_text": text, "_at": time.time(), "content": self._html(text, mentioned),
                  "url": f"{self.url}/@{author['username']}/{sid}", "uri": f"{self.url}/statuses/{sid}",
                  "created_at": self._time(created_at), "visibility": visibility or "public",
                  "spoiler_text": spoiler_text or "", "language": language, "account": author,
                  "in_reply_to_id": parent["id"] if parent else None,
                  "in_reply_to_account_id": parent["account"]["id"] if parent else None,
                  "media_attachments": [], "tags": [], "emojis": [],
                  "mentions": [{"id": a["id"], "username": a["username"], "acct": a["acct"], "url": a["url"]}
                               for a in mentioned.values()]}
        self.statuses.append(status)
        if self.audience is not None and account_id == "1" and parent is None:
            self.audience.react(sid, text)
        for a in mentioned.values():
            if a["id"] != account_id:
                self.next_id += 1
                self.notifications.append({"id": str(self.next_id), "type": "mention", "_for": a["id"],
                                           "created_at": status["created_at"], "account": author,
                                           "status": self.public(status)})
        return status

    def _token(self, h) -> str:
        return h.headers.get("Authorization", "").removeprefix("Bearer ")

    def _query(self, h) -> dict:
        return parse_qs(urlparse(h.path).query)

    def _notifications(self, h):
        token = self._token(h)
        if not {"read", "read:notifications"} & set(self.token_scopes.get(token, ALL_SCOPES)):  # none kept: all
            return self.reply(h, 403, {"error": "This action is outside the authorized scopes"})
        q = self._query(h)
        with self.lock:
            self.notification_requests += 1
        mine = [n for n in self.notifications if n["_for"] == self.token_accounts.get(token, "1")]
        if self.min_id_oldest and q.get("min_id"):  # the oldest page, whatever min_id says
            limit = min(int((q.get("limit") or ["40"])[0]), 80)
            return self.reply(h, 200, [self.public(n) for n in reversed(mine[:limit])])
        types = q.get("types[]") or q.get("types")
        if types:
            mine = [n for n in mine if n["type"] in types]
        excluded = q.get("exclude_types[]") or q.get("exclude_types")
        if excluded:
            mine = [n for n in mine if n["type"] not in excluded]
        if q.get("account_id"):
            mine = [n for n in mine if (n.get("account") or {}).get("id") == q["account_id"][0]]
        for name, keep in (("since_id", lambda n, v: int(n["id"]) > v), ("min_id", lambda n, v: int(n["id"]) > v),
                           ("max_id", lambda n, v: int(n["id"]) < v)):
            if q.get(name):
                mine = [n for n in mine if keep(n, int(q[name][0]))]
        limit = min(int((q.get("limit") or ["40"])[0]), 80)
        # Newest first; with min_id, the page right after it (Mastodon's forward pagination).
        page = mine[:limit] if q.get("min_id") else mine[-limit:]
        return self.reply(h, 200, [self.public(n) for n in reversed(page)])

    def _context(self, h, status_id: str):
        status = next((s for s in self.statuses if s["id"] == status_id), None)
        if status is None:
            return self.reply(h, 404, {"error": "Record not found"})
        ancestors, parent = [], status["in_reply_to_id"]
        while parent:
            s = next(s for s in self.statuses if s["id"] == parent)
            ancestors.insert(0, self.public(s))
            parent = s["in_reply_to_id"]
        descendants, frontier = [], {status_id}
        for s in self.statuses:
            if s["in_reply_to_id"] in frontier:
                descendants.append(self.public(s))
                frontier.add(s["id"])
        return self.reply(h, 200, {"ancestors": ancestors, "descendants": descendants})

    def handle(self, h, method: str):
        path = urlparse(h.path).path.rstrip("/")
        if method == "GET" and path == "/api/v2/instance" and not self.instance_v2:
            return self.reply(h, 404, {"error": "Not found"})
        if method == "GET" and path == "/api/v1/instance" and self.instance_v1 is not None:
            return self.reply(h, 200, self.instance_v1)
        if method == "GET" and path in ("/api/v1/instance", "/api/v2/instance"):
            return self.reply(h, 200, {"uri": "127.0.0.1", "domain": "127.0.0.1", "title": "fake", "version": "4.4.0",
                                       "configuration": {"statuses": {"max_characters": self.max_characters}}})
        if method == "POST" and path == "/api/v1/apps":
            return self.reply(h, 200, {"id": "7", "name": "app", "client_id": "cid", "client_secret": "csecret",
                                       "redirect_uri": "urn:ietf:wg:oauth:2.0:oob"})
        if method == "POST" and path == "/oauth/token":
            p = self.params(h)
            token = self.codes.get(p.get("code"))
            if not token:
                return self.reply(h, 400, {"error": "invalid_grant"})
            self.valid_tokens.add(token)
            self.token_scopes[token] = set(p.get("scope", "").split())
            return self.reply(h, 200, {"access_token": token, "token_type": "Bearer",
                                       "scope": p.get("scope", "read:accounts read:statuses write:statuses"),
                                       "created_at": int(time.time())})
        if not self.authorised(h):
            return self.reply(h, 401, {"error": "The access token is invalid"})
        if method == "GET" and path in ("/api/v1/accounts/verify_credentials", "/api/v1/accounts/1/statuses"):
            with self.lock:
                self.read_attempts += 1
                fault = self.read_faults.pop(0) if self.read_faults else None
            if fault and self.simple_fault(h, fault):
                return
        if method == "GET" and path == "/api/v1/accounts/verify_credentials":
            return self.reply(h, 200, self.account(self.token_accounts.get(self._token(h), "1")))
        m = re.fullmatch(r"/api/v1/accounts/(\w+)/statuses", path)
        if method == "GET" and m:
            limit = min(int((self._query(h).get("limit") or ["40"])[0]), 40)
            own = [s for s in self.by(m.group(1))
                   if not (self._query(h).get("exclude_replies") in (["true"], ["1"]) and s["in_reply_to_id"])]
            return self.reply(h, 200, [self.counted(s) for s in reversed(own)][:limit])
        if method == "GET" and path == "/api/v1/notifications":
            return self._notifications(h)
        m = re.fullmatch(r"/api/v1/statuses/(\w+)(/context)?", path)
        if method == "GET" and m and m.group(1) in self.hidden:
            code = self.hidden[m.group(1)]
            return self.reply(h, code, {"error": "This action is not allowed" if code == 403 else "Record not found"})
        if method == "GET" and m and m.group(2):
            return self._context(h, m.group(1))
        if method == "GET" and m:
            status = next((s for s in self.statuses if s["id"] == m.group(1)), None)
            return self.reply(h, 200, self.counted(status)) if status else self.reply(h, 404, {"error": "Record not found"})
        if method == "GET" and path == "/api/v1/accounts/lookup":
            with self.lock:
                self.lookups += 1
            name, _, domain = (self._query(h).get("acct") or [""])[0].removeprefix("@").partition("@")
            local = not domain or domain == urlparse(self.url).hostname  # another server's account is unknown here
            found = next((a for a in self.accounts.values() if a["username"] == name and local), None)
            return self.reply(h, 200, self.account(found["id"])) if found else self.reply(h, 404, {"error": "Record not found"})
        m = re.fullmatch(r"/api/v1/statuses/(\w+)/favourite", path)
        if method == "POST" and m:
            return self._favourite(h, m.group(1))
        m = re.fullmatch(r"/api/v1/statuses/(\w+)", path)
        if method == "DELETE" and m:
            return self._delete(h, m.group(1))
        if method == "POST" and path == "/api/v1/statuses":
            return self.post_status(h)
        if method == "PATCH" and path == "/api/v1/accounts/update_credentials":
            token = h.headers.get("Authorization", "").removeprefix("Bearer ")
            granted = self.token_scopes.get(token, {"write:accounts"})
            if self.refuse_profile_update or not granted & {"write", "write:accounts"}:
                return self.reply(h, 403, {"error": "This action is outside the authorized scopes"})
            if "bot" in (p := self.params(h)):
                self.bot = str(p["bot"]).lower() in ("1", "true")
            return self.reply(h, 200, self.account())
        return self.reply(h, 404, {"error": "Record not found"})

    def _visible(self, status: dict, account_id: str) -> bool:
        """A direct status is seen by its author and the accounts it mentions only."""
        return (status["visibility"] != "direct" or status["account"]["id"] == account_id
                or any(m["id"] == account_id for m in status["mentions"]))

    def _favourite(self, h, status_id: str):
        who = self.token_accounts.get(self._token(h), "1")
        with self.lock:
            status = next((s for s in self.statuses if s["id"] == status_id), None)
            if status is None or not self._visible(status, who):
                return self.reply(h, 404, {"error": "Record not found"})
            fans = self.favourites.setdefault(status_id, set())
            if who not in fans and status["account"]["id"] != who:
                self.next_id += 1
                self.notifications.append({"id": str(self.next_id), "type": "favourite",
                                           "_for": status["account"]["id"], "created_at": self._time(),
                                           "account": self.account(who), "status": self.public(status)})
            fans.add(who)
            return self.reply(h, 200, {**self.public(status), "favourited": True, "favourites_count": len(fans)})

    def _delete(self, h, status_id: str):
        who = self.token_accounts.get(self._token(h), "1")
        with self.lock:
            status = next((s for s in self.statuses if s["id"] == status_id), None)
            if status is None:
                return self.reply(h, 404, {"error": "Record not found"})
            if status["account"]["id"] != who or self.refuse_delete:
                return self.reply(h, 403, {"error": "This action is not allowed"})
            self.statuses.remove(status)
            self.deleted.append(status_id)
            return self.reply(h, 200, {**self.public(status), "text": status["_text"]})

    def post_status(self, h):
        p = self.params(h)
        key = h.headers.get("Idempotency-Key")
        reply_to = p.get("in_reply_to_id") or None
        with self.lock:
            self.post_attempts += 1
            self.keys_seen.append(key)
            faults = self.reply_faults if reply_to else self.faults
            fault = faults.pop(0) if faults else None
        if fault and self.simple_fault(h, fault):
            return
        author = self.token_accounts.get(self._token(h), "1")
        key = f"{author}:{key}" if key else None  # Mastodon scopes a key to its account
        with self.lock:
            if key and key in self.by_key and not self.ignore_keys:
                status = self.by_key[key]
            else:
                text = p.get("status", "")
                if len(text) > self.max_characters:
                    return self.reply(h, 422, {"error": "Validation failed: Text character limit exceeded"})
                status = self._create(author, text,
                                      p.get("visibility") or "public", reply_to, p.get("spoiler_text") or "",
                                      p.get("language"))
                if key:
                    self.by_key[key] = status
            self.accepted.set()
            if reply_to:
                self.reply_accepted.set()
        if fault and fault[0] == "stall":  # accepted, then no answer until released
            self.release.wait(fault[1])
        if fault and fault[0] == "drop_after_accept":  # stored, then the connection is lost
            h.close_connection = True
            return
        if fault and fault[0] == "nonjson":  # stored, then a proxy's page instead of the status
            data = b"<html><body>502 Bad Gateway</body></html>"
            h.send_response(200)
            h.send_header("Content-Type", "text/html")
            h.send_header("Content-Length", str(len(data)))
            h.end_headers()
            h.wfile.write(data)
            return
        return self.reply(h, 200, self.public(status))

    def simple_fault(self, h, fault) -> bool:
        """Answer with a fault that happens before anything is stored; False for the others."""
        if fault[0] == "status":
            self.reply(h, fault[1], {"error": f"injected {fault[1]}"})
        elif fault[0] == "ratelimit":
            reset = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(time.time() + fault[1]))
            self.reply(h, 429, {"error": "Too many requests"},
                       {"X-RateLimit-Limit": "300", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset})
        elif fault[0] == "drop":  # close the connection without a response
            h.close_connection = True
        else:
            return False
        return True

    @staticmethod
    def public(status: dict) -> dict:
        return {k: v for k, v in status.items() if not k.startswith("_")}

    def counted(self, status: dict) -> dict:
        """The status with its favourites, boosts and replies so far (by the audience's clock)."""
        counts = self.audience.counts(status["id"]) if self.audience else (0, 0, 0)
        return {**self.public(status), **dict(zip(("favourites_count", "reblogs_count", "replies_count"), counts)),
                **self.count_overrides.get(status["id"], {})}


class Audience:
    """Simulated followers of the bot. Each status gets an appeal: preference(text), the hidden
    taste (0 for none), plus per-post noise N(0, noise). Each follower favourites it with
    probability base * exp(taste_f * appeal), where taste_f (about 1, lognormal) is how strongly
    that follower shares the taste; boosts and replies are rarer in fixed ratios. Reactions
    arrive over the following hours (exponential delays, mean `delay` seconds) on the injected
    clock, so a reading at 24 h sees most of them and one at 72 h nearly all."""

    def __init__(self, clock, preference=None, followers: int = 300, base: float = 0.04, noise: float = 0.4,
                 boost_ratio: float = 0.3, reply_ratio: float = 0.05, delay: float = 8 * 3600.0, seed: int = 0):
        import numpy as np

        self.clock, self.preference = clock, preference or (lambda text: 0.0)
        self.base, self.noise, self.delay = base, noise, delay
        self.ratios = (1.0, boost_ratio, reply_ratio)
        self.seed = seed
        self.taste = np.random.default_rng(seed).lognormal(0.0, 0.3, followers)
        self.reactions: dict[str, list] = {}  # status id -> per kind, sorted arrival times

    def react(self, status_id: str, text: str) -> None:
        import numpy as np

        rng = np.random.default_rng([self.seed, len(self.reactions)])  # the n-th post's noise, whatever it says
        appeal = self.preference(text) + rng.normal(0.0, self.noise)
        p = np.minimum(0.9, self.base * np.exp(self.taste * appeal))
        now, out = self.clock(), []
        for ratio in self.ratios:
            who = rng.random(len(p)) < np.minimum(0.9, p * ratio)
            out.append(np.sort(now + rng.exponential(self.delay, int(who.sum()))))
        self.reactions[status_id] = out

    def counts(self, status_id: str) -> tuple[int, int, int]:
        """(favourites, boosts, replies) that have arrived by now."""
        import numpy as np

        times = self.reactions.get(status_id)
        if times is None:
            return (0, 0, 0)
        now = self.clock()
        return tuple(int(np.searchsorted(t, now, side="right")) for t in times)

    def total(self, status_id: str) -> int:
        """Every reaction the status will ever get (what a reader sees after a long while)."""
        return sum(len(t) for t in self.reactions.get(status_id, []))
