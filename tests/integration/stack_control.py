"""Real stacks for tests and benchmarks: started with `make up` under their own project name, on free ports."""

from __future__ import annotations

import os
import re
import socket
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = Path(os.environ.get("DATA_DIR", ROOT / "data")).resolve()
# Own project names, so a user's own stack on this machine is never touched.
PROJECT_PREFIX = "mlflowstacktest"
# test_remote.py puts a local proxy in front of MLflow that plays an ngrok tunnel and
# sends this Host header; the stacks admit it the way `make tunnel` admits a real one.
FAKE_TUNNEL_HOST = "abc123.ngrok-free.app"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def read_env(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            values[key] = value
    return values


@dataclass
class Stack:
    """One running stack: how to reach it, and how to drive it through the Makefile."""

    backend: str
    project: str
    env_file: Path
    data_dir: Path = DATA_DIR
    values: dict[str, str] = field(default_factory=dict)

    @property
    def tracking_uri(self) -> str:
        return f"http://127.0.0.1:{self.values['MLFLOW_PORT']}"

    @property
    def s3_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.values['S3_API_PORT']}"

    @property
    def client_env(self) -> dict[str, str]:
        """What a client on the host needs, and nothing else: no AWS or artifact settings."""
        return {
            "MLFLOW_TRACKING_URI": self.tracking_uri,
            "MLFLOW_TRACKING_USERNAME": self.values["MLFLOW_ADMIN_USERNAME"],
            "MLFLOW_TRACKING_PASSWORD": self.values["MLFLOW_ADMIN_PASSWORD"],
        }

    @property
    def auth(self) -> tuple[str, str]:
        return self.values["MLFLOW_ADMIN_USERNAME"], self.values["MLFLOW_ADMIN_PASSWORD"]

    def make_vars(self) -> list[str]:
        return [f"ENV_FILE={self.env_file}", f"PROJECT={self.project}", f"S3={self.backend}"]

    def make(self, *args: str, env: dict[str, str] | None = None, check: bool = True, timeout: float = 1200):
        """Run `make ARGS...` in the repository against this stack."""
        full_env = {**os.environ, "DATA_DIR": str(self.data_dir), **(env or {})}
        result = subprocess.run(
            ["make", "--no-print-directory", *args, *self.make_vars()],
            cwd=ROOT,
            env=full_env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"make {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
        return result

    def compose(self, *args: str, check: bool = True, timeout: float = 600):
        """Run `docker compose` with this stack's project, env file and compose files."""
        files = ["-f", "compose.yaml"] + (
            ["-f", "services/seaweedfs/compose.yaml"] if self.backend == "seaweedfs" else []
        )
        result = subprocess.run(
            ["docker", "compose", "--project-name", self.project, "--env-file", str(self.env_file), *files, *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env={**os.environ, "DATA_DIR": str(self.data_dir)},
        )
        if check and result.returncode != 0:
            raise AssertionError(f"docker compose {' '.join(args)} exited {result.returncode}:\n{result.stderr}")
        return result


def new_env_file(directory: Path) -> Path:
    """A fresh .env made the way `make up` makes it, moved to free ports."""
    env_file = directory / ".env"
    subprocess.run(
        ["python3", "scripts/envfile.py", "ensure", "--env-file", str(env_file)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    text = env_file.read_text()
    for key in ("MLFLOW_PORT", "S3_API_PORT", "S3_CONSOLE_PORT"):
        text = re.sub(rf"^{key}=.*$", f"{key}={free_port()}", text, flags=re.M)
    extra = f"MLFLOW_EXTRA_ALLOWED_HOSTS=,{FAKE_TUNNEL_HOST}"
    text = re.sub(r"^MLFLOW_EXTRA_ALLOWED_HOSTS=.*$", extra, text, flags=re.M)
    env_file.write_text(text)
    return env_file


def start_stack(backend: str, directory: Path) -> Stack:
    stack = Stack(backend=backend, project=f"{PROJECT_PREFIX}{backend}", env_file=new_env_file(directory))
    stack.values = read_env(stack.env_file)
    # A stack left over from an interrupted run would hold the volumes: clear it first.
    stack.make("clean", env={"FORCE": "1"}, check=False)
    stack.make("up")
    return stack
