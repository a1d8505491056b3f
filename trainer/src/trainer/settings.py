"""Settings from the environment: the only module that reads os.environ."""

from __future__ import annotations

import os
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from pathlib import Path

# MLflow's own defaults retry for minutes (7 retries, backoff factor 2, 120 s timeout);
# a job facing a dead server or a tunnel should fail within a minute instead.
# The user's own values, when set, win.
MLFLOW_CLIENT_DEFAULTS = {
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "20",
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
    )


def apply_mlflow_client_defaults(environ: MutableMapping[str, str] | None = None) -> None:
    """Give MLflow's HTTP client short timeouts and few retries unless the user chose others."""
    env = os.environ if environ is None else environ
    for name, value in MLFLOW_CLIENT_DEFAULTS.items():
        env.setdefault(name, value)
