"""`trainer tune`: a shared Optuna study whose trials are child runs, resumable and exact in count."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest
from mlflow import MlflowClient
from optuna.trial import TrialState
from trainer.cli import main
from trainer.settings import optuna_storage_url

from trainer import study as studies

TINY = ["--param", "num_iterations=15", "--param", "early_stopping_round=5", "--no-progress"]
LOGLOSS = ["--param", "metric=binary_logloss"]
POOR_TRIAL = {"learning_rate": 0.01, "num_leaves": 16, "min_data_in_leaf": 100, "feature_fraction": 0.5,
              "bagging_fraction": 0.6, "lambda_l2": 10.0}  # fmt: skip


def test_storage_url_is_built_from_the_postgres_parts() -> None:
    """Without OPTUNA_STORAGE the stack's `optuna` database is used, with the psycopg2 driver."""
    url = optuna_storage_url({"POSTGRES_USER": "mlflow", "POSTGRES_PASSWORD": "p@ss/word"})
    assert url == "postgresql+psycopg2://mlflow:p%40ss%2Fword@postgres:5432/optuna"
    assert optuna_storage_url({"OPTUNA_STORAGE": "sqlite:///x.db", "POSTGRES_PASSWORD": "p"}) == "sqlite:///x.db"
    assert optuna_storage_url({}) is None


def test_storage_password_never_appears_in_messages() -> None:
    """The storage URL is shown with its password masked."""
    assert studies.redact("postgresql+psycopg2://u:secret@h:5432/optuna") == "postgresql+psycopg2://u:***@h:5432/optuna"


def test_a_trial_beyond_the_budget_is_refused(tmp_path: Path) -> None:
    """When the last slot was taken by a lower trial number, the later trial is over budget."""
    study = optuna.create_study(storage=f"sqlite:///{tmp_path}/o.db")
    first, second = study.ask(), study.ask()
    study.tell(first, 1.0)
    assert studies.over_budget(study, second.number, budget=1)
    assert not studies.over_budget(study, second.number, budget=2)


def test_a_silent_worker_trial_is_failed_and_its_run_killed(mlflow_server: str, tmp_path: Path) -> None:
    """A trial whose heartbeat stops is marked FAIL and its MLflow run KILLED."""
    client = MlflowClient(mlflow_server)
    experiment = client.create_experiment(f"stale-{uuid.uuid4().hex[:8]}")
    storage = studies.make_storage(f"sqlite:///{tmp_path}/o.db", studies.kill_stale_run(client, experiment), (1, 1))
    study = optuna.create_study(storage=storage, study_name="s")
    trial = study.ask()
    storage.record_heartbeat(trial._trial_id)
    run = client.create_run(experiment, tags={studies.STUDY_TAG: "s", studies.TRIAL_TAG: str(trial.number)})
    time.sleep(2.5)  # the worker "died": no heartbeat for longer than the grace period
    optuna.storages.fail_stale_trials(study)
    assert study.trials[0].state == TrialState.FAIL
    assert client.get_run(run.info.run_id).info.status == "KILLED"


def _tune(data_dir: Path, names: dict, storage: str, trials: int, *extra: str) -> int:
    return main(["tune", "--trials", str(trials), "--storage", storage, "--study", names["study"],
                 *TINY, "--data-dir", str(data_dir), "--experiment", names["experiment"],
                 "--model-name", names["model"], *extra])  # fmt: skip


@pytest.fixture(scope="module")
def tuned(mlflow_server: str, data_dir: Path, tmp_path_factory) -> Iterator[dict]:
    """A 3-trial study, then the same study resumed to 4 trials, the 4th a poor one queued."""
    suffix = uuid.uuid4().hex[:8]
    names = {"experiment": f"tune-{suffix}", "model": f"tune-model-{suffix}", "study": f"study-{suffix}"}
    storage = f"sqlite:///{tmp_path_factory.mktemp('optuna')}/optuna.db"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", mlflow_server)
        # Log loss, not error rate: after 15 rounds at low learning rates many trials still
        # predict the majority class, and their equal error rates would all lead.
        assert _tune(data_dir, names, storage, 3, "--seed", "1", *LOGLOSS) == 0
        client = MlflowClient(mlflow_server)
        experiment = client.get_experiment_by_name(names["experiment"]).experiment_id
        first_runs = client.search_runs([experiment])
        # 15 rounds at the lowest learning rate of the space, the most regularised everything
        # else: its log loss has hardly left the prior, above the first three trials'.
        optuna.load_study(study_name=names["study"], storage=storage).enqueue_trial(POOR_TRIAL)
        assert _tune(data_dir, names, storage, 4, "--seed", "2", *LOGLOSS) == 0
    study = optuna.load_study(study_name=names["study"], storage=storage)
    yield {**names, "client": client, "study": study, "first_runs": first_runs, "storage": storage,
           "runs": client.search_runs([experiment])}  # fmt: skip


def _parents(runs) -> list:
    return [r for r in runs if r.data.tags.get("trainer.search") == "tune"]


def test_every_finished_trial_is_a_child_run_tagged_with_its_number(tuned: dict) -> None:
    """Each trial has one run under the study's parent run, tagged with study and trial number."""
    [parent] = _parents(tuned["runs"])
    trials = tuned["study"].get_trials(states=studies.FINISHED)
    children = [r for r in tuned["runs"] if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert sorted(int(r.data.tags[studies.TRIAL_TAG]) for r in children) == sorted(t.number for t in trials)
    assert {r.data.tags[studies.STUDY_TAG] for r in children} == {tuned["study"].study_name}
    assert all(t.user_attrs["mlflow_run_id"] in {r.info.run_id for r in children} for t in trials)


def test_resuming_the_study_keeps_its_parent_and_adds_only_the_missing_trials(tuned: dict) -> None:
    """The second run finds the same parent run and brings the study to exactly 4 finished trials."""
    assert [r.info.run_id for r in _parents(tuned["first_runs"])] == [r.info.run_id for r in _parents(tuned["runs"])]
    assert len(tuned["study"].get_trials(states=studies.FINISHED)) == 4
    assert len(tuned["study"].trials) == 4


def test_a_study_that_already_has_its_trials_says_so_and_runs_none(
    tuned: dict, data_dir: Path, capsys: pytest.CaptureFixture
) -> None:
    """`--trials 2` on the 4-trial study: no new trial, and the output says why."""
    capsys.readouterr()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", tuned["client"].tracking_uri)
        names = {**tuned, "study": tuned["study"].study_name}
        assert _tune(data_dir, names, tuned["storage"], 2, *LOGLOSS) == 0
    out = capsys.readouterr().out
    assert "trials run by this worker    0" in out
    assert "it had 4 already" in out
    assert len(optuna.load_study(study_name=names["study"], storage=tuned["storage"]).trials) == 4


def test_joining_with_other_fixed_parameters_is_refused(tuned: dict, data_dir: Path, capsys) -> None:
    """The study fixed num_iterations=15; a worker fixing 16 would mix two searches: exit 2, no trial."""
    capsys.readouterr()
    names = {**tuned, "study": tuned["study"].study_name}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", tuned["client"].tracking_uri)
        assert _tune(data_dir, names, tuned["storage"], 6, *LOGLOSS, "--param", "num_iterations=16") == 2
    assert "was run with fixed parameters" in capsys.readouterr().err
    assert len(optuna.load_study(study_name=names["study"], storage=tuned["storage"]).trials) == 4


def test_parent_gets_best_params_value_and_plots(tuned: dict) -> None:
    """The parent run records the best trial's parameters and value, history and importances."""
    [parent] = _parents(tuned["runs"])
    parent = tuned["client"].get_run(parent.info.run_id)
    best = tuned["study"].best_trial
    assert parent.info.status == "FINISHED"
    assert parent.data.tags["best_trial"] == str(best.number)
    assert float(parent.data.tags["best.learning_rate"]) == pytest.approx(best.params["learning_rate"])
    assert parent.data.metrics["best_val_binary_logloss"] == pytest.approx(best.value)
    files = {a.path for a in tuned["client"].list_artifacts(parent.info.run_id)}
    assert {"optimization_history.png", "param_importances.png", "trials.csv"} <= files


def test_best_trial_model_is_registered_under_the_champion_rule(tuned: dict) -> None:
    """The champion is the best trial's model."""
    version = tuned["client"].get_model_version_by_alias(tuned["model"], "champion")
    assert version.run_id == tuned["study"].best_trial.user_attrs["mlflow_run_id"]


def test_only_trials_that_led_the_study_store_a_model(tuned: dict) -> None:
    """A trial keeps its model and plots only if no trial completed before it did better."""
    client, best_so_far, leaders = tuned["client"], float("inf"), []
    for trial in sorted(tuned["study"].get_trials(states=studies.FINISHED), key=lambda t: t.datetime_complete):
        led = trial.state == TrialState.COMPLETE and trial.value <= best_so_far
        leaders.append(led)
        files = {a.path for a in client.list_artifacts(trial.user_attrs["mlflow_run_id"])}
        assert ("mlflow_model_id" in trial.user_attrs) == led, trial.number
        assert ("diagnostics.png" in files) == led, trial.number
        if trial.state == TrialState.COMPLETE:
            best_so_far = min(best_so_far, trial.value)
    assert "mlflow_model_id" in tuned["study"].best_trial.user_attrs
    assert leaders[0] and not leaders[-1]  # the first trial leads; the queued poor one cannot


def test_the_study_gets_longer_round_limits_unless_the_user_set_them() -> None:
    """Trials may run 2000 rounds with 100 of patience; a --param of the user's wins."""
    from trainer.params import build_config
    from trainer.tune import with_tune_defaults

    config = with_tune_defaults(build_config(), set())
    assert (config.params["num_iterations"], config.params["early_stopping_round"]) == (2000, 100)
    mine = with_tune_defaults(build_config(["n_estimators=300"]), {"num_iterations"})
    assert (mine.params["num_iterations"], mine.params["early_stopping_round"]) == (300, 100)


def test_pruning_reports_start_after_the_warmup_and_come_every_interval(data_dir: Path) -> None:
    """A 160-round trial reports its validation error at rounds 125 and 150 only."""
    from trainer.data import load_adult
    from trainer.params import build_config
    from trainer.tune import PruningHook

    from trainer import model

    config = build_config(["num_iterations=160", "early_stopping_round=0", "num_threads=1"])
    study = optuna.create_study()
    trial = study.ask()
    model.train(model.prepare(load_adult(data_dir), config), config, [PruningHook(trial, "binary_error", 25, 100)])
    assert sorted(study.trials[0].intermediate_values) == [124, 149]  # 0-based rounds


def test_two_workers_finish_exactly_the_budget(mlflow_server: str, data_dir: Path, tmp_path: Path) -> None:
    """Two worker processes sharing a study finish 3 trials between them, numbered 0-2, each with a run."""
    suffix = uuid.uuid4().hex[:8]
    storage = f"sqlite:///{tmp_path}/optuna.db"
    optuna.create_study(storage=storage, study_name="shared")  # both join; neither races on creation
    env = {**os.environ, "MLFLOW_TRACKING_URI": mlflow_server, "DATA_DIR": str(data_dir)}
    command = [sys.executable, "-m", "trainer.cli", "tune", "--trials", "3", "--storage", storage,
               "--study", "shared", "--experiment", f"pair-{suffix}", "--no-register", "--nthread", "1",
               *TINY]  # fmt: skip
    workers = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
               for _ in range(2)]  # fmt: skip
    outputs = [w.communicate(timeout=600)[0] for w in workers]
    assert [w.returncode for w in workers] == [0, 0], outputs
    study = optuna.load_study(study_name="shared", storage=storage)
    assert sorted(t.number for t in study.get_trials(states=studies.FINISHED)) == [0, 1, 2]
    client = MlflowClient(mlflow_server)
    runs = client.search_runs([client.get_experiment_by_name(f"pair-{suffix}").experiment_id])
    assert len([r for r in runs if studies.TRIAL_TAG in r.data.tags]) == 3


def test_a_pruned_trial_is_a_finished_run_tagged_pruned_without_a_model(
    mlflow_server: str, data_dir: Path, tmp_path: Path
) -> None:
    """Pruned at its first check (round 200 of 300): state PRUNED, run FINISHED and tagged, no model."""
    from trainer.data import load_adult
    from trainer.params import build_config
    from trainer.train import RunOptions
    from trainer.tune import Worker

    client = MlflowClient(mlflow_server)
    experiment = client.create_experiment(f"pruned-{uuid.uuid4().hex[:8]}")
    # Any error rate above 1% is pruned: every trial is, at its first report after the warm-up.
    study = optuna.create_study(storage=f"sqlite:///{tmp_path}/o.db", pruner=optuna.pruners.ThresholdPruner(upper=0.01))
    base = build_config(["num_iterations=300", "early_stopping_round=0", "num_threads=1"])
    options = RunOptions(tracking_uri=mlflow_server, client=client, experiment_id=experiment, register=False)
    worker = Worker(study, load_adult(data_dir), base, options, 1, {"num_iterations", "early_stopping_round"}, client)
    study.optimize(worker.objective, n_trials=1)
    trial = study.trials[0]
    run = client.get_run(trial.user_attrs["mlflow_run_id"])
    assert trial.state == TrialState.PRUNED
    assert (run.info.status, run.data.tags.get("optuna.trial_state")) == ("FINISHED", "PRUNED")
    assert len(client.get_metric_history(run.info.run_id, "val_binary_error")) == 200  # rounds 1-200
    assert "mlflow_model_id" not in trial.user_attrs
    assert not client.list_artifacts(run.info.run_id)


def test_round_limits_from_a_config_file_win_under_their_aliases(
    mlflow_server: str, data_dir: Path, tmp_path: Path
) -> None:
    """`n_estimators` in a config file fixes num_iterations: the trial runs 7 rounds, not 2000."""
    config = tmp_path / "lgbm.toml"
    config.write_text("[params]\nn_estimators = 7\nearly_stopping_rounds = 3\n")
    names = {"experiment": f"cfg-{uuid.uuid4().hex[:8]}"}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", mlflow_server)
        assert main(["tune", "--trials", "1", "--storage", f"sqlite:///{tmp_path}/o.db", "--study", "cfg",
                     "--config", str(config), "--no-register", "--no-progress", "--data-dir", str(data_dir),
                     "--experiment", names["experiment"]]) == 0  # fmt: skip
    client = MlflowClient(mlflow_server)
    runs = client.search_runs([client.get_experiment_by_name(names["experiment"]).experiment_id])
    trial_run = next(r for r in runs if studies.TRIAL_TAG in r.data.tags)
    assert (trial_run.data.params["num_iterations"], trial_run.data.params["early_stopping_round"]) == ("7", "3")
