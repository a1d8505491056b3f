"""`make sweep` and `make tune` on the stack: child runs, shared studies, resumption, a killed worker."""

from __future__ import annotations

import os
import subprocess
import time
import uuid

import pytest
from mlflow import MlflowClient
from stack_control import ROOT, Stack

TINY = "--param num_iterations=30 --param early_stopping_round=10"
TRIAL_TAG, STUDY_TAG = "optuna.trial_number", "optuna.study_name"


@pytest.fixture
def client(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> MlflowClient:
    """A tracking client on the host that knows only the URI and the credentials."""
    for key, value in stack.client_env.items():
        monkeypatch.setenv(key, value)
    return MlflowClient(stack.tracking_uri)


@pytest.fixture
def names() -> dict[str, str]:
    """Experiment, model and study names no other test uses."""
    suffix = uuid.uuid4().hex[:8]
    return {"experiment": f"search-{suffix}", "model": f"search-{suffix}", "study": f"study-{suffix}"}


def _runs(client: MlflowClient, experiment: str) -> list:
    found = client.get_experiment_by_name(experiment)
    assert found is not None, f"no experiment {experiment}"
    return client.search_runs([found.experiment_id], max_results=1000)


def _tune_args(names: dict[str, str]) -> str:
    return (f"ARGS=--study {names['study']} --experiment {names['experiment']} --model-name {names['model']} "
            f"--nthread 1 --no-progress {TINY}")  # fmt: skip


def _trials(runs: list, study: str) -> list:
    return [r for r in runs if r.data.tags.get(STUDY_TAG) == study and TRIAL_TAG in r.data.tags]


def _parent(runs: list, study: str):
    [parent] = [r for r in runs if r.data.tags.get(STUDY_TAG) == study and r.data.tags.get("trainer.search") == "tune"]
    return parent


def test_sweep_trains_a_2x2_grid_in_two_processes(stack: Stack, client: MlflowClient, names) -> None:
    """`make sweep JOBS=2`: four named child runs, a summarised parent, the best model champion."""
    args = (f"ARGS=--grid num_leaves=15,31 --grid learning_rate=0.05,0.1 {TINY} "
            f"--experiment {names['experiment']} --model-name {names['model']}")  # fmt: skip
    stack.make("sweep", "JOBS=2", args)
    runs = _runs(client, names["experiment"])
    [parent] = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert sorted(r.info.run_name for r in children) == [
        "lgbm_nl_15_lr_0.05", "lgbm_nl_15_lr_0.1", "lgbm_nl_31_lr_0.05", "lgbm_nl_31_lr_0.1"]  # fmt: skip
    assert {r.info.status for r in children} == {"FINISHED"} and parent.info.status == "FINISHED"
    best = min(children, key=lambda r: r.data.metrics["best_val_binary_error"])
    assert parent.data.tags["best_run_id"] == best.info.run_id
    assert parent.data.params["num_leaves"] == best.data.params["num_leaves"]
    assert {"sweep_results.csv", "sweep_heatmap.png"} <= {a.path for a in client.list_artifacts(parent.info.run_id)}
    assert client.get_model_version_by_alias(names["model"], "champion").run_id == best.info.run_id


def test_two_workers_finish_exactly_six_trials_then_resume(stack: Stack, client: MlflowClient, names) -> None:
    """`make tune TRIALS=6 WORKERS=2`: six trial runs under one parent; a second run resumes to 8."""
    stack.make("tune", "TRIALS=6", "WORKERS=2", _tune_args(names))
    runs = _runs(client, names["experiment"])
    parent, trials = _parent(runs, names["study"]), _trials(runs, names["study"])
    numbers = [int(r.data.tags[TRIAL_TAG]) for r in trials]
    assert len(numbers) == 6 and len(set(numbers)) == 6
    assert all(r.data.tags["mlflow.parentRunId"] == parent.info.run_id for r in trials)
    parent = client.get_run(parent.info.run_id)
    assert parent.data.metrics["trials_finished"] == 6 and parent.info.status == "FINISHED"
    assert {"optimization_history.png", "param_importances.png"} <= {
        a.path for a in client.list_artifacts(parent.info.run_id)
    }
    champion = client.get_model_version_by_alias(names["model"], "champion")
    assert champion.run_id == parent.data.tags["best_run_id"]

    stack.make("tune", "TRIALS=8", "WORKERS=1", _tune_args(names))
    runs = _runs(client, names["experiment"])
    assert _parent(runs, names["study"]).info.run_id == parent.info.run_id
    assert len(_trials(runs, names["study"])) == 8
    assert client.get_run(parent.info.run_id).data.metrics["trials_finished"] == 8


def test_a_killed_worker_leaves_its_trial_failed_and_the_study_carries_on(
    stack: Stack, client: MlflowClient, names
) -> None:
    """SIGKILL one of two workers mid-trial: its run ends KILLED, the other finishes all trials."""
    command = ["make", "--no-print-directory", "tune", "TRIALS=4", "WORKERS=2", _tune_args(names), *stack.make_vars()]
    make = subprocess.Popen(command, cwd=ROOT, env={**os.environ, "DATA_DIR": str(stack.data_dir)},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 600
        while not (running := [r for r in _trials(_maybe_runs(client, names), names["study"])
                                if r.info.status == "RUNNING"]):  # fmt: skip
            assert time.monotonic() < deadline and make.poll() is None, "no trial started"
            time.sleep(0.5)
        # A container's hostname is its short id; the trial's run names the worker's host.
        host = running[0].data.tags["optuna.worker"].split(":")[0]
        subprocess.run(["docker", "kill", host], check=True, capture_output=True)
        output, _ = make.communicate(timeout=900)
    finally:
        if make.poll() is None:
            make.kill()
    runs = _runs(client, names["experiment"])
    trials = _trials(runs, names["study"])
    assert [r.info.status for r in trials].count("KILLED") >= 1, output
    finished = [r for r in trials if r.info.status == "FINISHED"]
    assert len(finished) == 4, output
    assert client.get_run(_parent(runs, names["study"]).info.run_id).data.metrics["trials_finished"] == 4


def _maybe_runs(client: MlflowClient, names: dict[str, str]) -> list:
    """The experiment's runs, or none while the workers have not created it yet."""
    found = client.get_experiment_by_name(names["experiment"])
    return client.search_runs([found.experiment_id]) if found else []
