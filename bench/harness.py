"""What the training benchmarks share: settings, fresh names, the default job, a table."""

from __future__ import annotations

import os
import sys
import time
import uuid
from collections.abc import Sequence
from contextlib import contextmanager
from pathlib import Path

from trainer.settings import Settings, apply_mlflow_client_defaults, load_settings

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `bench.proxy` from anywhere


def settings_or_exit() -> Settings:
    """The MLFLOW_* / DATA_DIR settings; a tracking server is required."""
    settings = load_settings()
    if not settings.tracking_uri:
        sys.exit("set MLFLOW_TRACKING_URI (and MLFLOW_TRACKING_USERNAME/PASSWORD if needed)")
    apply_mlflow_client_defaults()
    return settings


def fresh_names(prefix: str) -> tuple[str, str]:
    """An experiment and a model name of the benchmark's own, so no real champion moves."""
    suffix = time.strftime("%Y%m%d-%H%M%S") + "-" + uuid.uuid4().hex[:4]
    return f"bench-{prefix}-{suffix}", f"bench-{prefix}-{suffix}"


@contextmanager
def tracking_uri(uri: str):
    """Point MLflow (and the trainer's settings) at `uri` for the duration."""
    before = os.environ.get("MLFLOW_TRACKING_URI")
    os.environ["MLFLOW_TRACKING_URI"] = uri
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("MLFLOW_TRACKING_URI", None)
        else:
            os.environ["MLFLOW_TRACKING_URI"] = before


def print_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """A plain-text table: first column left-aligned, the others right-aligned."""
    cells = [[str(h) for h in headers]] + [[_fmt(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for number, row in enumerate(cells):
        line = "  ".join(cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(row))
        print(line)
        if number == 0:
            print("  ".join("-" * w for w in widths))


def _fmt(value: object) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)
