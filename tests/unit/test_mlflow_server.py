"""Tests of the server package in services/mlflow: settings, command line, artifact plugin."""

from __future__ import annotations

from pathlib import Path

import pytest
import tomllib
from mlflow.store.artifact.artifact_repo import (
    MultipartDownloadMixin,
    MultipartUploadMixin,
    PresignedUploadMixin,
)
from mlflow_stack import serve
from mlflow_stack.artifacts import ProxiedS3ArtifactRepository
from mlflow_stack.settings import Settings

SERVER_PACKAGE = Path(__file__).resolve().parents[2] / "services" / "mlflow"


@pytest.fixture
def settings(monkeypatch) -> Settings:
    """Settings from the environment compose.yaml gives the container, with an awkward password."""
    for key, value in {
        "POSTGRES_USER": "mlflow",
        "POSTGRES_PASSWORD": "p@ss/word:1",
        "S3_BUCKET": "artifacts",
        "MLFLOW_S3_ENDPOINT_URL": "http://minio:9000",
        "MLFLOW_ALLOWED_HOSTS": "localhost:*,mlflow:5000",
    }.items():
        monkeypatch.setenv(key, value)
    return Settings.from_env()


def test_database_uris_name_the_psycopg2_driver_and_quote_the_password(settings: Settings):
    """The URIs select psycopg2 explicitly and survive reserved characters in the password."""
    assert settings.tracking_uri == "postgresql+psycopg2://mlflow:p%40ss%2Fword%3A1@postgres:5432/mlflow"
    assert settings.auth_uri.endswith("/mlflow_auth")


def test_missing_required_setting_exits_naming_it(monkeypatch, settings: Settings):
    """A container started without a required variable stops with its name."""
    monkeypatch.delenv("POSTGRES_PASSWORD")
    with pytest.raises(SystemExit, match="POSTGRES_PASSWORD"):
        Settings.from_env()


def test_server_command_proxies_artifacts_with_auth_and_keeps_secrets_out_of_argv(settings: Settings):
    """`mlflow server` gets the auth app, proxied S3 artifacts and the host list, but no password."""
    command = serve.server_command(settings)
    assert command[:2] == ["mlflow", "server"]
    assert command[command.index("--app-name") + 1] == "basic-auth"
    assert "--serve-artifacts" in command
    assert command[command.index("--artifacts-destination") + 1] == "s3://artifacts/"
    assert command[command.index("--allowed-hosts") + 1] == "localhost:*,mlflow:5000"
    assert not any("p%40ss" in part or "p@ss" in part for part in command)


def test_auth_config_denies_new_users_by_default_and_is_private(settings: Settings):
    """The generated auth config gives new users no permissions and is readable by its owner only."""
    path = Path(serve.write_auth_config(settings))
    try:
        text = path.read_text()
        assert "default_permission = NO_PERMISSIONS" in text
        assert "mlflow_auth" in text
        assert path.stat().st_mode & 0o077 == 0
    finally:
        path.unlink()


def test_artifact_repository_offers_no_presigned_transfers():
    """The server's S3 repository is none of the classes MLflow advertises presigned transfers for."""
    repo = ProxiedS3ArtifactRepository("s3://artifacts/1/abc/artifacts")
    for mixin in (MultipartDownloadMixin, MultipartUploadMixin, PresignedUploadMixin):
        assert not isinstance(repo, mixin)


def test_plugin_is_registered_for_the_s3_scheme():
    """The server package's entry point replaces MLflow's s3:// repository."""
    meta = tomllib.loads((SERVER_PACKAGE / "pyproject.toml").read_text())
    target = meta["project"]["entry-points"]["mlflow.artifact_repository"]["s3"]
    assert target == "mlflow_stack.artifacts:ProxiedS3ArtifactRepository"


def test_auth_config_caches_credentials_for_a_minute(settings: Settings):
    """Verified credentials are cached for 60 s, so requests skip the PBKDF2 hash."""
    path = Path(serve.write_auth_config(settings))
    try:
        assert "auth_cache_ttl_seconds = 60" in path.read_text()
    finally:
        path.unlink()


def test_refused_password_stops_with_one_line_naming_the_cause_stand_in_driver(monkeypatch, settings: Settings):
    """A password PostgreSQL refuses ends start-up at once with the fix (psycopg2.connect replaced)."""
    import psycopg2

    def refuse(**_kwargs):
        raise psycopg2.OperationalError('FATAL:  password authentication failed for user "mlflow"')

    monkeypatch.setattr(psycopg2, "connect", refuse)
    with pytest.raises(SystemExit, match="POSTGRES_PASSWORD.*make clean") as stop:
        serve.check_database_login(settings)
    assert "p@ss" not in str(stop.value) and "\n" not in str(stop.value)


def test_other_database_errors_are_not_disguised_stand_in_driver(monkeypatch, settings: Settings):
    """An unreachable database is not reported as a password problem (psycopg2.connect replaced)."""
    import psycopg2

    def unreachable(**_kwargs):
        raise psycopg2.OperationalError("could not translate host name")

    monkeypatch.setattr(psycopg2, "connect", unreachable)
    with pytest.raises(psycopg2.OperationalError):
        serve.check_database_login(settings)
