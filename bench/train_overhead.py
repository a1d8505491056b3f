"""Wall time of the default training with tracking on versus off, side by side.

Usage: MLFLOW_TRACKING_URI=... DATA_DIR=../shared/data python bench/train_overhead.py [REPEATS, default 7]

Both variants run in this one process after the imports, alternating, and do the same
job: load the data, train, evaluate, draw the diagnostics. Tracked, the run is logged
and the model registered; untracked, the model and plots are written to a folder.
The goal is a median ratio of 1.15 or less. A second table times the whole
`trainer train` command both ways (interpreter start, imports, health check included).
"""

from __future__ import annotations

import statistics
import subprocess
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


def timed_command(args: list[str]) -> float:
    """Seconds for one whole `trainer train` process, imports and health check included."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "trainer.cli", "train", *args], check=True, capture_output=True)
    return time.perf_counter() - started


def whole_command(settings, experiment: str, model: str, repeats: int) -> None:
    """The same comparison for what a user waits for: the `trainer train` command."""
    common = ["--data-dir", str(settings.data_dir), "--experiment", experiment, "--model-name", model]
    with tempfile.TemporaryDirectory() as out:
        times: dict[str, list[float]] = {"untracked": [], "tracked": []}
        for _ in range(repeats):
            times["untracked"].append(timed_command([*common, "--no-tracking", "--output-dir", out]))
            times["tracked"].append(timed_command(common))
    rows = [(name, min(values), statistics.median(values)) for name, values in times.items()]
    print()
    print_table(["`trainer train` process", "best s", "median s"], rows)
    ratio = statistics.median(times["tracked"]) / statistics.median(times["untracked"])
    print(f"\ntracked / untracked (whole command) = {ratio:.3f} by median")


def main() -> None:
    settings = settings_or_exit()
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    experiment, model = fresh_names("overhead")
    with tempfile.TemporaryDirectory() as out:
        tracked = RunOptions(settings.tracking_uri, experiment, model, Path(out))
        untracked = RunOptions(output_dir=Path(out), track=False)
        timed_job(settings.data_dir, tracked)  # warm-up: creates experiment and model
        times: dict[str, list[float]] = {"untracked": [], "tracked": []}
        for _ in range(repeats):
            times["untracked"].append(timed_job(settings.data_dir, untracked))
            times["tracked"].append(timed_job(settings.data_dir, tracked))
    rows = [(name, *values, min(values), statistics.median(values)) for name, values in times.items()]
    ratio = statistics.median(times["tracked"]) / statistics.median(times["untracked"])
    best = min(times["tracked"]) / min(times["untracked"])
    print()
    print_table(["job", *(f"run {i + 1} s" for i in range(repeats)), "best s", "median s"], rows)
    verdict = "meets" if ratio <= GOAL else "MISSES"
    print(
        f"\ntracked / untracked = {ratio:.3f} by median, {best:.3f} best of {repeats} "
        f"({verdict} the goal of <= {GOAL} by median)"
    )
    whole_command(settings, experiment, model, max(3, repeats // 2))


if __name__ == "__main__":
    main()
