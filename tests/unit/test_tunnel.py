"""`make tunnel` and scripts/tunnel.py: token first, auth required, URL from the agent, credentials never inline."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import tunnel

ROOT = Path(__file__).resolve().parents[2]


def serve(routes: dict[str, tuple[int, bytes]]) -> ThreadingHTTPServer:
    """A local server answering each path (query string ignored) with a fixed status and body."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            status, body = routes.get(self.path.split("?")[0], (404, b"not found"))
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def fake(request) -> Iterator[str]:
    """Base URL of a fake server with the routes given by the test's parametrization."""
    server = serve(request.param)
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def env_file(tmp_path: Path, **values: str) -> Path:
    path = tmp_path / ".env"
    path.write_text("".join(f"{k}={v}\n" for k, v in values.items()))
    return path


def test_check_without_token_names_the_variable_and_where_to_get_it(tmp_path, capsys):
    """No NGROK_AUTHTOKEN: exit 2, one line naming it and the dashboard page."""
    assert tunnel.main(["check", "--env-file", str(env_file(tmp_path, NGROK_AUTHTOKEN=""))]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err
    assert "NGROK_AUTHTOKEN" in err and tunnel.TOKEN_URL in err


def test_check_passes_with_a_token(tmp_path):
    """A token is all `check` needs."""
    assert tunnel.main(["check", "--env-file", str(env_file(tmp_path, NGROK_AUTHTOKEN="2abcDEF_ghi"))]) == 0


ALL_401 = {path.split("?")[0]: (401, b"You are not authenticated.") for path in tunnel.PROTECTED}


@pytest.mark.parametrize("fake", [ALL_401], indirect=True)
def test_auth_accepts_a_server_that_refuses_anonymous_requests(fake):
    """API, UI and artifact routes all answering 401 means authentication is on."""
    tunnel.require_auth(fake)


@pytest.mark.parametrize("fake", [{**ALL_401, "/": (200, b"<html>MLflow</html>")}], indirect=True)
def test_auth_refuses_a_server_without_authentication(fake):
    """One route served without credentials is enough to refuse the tunnel."""
    with pytest.raises(tunnel.EnvError, match="authentication is off"):
        tunnel.require_auth(fake)


AGENT = {
    "/api/tunnels": (
        200,
        json.dumps(
            {"tunnels": [{"public_url": "http://abc123.ngrok-free.app"}, {"public_url": "https://abc123.ngrok-free.app"}]}
        ).encode(),
    )
}


@pytest.mark.parametrize("fake", [AGENT], indirect=True)
def test_url_is_read_from_the_agent_api_preferring_https(fake):
    """The agent's local API lists the tunnel; the https URL wins."""
    assert tunnel.public_url(fake, wait_s=5) == "https://abc123.ngrok-free.app"


@pytest.mark.parametrize("fake", [{"/api/tunnels": (200, b'{"tunnels": []}')}], indirect=True)
def test_url_gives_up_with_a_message_when_no_tunnel_appears(fake):
    """An agent that never opens a tunnel (a bad token, say) ends in a message, not a hang."""
    with pytest.raises(tunnel.EnvError, match="no tunnel within 2 s"):
        tunnel.public_url(fake, wait_s=2)


def test_howto_sends_credentials_to_colab_secrets_not_inline(tmp_path):
    """The instructions name the secrets and never print a password."""
    text = tunnel.howto("https://abc123.ngrok-free.app", "admin")
    assert "MLFLOW_TRACKING_URI       https://abc123.ngrok-free.app" in text
    assert "Secrets" in text and "MLFLOW_TRACKING_PASSWORD" in text


def make(*args: str, env_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", *args, f"ENV_FILE={env_path}", "PROJECT=mlflowstacktunnelunit"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_make_tunnel_without_token_fails_before_starting_anything(tmp_path):
    """`make tunnel` with no token exits 2 naming the variable, and no container of the project exists."""
    result = make("tunnel", env_path=tmp_path / ".env")
    assert result.returncode == 2
    assert f"NGROK_AUTHTOKEN is not set; copy your token from {tunnel.TOKEN_URL}" in result.stderr
    if shutil.which("docker"):
        containers = subprocess.run(
            ["docker", "ps", "-aq", "--filter", "label=com.docker.compose.project=mlflowstacktunnelunit"],
            capture_output=True, text=True, check=False,
        ).stdout  # fmt: skip
        assert containers.strip() == ""


def fresh_env(tmp_path: Path) -> Path:
    """An env file made the way `make up` makes it."""
    env = tmp_path / ".env"
    subprocess.run(["python3", "scripts/envfile.py", "ensure", "--env-file", str(env)], cwd=ROOT, check=True)
    return env


@pytest.mark.skipif(shutil.which("docker") is None, reason="needs the docker CLI with Compose")
@pytest.mark.parametrize("domain", ["", "my-name.ngrok-free.app"])
def test_the_tunnel_profile_is_a_valid_compose_config(tmp_path, domain):
    """`docker compose --profile tunnel config` is valid; a domain reaches ngrok's --url and the allowed hosts."""
    env = fresh_env(tmp_path)
    with env.open("a") as handle:
        handle.write(f"NGROK_AUTHTOKEN=2abcDEF_test\nNGROK_DOMAIN={domain}\n")
    result = subprocess.run(
        ["docker", "compose", "--env-file", str(env), "--profile", "tunnel", "config", "--format", "json"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    services = json.loads(result.stdout)["services"]
    ngrok = services["ngrok"]
    assert ngrok["command"][:2] == ["http", "http://mlflow:5000"]
    assert ngrok["ports"][0]["host_ip"] == "127.0.0.1"
    hosts = services["mlflow"]["environment"]["MLFLOW_ALLOWED_HOSTS"].split(",")
    assert "*" not in hosts
    if domain:
        assert f"--url={domain}" in ngrok["command"] and domain in hosts
    else:
        assert len(ngrok["command"]) == 2 and not any("ngrok" in host for host in hosts)


@pytest.mark.skipif(shutil.which("docker") is None, reason="needs the docker CLI with Compose")
def test_the_default_config_stays_valid_without_a_token(tmp_path):
    """Users who never use the tunnel need no NGROK_AUTHTOKEN for any Compose command."""
    env = fresh_env(tmp_path)
    result = subprocess.run(
        ["docker", "compose", "--env-file", str(env), "--profile", "*", "config", "--images"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("NGROK_DOMAIN", "*.ngrok-free.app"),
        ("NGROK_DOMAIN", "https://my-name.ngrok-free.app"),
        ("NGROK_DOMAIN", "my-name.ngrok-free.app:443"),
        ("MLFLOW_EXTRA_ALLOWED_HOSTS", ",*"),
        ("MLFLOW_EXTRA_ALLOWED_HOSTS", "a.example.org"),
        ("NGROK_AUTHTOKEN", "abc def"),
    ],
)
def test_tunnel_settings_that_would_widen_or_break_the_host_check_are_refused(tmp_path, key, value):
    """A wildcard, scheme or port in the tunnel's host settings stops `make up` with the variable's name."""
    import envfile

    values = envfile.parse(envfile.fill_secrets((ROOT / ".env.example").read_text()))
    values[key] = value
    with pytest.raises(envfile.EnvError, match=key):
        envfile.validate(values, list(values))


def test_tunnel_settings_are_optional_and_accept_a_reserved_domain():
    """Empty tunnel settings, and a plain reserved domain, pass validation."""
    import envfile

    values = envfile.parse(envfile.fill_secrets((ROOT / ".env.example").read_text()))
    envfile.validate(values, list(values))
    envfile.validate({**values, "NGROK_DOMAIN": "my-name.ngrok-free.app", "NGROK_AUTHTOKEN": "2abc_DEF"}, list(values))
