"""Remote use through a tunnel: a local proxy plays ngrok (public-looking Host, 100 ms per round trip)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from mlflow import MlflowClient
from stack_control import FAKE_TUNNEL_HOST, ROOT, Stack

sys.path.insert(0, str(ROOT))  # bench.proxy, shared with the benchmarks
from bench.proxy import CountingProxy  # noqa: E402

ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = "/usr/bin/chromium"
FAST = ["--param", "num_iterations=20"]
PROTECTED = {
    "API": "/api/2.0/mlflow/experiments/search?max_results=1",
    "UI": "/",
    "artifacts": "/api/2.0/mlflow-artifacts/artifacts",
}


@pytest.fixture(scope="module")
def tunnel(stack: Stack) -> Iterator[CountingProxy]:
    """The fake tunnel in front of the stack's MLflow."""
    with CountingProxy(stack.tracking_uri, delay_s=0.1, forward_host=FAKE_TUNNEL_HOST) as proxy:
        yield proxy


def train(env: dict[str, str], tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`trainer train` on the host, as a Colab runtime would run it: only MLFLOW_* settings."""
    full_env = {"PATH": os.environ["PATH"], "HOME": str(tmp), "OUTPUT_DIR": str(tmp / "out"), **env}
    return subprocess.run(
        [sys.executable, "-m", "trainer.cli", "train", *FAST, *args],
        env=full_env, cwd=tmp, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip


@dataclass
class RemoteRun:
    experiment: str
    model: str
    run_id: str
    output: str


@pytest.fixture(scope="module")
def remote_run(stack: Stack, tunnel: CountingProxy, tmp_path_factory) -> RemoteRun:
    """One full train job through the tunnel with the admin's credentials."""
    suffix = uuid.uuid4().hex[:6]
    experiment, model = f"remote-{suffix}", f"remote-model-{suffix}"
    env = {
        **stack.client_env,
        "MLFLOW_TRACKING_URI": tunnel.url,
        "DATA_DIR": str(stack.data_dir),
        "MLFLOW_EXPERIMENT_NAME": experiment,
        "MODEL_NAME": model,
    }
    result = train(env, tmp_path_factory.mktemp("remote"))
    assert result.returncode == 0, result.stderr
    run_id = re.search(r"^run\s+(\w+)", result.stdout, re.M).group(1)
    return RemoteRun(experiment, model, run_id, result.stdout + result.stderr)


def admin_client(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> MlflowClient:
    for key, value in stack.client_env.items():
        monkeypatch.setenv(key, value)
    return MlflowClient(stack.tracking_uri)


def test_a_full_train_job_runs_through_the_tunnel(stack, remote_run, tunnel, monkeypatch):
    """Parameters, curves, the model and its registry version all arrive through the proxy."""
    client = admin_client(stack, monkeypatch)
    run = client.get_run(remote_run.run_id)
    assert run.info.status == "FINISHED"
    assert run.data.params["num_iterations"] == "20"
    assert len(client.get_metric_history(remote_run.run_id, "val_auc")) > 1
    assert {a.path for a in client.list_artifacts(remote_run.run_id)} >= {"diagnostics.png"}
    assert client.search_model_versions(f"name='{remote_run.model}'")
    assert any("log-batch" in path for _, path in tunnel.requests)


@pytest.mark.parametrize("kind", PROTECTED)
def test_without_credentials_every_route_answers_401(tunnel, kind):
    """API, UI and artifact routes through the tunnel all refuse anonymous requests."""
    assert requests.get(tunnel.url + PROTECTED[kind], timeout=30).status_code == 401


def test_a_host_that_is_not_allowed_gets_403(stack):
    """Valid credentials do not help a request whose Host is neither localhost nor the tunnel's."""
    response = requests.get(stack.tracking_uri + PROTECTED["API"], headers={"Host": "evil.example.org"},
                            auth=stack.auth, timeout=30)  # fmt: skip
    assert response.status_code == 403


def test_a_stopped_tunnel_fails_within_60_seconds_with_a_clear_message(stack, tmp_path):
    """With the proxy gone, the job stops in under a minute naming the URL, not after minutes of retries."""
    with CountingProxy(stack.tracking_uri, forward_host=FAKE_TUNNEL_HOST) as proxy:
        url = proxy.url
    started = time.monotonic()
    result = train({**stack.client_env, "MLFLOW_TRACKING_URI": url, "DATA_DIR": str(stack.data_dir)}, tmp_path)
    assert time.monotonic() - started < 60
    assert result.returncode == 2
    assert f"the MLflow tracking server at {url} does not answer" in result.stderr


def test_make_user_creates_a_user_without_permissions(stack, remote_run, tunnel):
    """`make user` prints a new password once; that user logs in through the tunnel but sees no experiment."""
    name = f"alice{uuid.uuid4().hex[:4]}"
    result = stack.make("user", env={"NAME": name})
    password = re.search(r"^  MLFLOW_TRACKING_PASSWORD=(\S+)$", result.stdout, re.M).group(1)
    assert stack.values["MLFLOW_ADMIN_PASSWORD"] not in result.stdout + result.stderr
    auth = (name, password)
    assert requests.get(tunnel.url + PROTECTED["API"], auth=auth, timeout=30).status_code == 200
    experiment = requests.get(f"{tunnel.url}/api/2.0/mlflow/experiments/get-by-name",
                              params={"experiment_name": remote_run.experiment}, auth=auth, timeout=30)  # fmt: skip
    assert experiment.status_code == 403


def test_the_tunnel_check_sees_authentication_on(stack):
    """`scripts/tunnel.py auth`, which gates `make tunnel`, passes against the real server."""
    result = subprocess.run([sys.executable, "scripts/tunnel.py", "auth", "--env-file", str(stack.env_file)],
                            cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert result.returncode == 0, result.stderr


def test_no_secret_in_run_params_tags_or_logs(stack, remote_run, monkeypatch):
    """Neither the admin password nor the server's other secrets appear in the run or in any log."""
    client = admin_client(stack, monkeypatch)
    run = client.get_run(remote_run.run_id)
    recorded = " ".join([*run.data.params.values(), *run.data.tags.values(), remote_run.output])
    logs = stack.compose("logs", "--no-color").stdout
    urls = stack.make("urls").stdout
    for key in ("MLFLOW_ADMIN_PASSWORD", "MLFLOW_FLASK_SECRET_KEY", "POSTGRES_PASSWORD", "S3_SECRET_KEY"):
        secret = stack.values[key]
        assert secret not in recorded, f"{key} in the run"
        assert secret not in logs, f"{key} in the logs"
        assert secret not in urls, f"{key} printed by make urls"


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium (apt-get install chromium)")
def test_the_ui_through_the_tunnel_shows_runs_and_the_plot_artifact(stack, remote_run, tunnel, monkeypatch):
    """Headless Chromium, logged in with basic auth, lists the run and shows diagnostics.png in the viewer."""
    playwright = pytest.importorskip("playwright.sync_api")
    experiment_id = admin_client(stack, monkeypatch).get_experiment_by_name(remote_run.experiment).experiment_id
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )  # fmt: skip
        try:
            user, password = stack.auth
            page = browser.new_context(http_credentials={"username": user, "password": password}).new_page()
            page.set_default_timeout(60_000)
            # The runs tab (a bare experiment URL opens MLflow 3's GenAI overview instead).
            page.goto(f"{tunnel.url}/#/experiments/{experiment_id}/runs")
            page.locator(f"a[href*='runs/{remote_run.run_id}']").first.wait_for()
            page.screenshot(path=ARTIFACTS / "remote-ui-runs.png", full_page=True)

            page.goto(f"{tunnel.url}/#/experiments/{experiment_id}/runs/{remote_run.run_id}/artifacts")
            page.get_by_text("diagnostics.png").first.click()
            # The viewer fetches the bytes through the proxy and shows them in an <img>: wait until one
            # has really decoded from a blob (a broken image has naturalWidth 0).
            page.wait_for_function("() => [...document.images].some(i => i.src.startsWith('blob:') && i.naturalWidth)")
            page.screenshot(path=ARTIFACTS / "remote-ui-artifact.png", full_page=True)
        finally:
            browser.close()
    assert (ARTIFACTS / "remote-ui-artifact.png").stat().st_size > 0
