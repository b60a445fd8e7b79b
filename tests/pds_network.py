"""The reference Bluesky PDS for the tests: @atproto/pds and a PLC directory started on loopback by
tests/pds/start.mjs with the Node and packages that tests/pds/install.sh put in .pds/ (or
$BOT_PDS_DIR), and accounts made on it through its real API (createAccount, then an app password,
as a bot's owner would make one). With `appview` (PostgreSQL and Redis for it), the Bluesky AppView
too, which serves notifications and threads; process() makes it index what was written."""
from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import tempfile
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
PDS_DIR = Path(os.environ.get("BOT_PDS_DIR", ROOT / ".pds"))
START = ROOT / "tests" / "pds" / "start.mjs"
JWT_SECRET = "jwt-secret"  # @atproto/dev-env's (dist/const.js): the PDS signs its session tokens with it


def missing() -> str | None:
    """Why the PDS cannot start here, or None."""
    node = PDS_DIR / "bin" / "node"
    if not node.exists() or not (PDS_DIR / "node_modules" / "@atproto" / "dev-env").is_dir():
        return (f"the Bluesky PDS is not installed in {PDS_DIR} (bash tests/pds/install.sh installs it, "
                "about 665 MB; .ci/run does)")
    return None


@dataclass(frozen=True)
class Account:
    handle: str
    did: str
    password: str  # the account's own password
    app_password: str  # what the bot is given


class PdsNetwork:
    """A running PDS + PLC; `url` is the PDS's. Use as a context manager, or close()."""

    def __init__(self, timeout: float = 300.0, appview: dict | None = None):
        """appview: None (PDS and PLC only), or the AppView's DB_POSTGRES_URL, DB_POSTGRES_SCHEMA
        and REDIS_HOST (see start.mjs)."""
        self._data = Path(tempfile.mkdtemp(prefix="bot-test-pds-"))
        env = {**os.environ, "TMPDIR": str(self._data), "LOG_ENABLED": "false", **(appview or {})}
        self._process = subprocess.Popen([str(PDS_DIR / "bin" / "node"), str(START), str(PDS_DIR),
                                          *(["appview"] if appview else [])],
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=open(self._data / "pds.log", "wb"), env=env)
        lines: queue.Queue = queue.Queue()
        self._answers: queue.Queue = queue.Queue()  # start.mjs's answers to commands
        threading.Thread(target=self._read_output, args=(lines,), daemon=True).start()
        try:
            line = lines.get(timeout=timeout)  # a deadline, not a wait: the line comes when it serves
        except queue.Empty:
            line = b""
        if not line:
            self.close(keep_log=True)
            log = (self._data / "pds.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"the PDS did not start within {timeout:g} s:\n{log}")
        urls = json.loads(line)
        self.url, self.plc_url, self.appview_url = urls["pds"], urls["plc"], urls.get("appview")
        self.http = httpx.Client(base_url=self.url + "/xrpc", timeout=60)

    def _read_output(self, lines: queue.Queue) -> None:
        """Hands on start.mjs's line with the URLs; everything else it prints goes to the log."""
        with open(self._data / "pds.out", "ab") as log:
            for line in self._process.stdout:
                if line.startswith(b'{"pds"'):
                    lines.put(line)
                elif line.startswith((b'{"processed"', b'{"error"')):
                    self._answers.put(json.loads(line))
                else:
                    log.write(line)
        lines.put(b"")  # it ended
        self._answers.put({"error": "start.mjs ended"})

    def process(self, timeout: float = 120.0) -> None:
        """Make the AppView index every record written so far (network.processAll())."""
        if self.appview_url is None:
            raise RuntimeError("this network has no AppView")
        self._process.stdin.write(b"process\n")
        self._process.stdin.flush()
        try:
            answer = self._answers.get(timeout=timeout)  # a deadline: the answer comes when it is done
        except queue.Empty:
            raise RuntimeError(f"the AppView did not finish indexing within {timeout:g} s") from None
        if "error" in answer:
            raise RuntimeError(f"start.mjs: {answer['error']}")

    def __enter__(self) -> PdsNetwork:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self, keep_log: bool = False) -> None:
        if getattr(self, "http", None):
            self.http.close()
        if self._process.poll() is None:
            self._process.stdin.close()  # start.mjs stops when its input closes
            try:
                self._process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if not keep_log:
            shutil.rmtree(self._data, ignore_errors=True)

    def call(self, nsid: str, token: str | None = None, params: dict | None = None,
             body: dict | None = None) -> httpx.Response:
        """One XRPC call: a procedure (POST) when body is given, else a query (GET)."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if body is None:
            return self.http.get(nsid, params=params, headers=headers)
        return self.http.post(nsid, json=body, headers=headers)

    def create_account(self, name: str = "bot") -> Account:
        """A new account name-<random>.test with an app password."""
        handle = f"{name}-{uuid.uuid4().hex[:8]}.test"
        password = uuid.uuid4().hex
        made = self.call("com.atproto.server.createAccount",
                         body={"handle": handle, "email": f"{handle}@example.com", "password": password})
        made.raise_for_status()
        account = made.json()
        app = self.call("com.atproto.server.createAppPassword", token=account["accessJwt"], body={"name": "bot"})
        app.raise_for_status()
        return Account(handle, account["did"], password, app.json()["password"])

    def login(self, account: Account) -> dict:
        """A session of the account's own (createSession with its password)."""
        answer = self.call("com.atproto.server.createSession",
                           body={"identifier": account.handle, "password": account.password})
        answer.raise_for_status()
        return answer.json()

    def records(self, did: str, collection: str = "app.bsky.feed.post") -> list[dict]:
        """Every record of a collection in a repo, as listRecords gives them ({uri, cid, value})."""
        answer = self.call("com.atproto.repo.listRecords", params={"repo": did, "collection": collection,
                                                                   "limit": 100})
        answer.raise_for_status()
        return answer.json()["records"]
