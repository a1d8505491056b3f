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

import inspect
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
calls: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
inside: list[str] = []


def timed(kind: str, function, detail: str = ""):
    """Wrap `function` so main-thread time inside it is added to `spent[kind]`.

    With `detail`, the time and the number of calls also go to `calls[detail]`, so the
    table can say which storage calls cost most. A call nested in one of its own kind counts
    once; one made during training (the pruning reports) is taken out of the training time.
    """

    def wrapper(*args, **kwargs):
        if threading.current_thread() is not threading.main_thread() or kind in inside:
            return function(*args, **kwargs)
        inside.append(kind)
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            inside.pop()
            spent[kind] += time.perf_counter() - started
            if "train" in inside:
                spent["train"] -= time.perf_counter() - started
            if detail:
                calls[detail][0] += 1
                calls[detail][1] += time.perf_counter() - started

    return wrapper


def instrument() -> None:
    """Time training, storage calls and HTTP requests; close a trial's books when it is told.

    A trial's books run from the previous trial's end to its own: the worker's checks
    between trials, the ask (sampling reads every trial), the objective and the tell.
    """
    model.train = timed("train", model.train)
    requests.Session.send = timed("tracking", requests.Session.send)
    # Every storage method, private ones too: Optuna's cache calls the backend's
    # _create_new_trial, _set_trial_param and _get_trials.
    storage = optuna.storages.RDBStorage
    for name, method in list(vars(storage).items()):
        if not name.startswith("__") and inspect.isfunction(method) and name != "set_trial_state_values":
            setattr(storage, name, timed("storage", method, name.lstrip("_")))
    tell = timed("storage", storage.set_trial_state_values, "set_trial_state_values")

    def closing(self, trial_id, state, values=None):
        try:
            return tell(self, trial_id, state, values)
        finally:
            if state.is_finished() and threading.current_thread() is threading.main_thread():
                per_trial.append(dict(spent))
                spent.clear()

    storage.set_trial_state_values = closing


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
    print_table(["storage call", "calls per trial", "ms per call"],
                [[name, f"{n / len(per_trial):.1f}", f"{1000 * t / n:.1f}"]
                 for name, (n, t) in sorted(calls.items(), key=lambda kv: -kv[1][1])])  # fmt: skip
    overhead = sum(t.get("storage", 0) + t.get("tracking", 0) for t in per_trial)
    training = sum(t.get("train", 0) for t in per_trial)
    print(f"(storage + tracking) / training per trial: median {statistics.median(shares):.1%}, "
          f"max {max(shares):.1%}; all trials together {overhead / training:.1%} "
          f"(goal <= {SHARE_GOAL:.0%})")  # fmt: skip
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
