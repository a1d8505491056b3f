"""The sweep's grid: `--grid key=v1,v2` options or a config file, expanded into configurations."""

from __future__ import annotations

import itertools
import os
from pathlib import Path
from typing import Any

import yaml

from trainer.errors import UserError
from trainer.params import canonical_name, parse_value, tomllib

# The community example: every pair of these two, nine runs.
DEFAULT_GRID: dict[str, list[Any]] = {
    "learning_rate": [0.01, 0.05, 0.1],
    "num_leaves": [31, 50, 100],
}
# Short names for run names, in the order they appear: lgbm_nl_50_lr_0.01.
SHORT_NAMES = {"num_leaves": "nl", "learning_rate": "lr"}


def parse_grid_args(items: list[str]) -> dict[str, list[Any]]:
    """Parse repeated `key=v1,v2,...` options into canonical parameter names and values."""
    grid: dict[str, list[Any]] = {}
    for item in items:
        key, sep, values = item.partition("=")
        parsed = [parse_value(v) for v in values.split(",") if v.strip()]
        if not sep or not key.strip() or not parsed:
            raise UserError(f"--grid expects key=v1,v2,..., got {item!r}")
        name = canonical_name(key)
        if name in grid:
            raise UserError(
                f"--grid gives {name} twice: put all its values in one --grid {name}=..."
            )
        grid[name] = list(dict.fromkeys(parsed))
    return grid


def load_grid_file(path: Path) -> dict[str, list[Any]]:
    """The `grid` table of a TOML or YAML file, e.g. `[grid]` then `num_leaves = [31, 63]`."""
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text) if path.suffix == ".toml" else yaml.safe_load(text)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        first_line = str(exc).splitlines()[0]
        raise UserError(f"cannot read grid file {path}: {first_line}") from exc
    table = data.get("grid") if isinstance(data, dict) else None
    if not isinstance(table, dict) or set(data) != {"grid"}:
        raise UserError(f"grid file {path} must hold one `grid` table of key = [values]")
    grid: dict[str, list[Any]] = {}
    for key, values in table.items():
        values = values if isinstance(values, list) else [values]
        if not values:
            raise UserError(f"grid file {path}: {key} has no values")
        grid[canonical_name(str(key))] = values
    return grid


def build_grid(
    args: list[str], path: Path | None, fixed: set[str] | frozenset[str] = frozenset()
) -> dict[str, list[Any]]:
    """The file's grid, then `--grid` options on top; the default grid when neither is given.

    `fixed` are the parameters the user set with --param: one of them in the grid would
    be silently overridden there, so that is an error.
    """
    grid = load_grid_file(path) if path else {}
    grid.update(parse_grid_args(args))
    grid = grid or {key: list(values) for key, values in DEFAULT_GRID.items()}
    if clash := sorted(set(grid) & set(fixed)):
        raise UserError(
            f"{', '.join(clash)} is both fixed by --param and searched by the grid: drop one"
        )
    return grid


def expand(grid: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """Every combination, in a stable order (the last key varies fastest)."""
    keys = list(grid)
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*grid.values())]


def run_name(point: dict[str, Any], params: dict[str, Any]) -> str:
    """`lgbm_nl_50_lr_0.01`, then any other grid keys: `..._feature_fraction_0.8`."""
    name = f"lgbm_nl_{params['num_leaves']}_lr_{float(params['learning_rate']):g}"
    extra = [f"{key}_{_text(value)}" for key, value in point.items() if key not in SHORT_NAMES]
    return "_".join([name, *extra])


def _text(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def available_cores() -> int:
    """The cores this process may use (a container's CPU set, not the host's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS and Windows
        return os.cpu_count() or 1


def threads_per_job(jobs: int, requested: int | None, cores: int) -> int:
    """LightGBM threads for each of `jobs` processes so that jobs x threads <= cores."""
    if jobs < 1:
        raise UserError(f"--jobs must be 1 or more, got {jobs}")
    if jobs > cores:
        raise UserError(f"--jobs {jobs} is more than the {cores} cores available")
    fair = max(1, cores // jobs)
    if requested is not None and requested * jobs > cores:
        raise UserError(
            f"{jobs} jobs x {requested} threads exceeds the {cores} cores; "
            f"drop num_threads or use at most {fair}"
        )
    return requested or fair
