"""The server's settings, read once from the container environment that compose.yaml sets."""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import quote


def _require(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        raise SystemExit(f"mlflow-stack: {name} is not set; compose.yaml passes it from .env")
    return value


@dataclass(frozen=True)
class S3Settings:
    """Where artifacts are stored; the keys themselves stay in the standard AWS_* variables
    that boto3 reads."""

    bucket: str
    endpoint: str

    @classmethod
    def from_env(cls) -> S3Settings:
        return cls(bucket=_require("S3_BUCKET"), endpoint=_require("MLFLOW_S3_ENDPOINT_URL"))


@dataclass(frozen=True)
class Settings:
    """Everything the server, the bucket job and the auth app need, built from its parts."""

    postgres_host: str
    postgres_port: int
    postgres_user: str
    postgres_password: str
    tracking_database: str
    auth_database: str
    s3: S3Settings
    port: int
    workers: int
    allowed_hosts: str
    cors_allowed_origins: str

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            postgres_host=os.environ.get("POSTGRES_HOST", "postgres"),
            postgres_port=int(os.environ.get("POSTGRES_PORT", "5432")),
            postgres_user=_require("POSTGRES_USER"),
            postgres_password=_require("POSTGRES_PASSWORD"),
            tracking_database=os.environ.get("MLFLOW_DATABASE", "mlflow"),
            auth_database=os.environ.get("MLFLOW_AUTH_DATABASE", "mlflow_auth"),
            s3=S3Settings.from_env(),
            port=int(os.environ.get("MLFLOW_SERVER_PORT", "5000")),
            workers=int(os.environ.get("MLFLOW_WORKERS", "2")),
            allowed_hosts=_require("MLFLOW_ALLOWED_HOSTS"),
            cors_allowed_origins=os.environ.get("MLFLOW_CORS_ALLOWED_ORIGINS", ""),
        )

    def database_uri(self, database: str) -> str:
        """SQLAlchemy URI of one database; the driver is named because SQLAlchemy 2.1
        would otherwise pick psycopg 3 for a bare postgresql:// URI."""
        user = quote(self.postgres_user, safe="")
        password = quote(self.postgres_password, safe="")
        return f"postgresql+psycopg2://{user}:{password}@{self.postgres_host}:{self.postgres_port}/{database}"

    @property
    def tracking_uri(self) -> str:
        return self.database_uri(self.tracking_database)

    @property
    def auth_uri(self) -> str:
        return self.database_uri(self.auth_database)

    @property
    def artifacts_destination(self) -> str:
        return f"s3://{self.s3.bucket}/"
