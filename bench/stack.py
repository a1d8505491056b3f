"""A throwaway stack for benchmarks: `make up` under its own project name, removed with its volumes."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class BenchStack:
    """How to drive and reach one benchmark stack."""

    project: str
    env_file: Path
    backend: str = "minio"

    def make(self, *args: str) -> float:
        """Run a make target against this stack; return its wall time in seconds."""
        started = time.monotonic()
        subprocess.run(
            ["make", "--no-print-directory", *args, f"ENV_FILE={self.env_file}", f"PROJECT={self.project}",
             f"S3={self.backend}"],
            cwd=ROOT, check=True, capture_output=True, env={**os.environ, "FORCE": "1"},
        )
        return time.monotonic() - started

    def value(self, key: str) -> str:
        return re.search(rf"^{key}=(.*)$", self.env_file.read_text(), re.M).group(1)

    @property
    def client_env(self) -> dict[str, str]:
        return {
            "MLFLOW_TRACKING_URI": f"http://127.0.0.1:{self.value('MLFLOW_PORT')}",
            "MLFLOW_TRACKING_USERNAME": self.value("MLFLOW_ADMIN_USERNAME"),
            "MLFLOW_TRACKING_PASSWORD": self.value("MLFLOW_ADMIN_PASSWORD"),
        }


@contextmanager
def bench_stack(backend: str = "minio", project: str = "mlflowstackbench") -> Iterator[BenchStack]:
    """A fresh stack on free ports, started by the first `make up` and always removed."""
    with tempfile.TemporaryDirectory() as folder:
        env_file = Path(folder) / ".env"
        subprocess.run(["python3", "scripts/envfile.py", "ensure", "--env-file", str(env_file)], cwd=ROOT,
                       check=True, capture_output=True)
        text = env_file.read_text()
        for key in ("MLFLOW_PORT", "S3_API_PORT", "S3_CONSOLE_PORT"):
            text = re.sub(rf"^{key}=.*$", f"{key}={_free_port()}", text, flags=re.M)
        env_file.write_text(text)
        stack = BenchStack(project=f"{project}{backend}", env_file=env_file, backend=backend)
        stack.make("clean")
        try:
            yield stack
        finally:
            stack.make("clean")
