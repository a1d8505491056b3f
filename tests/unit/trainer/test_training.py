"""A default run against a real MLflow server: what it records, registers and costs."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import lightgbm as lgb
import mlflow
import numpy as np
import pytest
from mlflow import MlflowClient
from trainer.cli import main
from trainer.data import load_adult
from trainer.params import build_config
from trainer.train import RunOptions, TrainingResult, run_training

from bench.proxy import CountingProxy

CURVES = [f"{part}_{metric}" for part in ("train", "val") for metric in ("binary_error", "binary_logloss", "auc")]
REQUEST_BUDGET = 25


@dataclass
class Session:
    """Two default runs of one experiment and model: the first, then one counted by a proxy."""

    client: MlflowClient
    experiment: str
    model: str
    first: TrainingResult
    second: TrainingResult
    requests: list[tuple[str, str]]
    holdout: object


@pytest.fixture(scope="module")
def session(mlflow_server: str, data_dir: Path, tmp_path_factory) -> Iterator[Session]:
    """Train the default configuration twice, the second time through a counting proxy."""
    suffix = uuid.uuid4().hex[:8]
    experiment, model = f"default-{suffix}", f"census-{suffix}"
    prepared = load_adult(data_dir)
    output = tmp_path_factory.mktemp("out")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", mlflow_server)
        first = run_training(prepared, build_config(), _options(mlflow_server, experiment, model, output))
        with CountingProxy(mlflow_server) as proxy:
            patch.setenv("MLFLOW_TRACKING_URI", proxy.url)
            code = main(
                [
                    "train",
                    "--data-dir",
                    str(data_dir),
                    "--experiment",
                    experiment,
                    "--model-name",
                    model,
                    "--output-dir",
                    str(output),
                ]
            )
            assert code == 0
            requests = list(proxy.requests)
    client = MlflowClient(mlflow_server)
    runs = client.search_runs([client.get_experiment_by_name(experiment).experiment_id], order_by=["start_time DESC"])
    second = TrainingResult(trained=first.trained, metrics=runs[0].data.metrics, run_id=runs[0].info.run_id)
    mlflow.set_tracking_uri(mlflow_server)
    yield Session(client, experiment, model, first, second, requests, prepared.holdout)


def _options(uri: str, experiment: str, model: str, output: Path) -> RunOptions:
    return RunOptions(tracking_uri=uri, experiment_name=experiment, model_name=model, output_dir=output)


def test_run_is_named_and_finished(session: Session) -> None:
    """The run is called lgbm_nl_31_lr_0.05 and ends FINISHED."""
    run = session.client.get_run(session.first.run_id)
    assert run.info.run_name == "lgbm_nl_31_lr_0.05"
    assert run.info.status == "FINISHED"


def test_all_parameters_are_logged(session: Session) -> None:
    """Every LightGBM parameter and the split settings are run parameters."""
    params = session.client.get_run(session.first.run_id).data.params
    assert params["num_leaves"] == "31" and params["learning_rate"] == "0.05"
    assert params["objective"] == "binary" and params["feature_fraction"] == "0.9"
    assert params["num_iterations"] == "500" and params["early_stopping_round"] == "50"
    assert params["valid_fraction"] == "0.2" and params["split_seed"] == "42"


def test_curves_have_one_step_per_iteration(session: Session) -> None:
    """Train and validation error, logloss and AUC are step metrics for every iteration."""
    trained = session.first.trained
    for name in CURVES:
        history = session.client.get_metric_history(session.first.run_id, name)
        assert [m.step for m in history] == list(range(1, len(trained.curves[name]) + 1))
        assert [m.value for m in history] == pytest.approx(trained.curves[name])


def test_summary_metrics_are_taken_at_the_best_iteration(session: Session) -> None:
    """best_iteration, train_error and val_error match the curves at the best iteration."""
    metrics = session.client.get_run(session.first.run_id).data.metrics
    best = int(metrics["best_iteration"])
    assert best == session.first.trained.best_iteration
    assert metrics["val_error"] == pytest.approx(session.first.trained.curves["val_binary_error"][best - 1])
    assert metrics["train_error"] == pytest.approx(session.first.trained.curves["train_binary_error"][best - 1])
    assert {"test_accuracy", "test_auc", "test_logloss", "test_f1"} <= set(metrics)


def test_default_run_meets_the_quality_bar(session: Session) -> None:
    """On adult.test the default model reaches accuracy 0.86 and AUC 0.915."""
    assert session.first.metrics["test_accuracy"] >= 0.86
    assert session.first.metrics["test_auc"] >= 0.915


def test_tags_name_version_commit_and_data(session: Session) -> None:
    """Tags carry the trainer version, the data digest, and never a secret."""
    tags = session.client.get_run(session.first.run_id).data.tags
    assert tags["trainer_version"]
    assert len(tags["data_digest"]) == 64
    assert not any("PASSWORD" in key.upper() or "SECRET" in key.upper() for key in tags)


def test_datasets_are_logged_as_inputs(session: Session) -> None:
    """Train and holdout are run inputs with name, digest and row count."""
    inputs = session.client.get_run(session.first.run_id).inputs.dataset_inputs
    by_name = {i.dataset.name: i.dataset for i in inputs}
    assert set(by_name) == {"adult-training", "adult-test"}
    assert '"num_rows": 32561' in by_name["adult-training"].profile
    assert all(d.digest for d in by_name.values())


def test_plots_are_artifacts(session: Session) -> None:
    """The diagnostics figure is an artifact of the run."""
    files = [f.path for f in session.client.list_artifacts(session.first.run_id)]
    assert "diagnostics.png" in files


def test_model_is_logged_with_signature_and_example(session: Session) -> None:
    """The logged model has a signature, an input example, and the best iteration's trees."""
    info = mlflow.models.get_model_info(f"models:/{session.first.model_id}")
    assert info.signature is not None and info.saved_input_example_info is not None
    assert info.metadata["best_iteration"] == session.first.trained.best_iteration
    outputs = session.client.get_run(session.first.run_id).outputs.model_outputs
    assert [o.model_id for o in outputs] == [session.first.model_id]


def test_first_run_becomes_champion_and_candidate(session: Session) -> None:
    """With no champion yet, the first version gets both aliases."""
    assert session.first.registration is not None and session.first.registration.promoted
    version = session.client.get_model_version(session.model, session.first.registration.version)
    assert version.tags["promoted"] == "true"
    assert version.tags["val_metric"] == "binary_error"


def test_equal_run_does_not_take_the_champion_alias(session: Session) -> None:
    """A second, identical run becomes candidate but champion stays: it is not better."""
    champion = session.client.get_model_version_by_alias(session.model, "champion")
    candidate = session.client.get_model_version_by_alias(session.model, "candidate")
    assert champion.version == session.first.registration.version
    assert int(candidate.version) == int(champion.version) + 1
    assert candidate.tags["promoted"] == "false"
    assert candidate.tags["compared_with_version"] == champion.version


def test_champion_predicts_exactly_like_the_booster(session: Session, mlflow_server: str) -> None:
    """A client knowing only the tracking URI loads @champion and matches the booster to 1e-9."""
    loaded = mlflow.pyfunc.load_model(f"models:/{session.model}@champion")
    expected = session.first.trained.booster.predict(session.holdout)
    assert np.max(np.abs(loaded.predict(session.holdout) - expected)) <= 1e-9


def test_default_run_stays_within_the_request_budget(session: Session) -> None:
    """A default run (experiment and model existing) costs at most 25 HTTP requests."""
    assert len(session.requests) <= REQUEST_BUDGET, session.requests
    metric_batches = [p for m, p in session.requests if p.endswith("/runs/log-batch")]
    assert len(metric_batches) <= 4


def test_saved_trees_stop_at_the_best_iteration(session: Session) -> None:
    """The stored booster holds exactly best_iteration trees."""
    booster: lgb.Booster = session.first.trained.booster
    assert booster.current_iteration() == session.first.trained.best_iteration
