"""scripts/users.py: create a user through the auth REST API as the admin, print the password once."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import users

ADMIN = ("admin", "admin-password-123")


class FakeAuthServer:
    """Answers /users/create like MLflow's basic-auth app and records what it was sent."""

    def __init__(self) -> None:
        self.created: dict[str, str] = {}
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                expected = "Basic " + base64.b64encode(":".join(ADMIN).encode()).decode()
                if self.headers.get("Authorization") != expected:
                    return self._send(401, b"You are not authenticated.")
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if self.path != users.CREATE_PATH:
                    return self._send(404, b"not found")
                if body["username"] in server.created:
                    return self._send(400, b'{"error_code": "RESOURCE_ALREADY_EXISTS", "message": "exists"}')
                server.created[body["username"]] = body["password"]
                self._send(200, json.dumps({"user": {"username": body["username"]}}).encode())

            def _send(self, status: int, payload: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"


@pytest.fixture
def auth_server() -> Iterator[FakeAuthServer]:
    """A stand-in for the tracking server's user API."""
    server = FakeAuthServer()
    thread = threading.Thread(target=server.httpd.serve_forever, daemon=True)
    thread.start()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


@pytest.fixture
def env_file(tmp_path: Path) -> Path:
    """An env file holding the admin credentials, as `make up` writes them."""
    path = tmp_path / ".env"
    path.write_text(f"MLFLOW_PORT=5000\nMLFLOW_ADMIN_USERNAME={ADMIN[0]}\nMLFLOW_ADMIN_PASSWORD={ADMIN[1]}\n")
    return path


def test_creates_the_user_and_prints_its_generated_password_once(auth_server, env_file, capsys):
    """The server receives the user with a fresh password, which is printed exactly once."""
    assert users.main(["create", "alice", "--env-file", str(env_file), "--url", auth_server.url]) == 0
    out = capsys.readouterr().out
    password = auth_server.created["alice"]
    assert len(password) >= 12
    assert out.count(password) == 1
    assert "no permissions" in out


def test_each_user_gets_a_different_password(auth_server, env_file):
    """Passwords are generated per user, never a default."""
    for name in ("alice", "bob"):
        assert users.main(["create", name, "--env-file", str(env_file), "--url", auth_server.url]) == 0
    assert auth_server.created["alice"] != auth_server.created["bob"]


def test_an_existing_user_is_a_one_line_error(auth_server, env_file, capsys):
    """Creating the same name twice exits 2 and says the user exists."""
    users.main(["create", "alice", "--env-file", str(env_file), "--url", auth_server.url])
    capsys.readouterr()
    assert users.main(["create", "alice", "--env-file", str(env_file), "--url", auth_server.url]) == 2
    assert capsys.readouterr().err.strip() == "error: user 'alice' already exists"


def test_wrong_admin_password_names_the_variable(auth_server, tmp_path, capsys):
    """A 401 from the server points at MLFLOW_ADMIN_PASSWORD."""
    env = tmp_path / ".env"
    env.write_text("MLFLOW_ADMIN_USERNAME=admin\nMLFLOW_ADMIN_PASSWORD=wrong-password-1\n")
    assert users.main(["create", "alice", "--env-file", str(env), "--url", auth_server.url]) == 2
    assert "MLFLOW_ADMIN_PASSWORD" in capsys.readouterr().err


def test_a_stopped_server_says_to_start_it(env_file, capsys):
    """No server at the URL: exit 2 with `make up` in the message, no traceback."""
    assert users.main(["create", "alice", "--env-file", str(env_file), "--url", "http://127.0.0.1:9"]) == 2
    assert "make up" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["", ".hidden", "a b", "x" * 65, "eve;ls"])
def test_unsafe_names_are_refused_before_any_request(env_file, name, capsys):
    """Names that are empty, too long or hold shell characters never reach the server."""
    assert users.main(["create", name, "--env-file", str(env_file), "--url", "http://127.0.0.1:9"]) == 2
    assert "NAME=" in capsys.readouterr().err
