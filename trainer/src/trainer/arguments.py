"""The options of `trainer train` and their help texts, kept apart from running them."""

from __future__ import annotations

import argparse
from pathlib import Path

from trainer import __version__, options, search_cli
from trainer.settings import Settings

EPILOG = """\
environment:
  MLFLOW_TRACKING_URI        tracking server (unset: MLflow's local default store)
  MLFLOW_TRACKING_USERNAME   credentials, read by MLflow itself and never logged
  MLFLOW_TRACKING_PASSWORD
  MLFLOW_EXPERIMENT_NAME     experiment (default census-income)
  MODEL_NAME                 registered model (default census-income-lgbm)
  DATA_DIR                   where adult/adult.data and adult/adult.test live (default ./data)
  OUTPUT_DIR                 where submission.csv and untracked outputs go (default ./outputs)

exit status: 0 success, 2 bad input (files, parameters, server URL), 1 anything else.
examples:
  trainer train
  trainer train --param num_leaves=63 --param learning_rate=0.1
  trainer train --train train.csv --test test.csv --target Y --id-column id
"""


def build_parser(settings: Settings) -> argparse.ArgumentParser:
    """The argument parser; every option says what it does."""
    parser = argparse.ArgumentParser(
        prog="trainer",
        description="Train LightGBM on census data (or your CSV files), tracked in MLflow.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"trainer {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    train = commands.add_parser(
        "train",
        help="train LightGBM and track the run in MLflow",
        epilog=EPILOG,
        description="Train the census-income LightGBM model (or one on your own CSV files), "
        "log parameters, curves, metrics, plots and the model in one MLflow run, and "
        "register the model.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    model = train.add_argument_group("model")
    options.add_model_options(model)
    model.add_argument(
        "--nthread", type=int, metavar="N", help="LightGBM threads (default: all cores)"
    )
    data = train.add_argument_group("data (default: UCI Adult from $DATA_DIR/adult)")
    options.add_adult_options(data, settings)
    data.add_argument(
        "--train",
        type=Path,
        metavar="CSV",
        help="your own training CSV (needs --test and --target)",
    )
    data.add_argument(
        "--test",
        type=Path,
        metavar="CSV",
        help="your own holdout CSV to predict; a submission is written for it",
    )
    data.add_argument("--target", metavar="COLUMN", help="the yes/no column to predict")
    data.add_argument(
        "--id-column",
        metavar="COLUMN",
        help="holdout column copied into the submission (default: row number)",
    )
    data.add_argument(
        "--sep", default=",", metavar="CHAR", help="CSV field separator (default ',')"
    )
    data.add_argument(
        "--proba",
        action="store_true",
        help="write probabilities to the submission instead of class labels",
    )
    track = train.add_argument_group("tracking")
    options.add_tracking_options(
        track, settings, "registered model name (default $MODEL_NAME: %(default)s)"
    )
    track.add_argument(
        "--run-name", metavar="NAME", help="run name (default like lgbm_nl_31_lr_0.05)"
    )
    track.add_argument(
        "--output-dir",
        type=Path,
        default=settings.output_dir,
        metavar="DIR",
        help="folder for submission.csv and untracked outputs (default $OUTPUT_DIR: %(default)s)",
    )
    track.add_argument(
        "--no-tracking",
        action="store_true",
        help="train without MLflow: outputs go to --output-dir only",
    )
    track.add_argument(
        "--no-register", action="store_true", help="track the run but do not register the model"
    )
    train.add_argument(
        "--debug", action="store_true", help="show tracebacks and debug logging on errors"
    )
    search_cli.add_parsers(commands, settings)  # sweep, tune
    return parser
