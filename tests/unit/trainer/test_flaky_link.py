"""The client on a flaky tunnel: a hung link fails within 60 s, an HTML answer is named plainly."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from trainer.settings import MLFLOW_CLIENT_DEFAULTS

from trainer import cli

NGROK_OFFLINE = b"<!DOCTYPE html><html><head><title>ERR_NGROK_3200</title></head><body>offline</body></html>"


def test_a_hung_link_costs_at_most_60_seconds_with_the_default_retries():
    """Every attempt timing out, plus the backoff between them, stays under a minute."""
    timeout = float(MLFLOW_CLIENT_DEFAULTS["MLFLOW_HTTP_REQUEST_TIMEOUT"])
    retries = int(MLFLOW_CLIENT_DEFAULTS["MLFLOW_HTTP_REQUEST_MAX_RETRIES"])
    factor = float(MLFLOW_CLIENT_DEFAULTS["MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR"])
    jitter = float(MLFLOW_CLIENT_DEFAULTS["MLFLOW_HTTP_REQUEST_BACKOFF_JITTER"])
    backoff = sum(factor * 2**n + jitter for n in range(retries))
    assert timeout * (retries + 1) + backoff < 60


@pytest.fixture
def tunnel_page_server() -> Iterator[str]:
    """Healthy on /health, but every API call gets ngrok's HTML offline page (as when the agent dies mid-run)."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            body, status, kind = (
                (b"OK", 200, "text/plain") if self.path == "/health" else (NGROK_OFFLINE, 404, "text/html")
            )
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _answer

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_an_html_answer_mid_run_is_reported_as_a_tunnel_page(
    tunnel_page_server: str, data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
):
    """When the API answers with an HTML page, the CLI says so in one line instead of quoting the page."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", tunnel_page_server)
    status = cli.main(
        ["train", "--data-dir", str(data_dir), "--output-dir", str(tmp_path), "--param", "num_iterations=5"]
    )
    err = capsys.readouterr().err
    assert status == 1
    assert "HTML page instead of MLflow's JSON" in err and "tunnel" in err
    assert "<html" not in err
