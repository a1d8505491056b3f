"""`trainer sweep` on the nine-point grid with JOBS=2 against JOBS=1: wall time and speedup.

Usage: MLFLOW_TRACKING_URI=... DATA_DIR=../shared/data python bench/search_sweep.py [ROUNDS]

Each sweep runs the default grid (learning_rate {0.01,0.05,0.1} x num_leaves {31,50,100})
with tracking and child runs, without registration, in a fresh process as `trainer sweep`
runs it: JOBS=1 trains in that process with all cores; JOBS=2 forks two workers with
cores/2 LightGBM threads each. Reported: the sweep itself (data, parent run, the nine
runs, the summary) and the whole process (plus interpreter start and imports). Beside
them, the same nine trainings without tracking, one process with all cores against two
processes of cores/2 threads: how far LightGBM itself scales here. Goal: 1.6x.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

STARTED = time.perf_counter()
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

GOAL = 1.6


def one_sweep(jobs: int, rounds: str | None) -> None:
    """In a fresh process: one sweep as the CLI runs it; prints its timings as JSON."""
    if jobs > 1:
        from trainer import workers

        workers.start()
    from trainer.grid import DEFAULT_GRID
    from trainer.params import build_config
    from trainer.source import DataSource
    from trainer.sweep import run_sweep
    from trainer.train import RunOptions

    from bench.harness import fresh_names, settings_or_exit

    settings = settings_or_exit()
    config = build_config([f"num_iterations={rounds}"] if rounds else [])
    experiment, model = fresh_names(f"sweep-j{jobs}")
    options = RunOptions(tracking_uri=settings.tracking_uri, experiment_name=experiment,
                         model_name=model, register=False)  # fmt: skip
    begun = time.perf_counter()
    result = run_sweep(config, DEFAULT_GRID, DataSource(settings.data_dir), options, jobs)
    ended = time.perf_counter()
    print(json.dumps({"runs": len(result.table), "sweep": ended - begun, "imports": begun - STARTED,
                      "run_seconds": float(result.table["seconds"].sum())}))  # fmt: skip


def training_only(data_dir: Path) -> tuple[float, float]:
    """The nine trainings untracked: one process with all cores, then two of cores/2 threads."""
    from concurrent.futures import ProcessPoolExecutor

    from trainer import grid, workers

    cores = grid.available_cores()
    points = grid.expand(grid.DEFAULT_GRID)
    with ProcessPoolExecutor(1, workers.context(), _load, (data_dir,)) as one:
        one.submit(_fit, points[-1], cores).result()  # warm: imports and data
        begun = time.perf_counter()
        for point in points:
            one.submit(_fit, point, cores).result()
        single = time.perf_counter() - begun
    with ProcessPoolExecutor(2, workers.context(), _load, (data_dir,)) as two:
        list(two.map(_fit, points[-2:], [max(1, cores // 2)] * 2))
        begun = time.perf_counter()
        list(two.map(_fit, points, [max(1, cores // 2)] * len(points)))
        double = time.perf_counter() - begun
    return single, double


_DATA = None


def _load(data_dir: Path) -> None:
    global _DATA
    from trainer.source import DataSource

    _DATA = DataSource(data_dir).load()


def _fit(point: dict, threads: int) -> None:
    from trainer.params import build_config

    from trainer import model

    config = build_config([f"{k}={v}" for k, v in point.items()] + [f"num_threads={threads}"])
    model.train(model.prepare(_DATA, config), config)


def _cpu_times() -> tuple[float, float]:
    """Busy and total CPU time of the whole machine (/proc/stat): trainer, server, database."""
    fields = [float(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


def main() -> None:
    from trainer.grid import available_cores

    from bench.harness import print_table, settings_or_exit

    if len(sys.argv) > 2 and sys.argv[1] == "--one":
        one_sweep(int(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else None)
        return
    settings = settings_or_exit()
    rounds = sys.argv[1:2]
    rows, seconds = [], {}
    busy = {}
    for jobs in (1, 2):
        begun, (busy_before, total_before) = time.perf_counter(), _cpu_times()
        out = subprocess.run([sys.executable, __file__, "--one", str(jobs), *rounds],
                             check=True, capture_output=True, text=True).stdout  # fmt: skip
        process = time.perf_counter() - begun
        busy_after, total_after = _cpu_times()
        busy[jobs] = (busy_after - busy_before) / (total_after - total_before) * os.cpu_count()
        timing = json.loads(out.strip().splitlines()[-1])
        seconds[jobs] = (timing["sweep"], process)
        rows.append([f"JOBS={jobs}", timing["runs"], f"{timing['sweep']:.1f}", f"{process:.1f}",
                     f"{timing['run_seconds']:.1f}"])  # fmt: skip
    single, double = training_only(settings.data_dir)
    print_table(["sweep", "runs", "sweep s", "process s", "sum of run s"], rows)
    print(f"training alone, untracked: 1 process x {available_cores()} threads {single:.1f} s, "
          f"2 processes {double:.1f} s: {single / double:.2f}x")  # fmt: skip
    # What JOBS=2 has to gain from: the cores JOBS=1 leaves idle. Busy includes LightGBM's
    # OpenMP threads spinning between rounds, so this is a hint, not a bound.
    print(f"cores busy, trainer and stack together: JOBS=1 {busy[1]:.2f}, JOBS=2 {busy[2]:.2f} "
          f"of {os.cpu_count()}")  # fmt: skip
    print(f"cores {available_cores()}; speedup JOBS=2 vs JOBS=1: sweep {seconds[1][0] / seconds[2][0]:.2f}, "
          f"whole process {seconds[1][1] / seconds[2][1]:.2f} (goal >= {GOAL})")  # fmt: skip


if __name__ == "__main__":
    main()
