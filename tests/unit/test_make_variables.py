"""Make variables that are checked before anything runs: no .env written, no container started."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("workers", ["0", "abc", "", "2x"])
def test_tune_refuses_a_worker_count_that_is_not_a_positive_number(workers: str, tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    done = subprocess.run(["make", "-s", "-C", str(ROOT), "tune", f"WORKERS={workers}", "TRIALS=1",
                           f"ENV_FILE={env_file}"], capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.splitlines()[0] == f"error: WORKERS must be a whole number of 1 or more, got '{workers}'"
    assert not env_file.exists()
