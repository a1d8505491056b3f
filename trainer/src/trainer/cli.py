"""The `trainer` command line: parse options, run the job, turn errors into one line."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import time
import traceback
from pathlib import Path
from types import FrameType

from trainer import __version__, search_cli
from trainer.errors import Interrupted, UserError
from trainer.settings import Settings, apply_mlflow_client_defaults, load_settings

log = logging.getLogger("trainer")
MAX_MESSAGE = 400

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
        description=__doc__,
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
    model.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="set any LightGBM parameter (repeatable; aliases accepted, unknown "
        "names are an error), e.g. --param num_leaves=63",
    )
    model.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help="TOML or YAML file with a [params] table and optional "
        "valid_fraction and split_seed; --param overrides it",
    )
    model.add_argument(
        "--valid-fraction",
        type=float,
        metavar="F",
        help="share of the training rows held out for early stopping "
        "(default 0.2, stratified, random_state 42)",
    )
    model.add_argument(
        "--nthread", type=int, metavar="N", help="LightGBM threads (default: all cores)"
    )
    data = train.add_argument_group("data (default: UCI Adult from $DATA_DIR/adult)")
    data.add_argument(
        "--data-dir",
        type=Path,
        default=settings.data_dir,
        metavar="DIR",
        help="folder holding adult/ (default $DATA_DIR or ./data: %(default)s)",
    )
    data.add_argument(
        "--download-url",
        metavar="URL",
        default=None,
        help="where to download missing Adult files from (default: UCI)",
    )
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
    track.add_argument(
        "--experiment",
        default=settings.experiment_name,
        metavar="NAME",
        help="MLflow experiment (default $MLFLOW_EXPERIMENT_NAME: %(default)s)",
    )
    track.add_argument(
        "--model-name",
        default=settings.model_name,
        metavar="NAME",
        help="registered model name (default $MODEL_NAME: %(default)s)",
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


def _raise_interrupted(signum: int, _frame: FrameType | None) -> None:
    raise Interrupted(signal.Signals(signum).name)


def _train(args: argparse.Namespace, settings: Settings) -> None:
    # Imported here so `trainer --help` stays fast and needs no LightGBM/MLflow import.
    from trainer import data, params, tracking
    from trainer.train import RunOptions, run_training

    csv_args = (args.train, args.test, args.target)
    if any(csv_args) and not all(csv_args):
        raise UserError("CSV mode needs all of --train, --test and --target")
    config = params.build_config(args.param, args.config, args.nthread, args.valid_fraction)
    if not args.no_tracking:
        tracking.check_server(settings.tracking_uri)
    if args.train:
        from trainer.csvdata import load_csv

        prepared = load_csv(args.train, args.test, args.target, args.id_column, args.sep)
    else:
        prepared = data.load_adult(args.data_dir, args.download_url or data.UCI_URL)
    options = RunOptions(
        tracking_uri=settings.tracking_uri,
        experiment_name=args.experiment,
        model_name=args.model_name,
        output_dir=args.output_dir,
        track=not args.no_tracking,
        register=not args.no_register,
        run_name=args.run_name,
        git_commit=settings.git_commit,
        submission_labels=not args.proba,
    )
    started = time.perf_counter()
    result = run_training(prepared, config, options)
    for name, value in sorted(result.metrics.items()):
        print(f"{name:<28} {value:.6g}")
    if result.submission:
        print(f"submission                   {result.submission}")
    if result.run_id:
        print(f"run                          {result.run_id}")
    if result.registration:
        reg = result.registration
        print(f"model                        {args.model_name} v{reg.version} ({reg.reason})")
    log.info("done in %.1f s", time.perf_counter() - started)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 3] + "..."


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit status (0 ok, 2 bad input, 1 other failure)."""
    settings = load_settings()
    args = build_parser(settings).parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    for noisy in ("mlflow", "urllib3", "matplotlib", "alembic"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if args.debug else logging.WARNING)
    logging.getLogger("lightgbm").setLevel(logging.DEBUG if args.debug else logging.ERROR)
    apply_mlflow_client_defaults()
    signal.signal(signal.SIGTERM, _raise_interrupted)
    signal.signal(signal.SIGINT, _raise_interrupted)
    try:
        getattr(args, "handler", _train)(args, settings)
        return 0
    except UserError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"trainer: error: {_one_line(exc)}", file=sys.stderr)
        return exc.exit_code
    except (Interrupted, KeyboardInterrupt) as exc:
        print(
            f"trainer: {_one_line(exc) or 'interrupted'}; the run was marked KILLED",
            file=sys.stderr,
        )
        return 1
    except Exception as exc:
        if args.debug:
            traceback.print_exc()
        status = _http_status(exc)
        if status in (401, 403):
            print(
                f"trainer: error: the tracking server refused the credentials (HTTP {status}):"
                " check MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD",
                file=sys.stderr,
            )
            return 2
        if _answered_html(exc):
            print(
                "trainer: error: the tracking server answered with an HTML page instead of"
                " MLflow's JSON: probably a tunnel or proxy error page; check that the tunnel"
                " is up and MLFLOW_TRACKING_URI is its URL",
                file=sys.stderr,
            )
            return 1
        hint = "" if args.debug else " (--debug shows the traceback)"
        print(f"trainer: error: {type(exc).__name__}: {_one_line(exc)}{hint}", file=sys.stderr)
        return 1


def _answered_html(exc: BaseException) -> bool:
    """MLflow quotes a non-JSON response body in its message; an HTML one came from a
    tunnel or proxy (ngrok's offline page, a browser warning), not from MLflow."""
    text = str(exc)
    start = text.find("Response body: '")
    return start >= 0 and text[start + 16 :].lstrip()[:1] == "<"


def _http_status(exc: BaseException) -> int | None:
    getter = getattr(exc, "get_http_status_code", None)
    try:
        return int(getter()) if getter else None
    except (TypeError, ValueError):
        return None


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
