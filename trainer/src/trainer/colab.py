"""An authenticated MLflow server inside Colab, on a folder that outlives the runtime, tunnelled.

For users without a machine to host the stack: `start_server("/content/drive/MyDrive/mlflow")`
keeps the store, the artifacts and the server's generated secrets in that folder (mounted
Google Drive survives the runtime), turns MLflow's basic-auth app on, admits only
localhost and the tunnel's host, and opens the tunnel (pyngrok by default; tests pass
their own opener). Needs the `colab` extra: the full `mlflow` package and pyngrok.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import requests

from trainer.errors import UserError

ADMIN_USERNAME = "admin"
SECRETS_FILE = "server-secrets.json"
START_TIMEOUT_S = 120
AUTH_CONFIG = """[mlflow]
default_permission = NO_PERMISSIONS
database_uri = sqlite:///{folder}/basic_auth.db
admin_username = {username}
admin_password = {password}
authorization_function = mlflow.server.auth:authenticate_request_basic_auth
grant_default_workspace_access = false
# Without the credential cache every request pays a PBKDF2 hash on the server (a tenth
# of a second or more); one worker here, so no other process can hold a stale entry.
auth_cache_ttl_seconds = 60
auth_cache_max_size = 100
"""


@dataclass(frozen=True)
class Tunnel:
    """A public entry to the local server: the URL clients use, the Host header the server sees."""

    url: str
    host: str
    close: Callable[[], None] = field(default=lambda: None, repr=False, compare=False)


Opener = Callable[[int], Tunnel]


def ngrok_opener(authtoken: str | None = None, domain: str | None = None) -> Opener:
    """An opener that tunnels a local port with pyngrok (token, optional reserved domain)."""

    def open_port(port: int) -> Tunnel:
        from pyngrok import conf, ngrok  # the `colab` extra; imported only when a tunnel is opened

        config = conf.PyngrokConfig(auth_token=authtoken) if authtoken else None
        options = {"domain": domain} if domain else {}
        tunnel = ngrok.connect(str(port), "http", pyngrok_config=config, **options)
        url = tunnel.public_url.replace("http://", "https://", 1)
        return Tunnel(
            url=url,
            host=urlsplit(url).hostname or "",
            close=lambda: ngrok.disconnect(tunnel.public_url),
        )

    return open_port


@dataclass
class ColabServer:
    """A running server and its tunnel; `stop()` ends both, the folder keeps everything."""

    folder: Path
    local_url: str
    tunnel: Tunnel
    username: str
    password: str = field(repr=False)
    process: subprocess.Popen = field(repr=False)

    @property
    def url(self) -> str:
        return self.tunnel.url

    def client_env(self) -> dict[str, str]:
        """The variables an MLflow client in this runtime needs (MLflow reads them itself)."""
        return {
            "MLFLOW_TRACKING_URI": self.local_url,
            "MLFLOW_TRACKING_USERNAME": self.username,
            "MLFLOW_TRACKING_PASSWORD": self.password,
        }

    def instructions(self) -> str:
        """How to reach the server from elsewhere, without printing the password."""
        return (
            f"MLflow UI and API: {self.url}  (user {self.username}; basic auth on)\n"
            f"The admin password is in {self.folder / SECRETS_FILE}: put it in the other\n"
            "machine's MLFLOW_TRACKING_PASSWORD (a Colab secret, never a notebook cell); "
            "MLFLOW_TRACKING_URI is the URL above."
        )

    def stop(self) -> None:
        """Close the tunnel and stop the server; the store stays in the folder."""
        try:
            self.tunnel.close()
        finally:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def server_secrets(folder: Path) -> dict[str, str]:
    """The admin password and the UI's secret key: generated once, kept in the folder (mode 600)."""
    path = folder / SECRETS_FILE
    if path.exists():
        return json.loads(path.read_text())
    values = {
        "admin_password": secrets.token_urlsafe(24),
        "flask_secret_key": secrets.token_urlsafe(32),
    }
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(values, handle)
    return values


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_command(folder: Path, port: int, allowed_hosts: list[str]) -> list[str]:
    """`mlflow server` with a SQLite store and proxied artifacts in the folder, basic auth on."""
    return [
        sys.executable, "-m", "mlflow", "server",
        "--app-name", "basic-auth",
        "--backend-store-uri", f"sqlite:///{folder}/mlflow.db",
        "--serve-artifacts", "--artifacts-destination", str(folder / "artifacts"),
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
        # Localhost (this runtime) and the tunnel's host only: MLflow refuses other Host headers.
        "--allowed-hosts", ",".join(allowed_hosts),
    ]  # fmt: skip


def _wait_healthy(url: str, process: subprocess.Popen, log: Path, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise UserError(f"the MLflow server exited with status {process.returncode}; see {log}")
        try:
            if requests.get(f"{url}/health", timeout=2).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    process.terminate()
    raise UserError(f"the MLflow server did not answer within {timeout_s:.0f} s; see {log}")


def _require_authentication(url: str) -> None:
    """Refuse to leave a tunnel open to a server that answers anonymous requests."""
    status = requests.get(f"{url}/api/2.0/mlflow/experiments/search?max_results=1", timeout=10)
    if status.status_code != 401:
        raise UserError(
            f"the MLflow server answered an anonymous request with HTTP {status.status_code}, "
            "not 401: authentication is off, so the tunnel was closed"
        )


def start_server(
    folder: str | Path,
    opener: Opener | None = None,
    port: int | None = None,
    timeout_s: float = START_TIMEOUT_S,
) -> ColabServer:
    """Start the server on `folder` (created if needed), open the tunnel, return both once healthy.

    The tunnel opens first because the server must know the tunnel's host before it starts.
    """
    folder = Path(folder).expanduser().resolve()
    (folder / "artifacts").mkdir(parents=True, exist_ok=True)
    values = server_secrets(folder)
    port = port or _free_port()
    tunnel = (opener or ngrok_opener())(port)
    auth_ini = folder / "basic_auth.ini"
    # It holds the admin password: created private before a byte is written.
    fd = os.open(auth_ini, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(
            AUTH_CONFIG.format(
                folder=folder, username=ADMIN_USERNAME, password=values["admin_password"]
            )
        )
    hosts = ["localhost", f"localhost:{port}", "127.0.0.1", f"127.0.0.1:{port}", tunnel.host]
    env = {
        **os.environ,
        "MLFLOW_AUTH_CONFIG_PATH": str(auth_ini),
        "MLFLOW_FLASK_SERVER_SECRET_KEY": values["flask_secret_key"],
        "MLFLOW_DISABLE_TELEMETRY": "true",
    }
    log = folder / "server.log"
    with log.open("a") as handle:
        process = subprocess.Popen(
            server_command(folder, port, hosts),
            stdout=handle,
            stderr=subprocess.STDOUT,
            cwd=folder,
            env=env,
        )
    local_url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(local_url, process, log, timeout_s)
        _require_authentication(local_url)
    except BaseException:
        tunnel.close()
        process.terminate()
        raise
    return ColabServer(folder, local_url, tunnel, ADMIN_USERNAME, values["admin_password"], process)
