"""The command line documents itself and starts without the heavy libraries."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest
from trainer.cli import build_parser
from trainer.settings import load_settings


def subcommand(name: str) -> argparse.ArgumentParser:
    """The parser of one subcommand."""
    parser = build_parser(load_settings({}))
    [commands] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return commands.choices[name]


def test_every_train_option_has_help() -> None:
    """Each option of `trainer train` explains itself in --help."""
    for action in subcommand("train")._actions:
        assert action.help and action.help != argparse.SUPPRESS, action.option_strings


def test_help_names_the_environment_and_exit_codes() -> None:
    """--help lists the environment variables and what the exit statuses mean."""
    text = subcommand("train").format_help()
    for name in ("MLFLOW_TRACKING_URI", "DATA_DIR", "OUTPUT_DIR", "MODEL_NAME", "exit status"):
        assert name in text


def test_help_runs_without_importing_lightgbm_or_mlflow() -> None:
    """`trainer train --help` needs neither LightGBM nor MLflow, so it is instant."""
    code = (
        "import sys; from trainer.cli import main\n"
        "try: main(['train', '--help'])\n"
        "except SystemExit: pass\n"
        "assert 'lightgbm' not in sys.modules and 'mlflow' not in sys.modules"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_missing_subcommand_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """`trainer` alone prints usage and exits 2."""
    with pytest.raises(SystemExit) as caught:
        build_parser(load_settings({})).parse_args([])
    assert caught.value.code == 2


def test_settings_have_the_documented_defaults() -> None:
    """Without environment, data is ./data, outputs ./outputs, names are the project's."""
    settings = load_settings({})
    assert str(settings.data_dir) == "data" and str(settings.output_dir) == "outputs"
    assert settings.experiment_name == "census-income"
    assert settings.model_name == "census-income-lgbm"
    assert settings.tracking_uri is None
