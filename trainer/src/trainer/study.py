"""The shared Optuna study: bounded storage connections, heartbeats, and its one parent run."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import optuna
from mlflow import MlflowClient
from mlflow.entities import RunInfo, RunStatus
from mlflow.exceptions import MlflowException
from optuna.trial import FrozenTrial, TrialState

from trainer import tracking
from trainer.errors import UserError

log = logging.getLogger(__name__)

PARENT_ATTR = "mlflow_parent_run_id"
STUDY_TAG = "optuna.study_name"
TRIAL_TAG = "optuna.trial_number"
WORKER_TAG = "optuna.worker"  # host:pid:nonce of the worker that ran the trial
# A worker beats every HEARTBEAT_S; a trial silent for GRACE_S is failed by whoever looks next.
HEARTBEAT_S, GRACE_S = 10, 30
PARENT_WAIT_S = 30  # how long a joining worker waits for the creator to record the parent run
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
FIXED_ATTR = "fixed_params"  # the --param values every worker of the study must share
ACTIVE = (TrialState.RUNNING, TrialState.WAITING)


def redact(url: str) -> str:
    """The storage URL without its password, for messages."""
    scheme, sep, rest = url.partition("://")
    if "@" not in rest:
        return url
    credentials, _, host = rest.rpartition("@")
    return f"{scheme}{sep}{credentials.split(':')[0]}:***@{host}"


def make_storage(
    url: str,
    on_stale: Callable[[optuna.Study, FrozenTrial], None] | None = None,
    heartbeat: tuple[int, int] = (HEARTBEAT_S, GRACE_S),
) -> optuna.storages.RDBStorage:
    """An RDB storage with heartbeats and a small connection pool.

    Each worker holds at most 3 PostgreSQL connections (the main thread and the heartbeat
    thread, plus one spare), so 4 workers stay far below max_connections=100; pre-ping
    replaces connections the server dropped while a long trial trained.
    """
    engine: dict = {}
    if not url.startswith("sqlite"):
        engine = {"pool_size": 2, "max_overflow": 1, "pool_pre_ping": True, "pool_recycle": 600}
    import warnings

    # Workers started together on an empty database all create Optuna's tables at once;
    # the losers of that race fail once and find the tables on the next attempt.
    for attempt in range(3):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            try:
                return optuna.storages.RDBStorage(
                    url,
                    engine_kwargs=engine,
                    heartbeat_interval=heartbeat[0],
                    grace_period=heartbeat[1],
                    # Optuna 5 renamed `failed_trial_callback` to this (the old name warns).
                    heartbeat_stale_trial_callback=on_stale,
                )
            except Exception as exc:  # bad URL, database down, wrong password
                text = str(exc).lower()
                if attempt < 2 and ("already exists" in text or "duplicate key" in text):
                    time.sleep(1 + attempt)
                    continue
                first = " ".join(str(exc).split())[:200]
                raise UserError(f"cannot open the Optuna storage {redact(url)}: {first}") from exc
    raise AssertionError("unreachable")


def join_study(
    storage: optuna.storages.RDBStorage,
    name: str,
    direction: str,
    metric: str,
    sampler: optuna.samplers.BaseSampler,
    pruner: optuna.pruners.BasePruner,
    fixed: dict[str, Any] | None = None,
) -> tuple[optuna.Study, bool]:
    """Create the study, or load it when another worker or an earlier run created it.

    Creation is atomic in the storage (study names are unique), so exactly one worker
    learns `created=True`; that one creates the parent run. A worker whose metric or
    fixed parameters differ from the study's is refused: its trials would come from
    another search and mix with the study's in one ranking.
    """
    fixed = {k: str(v) for k, v in sorted((fixed or {}).items())}
    try:
        study = optuna.create_study(
            storage=storage, study_name=name, direction=direction, sampler=sampler, pruner=pruner
        )
        study.set_user_attr("metric", metric)
        study.set_user_attr(FIXED_ATTR, fixed)
        return study, True
    except optuna.exceptions.DuplicatedStudyError:
        study = optuna.load_study(study_name=name, storage=storage, sampler=sampler, pruner=pruner)
    theirs = study.user_attrs.get("metric", metric)
    if study.direction.name.lower() != direction or theirs != metric:
        raise UserError(
            f"study {name!r} optimises {theirs} ({study.direction.name.lower()}), not {metric}: "
            "choose another --study"
        )
    # Absent while the creator is still setting it up, or in a study from an older trainer.
    their_fixed = study.user_attrs.get(FIXED_ATTR, fixed)
    if their_fixed != fixed:
        shown = ", ".join(f"{k}={v}" for k, v in their_fixed.items()) or "none"
        raise UserError(
            f"study {name!r} was run with fixed parameters {shown}, not these: pass the same "
            "--param options, or choose another --study"
        )
    return study, False


def parent_run(
    client: MlflowClient, study: optuna.Study, experiment: str, created: bool, tags: dict
) -> RunInfo:
    """The study's parent run: created by the study's creator, found by everyone else.

    Its id lives in the study's user attributes (the storage is the one source of truth
    all workers share); joiners wait for it. If the creator died before recording it, or
    the run was deleted, the run tagged with the study name is used, else a new one.
    """
    if not created:
        deadline = time.monotonic() + PARENT_WAIT_S
        while True:
            run_id = study.user_attrs.get(PARENT_ATTR)
            if run_id:
                try:
                    run = client.get_run(run_id)
                    if run.info.lifecycle_stage == "active":
                        if run.info.status != "RUNNING":  # resumed: running again
                            client.update_run(run_id, RunStatus.to_string(RunStatus.RUNNING))
                        return run.info
                except MlflowException as exc:
                    if exc.error_code != "RESOURCE_DOES_NOT_EXIST":
                        raise
                break
            if time.monotonic() > deadline:
                break
            time.sleep(1)
        found = client.search_runs(
            [experiment],
            f"tags.`{STUDY_TAG}` = '{study.study_name}' and tags.`trainer.search` = 'tune'",
            max_results=1,
            order_by=["start_time ASC"],
        )
        if found:
            study.set_user_attr(PARENT_ATTR, found[0].info.run_id)
            return found[0].info
    run = tracking.create_run(client, experiment, study.study_name, tags)
    study.set_user_attr(PARENT_ATTR, run.run_id)
    return run


def counts(study: optuna.Study) -> tuple[int, int]:
    """Finished (complete or pruned) and running trials of the study.

    Not waiting ones: a trial queued with `enqueue_trial` belongs to no worker yet, and
    the next `optimize` takes it, so a worker must not wait for it to finish.
    """
    trials = study.get_trials(deepcopy=False, states=(*FINISHED, TrialState.RUNNING))
    finished = sum(t.state in FINISHED for t in trials)
    return finished, len(trials) - finished


def over_budget(study: optuna.Study, number: int, budget: int) -> bool:
    """Whether trial `number` is one too many: `budget` others finished or started before it.

    Two workers may ask for a trial at the same instant when one slot is left; the trial
    numbers the storage hands out decide which one runs.
    """
    trials = study.get_trials(deepcopy=False, states=FINISHED + ACTIVE)
    ahead = [t for t in trials if t.number != number and (t.state in FINISHED or t.number < number)]
    return len(ahead) >= budget


def kill_stale_run(client: MlflowClient, experiment: str) -> Callable:
    """A heartbeat callback: the failed trial's MLflow run (if any) is marked KILLED."""

    def callback(study: optuna.Study, trial: FrozenTrial) -> None:
        log.warning("trial %d lost its worker: marked FAIL", trial.number)
        try:
            runs = client.search_runs(
                [experiment],
                f"tags.`{STUDY_TAG}` = '{study.study_name}' and "
                f"tags.`{TRIAL_TAG}` = '{trial.number}'",
                max_results=5,
            )
            for run in runs:
                if run.info.status == "RUNNING":
                    client.set_terminated(run.info.run_id, RunStatus.to_string(RunStatus.KILLED))
        except MlflowException as exc:
            log.warning("could not mark the run of trial %d KILLED: %s", trial.number, exc)

    return callback
