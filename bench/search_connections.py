"""PostgreSQL connections held while `make tune` runs with 1, 2 and 4 workers (they must stay bounded).

    DATA_DIR=../shared/data python bench/search_connections.py [--trials-per-worker 2]

For each worker count, a fresh study on a throwaway stack; pg_stat_activity is
sampled every half second, and the peak count per database is reported. The
`mlflow` database's connections belong to the tracking server's pools, the
`optuna` database's to the workers.
"""

from __future__ import annotations

import argparse
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import print_table  # noqa: E402
from bench.stack import bench_stack  # noqa: E402

QUERY = "SELECT datname, count(*) FROM pg_stat_activity WHERE datname IS NOT NULL GROUP BY datname"


def sample(stack, peaks: dict[str, int], stop: threading.Event) -> None:
    """Record the highest connection count per database until stopped."""
    user = stack.values["POSTGRES_USER"]
    while not stop.is_set():
        out = stack.compose(
            "exec", "-T", "postgres", "psql", "-U", user, "-d", "postgres", "-tA", "-F", " ", "-c", QUERY, check=False
        ).stdout
        for line in out.splitlines():
            name, _, count = line.partition(" ")
            if count.strip().isdigit():
                peaks[name] = max(peaks.get(name, 0), int(count))
        stop.wait(0.5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials-per-worker", type=int, default=2)
    args = parser.parse_args()
    rows = []
    with bench_stack() as stack:
        stack.make("up")
        for workers in (1, 2, 4):
            peaks: dict[str, int] = {}
            stop = threading.Event()
            sampler = threading.Thread(target=sample, args=(stack, peaks, stop), daemon=True)
            sampler.start()
            trials = workers * args.trials_per_worker
            stack.make(
                "tune",
                env={
                    "TRIALS": str(trials),
                    "WORKERS": str(workers),
                    "ARGS": f"--study connections-{workers} --param num_iterations=60 --no-progress",
                },
            )
            stop.set()
            sampler.join()
            rows.append(
                [
                    f"{workers} worker(s), {trials} trials",
                    peaks.get("optuna", 0),
                    peaks.get("mlflow", 0),
                    peaks.get("optuna", 0) / workers,
                ]
            )
    print_table(["make tune", "optuna db peak", "mlflow db peak", "optuna per worker"], rows)


if __name__ == "__main__":
    main()
