"""`trainer sweep` on the nine-point grid with JOBS=2 against JOBS=1: wall time and speedup.

Usage: MLFLOW_TRACKING_URI=... DATA_DIR=../shared/data python bench/search_sweep.py [NUM_ITERATIONS]

Both sweeps run the default grid (learning_rate {0.01,0.05,0.1} x num_leaves {31,50,100})
with tracking and child runs, without registration. JOBS=1 trains in this process with
all cores; JOBS=2 spawns two processes with cores/2 LightGBM threads each. Goal: 1.6x.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from trainer.grid import DEFAULT_GRID, available_cores  # noqa: E402
from trainer.params import build_config  # noqa: E402
from trainer.source import DataSource  # noqa: E402
from trainer.sweep import run_sweep  # noqa: E402
from trainer.train import RunOptions  # noqa: E402

from bench.harness import fresh_names, print_table, settings_or_exit  # noqa: E402

GOAL = 1.6


def main() -> None:
    settings = settings_or_exit()
    extra = [f"num_iterations={sys.argv[1]}"] if len(sys.argv) > 1 else []
    config = build_config(extra)
    source = DataSource(settings.data_dir)
    rows, seconds = [], {}
    for jobs in (1, 2):
        experiment, model = fresh_names(f"sweep-j{jobs}")
        options = RunOptions(tracking_uri=settings.tracking_uri, experiment_name=experiment,
                             model_name=model, register=False)  # fmt: skip
        started = time.perf_counter()
        result = run_sweep(config, DEFAULT_GRID, source, options, jobs)
        seconds[jobs] = time.perf_counter() - started
        train_s = result.table["seconds"].sum()
        rows.append([f"JOBS={jobs}", len(result.table), f"{seconds[jobs]:.1f}", f"{train_s:.1f}"])
    speedup = seconds[1] / seconds[2]
    print_table(["sweep", "runs", "wall s", "sum of run s"], rows)
    print(f"cores {available_cores()}; speedup JOBS=2 vs JOBS=1: {speedup:.2f} (goal >= {GOAL})")


if __name__ == "__main__":
    main()
