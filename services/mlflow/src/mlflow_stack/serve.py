"""Start the tracking server: migrate the schema, write the auth config, then run `mlflow server`."""

from __future__ import annotations

import os
import tempfile

from mlflow_stack.settings import Settings

# New users can do nothing until an admin grants them access; the admin account
# itself is created from MLFLOW_AUTH_ADMIN_USERNAME/PASSWORD on first start.
# The credential cache: without it every request pays a PBKDF2 hash (130-190 ms of
# server CPU here), which made a tracked training run several times slower than an
# untracked one. The cost: a password changed or a user deleted through one worker
# may still be accepted by the other workers for up to the TTL.
AUTH_CONFIG = """[mlflow]
default_permission = NO_PERMISSIONS
database_uri = {database_uri}
authorization_function = mlflow.server.auth:authenticate_request_basic_auth
grant_default_workspace_access = false
auth_cache_ttl_seconds = 60
auth_cache_max_size = 1000
"""


def check_database_login(settings: Settings) -> None:
    """Fail at once, in one line, when PostgreSQL refuses the password.

    MLflow's own engine creation retries for a very long time, which leaves the
    container unhealthy with no clue. The usual cause is a new .env (new generated
    password) on a data volume that an earlier .env created.
    """
    import psycopg2

    try:
        psycopg2.connect(
            host=settings.postgres_host,
            port=settings.postgres_port,
            user=settings.postgres_user,
            password=settings.postgres_password,
            dbname=settings.tracking_database,
            connect_timeout=10,
        ).close()
    except psycopg2.OperationalError as error:
        if "password authentication failed" not in str(error):
            raise
        raise SystemExit(
            f"mlflow-stack: PostgreSQL refused POSTGRES_PASSWORD for user {settings.postgres_user}: "
            "its data volume was created with another password. Put back the .env the stack "
            "was created with, or delete the data with `make clean` and start again."
        ) from None


def migrate(database_uri: str) -> None:
    """Create the schema on an empty database or upgrade an existing one, like `mlflow db upgrade`,
    in this process to save a second interpreter start."""
    from mlflow.store.db import utils

    engine = utils.create_sqlalchemy_engine_with_retry(database_uri)
    try:
        if utils._is_empty_database(engine):
            utils._initialize_tables(engine)
        else:
            utils._upgrade_db(engine)
    finally:
        engine.dispose()


def write_auth_config(settings: Settings) -> str:
    """Write the basic-auth config (it holds the database password) readable by this user only."""
    fd, path = tempfile.mkstemp(prefix="basic_auth.", suffix=".ini")
    with os.fdopen(fd, "w") as handle:
        handle.write(AUTH_CONFIG.format(database_uri=settings.auth_uri))
    return path


def server_command(settings: Settings) -> list[str]:
    """The `mlflow server` command line for these settings."""
    command = [
        "mlflow",
        "server",
        "--app-name",
        "basic-auth",
        # Proxied artifacts: clients talk only to this server, never to S3.
        "--serve-artifacts",
        "--artifacts-destination",
        settings.artifacts_destination,
        "--host",
        "0.0.0.0",
        "--port",
        str(settings.port),
        "--workers",
        str(settings.workers),
        # Host-header check against DNS rebinding: localhost and the in-network name only.
        "--allowed-hosts",
        settings.allowed_hosts,
    ]
    if settings.cors_allowed_origins:
        command += ["--cors-allowed-origins", settings.cors_allowed_origins]
    return command


def main() -> None:
    settings = Settings.from_env()
    check_database_login(settings)
    migrate(settings.tracking_uri)
    os.environ["MLFLOW_AUTH_CONFIG_PATH"] = write_auth_config(settings)
    # Through the environment, not argv: the URI holds the database password, and argv
    # shows in `ps` and in crash reports.
    os.environ["MLFLOW_BACKEND_STORE_URI"] = settings.tracking_uri
    # MLflow's CLI in this process rather than exec'ing `mlflow`: the interpreter has
    # already imported MLflow for the migration, and a second cold import costs seconds
    # of start-up. `mlflow server` then starts the uvicorn workers as usual.
    from mlflow.cli import cli

    cli.main(args=server_command(settings)[1:], prog_name="mlflow")


if __name__ == "__main__":
    main()
