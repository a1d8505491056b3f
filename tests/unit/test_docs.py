"""The README and the Makefile agree with each other and with .env.example, so the docs cannot drift."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import envfile

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def make_targets() -> set[str]:
    """Targets listed by `make help`, which lists exactly those with a `## description`."""
    out = subprocess.run(["make", "--no-print-directory", "help"], cwd=ROOT, capture_output=True, text=True, check=True)
    return {m.group(1) for m in re.finditer(r"^\s+(?:\x1b\[1m)?([a-z-]+)", out.stdout, re.M)}


def test_every_phony_target_has_a_help_line():
    """Each .PHONY target shows in `make help` with its one-line description."""
    phony = set(re.findall(r"^\.PHONY: ([a-z-]+)$", (ROOT / "Makefile").read_text(), re.M))
    assert phony <= make_targets(), phony - make_targets()


def test_every_make_command_in_the_readme_exists():
    """Each `make TARGET` the README tells users to run is a real target."""
    mentioned = set(re.findall(r"\bmake ([a-z][a-z-]*)", README))
    assert mentioned, "the README shows make commands"
    assert mentioned <= make_targets(), mentioned - make_targets()


def test_configuration_table_covers_every_variable_of_env_example():
    """Each variable in .env.example is explained in the README's configuration table."""
    variables = envfile.parse((ROOT / ".env.example").read_text())
    missing = [key for key in variables if f"`{key}`" not in README]
    assert not missing, f"not documented in README.md: {missing}"
