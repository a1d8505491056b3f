"""Fixtures for the trainer's unit tests: the real Adult files and a real MLflow server."""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO))  # for bench.proxy, shared by the benchmarks and these tests
# The real files: $DATA_DIR, else the shared/ folder beside the repository.
DATA_DIR = Path(os.environ.get("DATA_DIR") or REPO.parent / "shared" / "data")
SERVER_START_TIMEOUT_S = 90


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The folder holding adult/adult.data and adult/adult.test."""
    if not (DATA_DIR / "adult" / "adult.data").exists():
        pytest.fail(f"the Adult files are not in {DATA_DIR}/adult: set DATA_DIR")
    return DATA_DIR


@pytest.fixture(scope="session")
def adult_dir(data_dir: Path) -> Path:
    """The folder with the real adult.data, adult.test and adult.names."""
    return data_dir / "adult"


def free_port() -> int:
    """A localhost port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def closed_port_url() -> str:
    """An http URL on localhost where nothing listens: an offline or dead server."""
    return f"http://127.0.0.1:{free_port()}"


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a real `mlflow server` on a free port, with SQLite and proxied artifacts."""
    if importlib.util.find_spec("flask") is None or importlib.util.find_spec("sqlalchemy") is None:
        pytest.skip("the MLflow server needs the full `mlflow` package (tests/requirements.txt)")
    root = tmp_path_factory.mktemp("mlflow")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = (root / "server.log").open("w")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlflow",
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--backend-store-uri",
            f"sqlite:///{root}/mlflow.db",
            "--artifacts-destination",
            str(root / "artifacts"),
            "--workers",
            "1",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=root,
        env={**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"},
    )
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while True:
            try:
                if requests.get(f"{url}/health", timeout=5).ok:
                    break
            except requests.RequestException:  # not up yet, or too busy to answer
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"mlflow server did not start: see {root / 'server.log'}")
            time.sleep(0.3)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


@pytest.fixture
def names() -> dict[str, str]:
    """An experiment and a registered-model name no other test uses."""
    suffix = uuid.uuid4().hex[:8]
    return {"experiment": f"exp-{suffix}", "model": f"model-{suffix}"}


@pytest.fixture
def job_env(
    monkeypatch: pytest.MonkeyPatch, mlflow_server: str, data_dir: Path, tmp_path: Path, names
) -> dict[str, str]:
    """Environment for `trainer train` against the test server, with fresh names."""
    env = {
        "MLFLOW_TRACKING_URI": mlflow_server,
        "DATA_DIR": str(data_dir),
        "OUTPUT_DIR": str(tmp_path / "outputs"),
        "MLFLOW_EXPERIMENT_NAME": names["experiment"],
        "MODEL_NAME": names["model"],
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env
