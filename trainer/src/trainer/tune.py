"""`trainer tune`: one worker of an Optuna study; each trial is a child run logged like `train`."""

from __future__ import annotations

import logging
import os
import socket
import tempfile
import time
import uuid
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import lightgbm as lgb
import optuna
from mlflow import MlflowClient
from optuna.trial import TrialState

from trainer import model, registry, search_plots, tracking
from trainer import study as studies
from trainer.errors import Interrupted
from trainer.features import PreparedData
from trainer.params import TrainingConfig
from trainer.source import DataSource
from trainer.train import RunOptions, git_commit, run_training

log = logging.getLogger(__name__)
# Pruning: nothing is reported during the first WARMUP_ROUNDS (a low learning rate starts
# slowly and finishes best; judged at round 30 it was pruned for it), then every
# REPORT_EVERY rounds, so the first judgement comes at round 200. Each check is two
# storage round trips (the report, then the other trials' reports).
WARMUP_ROUNDS, REPORT_EVERY = 100, 100
# Trials may run longer than `trainer train`'s 500 rounds: the space goes down to learning
# rates that need more. Parameters the user sets win.
TUNE_DEFAULTS = {"num_iterations": 2000, "early_stopping_round": 100}
POLL_S = 2.0  # how often a worker with nothing left to start checks the others' last trials
REGISTERED_TAG = "optuna.registered_trial"


def suggest(trial: optuna.Trial, fixed: set[str]) -> dict[str, Any]:
    """The search space (LightGBM's canonical names); parameters the user fixed are left out.

    Ranges that suit tables of tens of thousands of rows: learning rates that need a few
    hundred rounds rather than a few dozen, and leaves of at least 10 rows, so the best
    trial is less often one that fits the validation split by luck.
    """
    space = {
        "learning_rate": lambda: trial.suggest_float("learning_rate", 0.01, 0.1, log=True),
        "num_leaves": lambda: trial.suggest_int("num_leaves", 16, 128, log=True),
        "min_data_in_leaf": lambda: trial.suggest_int("min_data_in_leaf", 10, 100, log=True),
        "feature_fraction": lambda: trial.suggest_float("feature_fraction", 0.5, 1.0),
        "bagging_fraction": lambda: trial.suggest_float("bagging_fraction", 0.6, 1.0),
        "lambda_l2": lambda: trial.suggest_float("lambda_l2", 1e-3, 10.0, log=True),
    }
    params = {name: draw() for name, draw in space.items() if name not in fixed}
    if "bagging_fraction" in params and "bagging_freq" not in fixed:
        params["bagging_freq"] = 1  # bagging_fraction does nothing without it
    return params


def with_tune_defaults(base: TrainingConfig, fixed: set[str]) -> TrainingConfig:
    """The base config with the study's round limits, except where the user set them."""
    extra = {k: v for k, v in TUNE_DEFAULTS.items() if k not in fixed}
    return replace(base, params={**base.params, **extra})


class PruningHook:
    """Optuna's LightGBM pruning callback, turned into a normal early stop.

    When the pruner says stop, training ends at the best iteration so far instead of
    raising inside LightGBM, so the pruned trial is still logged as a run (curves and
    metrics) and the objective then reports it as pruned. Nothing is reported to the
    storage before `warmup` rounds, where the pruner would not judge it anyway.
    """

    def __init__(
        self,
        trial: optuna.Trial,
        metric: str,
        every: int = REPORT_EVERY,
        warmup: int = WARMUP_ROUNDS,
    ) -> None:
        from optuna_integration.lightgbm import LightGBMPruningCallback

        self.inner = LightGBMPruningCallback(trial, metric, valid_name="val", report_interval=every)
        self.warmup = warmup
        self.metric = metric
        self.higher = model.higher_is_better(metric)
        self.best: tuple[int, float, list] | None = None
        self.pruned_at: int | None = None
        self.order = 30  # after LightGBM's own early stopping (order 30 too, added first)

    def __call__(self, env: lgb.callback.CallbackEnv) -> None:
        for name, metric, value, *_ in env.evaluation_result_list or []:
            if name == "val" and metric == self.metric:
                better = self.best is None or (
                    value > self.best[1] if self.higher else value < self.best[1]
                )
                if better:
                    self.best = (env.iteration, value, list(env.evaluation_result_list))
        if env.iteration < self.warmup:
            return
        try:
            self.inner(env)
        except optuna.TrialPruned:
            self.pruned_at = env.iteration + 1
            assert self.best is not None
            raise lgb.callback.EarlyStopException(self.best[0], self.best[2]) from None


@dataclass
class TuneResult:
    """What this worker saw and did."""

    parent_run_id: str
    finished: int
    ran: int
    finished_before: int = 0  # when this worker joined: all of them means nothing to do
    best_trial: int | None = None
    best_value: float | None = None
    best_params: dict[str, Any] = field(default_factory=dict)
    registration: registry.Registration | None = None


class OverBudget(Exception):
    """This trial would exceed --trials: other workers took the last slots first."""


@dataclass
class Worker:
    """One process taking part in the study."""

    study: optuna.Study
    data: PreparedData
    base: TrainingConfig
    options: RunOptions
    budget: int
    fixed: set[str]
    client: MlflowClient
    name: str = field(
        default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
    )
    mine: list[int] = field(default_factory=list)

    def objective(self, trial: optuna.Trial) -> float:
        """Train one sampled configuration as a child run; return its validation metric."""
        if studies.over_budget(self.study, trial.number, self.budget):
            trial.set_user_attr("over_budget", True)
            raise OverBudget(f"trial {trial.number} is beyond --trials {self.budget}")
        self.mine.append(trial.number)
        config = replace(self.base, params={**self.base.params, **suggest(trial, self.fixed)})
        metric = config.primary_metric
        hook = PruningHook(trial, metric)
        tags = {studies.STUDY_TAG: self.study.study_name, studies.TRIAL_TAG: str(trial.number)}
        tags[studies.WORKER_TAG] = self.name
        key = f"best_val_{metric}"
        options = replace(
            self.options,
            run_name=f"trial_{trial.number}_{config.run_name()}",
            tags={**tags, "trainer.search": "tune-trial"},
            callbacks=[hook],
            keep_model=lambda metrics: hook.pruned_at is None and self.leads(metrics[key]),
            late_tags=lambda: {} if hook.pruned_at is None else {"optuna.trial_state": "PRUNED"},
        )
        try:
            result = run_training(self.data, config, options)
        except Interrupted as exc:  # optuna marks the trial FAIL only for Exception/Ctrl-C
            raise KeyboardInterrupt(str(exc)) from exc
        trial.set_user_attr("mlflow_run_id", result.run_id)
        if result.model_id is not None:
            trial.set_user_attr("mlflow_model_id", result.model_id)
        trial.set_user_attr(
            "test_metrics", {k: v for k, v in result.metrics.items() if k.startswith("test_")}
        )
        value = result.metrics[key]
        if hook.pruned_at is not None:
            raise optuna.TrialPruned(f"pruned at iteration {hook.pruned_at}")
        return value

    def leads(self, value: float) -> bool:
        """Whether `value` is at least as good as every complete trial's so far.

        Only such a trial can end up the study's best: a trial beaten by one that has
        already completed never can. Ties count as leading: Optuna may name any of equal
        trials the best, so each of them keeps its model. Trials that complete
        meanwhile can only make this say yes too often, never too rarely.
        """
        done = self.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        values = [t.value for t in done if t.value is not None]
        if not values:
            return True
        if self.study.direction == optuna.study.StudyDirection.MAXIMIZE:
            return value >= max(values)
        return value <= min(values)


def run_tune(
    base: TrainingConfig,
    source: DataSource,
    options: RunOptions,
    storage_url: str,
    study_name: str,
    trials: int,
    seed: int | None = None,
    fixed: set[str] | None = None,
    progress: bool = True,
    heartbeat: tuple[int, int] = (studies.HEARTBEAT_S, studies.GRACE_S),
) -> TuneResult:
    """Join the study and run trials until it has `trials` finished ones, then summarise."""
    from tqdm import tqdm

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    # Heartbeats, multivariate TPE and the matplotlib plots are marked experimental.
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    data = source.load()
    if options.tracking_uri:
        import mlflow

        mlflow.set_tracking_uri(options.tracking_uri)
    client = options.client or MlflowClient(options.tracking_uri)
    experiment = tracking.experiment_id(client, options.experiment_name)
    metric = base.primary_metric
    direction = "maximize" if model.higher_is_better(metric) else "minimize"
    storage = studies.make_storage(
        storage_url, studies.kill_stale_run(client, experiment), heartbeat
    )
    # constant_liar: running trials count as bad guesses, so parallel workers spread out.
    sampler = optuna.samplers.TPESampler(seed=seed, constant_liar=True, multivariate=True)
    pruner = optuna.pruners.MedianPruner(
        n_startup_trials=5, n_warmup_steps=WARMUP_ROUNDS, interval_steps=REPORT_EVERY
    )
    fixed = fixed or set()
    fixed_values = {k: v for k, v in base.params.items() if k in fixed}
    study, created = studies.join_study(
        storage, study_name, direction, metric, sampler, pruner, fixed_values
    )
    tags = {
        studies.STUDY_TAG: study_name,
        "trainer.search": "tune",
        "mlflow.source.name": "trainer tune",
    }
    if commit := git_commit(options.git_commit):
        tags["mlflow.source.git.commit"] = commit
    parent = studies.parent_run(client, study, experiment, created, tags)
    log.info(
        "study %s in %s, parent run %s", study_name, studies.redact(storage_url), parent.run_id
    )
    child = replace(
        options,
        client=client,
        register=False,
        parent_run_id=parent.run_id,
        experiment_id=experiment,
    )
    worker = Worker(study, data, with_tune_defaults(base, fixed), child, trials, fixed, client)

    finished = finished_before = studies.counts(study)[0]
    bar = tqdm(
        total=trials,
        initial=min(finished, trials),
        desc=study_name,
        unit="trial",
        disable=not progress,
        dynamic_ncols=True,
    )
    # Once at the start too: a worker that finds the budget already spent still marks a
    # dead worker's trial failed (and its run KILLED) instead of leaving it RUNNING.
    optuna.storages.fail_stale_trials(study)
    try:
        while True:
            finished, running = studies.counts(study)
            bar.n = min(finished, trials)
            bar.refresh()
            if finished >= trials:
                break
            if finished + running >= trials:  # the last trials are someone else's: wait for them
                # optimize() fails stale trials itself before each trial; a waiting worker
                # must do it, or a dead worker's last trial would keep it waiting.
                optuna.storages.fail_stale_trials(study)
                time.sleep(POLL_S)
                continue
            study.optimize(worker.objective, n_trials=1, catch=(OverBudget,))
    finally:
        bar.close()
    result = TuneResult(parent.run_id, finished, len(worker.mine), finished_before)
    if _finalizer(study, worker.mine):
        summarise(study, client, parent, options, metric, result)
    else:
        # Joining reopened the parent; the study is complete, so end it again (the
        # finaliser, if still summarising, ends it FINISHED too).
        client.set_terminated(parent.run_id, "FINISHED")
    return result


def _finalizer(study: optuna.Study, mine: list[int]) -> bool:
    """Whether this worker ran the study's last finished trial: that one worker summarises."""
    done = study.get_trials(deepcopy=False, states=studies.FINISHED)
    return bool(mine) and bool(done) and max(t.number for t in done) in mine


def summarise(
    study: optuna.Study,
    client: MlflowClient,
    parent: Any,
    options: RunOptions,
    metric: str,
    result: TuneResult,
) -> None:
    """Best parameters and value, plots, registration of the best trial; parent FINISHED."""
    try:
        best = study.best_trial
    except ValueError:  # no complete trial (all pruned or failed)
        client.set_terminated(parent.run_id, "FINISHED")
        return
    result.best_trial, result.best_value, result.best_params = best.number, best.value, best.params
    finished, _ = studies.counts(study)
    states = [t.state for t in study.get_trials(deepcopy=False)]
    # Tags and stepped metrics, not params: a resumed study's best changes, params cannot.
    tags = {f"best.{k}": str(v) for k, v in best.params.items()}
    tags.update(
        {"best_trial": str(best.number), "best_run_id": str(best.user_attrs.get("mlflow_run_id"))}
    )
    scalars = {f"best_val_{metric}": float(best.value), "trials_finished": float(finished)}
    scalars["trials_pruned"] = float(states.count(TrialState.PRUNED))
    scalars["trials_failed"] = float(states.count(TrialState.FAIL))
    scalars.update({k: float(v) for k, v in best.user_attrs.get("test_metrics", {}).items()})
    now = int(time.time() * 1000)
    from mlflow.entities import Metric, RunTag

    client.log_batch(
        parent.run_id,
        metrics=[Metric(k, v, now, finished) for k, v in scalars.items()],
        tags=[RunTag(k, v) for k, v in tags.items()],
    )
    with tempfile.TemporaryDirectory(prefix="tune-") as tmp:
        search_plots.study_plots(study, Path(tmp))
        study.trials_dataframe().to_csv(Path(tmp, "trials.csv"), index=False)
        tracking.log_folder(parent, Path(tmp))
    run_id, model_id = best.user_attrs.get("mlflow_run_id"), best.user_attrs.get("mlflow_model_id")
    already = client.get_run(parent.run_id).data.tags.get(REGISTERED_TAG) == str(best.number)
    if options.register and run_id and model_id and not already:
        result.registration = registry.register(
            client,
            options.model_name,
            model_id,
            run_id,
            metric,
            float(best.value),
            model.higher_is_better(metric),
        )
        client.set_tag(parent.run_id, REGISTERED_TAG, str(best.number))
    client.set_terminated(parent.run_id, "FINISHED")
