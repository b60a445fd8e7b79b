"""A small XRPC server on localhost for what the real PDS cannot be made to do: faults injected into
the calls a Bluesky outlet makes. Real HTTP, the real `atproto` client on the other side.

It serves createSession, refreshSession, putRecord (with swapRecord, as the reference PDS: a JSON
null creates only when the key is free, the identical record is a no-op, another record is 400
InvalidSwap) and getRecord, for one account. Tokens are JWTs (unsigned; `atproto` reads their exp).

faults: {nsid: [action, ...]} consumed in order per method: ("status", code[, error]) answers
that status and XRPC error; ("ratelimit", reset_epoch) 429 with RateLimit-Reset;
("drop",) closes the connection without doing anything; ("drop_after_accept",) does the call,
then closes without answering; ("nonjson",) does the call, then answers 200 with an HTML page;
("expired",) answers 400 ExpiredToken (the server holds the access token expired, whatever its exp
says); ("delete_after",) does the call, then deletes the record at the key (a record gone between
two calls).
"""
from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

DID = "did:plc:fakebotaccount00000000000"
HANDLE = "bot.fake.test"
PASSWORD = "app-pass-word-fake"


def jwt(payload: dict) -> str:
    """An unsigned JWT: enough for a client that only reads the payload."""
    part = lambda d: base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()  # noqa: E731
    return f"{part({'alg': 'none', 'typ': 'at+jwt'})}.{part(payload)}.c2ln"


class FakeXrpc:
    def __init__(self, access_lifetime: float = 7200):
        self.records: dict[tuple[str, str], dict] = {}  # (collection, rkey) -> {"cid", "value"}
        self.faults: dict[str, list] = {}
        self.calls: dict[str, int] = {}  # nsid -> how many times it was called
        self.access_lifetime = access_lifetime
        self.valid_access: set[str] = set()
        self.valid_refresh: set[str] = set()
        self.lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> FakeXrpc:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def session(self) -> dict:
        """A fresh session: what createSession and refreshSession answer."""
        now = time.time()
        access = jwt({"scope": "com.atproto.appPass", "sub": DID, "iat": int(now),
                      "exp": int(now + self.access_lifetime), "aud": "did:web:fake"})
        refresh = jwt({"scope": "com.atproto.refresh", "sub": DID, "iat": int(now), "exp": int(now + 86400 * 60),
                       "jti": uuid.uuid4().hex, "aud": "did:web:fake"})
        self.valid_access.add(access)
        self.valid_refresh.add(refresh)
        return {"did": DID, "handle": HANDLE, "accessJwt": access, "refreshJwt": refresh, "active": True}

    def posts(self) -> list[dict]:
        return [r["value"] for (collection, _), r in sorted(self.records.items()) if collection == "app.bsky.feed.post"]

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _send(self, code: int, body, headers: dict | None = None, content_type="application/json"):
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def _error(self, code: int, error: str, message: str = "", headers=None):
                self._send(code, {"error": error, "message": message or error}, headers)

            def _drop(self):
                self.close_connection = True
                self.connection.shutdown(2)

            def do_GET(self):
                self._dispatch(None)

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                self._dispatch(json.loads(self.rfile.read(length) or b"null"))

            def _dispatch(self, body):
                url = urlparse(self.path)
                nsid = url.path.removeprefix("/xrpc/")
                params = {k: v[0] for k, v in parse_qs(url.query).items()}
                with server.lock:
                    server.calls[nsid] = server.calls.get(nsid, 0) + 1
                    queue = server.faults.get(nsid) or []
                    fault = queue.pop(0) if queue else None
                if fault and fault[0] == "status":
                    return self._error(fault[1], fault[2] if len(fault) > 2 else "InternalServerError")
                if fault and fault[0] == "ratelimit":
                    return self._error(429, "RateLimitExceeded", "Rate Limit Exceeded",
                                       {"RateLimit-Limit": "30", "RateLimit-Remaining": "0",
                                        "RateLimit-Reset": str(int(fault[1])), "RateLimit-Policy": "30;w=300"})
                if fault and fault[0] == "drop":
                    return self._drop()
                if fault and fault[0] == "expired":
                    return self._error(400, "ExpiredToken", "Token has expired")
                code, answer = self._do(nsid, params, body)
                if fault and fault[0] == "delete_after":
                    server.records.pop(((body or params)["collection"], (body or params)["rkey"]), None)
                if fault and fault[0] == "drop_after_accept":
                    return self._drop()
                if fault and fault[0] == "nonjson":
                    return self._send(200, b"<html>Bad gateway, maybe</html>", content_type="text/html")
                if isinstance(answer, tuple):
                    return self._error(code, *answer)
                return self._send(code, answer)

            def _token(self) -> str:
                return (self.headers.get("Authorization") or "").removeprefix("Bearer ")

            def _do(self, nsid, params, body):
                if nsid == "com.atproto.server.createSession":
                    if body.get("identifier") not in (HANDLE, DID) or body.get("password") != PASSWORD:
                        return 401, ("AuthenticationRequired", "Invalid identifier or password")
                    return 200, server.session()
                if nsid == "com.atproto.server.refreshSession":
                    token = self._token()
                    if token not in server.valid_refresh:
                        return 400, ("ExpiredToken", "Token has expired")
                    server.valid_refresh.discard(token)
                    return 200, server.session()
                if self._token() not in server.valid_access:
                    return 400, ("InvalidToken", "Token could not be verified")
                if nsid == "com.atproto.repo.getRecord":
                    held = server.records.get((params["collection"], params["rkey"]))
                    if held is None:
                        return 400, ("RecordNotFound", "Could not locate record")
                    return 200, {"uri": f"at://{DID}/{params['collection']}/{params['rkey']}", **held}
                if nsid == "com.atproto.repo.putRecord":
                    where = (body["collection"], body["rkey"])
                    cid = "bafy" + uuid.uuid5(uuid.NAMESPACE_OID, json.dumps(body["record"], sort_keys=True)).hex
                    held = server.records.get(where)
                    if "swapRecord" in body and (held["cid"] if held else None) != body["swapRecord"]:
                        if not (held and held["cid"] == cid):
                            return 400, ("InvalidSwap", f"Record was at {held['cid'] if held else 'null'}")
                    server.records[where] = {"cid": cid, "value": body["record"]}
                    return 200, {"uri": f"at://{DID}/{where[0]}/{where[1]}", "cid": cid}
                return 501, ("MethodNotImplemented", nsid)

        return Handler
