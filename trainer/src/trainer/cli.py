"""The `trainer` command line: parse options, run the job, turn errors into one line."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import time
import traceback
from types import FrameType

from trainer.arguments import build_parser
from trainer.errors import Interrupted, UserError
from trainer.settings import Settings, apply_mlflow_client_defaults, load_settings

log = logging.getLogger("trainer")
MAX_MESSAGE = 400


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
        prepared = data.load_adult(
            args.data_dir, args.download_url or data.UCI_URL, settings.shown_data_dir(args.data_dir)
        )
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
