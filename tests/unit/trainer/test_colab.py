"""trainer.colab: an authenticated server on a folder, behind a tunnel (here a local proxy playing ngrok)."""

from __future__ import annotations

import importlib.util
import os
import stat
from collections.abc import Iterator

import pytest
import requests

from bench.proxy import CountingProxy
from trainer import colab

PUBLIC_HOST = "abc123.ngrok-free.app"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        importlib.util.find_spec("flask") is None, reason="the server needs the full `mlflow` package (colab extra)"
    ),
]


def proxy_opener(opened: list[CountingProxy]) -> colab.Opener:
    """Plays pyngrok: a local proxy that forwards with a public-looking Host and 100 ms per round trip."""

    def open_port(port: int) -> colab.Tunnel:
        proxy = CountingProxy(f"http://127.0.0.1:{port}", delay_s=0.1, forward_host=PUBLIC_HOST).__enter__()
        opened.append(proxy)
        return colab.Tunnel(url=proxy.url, host=PUBLIC_HOST, close=lambda: proxy.__exit__(None, None, None))

    return open_port


@pytest.fixture(scope="module")
def helper(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """Starts the helper on one folder through the proxy opener (each start costs tens of seconds,
    so the tests share it); `helper.server` is the running one, stopped at the end."""
    folder = tmp_path_factory.mktemp("drive")
    proxies: list[CountingProxy] = []

    class Helper:
        server: colab.ColabServer | None = None

        def restart(self) -> colab.ColabServer:
            if self.server is not None:
                self.server.stop()
            self.server = colab.start_server(folder, opener=proxy_opener(proxies))
            return self.server

    helper = Helper()
    helper.restart()
    yield helper
    if helper.server is not None:
        helper.server.stop()


@pytest.fixture
def server(helper) -> colab.ColabServer:
    """The helper's running server."""
    return helper.server


def search(url: str, auth: tuple[str, str] | None) -> requests.Response:
    return requests.get(f"{url}/api/2.0/mlflow/experiments/search", params={"max_results": 50}, auth=auth, timeout=30)


def test_server_starts_behind_the_tunnel_and_enforces_authentication(server):
    """Through the tunnel: 401 without credentials on API, UI and artifacts; the admin gets JSON."""
    for path in ("/api/2.0/mlflow/experiments/search?max_results=1", "/", "/api/2.0/mlflow-artifacts/artifacts"):
        assert requests.get(server.url + path, timeout=30).status_code == 401, path
    response = search(server.url, (server.username, server.password))
    assert response.status_code == 200, response.text
    assert "experiments" in response.json()


def test_only_localhost_and_the_tunnel_host_are_admitted(server):
    """A Host header that is neither localhost nor the tunnel's is refused with 403."""
    auth = (server.username, server.password)
    refused = requests.get(f"{server.local_url}/api/2.0/mlflow/experiments/search?max_results=1",
                           headers={"Host": "evil.example.org"}, auth=auth, timeout=30)  # fmt: skip
    assert refused.status_code == 403


def test_instructions_never_show_the_password(server):
    """What the notebook prints names the URL and where the password lives, not the password."""
    text = server.instructions()
    assert server.url in text and server.password not in text


def test_store_and_password_persist_across_a_restart(helper):
    """Stopping the helper and starting it on the same folder keeps experiments and the admin password."""
    first = helper.server
    auth = (first.username, first.password)
    created = requests.post(f"{first.url}/api/2.0/mlflow/experiments/create", json={"name": "survives"},
                            auth=auth, timeout=30)  # fmt: skip
    assert created.status_code == 200, created.text
    second = helper.restart()
    assert first.process.poll() is not None
    assert second.password == first.password
    names = [e["name"] for e in search(second.url, (second.username, second.password)).json()["experiments"]]
    assert "survives" in names


def test_secrets_are_generated_once_and_private(tmp_path):
    """The admin password and secret key are random, written with mode 600, and reused."""
    first = colab.server_secrets(tmp_path)
    assert colab.server_secrets(tmp_path) == first
    assert len(first["admin_password"]) >= 12
    mode = stat.S_IMODE(os.stat(tmp_path / colab.SECRETS_FILE).st_mode)
    assert mode == 0o600


def test_a_server_answering_anonymous_requests_is_refused_stand_in_server():
    """The tunnel check fails when the server answers an anonymous call (a stand-in answering 200)."""
    import http.server
    import threading

    class Open(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Open)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        with pytest.raises(colab.UserError, match="authentication is off"):
            colab._require_authentication(f"http://127.0.0.1:{httpd.server_address[1]}")
    finally:
        httpd.shutdown()
