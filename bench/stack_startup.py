"""Seconds from `make up` to every service healthy (images already built), and the server image's size.

    python bench/stack_startup.py [--repeat 3] [--backend minio]

Side by side in one run: a first start on empty volumes, restarts on existing
volumes (`make down` then `make up`), and the goal of 20 s; the MLflow image's
size against the base image it is built on.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import print_table  # noqa: E402
from bench.stack import bench_stack  # noqa: E402

GOAL_SECONDS = 20.0


def timed(stack, target: str) -> float:
    started = time.monotonic()
    stack.make(target, env={"FORCE": "1"})
    return time.monotonic() - started


def image_bytes(tag: str) -> int:
    out = subprocess.run(["docker", "image", "inspect", tag], capture_output=True, text=True, check=True).stdout
    return json.loads(out)[0]["Size"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="restarts to time (default 3)")
    parser.add_argument("--backend", default="minio", choices=["minio", "seaweedfs"])
    args = parser.parse_args()
    with bench_stack(args.backend) as stack:
        timed(stack, "up")  # builds images if needed; not counted
        timed(stack, "clean")
        first = timed(stack, "up")
        restarts = []
        for _ in range(args.repeat):
            timed(stack, "down")
            restarts.append(timed(stack, "up"))
    warm = statistics.median(restarts)
    print_table(
        ["make up, images built", "seconds", "/ 20 s goal"],
        [
            ["first start, empty volumes", first, first / GOAL_SECONDS],
            [f"restart, existing volumes (median of {args.repeat})", warm, warm / GOAL_SECONDS],
        ],
    )
    print()
    server, base = image_bytes("mlflow-stack/mlflow:3.17.2"), image_bytes("python:3.13-slim-trixie")
    print_table(
        ["image", "MB", "x base"],
        [
            ["mlflow-stack/mlflow:3.17.2", server / 1e6, server / base],
            ["python:3.13-slim-trixie (base)", base / 1e6, 1.0],
        ],
    )


if __name__ == "__main__":
    main()
