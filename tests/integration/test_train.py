"""`make train` on the real stack: a complete run, a registered champion, quality."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import lightgbm as lgb
import mlflow
import numpy as np
import pytest
from mlflow import MlflowClient
from mlflow.entities import Run
from trainer.data import load_adult

MODEL = "census-income-lgbm"
CURVES = [f"{part}_{metric}" for part in ("train", "val") for metric in ("binary_error", "binary_logloss", "auc")]
WORSE_ARGS = "ARGS=--param num_leaves=2 --param learning_rate=0.5 --param num_iterations=20"


@dataclass
class Trained:
    """The default `make train` run of this module, as the server recorded it."""

    output: str
    run: Run
    client: MlflowClient


@pytest.fixture
def as_client(stack, monkeypatch: pytest.MonkeyPatch) -> MlflowClient:
    """An MLflow client on the host that knows only the tracking URI and credentials."""
    for key, value in stack.client_env.items():
        monkeypatch.setenv(key, value)
    mlflow.set_tracking_uri(stack.tracking_uri)
    return MlflowClient(stack.tracking_uri)


def run_id_printed(output: str) -> str:
    """The run id `trainer train` prints on its `run` line."""
    match = re.search(r"^run\s+([0-9a-f]{32})$", output, re.M)
    assert match, output
    return match.group(1)


@pytest.fixture(scope="module")
def default_run(stack) -> Iterator[Trained]:
    """Run `make train` once with the defaults and fetch the run it created."""
    result = stack.make("train")
    with pytest.MonkeyPatch.context() as patch:
        for key, value in stack.client_env.items():
            patch.setenv(key, value)
        client = MlflowClient(stack.tracking_uri)
        run = client.get_run(run_id_printed(result.stdout))
        yield Trained(result.stdout + result.stderr, run, client)


def test_make_train_finishes_a_named_run(default_run: Trained) -> None:
    """The run is called lgbm_nl_31_lr_0.05 and ends FINISHED."""
    assert default_run.run.info.run_name == "lgbm_nl_31_lr_0.05"
    assert default_run.run.info.status == "FINISHED"


def test_run_has_parameters_curves_and_metrics(default_run: Trained, as_client: MlflowClient) -> None:
    """Parameters, six per-iteration curves and the summary metrics are all recorded."""
    data = default_run.run.data
    assert data.params["num_leaves"] == "31" and data.params["learning_rate"] == "0.05"
    best = int(data.metrics["best_iteration"])
    for name in CURVES:
        steps = [m.step for m in as_client.get_metric_history(default_run.run.info.run_id, name)]
        assert steps == list(range(1, len(steps) + 1)) and len(steps) >= best
    expected = {"best_iteration", "train_error", "val_error", "test_accuracy", "test_auc", "test_logloss", "test_f1"}
    assert expected <= set(data.metrics)


def test_run_has_plots_datasets_model_and_tags(default_run: Trained, as_client: MlflowClient) -> None:
    """The diagnostics figure, both datasets, the logged model and the version tags are there."""
    run = as_client.get_run(default_run.run.info.run_id)
    assert "diagnostics.png" in [f.path for f in as_client.list_artifacts(run.info.run_id)]
    assert {i.dataset.name for i in run.inputs.dataset_inputs} == {"adult-training", "adult-test"}
    assert len(run.outputs.model_outputs) == 1
    assert run.data.tags["trainer_version"] and len(run.data.tags["data_digest"]) == 64


def test_default_run_meets_the_quality_bar(default_run: Trained) -> None:
    """On adult.test: accuracy of at least 0.86 and AUC of at least 0.915."""
    metrics = default_run.run.data.metrics
    assert metrics["test_accuracy"] >= 0.86
    assert metrics["test_auc"] >= 0.915


def test_champion_predicts_like_the_booster_at_its_best_iteration(
    default_run: Trained, as_client: MlflowClient, stack, tmp_path
) -> None:
    """A fresh client loads @champion and gets the booster's predictions to 1e-9."""
    holdout = load_adult(stack.data_dir).holdout
    champion = mlflow.pyfunc.load_model(f"models:/{MODEL}@champion")
    version = as_client.get_model_version_by_alias(MODEL, "champion")
    folder = mlflow.artifacts.download_artifacts(f"models:/{MODEL}/{version.version}", dst_path=str(tmp_path))
    booster = lgb.Booster(model_file=f"{folder}/model.lgb")
    best = int(as_client.get_run(version.run_id).data.metrics["best_iteration"])
    assert booster.current_iteration() == best
    expected = booster.predict(holdout, num_iteration=best)
    assert np.max(np.abs(champion.predict(holdout) - expected)) <= 1e-9


def test_worse_run_leaves_the_champion(default_run: Trained, as_client: MlflowClient, stack) -> None:
    """A clearly worse run becomes candidate; champion stays, and the comparison is tagged."""
    before = as_client.get_model_version_by_alias(MODEL, "champion")
    worse = run_id_printed(stack.make("train", WORSE_ARGS).stdout)
    after = as_client.get_model_version_by_alias(MODEL, "champion")
    candidate = as_client.get_model_version_by_alias(MODEL, "candidate")
    assert after.version == before.version
    assert candidate.run_id == worse
    assert candidate.tags["promoted"] == "false"
    assert candidate.tags["compared_with_version"] == before.version


def test_bad_parameter_exits_2_with_one_line(default_run: Trained, stack) -> None:
    """An unknown parameter ends `make train` with the job's status 2 and no traceback."""
    result = stack.make("train", "ARGS=--param num_leafs=3", check=False)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "unknown LightGBM parameter 'num_leafs'" in result.stderr
    assert "Traceback" not in result.stderr
