"""A reverse proxy in front of a tracking server that counts requests and can add latency.

Used by the benchmarks and the tests: `with CountingProxy(upstream, delay_s=0.1) as proxy:`
then point MLFLOW_TRACKING_URI at `proxy.url`; `proxy.requests` lists (method, path).
"""

from __future__ import annotations

import http.client
import threading
import time
import urllib.parse
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "proxy-authorization",
    "proxy-authenticate",
}


class CountingProxy:
    """Forward every request to `upstream`, recording it, optionally after `delay_s`."""

    def __init__(
        self, upstream: str, delay_s: float = 0.0, host: str = "127.0.0.1", forward_host: str | None = None
    ) -> None:
        parsed = urllib.parse.urlsplit(upstream)
        self.upstream_host = parsed.hostname or "127.0.0.1"
        self.upstream_port = parsed.port or (443 if parsed.scheme == "https" else 80)
        self.upstream_https = parsed.scheme == "https"
        self.upstream_prefix = parsed.path.rstrip("/")
        self.delay_s = delay_s
        # The Host header sent upstream; a public-looking name makes the proxy play a tunnel.
        self.forward_host = forward_host
        self.requests: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((host, 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """The proxy's base URL, to use as MLFLOW_TRACKING_URI."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def reset(self) -> None:
        """Forget the requests seen so far."""
        with self._lock:
            self.requests.clear()

    def summary(self) -> Counter[str]:
        """Request counts by method and path, with run and model ids folded away."""
        with self._lock:
            return Counter(f"{method} {_shape(path)}" for method, path in self.requests)

    def __enter__(self) -> CountingProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _connection(self) -> http.client.HTTPConnection:
        kind = http.client.HTTPSConnection if self.upstream_https else http.client.HTTPConnection
        return kind(self.upstream_host, self.upstream_port, timeout=120)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as MLflow's client uses it

            def log_message(self, *args: object) -> None:
                pass

            def _forward(self) -> None:
                with proxy._lock:
                    proxy.requests.append((self.command, self.path))
                body = self._read_body()
                if proxy.delay_s:
                    time.sleep(proxy.delay_s)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                headers["Host"] = proxy.forward_host or f"{proxy.upstream_host}:{proxy.upstream_port}"
                if body is not None:
                    headers["Content-Length"] = str(len(body))
                conn = proxy._connection()
                try:
                    conn.request(self.command, proxy.upstream_prefix + self.path, body, headers)
                    response = conn.getresponse()
                    payload = response.read()
                finally:
                    conn.close()
                self.send_response(response.status, response.reason)
                for key, value in response.getheaders():
                    if key.lower() not in HOP_BY_HOP and key.lower() != "content-length":
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            def _read_body(self) -> bytes | None:
                if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                    chunks = []
                    while size := int(self.rfile.readline().split(b";")[0], 16):
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()
                    self.rfile.readline()
                    return b"".join(chunks)
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length) if length else None

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _forward

        return Handler


def _shape(path: str) -> str:
    """`/api/2.0/mlflow/runs/get?run_id=abc` -> `/api/2.0/mlflow/runs/get`; ids become `*`."""
    path = path.split("?", 1)[0]
    parts = path.split("/")
    if "artifacts" in parts and len(parts) > 6 and "mlflow-artifacts" in parts:
        return "/".join(parts[:6]) + "/.../" + parts[-1]
    return "/".join("*" if part.startswith("m-") else part for part in parts)
