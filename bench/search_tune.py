"""`trainer tune`: time per trial on storage and tracking, and what TRIALS=40 reaches on adult.test.

Usage: MLFLOW_TRACKING_URI=... DATA_DIR=../shared/data python bench/search_tune.py [TRIALS]

One worker runs a fresh study (OPTUNA_STORAGE, e.g. the stack's PostgreSQL, else SQLite in
a temporary folder). Inside each trial, time in LightGBM training, in Optuna storage calls
and in HTTP requests to the tracking server (runs, batches, artifacts, model) is measured
on the worker's main thread (heartbeats run beside it and are not counted).
Goals: storage + tracking <= 10% of training time per trial; the best trial beats the
default model on validation and reaches accuracy >= 0.870 and AUC >= 0.925 on adult.test.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import optuna  # noqa: E402
import requests  # noqa: E402
from trainer.params import build_config  # noqa: E402
from trainer.source import DataSource  # noqa: E402
from trainer.train import RunOptions, run_training  # noqa: E402

from bench.harness import fresh_names, print_table, settings_or_exit  # noqa: E402
from trainer import model, tune  # noqa: E402

SHARE_GOAL, ACCURACY_GOAL, AUC_GOAL = 0.10, 0.870, 0.925
spent: dict[str, float] = defaultdict(float)
per_trial: list[dict[str, float]] = []


def timed(kind: str, function):
    """Wrap `function` so main-thread time inside it is added to `spent[kind]`."""

    def wrapper(*args, **kwargs):
        if threading.current_thread() is not threading.main_thread():
            return function(*args, **kwargs)
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            spent[kind] += time.perf_counter() - started

    return wrapper


def instrument() -> None:
    """Time training, storage calls and HTTP requests; close the books at each trial's end."""
    model.train = timed("train", model.train)
    requests.Session.send = timed("tracking", requests.Session.send)
    for name in ("create_new_trial", "set_trial_param", "set_trial_state_values", "set_trial_user_attr",
                 "set_trial_intermediate_value", "get_trial", "get_all_trials", "get_study_user_attrs",
                 "get_best_trial", "_get_trials"):  # fmt: skip
        if hasattr(optuna.storages.RDBStorage, name):
            setattr(optuna.storages.RDBStorage, name, timed("storage", getattr(optuna.storages.RDBStorage, name)))
    objective = tune.Worker.objective

    def closing(self, trial):
        spent.clear()
        try:
            return objective(self, trial)
        finally:
            per_trial.append(dict(spent))

    tune.Worker.objective = closing


def main() -> None:
    settings = settings_or_exit()
    trials = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    experiment, model_name = fresh_names("tune")
    options = RunOptions(tracking_uri=settings.tracking_uri, experiment_name=experiment, model_name=model_name)
    source = DataSource(settings.data_dir)
    with tempfile.TemporaryDirectory() as tmp:
        storage = settings.optuna_storage or f"sqlite:///{tmp}/optuna.db"
        default = run_training(source.load(), build_config(), RunOptions(track=False, output_dir=Path(tmp)))
        instrument()
        started = time.perf_counter()
        result = tune.run_tune(build_config(), source, options, storage, experiment, trials, seed=42)
        wall = time.perf_counter() - started
        study = optuna.load_study(study_name=experiment, storage=storage)
    shares = [(t.get("storage", 0) + t.get("tracking", 0)) / t["train"] for t in per_trial if t.get("train")]
    rows = [[k, f"{statistics.median(t.get(k, 0) for t in per_trial):.3f}"] for k in ("train", "storage", "tracking")]
    print(f"storage: {'postgresql' if storage.startswith('postgresql') else 'sqlite'}; {trials} trials in {wall:.0f} s")
    print_table(["per trial (median)", "seconds"], rows)
    print(f"(storage + tracking) / training per trial: median {statistics.median(shares):.1%}, "
          f"max {max(shares):.1%} (goal <= {SHARE_GOAL:.0%})")  # fmt: skip
    best = study.best_trial
    test = best.user_attrs.get("test_metrics", {})
    print_table(["model", "val binary_error", "test accuracy", "test AUC"], [
        ["default", f"{default.metrics['best_val_binary_error']:.4f}", f"{default.metrics['test_accuracy']:.4f}",
         f"{default.metrics['test_auc']:.4f}"],
        [f"tune best (trial {best.number})", f"{best.value:.4f}", f"{test.get('test_accuracy', 0):.4f}",
         f"{test.get('test_auc', 0):.4f}"],
    ])  # fmt: skip
    print(f"goals: beats default on validation {best.value < default.metrics['best_val_binary_error']}, "
          f"accuracy >= {ACCURACY_GOAL} {test.get('test_accuracy', 0) >= ACCURACY_GOAL}, "
          f"AUC >= {AUC_GOAL} {test.get('test_auc', 0) >= AUC_GOAL}; pruned "
          f"{sum(t.state.name == 'PRUNED' for t in study.trials)} of {len(study.trials)}; "
          f"registered: {result.registration.reason if result.registration else 'no'}")  # fmt: skip


if __name__ == "__main__":
    main()
