"""`make bench`: every benchmark, each printing its own table; trainer benchmarks share one throwaway stack.

DATA_DIR=../shared/data python bench/run.py [NAME ...]    (names: the bench/*.py scripts)
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.stack import bench_stack, optuna_storage  # noqa: E402

HERE = Path(__file__).resolve().parent
# Benchmarks that start their own stacks, then those that need a running one.
OWN_STACK = ["stack_startup", "search_connections"]
ON_STACK = ["train_requests", "train_overhead", "train_latency", "search_sweep", "search_tune"]


def run(name: str, env: dict[str, str] | None = None) -> None:
    script = HERE / f"{name}.py"
    if not script.exists():
        return
    print(f"\n== {name}: {script.read_text().split(chr(10), 1)[0].strip(chr(34))}", flush=True)
    subprocess.run([sys.executable, str(script)], env={**os.environ, **(env or {})}, check=True)


def main() -> None:
    chosen = sys.argv[1:] or OWN_STACK + ON_STACK
    for name in (n for n in OWN_STACK if n in chosen):
        run(name)
    on_stack = [n for n in ON_STACK if n in chosen]
    if on_stack:
        with bench_stack() as stack:
            stack.make("up")
            for name in on_stack:
                run(name, {**stack.client_env, "OPTUNA_STORAGE": optuna_storage(stack)})


if __name__ == "__main__":
    main()
