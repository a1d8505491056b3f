"""The `trainer sweep` and `trainer tune` subcommands: their options and what they run.

Kept apart from the heavy modules so `trainer --help` imports neither LightGBM nor MLflow.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from trainer import options
from trainer.errors import UserError
from trainer.settings import Settings

log = logging.getLogger("trainer")

SEARCH_ENV = """\
environment (besides those of `trainer train`):
  OPTUNA_STORAGE             study storage URL (tune); default: the stack's `optuna`
                             database from POSTGRES_USER, POSTGRES_PASSWORD,
                             POSTGRES_HOST (default postgres), POSTGRES_PORT (default 5432)

exit status: 0 success, 2 bad input (files, parameters, grid, storage), 1 anything else.
"""
SWEEP_EPILOG = (
    SEARCH_ENV
    + """examples:
  trainer sweep                      # learning_rate {0.01,0.05,0.1} x num_leaves {31,50,100}
  trainer sweep --jobs 2 --grid num_leaves=15,63 --grid learning_rate=0.05,0.1
  trainer sweep --grid-file grid.toml --param num_iterations=200
"""
)
TUNE_EPILOG = (
    SEARCH_ENV
    + """examples:
  trainer tune --trials 50                     # run again to resume; raise --trials for more
  trainer tune --trials 6 --storage sqlite:///optuna.db --study quick
  # another machine joins the same study: same database and tracking server
  OPTUNA_STORAGE=postgresql+psycopg2://USER:PASS@HOST:PORT/optuna \\
  MLFLOW_TRACKING_URI=http://HOST:5000 trainer tune --trials 50
"""
)


def _common(parser: argparse.ArgumentParser, settings: Settings) -> None:
    """Model, data and tracking options shared by sweep and tune (those of `trainer train`)."""
    model = parser.add_argument_group("model (fixed for every configuration)")
    options.add_model_options(
        model,
        param_help="set a LightGBM parameter for all configurations (repeatable), "
        "e.g. --param num_iterations=200",
        config_help="TOML or YAML file with a [params] table, as for `trainer train`",
        valid_help="share of training rows held out for early stopping (default 0.2)",
    )
    data = parser.add_argument_group("data (UCI Adult from $DATA_DIR/adult)")
    options.add_adult_options(data, settings)
    track = parser.add_argument_group("tracking")
    options.add_tracking_options(
        track, settings, "registered model for the best configuration (default %(default)s)"
    )
    track.add_argument(
        "--no-register",
        action="store_true",
        help="track the runs but do not register the best model",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logging")


def add_parsers(commands: argparse._SubParsersAction, settings: Settings) -> None:
    """Register `sweep` and `tune` on the CLI's subcommands."""
    raw = argparse.RawDescriptionHelpFormatter
    sweep = commands.add_parser(
        "sweep",
        help="train every configuration of a grid as child runs of one parent run",
        description="Train every combination of the grid's values, each as a child run logged "
        "like `trainer train` logs a run, under one parent run that gets the best child's "
        "parameters and metrics, a CSV table of all configurations and a heatmap; the best "
        "model is registered and `champion` moves only if it beats the current champion.",
        epilog=SWEEP_EPILOG,
        formatter_class=raw,
    )
    grid = sweep.add_argument_group(
        "grid (default learning_rate=0.01,0.05,0.1 x num_leaves=31,50,100)"
    )
    grid.add_argument(
        "--grid",
        action="append",
        default=[],
        metavar="KEY=V1,V2",
        help="values of one parameter to try (repeatable); replaces the default grid",
    )
    grid.add_argument(
        "--grid-file",
        type=Path,
        metavar="FILE",
        help="TOML or YAML file with a `grid` table of key = [values]; --grid adds to it",
    )
    grid.add_argument(
        "--jobs",
        type=int,
        default=1,
        metavar="N",
        help="configurations trained at once, each in its own process; LightGBM "
        "threads are set so jobs x threads <= cores (default 1)",
    )
    _common(sweep, settings)
    sweep.set_defaults(handler=run_sweep)

    tune = commands.add_parser(
        "tune",
        help="an Optuna study (TPE, pruning) shared by any number of workers",
        description="Run trials of an Optuna study (TPE sampler, LightGBM pruning) stored in "
        "a database, so several workers share it; each trial is a child run under the "
        "study's parent run, which gets the best parameters and value and the optimisation "
        "history and parameter importance plots. The best trial's model is registered and "
        "`champion` moves only if it beats the current champion.",
        epilog=TUNE_EPILOG,
        formatter_class=raw,
    )
    study = tune.add_argument_group("study")
    study.add_argument(
        "--trials",
        type=int,
        default=50,
        metavar="N",
        help="finished (complete or pruned) trials the study should have, counted "
        "over all workers and earlier runs (default %(default)s)",
    )
    study.add_argument(
        "--study",
        metavar="NAME",
        help="study name; the same name resumes the study (default <experiment>-tune)",
    )
    study.add_argument(
        "--storage",
        default=settings.optuna_storage,
        metavar="URL",
        help="Optuna storage, e.g. sqlite:///optuna.db (default $OPTUNA_STORAGE "
        "or the stack's PostgreSQL `optuna` database)",
    )
    study.add_argument(
        "--seed",
        type=int,
        metavar="N",
        help="TPE sampler seed (leave unset when several workers share a study)",
    )
    study.add_argument(
        "--nthread", type=int, metavar="N", help="LightGBM threads per worker (default: all cores)"
    )
    study.add_argument("--no-progress", action="store_true", help="no progress bar")
    _common(tune, settings)
    tune.set_defaults(handler=run_tune)


def _base(args: argparse.Namespace, settings: Settings, nthread: int | None = None):
    """What every configuration or trial shares: the fixed config, the data recipe, and
    where runs go; the tracking server is checked first, so a dead one fails fast."""
    from trainer import params, tracking
    from trainer.source import DataSource
    from trainer.train import RunOptions

    config = params.build_config(args.param, args.config, nthread, args.valid_fraction)
    source = DataSource(
        args.data_dir, args.download_url, shown_dir=settings.shown_data_dir(args.data_dir)
    )
    tracking.check_server(settings.tracking_uri)
    options = RunOptions(
        tracking_uri=settings.tracking_uri,
        experiment_name=args.experiment,
        model_name=args.model_name,
        output_dir=settings.output_dir,
        register=not args.no_register,
        git_commit=settings.git_commit,
    )
    return config, source, options


def run_sweep(args: argparse.Namespace, settings: Settings) -> None:
    """`trainer sweep`: build the grid, check the server, run, print the table."""
    if args.jobs > 1:
        from trainer import workers

        workers.start()  # before the imports below: the fork server imports beside them
    from trainer import grid, sweep
    from trainer.params import parse_param_args

    points = grid.build_grid(args.grid, args.grid_file, set(parse_param_args(args.param)))
    config, source, options = _base(args, settings)
    result = sweep.run_sweep(config, points, source, options, args.jobs)
    shown = [c for c in result.table.columns if c not in ("model_id", "run_id")]
    print(result.table[shown].to_string(index=False, float_format=lambda v: f"{v:.5g}"))
    print(f"parent run                   {result.parent_run_id}")
    print(f"best                         {result.best['run_name']} ({result.best['run_id']})")
    if result.registration:
        reg = result.registration
        print(f"model                        {args.model_name} v{reg.version} ({reg.reason})")


def run_tune(args: argparse.Namespace, settings: Settings) -> None:
    """`trainer tune`: join (or start) the study and run trials until it has enough."""
    from trainer import tune

    if not args.storage:
        raise UserError(
            "no Optuna storage: set OPTUNA_STORAGE, or POSTGRES_PASSWORD for the stack's "
            "database, or pass --storage sqlite:///optuna.db"
        )
    if args.trials < 1:
        raise UserError(f"--trials must be 1 or more, got {args.trials}")
    config, source, options = _base(args, settings, args.nthread)
    from trainer.params import canonical_name, load_config_file, parse_param_args

    # Parameters the user set stay fixed: the study does not search them. Canonical names,
    # so `n_estimators` in a config file fixes num_iterations as `--param` would.
    fixed = set(parse_param_args(args.param))
    if args.config:
        fixed |= {canonical_name(k) for k in load_config_file(args.config).get("params", {})}
    study_name = args.study or f"{args.experiment}-tune"
    result = tune.run_tune(
        config,
        source,
        options,
        args.storage,
        study_name,
        args.trials,
        args.seed,
        fixed=fixed,
        progress=not args.no_progress,
    )
    print(f"study                        {study_name} ({result.finished} finished trials)")
    print(f"trials run by this worker    {result.ran}")
    if result.finished_before >= args.trials:
        print(f"  (it had {result.finished_before} already: ask for more with --trials / TRIALS)")
    print(f"parent run                   {result.parent_run_id}")
    if result.best_value is not None:
        print(f"best value                   {result.best_value:.6g} (trial {result.best_trial})")
        for key, value in sorted(result.best_params.items()):
            print(
                f"  {key:<26} {value:.6g}" if isinstance(value, float) else f"  {key:<26} {value}"
            )
    if result.registration:
        reg = result.registration
        print(f"model                        {args.model_name} v{reg.version} ({reg.reason})")
