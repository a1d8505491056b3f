"""Worker processes for `trainer sweep`: forked from a server that has imported the trainer.

Kept free of heavy imports so the CLI can start the fork server before it imports MLflow
and LightGBM itself: both imports then run side by side, on two cores, instead of one
after the other.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.forkserver
import sys
from multiprocessing.context import BaseContext

# What every worker needs, imported once in the fork server rather than once per worker
# (seconds each: MLflow, LightGBM, pandas, matplotlib).
PRELOAD = ["trainer.sweep", "matplotlib.pyplot"]


def context() -> BaseContext:
    """Workers forked from a fork server that has imported the trainer; spawned elsewhere.

    Not plain fork: forking a process whose OpenMP (LightGBM) or HTTP threads have
    started can deadlock the child. The fork server is a fresh process that has started
    none, and what it imported is shared with every worker it forks.
    """
    if sys.platform != "linux":  # macOS and Windows: spawn, their safe default
        return multiprocessing.get_context("spawn")
    forkserver = multiprocessing.get_context("forkserver")
    forkserver.set_forkserver_preload(PRELOAD)
    return forkserver


def start() -> None:
    """Start the fork server now, so its imports overlap whatever this process does next."""
    if context().get_start_method() == "forkserver":
        multiprocessing.forkserver.ensure_running()
