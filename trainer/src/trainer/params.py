"""LightGBM parameters: defaults, `--param key=value` parsing, config files, validation."""

from __future__ import annotations

import difflib
import sys
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import lightgbm as lgb
import yaml

from trainer.errors import UserError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 has no tomllib
    import tomli as tomllib

# The community example's settings; num_iterations and early_stopping_round are LightGBM's
# own names for num_boost_round and early stopping rounds, so one dict describes the job.
DEFAULT_PARAMS: dict[str, Any] = {
    "objective": "binary",
    "metric": "binary_error",
    "boosting_type": "gbdt",
    "num_leaves": 31,
    "learning_rate": 0.05,
    "feature_fraction": 0.9,
    "num_iterations": 500,
    "early_stopping_round": 50,
    "verbosity": -1,
}
# Curves recorded on every run whatever the early-stopping metric is.
CURVE_METRICS = ("binary_error", "binary_logloss", "auc")
METRIC_ALIASES = {"binary": "binary_logloss", "error": "binary_error"}
# Parameters that name files or tasks: the trainer decides those.
RESERVED = {"task", "data", "valid", "input_model", "output_model", "output_result", "config"}
SUPPORTED_OBJECTIVES = {"binary"}
CONFIG_KEYS = {"params", "valid_fraction", "split_seed"}


@dataclass
class TrainingConfig:
    """Everything that decides one training run, validated before any run is created."""

    params: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_PARAMS))
    valid_fraction: float = 0.2
    split_seed: int = 42

    @property
    def primary_metric(self) -> str:
        """The metric early stopping and the champion comparison use."""
        return str(self.params["metric"]).split(",")[0]

    def run_name(self) -> str:
        """A name that tells runs apart at a glance, like `lgbm_nl_31_lr_0.05`."""
        return f"lgbm_nl_{self.params['num_leaves']}_lr_{float(self.params['learning_rate']):g}"


@cache
def _aliases() -> dict[str, str]:
    """Map every LightGBM parameter name and alias to its canonical name."""
    table: dict[str, str] = {}
    for name, aliases in lgb.basic._ConfigAliases._get_all_param_aliases().items():
        table[name] = name
        for alias in aliases:
            table.setdefault(alias, name)
    return table


def canonical_name(key: str) -> str:
    """Resolve a parameter name or alias, or fail naming the closest known names."""
    table = _aliases()
    key = key.strip()
    if key in table:
        name = table[key]
        if name in RESERVED:
            raise UserError(f"parameter {key!r} is set by the trainer and cannot be changed")
        return name
    hint = difflib.get_close_matches(key, table, n=3)
    suggestion = f" (did you mean {', '.join(hint)}?)" if hint else ""
    raise UserError(f"unknown LightGBM parameter {key!r}{suggestion}")


def parse_value(text: str) -> Any:
    """Turn `63`, `0.1`, `true` or `gbdt` into int, float, bool or str."""
    text = text.strip()
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def parse_param_args(items: list[str]) -> dict[str, Any]:
    """Parse repeated `key=value` options into canonical LightGBM parameters."""
    params: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UserError(f"--param expects key=value, got {item!r}")
        params[canonical_name(key)] = parse_value(value)
    return params


def load_config_file(path: Path) -> dict[str, Any]:
    """Read a TOML or YAML file with a `params` table and optional split settings."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read config file {path}: {exc}") from exc
    try:
        data = tomllib.loads(text) if path.suffix == ".toml" else yaml.safe_load(text)
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        first_line = str(exc).splitlines()[0]
        raise UserError(f"config file {path} is not valid: {first_line}") from exc
    data = data or {}
    if not isinstance(data, dict) or not isinstance(data.get("params", {}), dict):
        raise UserError(f"config file {path} must be a mapping with a `params` table")
    if unknown := sorted(set(data) - CONFIG_KEYS):
        raise UserError(f"config file {path}: unknown keys {', '.join(unknown)}")
    return data


def _metric_list(metric: Any) -> str:
    """Put the chosen metric first and add the curves every run records."""
    names = metric if isinstance(metric, list) else str(metric).split(",")
    ordered = [METRIC_ALIASES.get(m.strip(), m.strip()) for m in names if m.strip()]
    return ",".join(dict.fromkeys([*ordered, *CURVE_METRICS]))


def build_config(
    param_args: list[str] | None = None,
    config_path: Path | None = None,
    nthread: int | None = None,
    valid_fraction: float | None = None,
) -> TrainingConfig:
    """Merge defaults, a config file and `--param` options (last wins) into a checked config."""
    config = TrainingConfig()
    if config_path is not None:
        data = load_config_file(config_path)
        for key, value in data.get("params", {}).items():
            config.params[canonical_name(str(key))] = value
        config.valid_fraction = float(data.get("valid_fraction", config.valid_fraction))
        config.split_seed = int(data.get("split_seed", config.split_seed))
    config.params.update(parse_param_args(param_args or []))
    if nthread is not None:
        config.params["num_threads"] = nthread
    if valid_fraction is not None:
        config.valid_fraction = valid_fraction
    if not 0.0 < config.valid_fraction < 1.0:
        raise UserError(f"the validation fraction must be between 0 and 1, got {valid_fraction}")
    if config.params["objective"] not in SUPPORTED_OBJECTIVES:
        raise UserError(
            f"objective {config.params['objective']!r} is not supported: the trainer "
            "predicts a yes/no target, use objective=binary"
        )
    config.params["metric"] = _metric_list(config.params["metric"])
    # Stop on the chosen metric only, not on whichever curve stalls first.
    config.params["first_metric_only"] = True
    return config
