"""Talking to the tracking server in few requests: health check, run lifecycle, batches."""

from __future__ import annotations

import logging
import re
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunInfo, RunStatus, RunTag
from mlflow.exceptions import MlflowException
from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository
from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID, MLFLOW_RUN_NAME

from trainer.errors import Interrupted, UserError

log = logging.getLogger(__name__)

HEALTH_TIMEOUT_S = (5.0, 10.0)  # connect, read: well inside the 60 s a dead server may cost
MAX_ENTRIES_PER_BATCH = 1000  # the server's limits for one log-batch request
MAX_PARAMS_PER_BATCH = 100


def check_server(uri: str | None) -> None:
    """Fail fast, with one line naming the URL, when an HTTP tracking server is unusable."""
    if not uri or not uri.startswith(("http://", "https://")):
        return
    url = uri.rstrip("/") + "/health"
    try:
        response = requests.get(url, timeout=HEALTH_TIMEOUT_S)
    except requests.RequestException as exc:
        reason = type(exc).__name__.replace("Error", " error").strip()
        raise UserError(
            f"the MLflow tracking server at {uri} does not answer ({reason}); "
            "start it (make up) or fix MLFLOW_TRACKING_URI"
        ) from exc
    body = response.text[:2000]
    if "html" in response.headers.get("content-type", "") or body.lstrip().startswith("<"):
        title = re.search(r"<title>(.*?)</title>", body, re.I | re.S)
        shown = f" titled {title.group(1).strip()!r}" if title else ""
        raise UserError(
            f"{url} answered with an HTML page{shown} (HTTP {response.status_code}), not "
            "MLflow: probably a tunnel or proxy error page; check that the tunnel is up"
        )
    if response.status_code >= 500 or response.status_code == 404:
        raise UserError(f"{url} answered HTTP {response.status_code}: is this an MLflow server?")


def experiment_id(client: MlflowClient, name: str) -> str:
    """Find the experiment by name, creating it on first use."""
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    try:
        return client.create_experiment(name)
    except MlflowException as exc:  # another job created it in between
        if exc.error_code != "RESOURCE_ALREADY_EXISTS":
            raise
        found = client.get_experiment_by_name(name)
        assert found is not None
        return found.experiment_id


def create_run(
    client: MlflowClient,
    experiment: str,
    run_name: str,
    tags: dict[str, str],
    parent_run_id: str | None = None,
) -> RunInfo:
    """Create a run (nested when a parent is given) with all its tags in the same request."""
    tags = {**tags, MLFLOW_RUN_NAME: run_name}
    if parent_run_id:
        tags[MLFLOW_PARENT_RUN_ID] = parent_run_id
    return client.create_run(experiment, run_name=run_name, tags=tags).info


@contextmanager
def run_lifecycle(client: MlflowClient, run_id: str) -> Iterator[None]:
    """End the run FINISHED, FAILED on an exception, or KILLED on SIGINT/SIGTERM."""
    status = RunStatus.to_string(RunStatus.FAILED)
    try:
        yield
        status = RunStatus.to_string(RunStatus.FINISHED)
    except (Interrupted, KeyboardInterrupt):
        status = RunStatus.to_string(RunStatus.KILLED)
        raise
    finally:
        # A second Ctrl-C must not leave the run RUNNING while its status is being sent.
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if _main_thread() else None
        try:
            client.set_terminated(run_id, status)
        except Exception as exc:  # the original error matters more than this one
            log.warning("could not mark run %s as %s: %s", run_id, status, exc)
        finally:
            if previous is not None:
                signal.signal(signal.SIGINT, previous)


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def log_batches(
    client: MlflowClient,
    run_id: str,
    params: dict[str, Any],
    curves: dict[str, list[float]],
    scalars: dict[str, float],
    tags: dict[str, str] | None = None,
) -> int:
    """Parameters, curves (one step per iteration), final values and tags in log-batch requests.

    Each request holds at most 1000 entries (the server's limit, of which at most 100
    parameters); the parameters and the tags ride in the first one. Returns the number
    of requests.
    """
    now = int(time.time() * 1000)
    entries: list[Param | Metric] = [Param(k, str(v)) for k, v in sorted(params.items())]
    entries += [
        Metric(name, float(value), now, step)
        for name, values in curves.items()
        for step, value in enumerate(values, start=1)
    ]
    entries += [Metric(name, float(value), now, 0) for name, value in scalars.items()]
    requests_sent = 0
    while entries or (tags and not requests_sent):
        batch, entries = entries[:MAX_ENTRIES_PER_BATCH], entries[MAX_ENTRIES_PER_BATCH:]
        batch_params = [e for e in batch if isinstance(e, Param)]
        if len(batch_params) > MAX_PARAMS_PER_BATCH:
            entries = batch_params[MAX_PARAMS_PER_BATCH:] + entries
            batch_params = batch_params[:MAX_PARAMS_PER_BATCH]
        metrics = [e for e in batch if isinstance(e, Metric)]
        batch_tags = [RunTag(k, v) for k, v in (tags or {}).items()] if not requests_sent else []
        client.log_batch(run_id, metrics=metrics, params=batch_params, tags=batch_tags)
        requests_sent += 1
    return requests_sent


def log_folder(run: RunInfo, folder: Path) -> None:
    """Upload every file of a folder as run artifacts.

    Straight to the run's artifact repository: `MlflowClient.log_artifacts` would first
    fetch the run again only to learn the artifact URI that `create_run` already returned.
    """
    get_artifact_repository(run.artifact_uri).log_artifacts(str(folder))
