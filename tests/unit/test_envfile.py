"""Tests of scripts/envfile.py: the .env it creates and the values it refuses."""

from __future__ import annotations

import os
import socket
import stat
from pathlib import Path

import envfile
import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / ".env.example"


@pytest.fixture
def created(tmp_path: Path) -> Path:
    """A .env freshly created from the repository's .env.example."""
    env = tmp_path / ".env"
    assert envfile.ensure(env, EXAMPLE) is True
    return env


def write_env(path: Path, **changes: str) -> Path:
    """Rewrite an env file with some values changed."""
    values = envfile.parse(path.read_text())
    values.update(changes)
    path.write_text("".join(f"{key}={value}\n" for key, value in values.items()))
    return path


def run(capsys, *args: str) -> tuple[int, str]:
    status = envfile.main(["--example", str(EXAMPLE), *args])
    return status, capsys.readouterr().err


def test_every_secret_in_the_example_is_empty_and_generated():
    """The example ships no secret value, and each empty secret has a generator."""
    values = envfile.parse(EXAMPLE.read_text())
    for key in envfile.SECRETS:
        assert values[key] == "", f"{key} must be empty in .env.example"
    empty = {key for key, value in values.items() if not value}
    assert empty - set(envfile.SECRETS) <= envfile.OPTIONAL


def test_created_file_is_private_complete_and_valid(created: Path):
    """A new .env has mode 600, a value for every secret, and passes validation."""
    assert stat.S_IMODE(os.stat(created).st_mode) == 0o600
    values = envfile.parse(created.read_text())
    assert all(values[key] for key in envfile.SECRETS)
    envfile.validate(values, list(envfile.parse(EXAMPLE.read_text())))


def test_secrets_differ_between_files_and_between_variables(tmp_path: Path):
    """Two generated files share no secret, and no two secrets in one file are equal."""
    first, second = tmp_path / "a.env", tmp_path / "b.env"
    envfile.ensure(first, EXAMPLE)
    envfile.ensure(second, EXAMPLE)
    a, b = envfile.parse(first.read_text()), envfile.parse(second.read_text())
    assert not {a[k] for k in envfile.SECRETS} & {b[k] for k in envfile.SECRETS}
    assert len({a[k] for k in envfile.SECRETS}) == len(envfile.SECRETS)


def test_existing_env_is_never_overwritten(created: Path):
    """ensure() leaves an existing .env byte for byte as it was."""
    before = created.read_bytes()
    assert envfile.ensure(created, EXAMPLE) is False
    assert created.read_bytes() == before


def test_no_temporary_file_is_left_behind(created: Path):
    """Only .env remains in the folder after creation."""
    assert [p.name for p in created.parent.iterdir()] == [".env"]


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"POSTGRES_PASSWORD": ""}, "POSTGRES_PASSWORD"),
        ({"MLFLOW_ADMIN_PASSWORD": "short"}, "MLFLOW_ADMIN_PASSWORD"),
        ({"S3_SECRET_KEY": "has$dollar-sign-inside"}, "S3_SECRET_KEY"),
        ({"S3_BUCKET": "My_Bucket"}, "S3_BUCKET"),
        ({"S3_BUCKET": "ab"}, "S3_BUCKET"),
        ({"S3_BUCKET": "192.168.1.10"}, "S3_BUCKET"),
        ({"MLFLOW_PORT": "50x0"}, "MLFLOW_PORT"),
        ({"S3_API_PORT": "70000"}, "S3_API_PORT"),
        ({"S3_CONSOLE_PORT": "5000", "MLFLOW_PORT": "5000"}, "MLFLOW_PORT"),
        ({"S3_BACKEND": "ceph"}, "S3_BACKEND"),
        ({"POSTGRES_USER": "Robert'); DROP"}, "POSTGRES_USER"),
        ({"MLFLOW_WORKERS": "0"}, "MLFLOW_WORKERS"),
    ],
)
def test_bad_value_exits_2_with_one_line_naming_the_variable(capsys, created: Path, change, named):
    """Each invalid value stops `check` with status 2 and one line that names the variable."""
    write_env(created, **change)
    status, err = run(capsys, "check", "--env-file", str(created))
    assert status == 2
    assert err.count("\n") == 1 and named in err and err.startswith("error: ")


def test_secret_values_never_appear_in_error_messages(capsys, created: Path):
    """A rejected secret is named, not printed."""
    write_env(created, S3_SECRET_KEY="leaky$secret-value")
    _, err = run(capsys, "check", "--env-file", str(created))
    assert "leaky" not in err


def test_missing_variable_is_named(capsys, created: Path):
    """A variable deleted from .env is reported by name."""
    lines = [line for line in created.read_text().splitlines() if not line.startswith("S3_ACCESS_KEY=")]
    created.write_text("\n".join(lines) + "\n")
    status, err = run(capsys, "check", "--env-file", str(created))
    assert status == 2 and "S3_ACCESS_KEY" in err


def test_malformed_line_is_reported_with_its_number(capsys, created: Path):
    """A line without '=' is an error that gives its line number."""
    created.write_text(created.read_text() + "not an assignment\n")
    status, err = run(capsys, "check", "--env-file", str(created))
    assert status == 2 and "line" in err


def test_s3_backend_override_is_validated(capsys, created: Path):
    """`make up S3=...` goes through the same check as S3_BACKEND."""
    status, err = run(capsys, "check", "--env-file", str(created), "--s3-backend", "nfs")
    assert status == 2 and "S3_BACKEND" in err
    assert run(capsys, "check", "--env-file", str(created), "--s3-backend", "seaweedfs")[0] == 0


def test_busy_port_names_the_variable_to_change(capsys, created: Path):
    """A port held by another program is reported with the variable that sets it."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        write_env(created, MLFLOW_PORT=str(port))
        status, err = run(capsys, "ports", "--env-file", str(created), "--project", "no-such-project")
    assert status == 2 and "MLFLOW_PORT" in err and str(port) in err


def test_variable_missing_from_an_older_env_takes_its_default(capsys, created: Path):
    """A non-secret variable absent from .env (added to the example later) is not an error."""
    lines = [line for line in created.read_text().splitlines() if not line.startswith("MODEL_NAME=")]
    created.write_text("\n".join(lines) + "\n")
    status, err = run(capsys, "check", "--env-file", str(created))
    assert status == 0, err
