"""Command-line options that `trainer train`, `sweep` and `tune` share, defined once."""

from __future__ import annotations

import argparse
from pathlib import Path

from trainer.settings import Settings

PARAM_HELP = (
    "set any LightGBM parameter (repeatable; aliases accepted, unknown names are an error), "
    "e.g. --param num_leaves=63"
)
CONFIG_HELP = (
    "TOML or YAML file with a [params] table and optional valid_fraction and split_seed; "
    "--param overrides it"
)
VALID_HELP = (
    "share of the training rows held out for early stopping (default 0.2, stratified, "
    "random_state 42)"
)


def add_model_options(
    group: argparse._ArgumentGroup,
    param_help: str = PARAM_HELP,
    config_help: str = CONFIG_HELP,
    valid_help: str = VALID_HELP,
) -> None:
    """--param, --config and --valid-fraction."""
    group.add_argument("--param", action="append", default=[], metavar="KEY=VALUE", help=param_help)
    group.add_argument("--config", type=Path, metavar="FILE", help=config_help)
    group.add_argument("--valid-fraction", type=float, metavar="F", help=valid_help)


def add_adult_options(group: argparse._ArgumentGroup, settings: Settings) -> None:
    """Where the UCI Adult files are, or come from."""
    group.add_argument(
        "--data-dir",
        type=Path,
        default=settings.data_dir,
        metavar="DIR",
        help="folder holding adult/ (default $DATA_DIR or ./data: %(default)s)",
    )
    group.add_argument(
        "--download-url",
        metavar="URL",
        help="where to download missing Adult files from (default: UCI)",
    )


def add_tracking_options(
    group: argparse._ArgumentGroup, settings: Settings, model_help: str
) -> None:
    """The experiment and the registered model a run goes to."""
    group.add_argument(
        "--experiment",
        default=settings.experiment_name,
        metavar="NAME",
        help="MLflow experiment (default $MLFLOW_EXPERIMENT_NAME: %(default)s)",
    )
    group.add_argument("--model-name", default=settings.model_name, metavar="NAME", help=model_help)
