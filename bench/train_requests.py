"""HTTP requests to the tracking server for one default `trainer train` run.

Usage: MLFLOW_TRACKING_URI=... [MLFLOW_TRACKING_USERNAME=... MLFLOW_TRACKING_PASSWORD=...]
       DATA_DIR=../shared/data python bench/train_requests.py

Runs the default job twice through a counting proxy, with an experiment and model of
its own: the first run also creates both; the second is the steady state (goal <= 25).
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from trainer.cli import main as trainer_main  # noqa: E402

from bench.harness import fresh_names, print_table, settings_or_exit, tracking_uri  # noqa: E402
from bench.proxy import CountingProxy  # noqa: E402

GOAL = 25


def count_one_run(upstream: str, args: list[str]) -> Counter[str]:
    """Requests of one `trainer train ARGS` run, by method and path."""
    with CountingProxy(upstream) as proxy, tracking_uri(proxy.url):
        if trainer_main(["train", *args]) != 0:
            sys.exit("the training run failed")
        return proxy.summary()


def main() -> None:
    settings = settings_or_exit()
    experiment, model = fresh_names("requests")
    args = ["--experiment", experiment, "--model-name", model, "--data-dir", str(settings.data_dir)]
    first = count_one_run(settings.tracking_uri, args)
    second = count_one_run(settings.tracking_uri, args)
    kinds = sorted(set(first) | set(second))
    rows = [(kind, first[kind], second[kind]) for kind in kinds]
    rows.append(("TOTAL", sum(first.values()), sum(second.values())))
    print()
    print_table(["request", "first run", "later run"], rows)
    total = sum(second.values())
    verdict = "meets" if total <= GOAL else "MISSES"
    print(f"\nlater default run: {total} requests, {verdict} the goal of <= {GOAL}")


if __name__ == "__main__":
    main()
