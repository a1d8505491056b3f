"""Wall time of the default training with tracking on versus off, side by side.

Usage: MLFLOW_TRACKING_URI=... DATA_DIR=../shared/data python bench/train_overhead.py [REPEATS]

Both variants run in this one process after the imports, alternating, and do the same
job: load the data, train, evaluate, draw the diagnostics. Tracked, the run is logged
and the model registered; untracked, the model and plots are written to a folder.
The goal is a median ratio of 1.15 or less.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from trainer.data import load_adult  # noqa: E402
from trainer.params import build_config  # noqa: E402
from trainer.train import RunOptions, run_training  # noqa: E402

from bench.harness import fresh_names, print_table, settings_or_exit  # noqa: E402

GOAL = 1.15


def timed_job(data_dir: Path, options: RunOptions) -> float:
    """Seconds for one whole job: load, train, evaluate, plot, and track or save."""
    started = time.perf_counter()
    run_training(load_adult(data_dir), build_config(), options)
    return time.perf_counter() - started


def main() -> None:
    settings = settings_or_exit()
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    experiment, model = fresh_names("overhead")
    with tempfile.TemporaryDirectory() as out:
        tracked = RunOptions(settings.tracking_uri, experiment, model, Path(out))
        untracked = RunOptions(output_dir=Path(out), track=False)
        timed_job(settings.data_dir, tracked)  # warm-up: creates experiment and model
        times: dict[str, list[float]] = {"untracked": [], "tracked": []}
        for _ in range(repeats):
            times["untracked"].append(timed_job(settings.data_dir, untracked))
            times["tracked"].append(timed_job(settings.data_dir, tracked))
    rows = [(name, *values, statistics.median(values)) for name, values in times.items()]
    ratio = statistics.median(times["tracked"]) / statistics.median(times["untracked"])
    print()
    print_table(["job", *(f"run {i + 1} s" for i in range(repeats)), "median s"], rows)
    verdict = "meets" if ratio <= GOAL else "MISSES"
    print(f"\ntracked / untracked = {ratio:.3f} ({verdict} the goal of <= {GOAL})")


if __name__ == "__main__":
    main()
