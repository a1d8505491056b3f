"""`trainer sweep`: every grid configuration as a child run of one parent, in parallel processes."""

from __future__ import annotations

import json
import logging
import signal
import tempfile
import time
from concurrent.futures import FIRST_EXCEPTION, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd
from mlflow import MlflowClient

from trainer import grid as grids
from trainer import model, registry, search_plots, tracking, workers
from trainer.errors import Interrupted, UserError
from trainer.features import PreparedData
from trainer.params import TrainingConfig
from trainer.source import DataSource
from trainer.train import RunOptions, git_commit, run_training

log = logging.getLogger(__name__)
TABLE_FILE = "sweep_results.csv"
HEATMAP_FILE = "sweep_heatmap.png"


@dataclass
class Point:
    """One configuration of the grid, ready to train as a child run."""

    values: dict[str, Any]
    config: TrainingConfig
    run_name: str


@dataclass
class SweepResult:
    """The parent run, one row per configuration, and what the best one registered."""

    parent_run_id: str
    table: pd.DataFrame
    best: dict[str, Any]
    registration: registry.Registration | None


def plan(base: TrainingConfig, grid: dict[str, list[Any]], threads: int) -> list[Point]:
    """The grid's configurations on top of the base config, each with its LightGBM threads."""
    points = []
    for values in grids.expand(grid):
        params = {**base.params, **values, "num_threads": threads}
        config = replace(base, params=params)
        try:
            name = grids.run_name(values, params)
        except ValueError:  # the run name reads learning_rate as a number
            shown = ", ".join(f"{k}={v}" for k, v in values.items())
            raise UserError(
                f"--grid: {shown} is not a valid configuration (a number expected)"
            ) from None
        points.append(Point(values, config, name))
    names = [p.run_name for p in points]
    assert len(set(names)) == len(names), "grid values must give distinct run names"
    return points


# ---- worker processes: each receives the data once, then trains the points it is given
_DATA: PreparedData | None = None


def _raise_interrupted(signum: int, _frame: object) -> None:
    raise Interrupted(signal.Signals(signum).name)


def _init_worker(data: PreparedData, level: int) -> None:
    """Keep the parent's data; SIGTERM ends the current child run as KILLED."""
    global _DATA
    from trainer.settings import apply_mlflow_client_defaults

    signal.signal(signal.SIGTERM, _raise_interrupted)
    # Ctrl-C reaches the whole process group; let the parent decide, then SIGTERM us.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s[%(process)d]: %(message)s")
    for noisy in ("mlflow", "urllib3", "matplotlib", "lightgbm"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    apply_mlflow_client_defaults()
    _DATA = data


def _train_point(point: Point, options: RunOptions, data: PreparedData | None = None) -> dict:
    """Train one configuration as a child run (logged as `trainer train` logs a run)."""
    data = data or _DATA
    assert data is not None
    started = time.perf_counter()
    result = run_training(data, point.config, replace(options, run_name=point.run_name))
    return {
        "run_name": point.run_name,
        "run_id": result.run_id,
        "model_id": result.model_id,
        "values": point.values,
        "metrics": result.metrics,
        "seconds": round(time.perf_counter() - started, 2),
    }


def _run_points(
    points: list[Point], options: RunOptions, data: PreparedData, jobs: int
) -> list[dict]:
    """Train every point, in this process (jobs=1) or a pool of `jobs` worker processes."""
    from tqdm import tqdm

    level = logging.getLogger().getEffectiveLevel()
    bar = tqdm(total=len(points), desc="sweep", unit="run", dynamic_ncols=True)
    rows = []
    if jobs == 1:
        for point in points:
            rows.append(_train_point(point, options, data))
            bar.update()
        bar.close()
        return rows
    pool = ProcessPoolExecutor(jobs, workers.context(), _init_worker, (data, level))
    futures: list[Future] = [pool.submit(_train_point, p, options) for p in points]
    try:
        pending = set(futures)
        while pending:
            done, pending = wait(pending, timeout=1.0, return_when=FIRST_EXCEPTION)
            for future in done:
                rows.append(future.result())  # a child's error ends the sweep here
                bar.update()
    except BaseException:
        for future in futures:
            future.cancel()
        for process in list(getattr(pool, "_processes", {}).values()):
            if process.is_alive():
                process.terminate()  # SIGTERM: the worker marks its child run KILLED
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        bar.close()
    return rows


def run_sweep(
    base: TrainingConfig,
    grid: dict[str, list[Any]],
    source: DataSource,
    options: RunOptions,
    jobs: int = 1,
) -> SweepResult:
    """Create the parent run, train every configuration under it, log the summary, register."""
    requested = base.params.get("num_threads") or None
    threads = grids.threads_per_job(jobs, requested, grids.available_cores())
    points = plan(base, grid, threads)
    if jobs > 1:
        workers.start()  # its imports overlap the data loading below
    data = source.load()  # once, here: bad files fail before any run exists
    for point in points:  # and bad values in the grid
        model.check_params(data, point.config)
    if options.tracking_uri:
        import mlflow

        mlflow.set_tracking_uri(options.tracking_uri)
    client = options.client or MlflowClient(options.tracking_uri)
    experiment = tracking.experiment_id(client, options.experiment_name)
    tags = {
        "mlflow.source.name": "trainer sweep",
        "trainer.search": "sweep",
        "sweep.grid": json.dumps(grid),
        "sweep.size": str(len(points)),
    }
    if commit := git_commit(options.git_commit):
        tags["mlflow.source.git.commit"] = commit
    name = options.run_name or "sweep_" + "_x_".join(grid)
    parent = tracking.create_run(client, experiment, name, tags)
    log.info("sweep %s (%s): %d configurations, %d jobs x %d threads",
             name, parent.run_id, len(points), jobs, threads)  # fmt: skip
    child_options = replace(
        options,
        client=None,
        register=False,
        parent_run_id=parent.run_id,
        run_name=None,
        experiment_id=experiment,
    )
    with tracking.run_lifecycle(client, parent.run_id):
        rows = _run_points(points, child_options, data, jobs)
        table = summary_table(points, rows)
        metric = base.primary_metric
        column = f"best_val_{metric}"
        higher = model.higher_is_better(metric)
        best = table.loc[table[column].idxmax() if higher else table[column].idxmin()].to_dict()
        best_row = next(r for r in rows if r["run_name"] == best["run_name"])
        best_point = next(p for p in points if p.run_name == best["run_name"])
        params = {**best_point.config.params, "jobs": jobs, "grid_size": len(points)}
        params.update({f"grid.{k}": ",".join(map(str, v)) for k, v in grid.items()})
        metrics = dict(best_row["metrics"])
        client.set_tag(parent.run_id, "best_run_id", best["run_id"])
        client.set_tag(parent.run_id, "best_run_name", best["run_name"])
        tracking.log_batches(client, parent.run_id, params, {}, metrics)
        with tempfile.TemporaryDirectory(prefix="sweep-") as tmp:
            shown = table.drop(columns=["model_id"])
            shown.to_csv(Path(tmp, TABLE_FILE), index=False)
            search_plots.grid_heatmap(table, list(grid), column, higher, Path(tmp, HEATMAP_FILE))
            tracking.log_folder(parent, Path(tmp))
        registration = None
        if options.register:
            registration = registry.register(
                client, options.model_name, best["model_id"], best["run_id"],
                metric, float(best[column]), higher,
            )  # fmt: skip
    return SweepResult(parent.run_id, table, best, registration)


def summary_table(points: list[Point], rows: list[dict]) -> pd.DataFrame:
    """One row per configuration in grid order: name, run id, grid values, metrics, seconds."""
    by_name = {row["run_name"]: row for row in rows}
    records = []
    for point in points:
        row = by_name[point.run_name]
        records.append({"run_name": row["run_name"], "run_id": row["run_id"],
                        "model_id": row["model_id"], **row["values"], **row["metrics"],
                        "seconds": row["seconds"]})  # fmt: skip
    return pd.DataFrame.from_records(records)
