"""Settings from the environment: the only module that reads os.environ."""

from __future__ import annotations

import os
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

# MLflow's own defaults retry for minutes (7 retries, backoff factor 2, 120 s timeout);
# a job facing a dead server or a tunnel should fail within a minute instead.
# The user's own values, when set, win.
MLFLOW_CLIENT_DEFAULTS = {
    # A link that hangs (a dead tunnel keeping TCP open) costs at worst 3 attempts x 15 s
    # plus 1 + 2 s of backoff (+ jitter): under the 60 s budget. 20 s would make it ~64 s.
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "15",
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_BACKOFF_JITTER": "0.5",
    # Usage telemetry would call a third-party host: useless offline, and not ours to send.
    "MLFLOW_DISABLE_TELEMETRY": "true",
    # Printing the run URL makes MLflow fetch the run once more; the CLI prints it itself.
    "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true",
}


@dataclass(frozen=True)
class Settings:
    """Where the job reads data, writes output and tracks runs."""

    tracking_uri: str | None
    data_dir: Path
    experiment_name: str
    model_name: str
    output_dir: Path
    git_commit: str | None
    has_credentials: bool
    # DATA_DIR as the user knows it when this process runs in a container (compose
    # passes the host's value), for messages that tell where to put files.
    data_dir_on_host: str | None = None

    def shown_data_dir(self, data_dir: Path) -> str | None:
        """The host's name for `data_dir`, when it is the configured DATA_DIR in a container."""
        return self.data_dir_on_host if data_dir == self.data_dir else None

    # Where `trainer tune` keeps its Optuna studies; holds a password, so never logged.
    optuna_storage: str | None = None


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read the settings; MLFLOW_TRACKING_USERNAME/PASSWORD stay with MLflow, never logged."""
    env = os.environ if environ is None else environ
    return Settings(
        tracking_uri=env.get("MLFLOW_TRACKING_URI") or None,
        data_dir=Path(env.get("DATA_DIR") or "./data"),
        experiment_name=env.get("MLFLOW_EXPERIMENT_NAME") or "census-income",
        model_name=env.get("MODEL_NAME") or "census-income-lgbm",
        output_dir=Path(env.get("OUTPUT_DIR") or "./outputs"),
        # Set by the image build or the Makefile when the source tree is not a git checkout.
        git_commit=env.get("GIT_COMMIT") or None,
        has_credentials=bool(env.get("MLFLOW_TRACKING_USERNAME")),
        data_dir_on_host=env.get("DATA_DIR_ON_HOST") or None,
        optuna_storage=optuna_storage_url(env),
    )


def optuna_storage_url(env: Mapping[str, str]) -> str | None:
    """OPTUNA_STORAGE if set, else the stack's `optuna` database built from the POSTGRES_* parts.

    The driver is named (`+psycopg2`) so SQLAlchemy does not guess one that is not installed.
    POSTGRES_PORT is the port the client sees: 5432 inside the stack, the published one on
    the host. Without a password there is no stack database to point at: None.
    """
    if explicit := env.get("OPTUNA_STORAGE"):
        return explicit
    password = env.get("POSTGRES_PASSWORD")
    if not password:
        return None
    user = quote(env.get("POSTGRES_USER") or "mlflow", safe="")
    host = env.get("POSTGRES_HOST") or "postgres"
    port = env.get("POSTGRES_PORT") or "5432"
    return f"postgresql+psycopg2://{user}:{quote(password, safe='')}@{host}:{port}/optuna"


def apply_mlflow_client_defaults(environ: MutableMapping[str, str] | None = None) -> None:
    """Give MLflow's HTTP client short timeouts and few retries unless the user chose others."""
    env = os.environ if environ is None else environ
    for name, value in MLFLOW_CLIENT_DEFAULTS.items():
        env.setdefault(name, value)
