"""A small Mastodon API server on localhost for tests: real HTTP, real Mastodon.py on the other
side, with faults to inject. Statuses live in memory; Idempotency-Key is honoured like Mastodon's
(unless ignore_keys, like GoToSocial and some Pleroma versions).

POST /api/v1/statuses faults (server.faults, consumed in order): ("status", code), ("ratelimit", s),
("drop",) closes the connection without storing; ("drop_after_accept",) stores, then closes;
("nonjson",) stores, then answers 200 with an HTML page; ("stall", s) stores, then waits.
A list of one fault repeated is a server that always does it. read_faults do the same for GETs of
the account and its statuses. instance_v2=False answers 404 on /api/v2/instance (Mastodon before
4.0, Pleroma); instance_v1 is then the v1 body."""
from __future__ import annotations

import html
import json
import threading
import time
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

TOKEN = "test-token-5f1c2b"


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

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

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
            return self._store(text, {}, created_at)

    def _store(self, text: str, p: dict, created_at: float | None = None) -> dict:
        n = len(self.statuses) + 1
        at = time.gmtime(time.time() if created_at is None else created_at)
        status = {"id": str(100 + n), "_text": text, "content": f"<p>{html.escape(text)}</p>",
                  "url": f"{self.url}/@mashups/{100 + n}", "uri": f"{self.url}/statuses/{100 + n}",
                  "created_at": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", at),
                  "visibility": p.get("visibility") or "public", "spoiler_text": p.get("spoiler_text") or "",
                  "language": p.get("language"), "account": self.account(), "media_attachments": [],
                  "mentions": [], "tags": [], "emojis": []}
        self.statuses.append(status)
        return status

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

    def account(self) -> dict:
        return {"id": "1", "username": "mashups", "acct": "mashups", "display_name": "songs x arXiv",
                "bot": self.bot, "url": f"{self.url}/@mashups", "created_at": "2026-01-01T00:00:00.000Z",
                "note": "", "followers_count": 0, "following_count": 0, "statuses_count": len(self.statuses)}

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
            return self.reply(h, 200, self.account())
        if method == "GET" and path == "/api/v1/accounts/1/statuses":
            return self.reply(h, 200, [self.public(s) for s in reversed(self.statuses)][:40])
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

    def post_status(self, h):
        p = self.params(h)
        key = h.headers.get("Idempotency-Key")
        with self.lock:
            self.post_attempts += 1
            self.keys_seen.append(key)
            fault = self.faults.pop(0) if self.faults else None
        if fault and self.simple_fault(h, fault):
            return
        with self.lock:
            if key and key in self.by_key and not self.ignore_keys:
                status = self.by_key[key]
            else:
                text = p.get("status", "")
                if len(text) > self.max_characters:
                    return self.reply(h, 422, {"error": "Validation failed: Text character limit exceeded"})
                status = self._store(text, p)
                if key:
                    self.by_key[key] = status
            self.accepted.set()
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
