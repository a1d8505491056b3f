"""A tracked run over a slow link (100 ms per round trip) against naive per-value logging.

Usage: MLFLOW_TRACKING_URI=... DATA_DIR=../shared/data python bench/train_latency.py [DELAY_S]

Both go through the same proxy, which adds DELAY_S (default 0.1 s, what a tunnel costs)
to every request. "batched" is the trainer's own run. "naive" logs the same content the
way hand-written scripts do: one log_param per parameter and one log_metric per curve
value, then the same model, figure and registry calls as the trainer.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import mlflow  # noqa: E402
from mlflow import MlflowClient  # noqa: E402
from trainer.data import load_adult  # noqa: E402
from trainer.params import build_config  # noqa: E402
from trainer.train import RunOptions, TrainingResult, run_training  # noqa: E402

from bench.harness import fresh_names, print_table, settings_or_exit  # noqa: E402
from bench.proxy import CountingProxy  # noqa: E402
from trainer import artifacts, model, plots, registry  # noqa: E402


def naive(uri: str, experiment: str, model_name: str, result: TrainingResult, data) -> None:
    """Log `result` again the naive way: one request per parameter and per metric value."""
    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment(experiment)
    client = MlflowClient(uri)
    config = build_config()
    with mlflow.start_run(run_name="naive") as run:
        for key, value in config.params.items():
            mlflow.log_param(key, value)
        for name, values in result.trained.curves.items():
            for step, value in enumerate(values, start=1):
                mlflow.log_metric(name, value, step=step)
        for name, value in result.metrics.items():
            mlflow.log_metric(name, value)
        with tempfile.TemporaryDirectory() as tmp:
            proba = model.predict(result.trained, data.holdout)
            plots.write_diagnostics(
                Path(tmp), result.trained, "binary_error", proba, data.holdout_target, data.classes, "holdout"
            )
            mlflow.log_artifacts(tmp)
        experiment_id = run.info.experiment_id
        model_id = artifacts.log_model(
            client, experiment_id, run.info.run_id, result.trained, data, {k: str(v) for k, v in config.params.items()}
        )
    registry.register(client, model_name, model_id, run.info.run_id, "binary_error", result.metrics["val_error"], False)


def main() -> None:
    settings = settings_or_exit()
    delay = float(sys.argv[1]) if len(sys.argv) > 1 else 0.1
    experiment, model_name = fresh_names("latency")
    data = load_adult(settings.data_dir)
    rows = []
    with CountingProxy(settings.tracking_uri, delay_s=delay) as proxy:
        with tempfile.TemporaryDirectory() as out:
            options = RunOptions(proxy.url, experiment, model_name, Path(out))
            run_training(data, build_config(), options)  # creates experiment and model
            proxy.reset()
            started = time.perf_counter()
            result = run_training(data, build_config(), options)
            rows.append(("batched (trainer)", len(proxy.requests), time.perf_counter() - started))
        proxy.reset()
        started = time.perf_counter()
        naive(proxy.url, experiment, model_name, result, data)
        rows.append(("naive (per value)", len(proxy.requests), time.perf_counter() - started))
    print()
    print_table([f"logging, +{delay * 1000:.0f} ms per request", "requests", "wall s"], rows)
    print(f"\nnaive / batched wall time = {rows[1][2] / rows[0][2]:.1f}x")


if __name__ == "__main__":
    main()
