"""One training job: the reusable core that `trainer train` (and later sweeps) call."""

from __future__ import annotations

import logging
import subprocess
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import mlflow
from mlflow import MlflowClient

from trainer import __version__, artifacts, model, plots, registry, tracking
from trainer.features import PreparedData
from trainer.params import TrainingConfig

log = logging.getLogger(__name__)
UPLOAD_THREADS = 2  # the model upload and the metric batches side by side


@dataclass
class RunOptions:
    """Where and how to track one training; the defaults are those of `trainer train`."""

    tracking_uri: str | None = None
    experiment_name: str = "census-income"
    model_name: str = "census-income-lgbm"
    output_dir: Path = Path("outputs")
    track: bool = True
    register: bool = True
    run_name: str | None = None
    parent_run_id: str | None = None
    git_commit: str | None = None
    submission_labels: bool = True
    client: MlflowClient | None = None
    # Extra LightGBM callbacks (the Optuna pruning hook of `trainer tune`).
    callbacks: list[Callable] = field(default_factory=list)
    # Extra run tags set when the run is created (a tune trial's number and study).
    tags: dict[str, str] = field(default_factory=dict)
    # The experiment's id when the caller has resolved it already (a search's children):
    # saves a lookup request per run.
    experiment_id: str | None = None
    # Tags known only once training ends, sent with the metrics (a pruned trial's state).
    late_tags: Callable[[], dict[str, str]] | None = None
    # Whether the run stores its model and plots, asked once its metrics are known; None:
    # always. A tune trial keeps them only when it is the study's best so far, the only
    # trials whose model can end up registered.
    keep_model: Callable[[dict[str, float]], bool] | None = None


@dataclass
class TrainingResult:
    """What one training produced."""

    trained: model.TrainedModel
    metrics: dict[str, float]
    run_id: str | None = None
    model_id: str | None = None
    registration: registry.Registration | None = None
    submission: Path | None = None
    files: list[Path] = field(default_factory=list)


def git_commit(known: str | None) -> str | None:
    """The commit the code came from: given by the environment, or asked of git."""
    if known:
        return known
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=2, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def summary_metrics(trained: model.TrainedModel, metric: str) -> dict[str, float]:
    """Best iteration and the error (and chosen metric) at it, on train and validation."""
    values = {
        "best_iteration": float(trained.best_iteration),
        "train_error": trained.at_best("train_binary_error"),
        "val_error": trained.at_best("val_binary_error"),
    }
    values[f"best_val_{metric}"] = trained.at_best(f"val_{metric}")
    return values


def _fit(
    data: PreparedData, config: TrainingConfig, split: model.Split, options: RunOptions
) -> tuple[TrainingResult, Callable[[Path], Path]]:
    """Train, evaluate and write the submission (no tracking here).

    Also returns how to draw the diagnostics into a folder, so a tracked run can draw
    them while its model uploads.
    """
    trained = model.train(split, config, options.callbacks)
    metrics = summary_metrics(trained, config.primary_metric)
    if data.holdout_target is not None:
        proba = model.predict(trained, data.holdout)
        metrics.update(model.evaluate(proba, data.holdout_target))
        shown = (proba, data.holdout_target, "holdout")
    else:
        shown = (model.predict(trained, split.x_valid), split.y_valid, "validation")
    result = TrainingResult(trained, metrics)
    if data.holdout_ids is not None:
        options.output_dir.mkdir(parents=True, exist_ok=True)
        result.submission = options.output_dir / "submission.csv"
        proba = model.predict(trained, data.holdout)
        artifacts.write_submission(data, proba, str(result.submission), options.submission_labels)

    def draw(folder: Path) -> Path:
        figure = plots.write_diagnostics(
            folder, trained, config.primary_metric, shown[0], shown[1], data.classes, shown[2]
        )
        result.files.append(figure)
        return figure

    return result, draw


def run_training(data: PreparedData, config: TrainingConfig, options: RunOptions) -> TrainingResult:
    """Train one configuration; with tracking, as one MLflow run that registers its model.

    Everything that can be checked locally (parameters against the data) is checked before
    the run is created; registration comes last so a failure leaves no half-registered model.
    """
    split = model.prepare(data, config)
    if not options.track:
        folder = options.output_dir / "plots"
        folder.mkdir(parents=True, exist_ok=True)
        result, draw = _fit(data, config, split, options)
        draw(folder)
        result.trained.booster.save_model(str(options.output_dir / "model.txt"))
        return result

    if options.tracking_uri:
        mlflow.set_tracking_uri(options.tracking_uri)  # log_model uses the global client
    client = options.client or MlflowClient(options.tracking_uri)
    experiment = options.experiment_id or tracking.experiment_id(client, options.experiment_name)
    tags = {"trainer_version": __version__, "data_digest": data.digest, "data_name": data.name}
    tags["mlflow.source.name"] = "trainer"
    tags.update(options.tags)
    if commit := git_commit(options.git_commit):
        tags["mlflow.source.git.commit"] = commit
    run_name = options.run_name or config.run_name()
    run = tracking.create_run(client, experiment, run_name, tags, options.parent_run_id)
    run_id = run.run_id
    log.info("run %s (%s) in experiment %s", run_name, run_id, options.experiment_name)
    params = {
        **config.params,
        "valid_fraction": config.valid_fraction,
        "split_seed": config.split_seed,
        "train_rows": len(split.x_train),
        "valid_rows": len(split.x_valid),
    }
    str_params = {key: str(value) for key, value in params.items()}
    # Uploads run in background threads while this one trains or draws: the lineage during
    # training; the model and the metrics while the diagnostics are drawn. Leaving the
    # `with` waits for them, so the run is only ended once nothing is still being sent.
    with (
        tracking.run_lifecycle(client, run_id),
        ThreadPoolExecutor(UPLOAD_THREADS, thread_name_prefix="trainer-upload") as uploads,
    ):
        lineage = uploads.submit(artifacts.log_datasets, client, run_id, data)
        uploads.submit(artifacts.warm_up)
        result, draw = _fit(data, config, split, options)
        result.run_id = run_id
        if data.unseen:
            result.metrics["holdout_unseen_categories"] = float(sum(data.unseen.values()))
        keep = options.keep_model is None or options.keep_model(result.metrics)
        late = options.late_tags() if options.late_tags else {}
        curves = result.trained.curves
        batches = uploads.submit(
            tracking.log_batches, client, run_id, params, curves, result.metrics, late
        )
        if keep:
            logged = uploads.submit(
                artifacts.log_model, client, experiment, run_id, result.trained, data, str_params
            )
            with tempfile.TemporaryDirectory(prefix="trainer-") as tmp:
                draw(Path(tmp))
                if result.submission is not None:
                    Path(tmp, result.submission.name).write_bytes(result.submission.read_bytes())
                tracking.log_folder(run, Path(tmp))
            result.model_id = logged.result()
        lineage.result()
        batches.result()
        if options.register and result.model_id is not None:
            metric = config.primary_metric
            result.registration = registry.register(
                client,
                options.model_name,
                result.model_id,
                run_id,
                metric,
                result.metrics[f"best_val_{metric}"],
                model.higher_is_better(metric),
            )
    return result
