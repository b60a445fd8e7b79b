"""A wrong server address is one line that says what it is and what to write instead: a profile's
address, a website with no Mastodon API, https:// to a port that speaks plain HTTP."""
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bot import cli
from fake_mastodon import TOKEN


def _check(monkeypatch, capsys, url: str) -> str:
    monkeypatch.setenv("MASTODON_API_BASE_URL", url)
    monkeypatch.setenv("MASTODON_ACCESS_TOKEN", TOKEN)
    monkeypatch.setenv("REQUEST_TIMEOUT", "30s")
    assert cli.main(["check"]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1, captured
    return captured.err


@pytest.mark.parametrize("url", ["https://mastodon.example/@mashups", "https://mastodon.example/web/@mashups",
                                 "https://mastodon.example/users/mashups", "https://mastodon.example/?lang=en"])
def test_a_profile_address_names_the_servers(monkeypatch, capsys, url):
    assert _check(monkeypatch, capsys, url) == (
        f"bot: error: MASTODON_API_BASE_URL={url} is the address of a page on https://mastodon.example, not of "
        "the server: use https://mastodon.example\n")
    assert cli.main(["register", "--server", url, "--code", "x"]) == 1
    assert "use https://mastodon.example" in capsys.readouterr().err


class _Website(BaseHTTPRequestHandler):
    """A web server with no Mastodon API: every path is an HTML 404."""

    def do_GET(self):
        body = b"<html><body>Not Found</body></html>"
        self.send_response(404)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_a_website_without_the_api_is_named_as_such(monkeypatch, capsys):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Website)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}"
        assert _check(monkeypatch, capsys, url) == (
            f"bot: error: {url} has no Mastodon API (404 on /api/v1/accounts/verify_credentials); "
            "MASTODON_API_BASE_URL must be your server's address, e.g. https://mastodon.social\n")
    finally:
        server.shutdown()
        server.server_close()


def test_https_to_a_plain_http_port_says_so_not_a_certificate_problem(monkeypatch, capsys, mastodon_server):
    url = mastodon_server.url.replace("http://", "https://")
    host = url.removeprefix("https://")
    err = _check(monkeypatch, capsys, url)
    assert err == (f"bot: error: verify credentials: cannot reach {host} (it answers plain HTTP, not HTTPS: use "
                   "http:// or the server's HTTPS port); check MASTODON_API_BASE_URL and the network\n")
