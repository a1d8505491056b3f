"""`make up` with a bad .env or a busy port stops before any container starts, with one line naming the fix."""

from __future__ import annotations

import re
import socket
import subprocess
from pathlib import Path

import pytest
from stack_control import ROOT, new_env_file

PROJECT = "mlflowstacktestbadenv"


def make_up(env_file: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["make", "--no-print-directory", "up", f"ENV_FILE={env_file}", f"PROJECT={PROJECT}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def containers() -> list[str]:
    out = subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"label=com.docker.compose.project={PROJECT}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return out.split()


def set_value(env_file: Path, key: str, value: str) -> None:
    env_file.write_text(re.sub(rf"^{key}=.*$", f"{key}={value}", env_file.read_text(), flags=re.M))


@pytest.mark.parametrize(
    ("key", "value"),
    [("POSTGRES_PASSWORD", ""), ("S3_BUCKET", "Not_A_Bucket"), ("MLFLOW_PORT", "five-thousand")],
)
def test_bad_value_stops_make_up_before_any_container(tmp_path: Path, key: str, value: str):
    """make up exits 2 with one line naming the variable, and no container of the project exists."""
    env_file = new_env_file(tmp_path)
    set_value(env_file, key, value)
    result = make_up(env_file)
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and key in errors[0]
    assert containers() == []


def test_busy_port_names_the_variable(tmp_path: Path):
    """A port held by another program stops make up with the variable to change."""
    env_file = new_env_file(tmp_path)
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        set_value(env_file, "S3_API_PORT", str(holder.getsockname()[1]))
        result = make_up(env_file)
    assert result.returncode != 0
    assert "S3_API_PORT" in result.stderr and "in use" in result.stderr
    assert containers() == []


def test_existing_env_file_is_left_untouched_by_make_up(tmp_path: Path):
    """A failing make up never rewrites the user's .env."""
    env_file = new_env_file(tmp_path)
    set_value(env_file, "S3_BUCKET", "x")
    before = env_file.read_bytes()
    make_up(env_file)
    assert env_file.read_bytes() == before
