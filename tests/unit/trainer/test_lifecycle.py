"""Run lifecycle and server failures: never a RUNNING run left behind, always one line."""

from __future__ import annotations

import http.server
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from mlflow import MlflowClient
from trainer.cli import main

from trainer import plots

DEADLINE_S = 60


def runs_of(server: str, experiment: str) -> list:
    """All runs of an experiment, newest first (none if it does not exist)."""
    client = MlflowClient(server)
    found = client.get_experiment_by_name(experiment)
    return client.search_runs([found.experiment_id]) if found else []


def test_exception_marks_the_run_failed_and_registers_nothing(
    job_env, names, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An error after the run started ends it FAILED, exit 1, and no model version exists."""

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(plots, "write_diagnostics", broken)
    assert main(["train"]) == 1
    err = capsys.readouterr().err
    assert "RuntimeError: disk full" in err and "Traceback" not in err
    [run] = runs_of(job_env["MLFLOW_TRACKING_URI"], names["experiment"])
    assert run.info.status == "FAILED"
    client = MlflowClient(job_env["MLFLOW_TRACKING_URI"])
    assert not client.search_model_versions(f"name = '{names['model']}'")


def test_debug_shows_the_traceback(job_env, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    """--debug prints the traceback that is otherwise hidden."""
    monkeypatch.setattr(plots, "write_diagnostics", lambda *a, **k: 1 / 0)
    assert main(["train", "--debug"]) == 1
    assert "Traceback" in capsys.readouterr().err


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signal_marks_the_run_killed(job_env, names, signum: signal.Signals) -> None:
    """SIGTERM or SIGINT during training ends the run KILLED and the job exits 1."""
    slow = ["--param", "num_iterations=1000000", "--param", "early_stopping_round=0"]
    job = subprocess.Popen(
        [sys.executable, "-m", "trainer.cli", "train", *slow],
        env={**os.environ, **job_env},
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + DEADLINE_S
    while not runs_of(job_env["MLFLOW_TRACKING_URI"], names["experiment"]):
        assert job.poll() is None and time.monotonic() < deadline
        time.sleep(0.2)
    time.sleep(1.0)  # well into training
    job.send_signal(signum)
    _, err = job.communicate(timeout=DEADLINE_S)
    assert job.returncode == 1, err
    assert "KILLED" in err and "Traceback" not in err
    [run] = runs_of(job_env["MLFLOW_TRACKING_URI"], names["experiment"])
    assert run.info.status == "KILLED"


def test_bad_input_creates_no_run(job_env, names, capsys) -> None:
    """An unknown parameter is rejected before any run exists."""
    assert main(["train", "--param", "num_leafs=7"]) == 2
    assert not runs_of(job_env["MLFLOW_TRACKING_URI"], names["experiment"])


def test_dead_server_fails_fast_naming_the_url(closed_port_url: str, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    """With nothing listening, the job exits 2 at once with one line naming the URL."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", closed_port_url)
    started = time.monotonic()
    assert main(["train"]) == 2
    assert time.monotonic() - started < DEADLINE_S
    err = capsys.readouterr().err
    assert f"tracking server at {closed_port_url} does not answer" in err
    assert len(err.strip().splitlines()) == 1


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A port that accepts connections but never answers, like a hung tunnel."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


def test_server_that_never_answers_fails_within_a_minute(
    silent_server: str, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server that accepts but stays silent is given up on well inside 60 seconds."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", silent_server)
    started = time.monotonic()
    assert main(["train"]) == 2
    assert time.monotonic() - started < DEADLINE_S
    assert f"{silent_server} does not answer" in capsys.readouterr().err


class TunnelErrorPage(http.server.BaseHTTPRequestHandler):
    """Answers every request the way a tunnel does when the far end is down."""

    def do_GET(self) -> None:
        body = b"<!DOCTYPE html><html><head><title>ERR_NGROK_3200</title></head></html>"
        self.send_response(404)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def html_server() -> Iterator[str]:
    """A local server that answers with an HTML error page."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), TunnelErrorPage)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_html_answer_is_called_an_html_page(html_server: str, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    """An HTML page instead of MLflow's answer is reported plainly, with its title."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", html_server)
    assert main(["train"]) == 2
    err = capsys.readouterr().err
    assert "answered with an HTML page titled 'ERR_NGROK_3200'" in err
    assert len(err.strip().splitlines()) == 1


def test_client_timeouts_are_short_unless_the_user_chose(monkeypatch: pytest.MonkeyPatch) -> None:
    """MLflow's HTTP timeout and retries get short defaults; a user's own value wins."""
    from trainer.settings import apply_mlflow_client_defaults

    env = {"MLFLOW_HTTP_REQUEST_TIMEOUT": "300"}
    apply_mlflow_client_defaults(env)
    assert env["MLFLOW_HTTP_REQUEST_TIMEOUT"] == "300"
    assert int(env["MLFLOW_HTTP_REQUEST_MAX_RETRIES"]) <= 3


def test_untracked_run_writes_outputs_locally(data_dir: Path, tmp_path: Path, capsys) -> None:
    """--no-tracking trains without any server and leaves the model and plots on disk."""
    assert main(["train", "--no-tracking", "--data-dir", str(data_dir), "--output-dir", str(tmp_path)]) == 0
    assert (tmp_path / "model.txt").exists()
    assert (tmp_path / "plots" / "diagnostics.png").exists()
