"""The Colab notebooks: valid nbformat 4, an opening that says what they need, logic only from the package."""

from __future__ import annotations

import ast
import importlib
import json
import re
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))
BADGE = re.compile(r"https://colab\.research\.google\.com/github/[\w.-]+/[\w.-]+/blob/main/notebooks/([\w.-]+\.ipynb)")


def cells(path: Path, kind: str) -> list[str]:
    return ["".join(cell["source"]) for cell in json.loads(path.read_text())["cells"] if cell["cell_type"] == kind]


def python(source: str) -> ast.Module:
    """A code cell as Python, with IPython's %magic and !shell lines left out."""
    return ast.parse("\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))))


def test_both_notebooks_exist():
    """The remote-tracking and the pyngrok notebooks ship with the repository."""
    assert {p.name for p in NOTEBOOKS} == {"colab_remote_tracking.ipynb", "colab_pyngrok.ipynb"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_valid_nbformat_4_json_and_every_cell_parses(path):
    """Each notebook is nbformat 4 JSON whose code cells are valid Python."""
    book = json.loads(path.read_text())
    assert book["nbformat"] == 4
    assert all(cell["cell_type"] in {"markdown", "code"} and isinstance(cell["source"], list) for cell in book["cells"])
    for source in cells(path, "code"):
        python(source)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_opens_with_what_it_needs_and_an_open_in_colab_link_to_itself(path):
    """The first cell is markdown with a Colab badge linking to this very file."""
    first = json.loads(path.read_text())["cells"][0]
    assert first["cell_type"] == "markdown"
    text = "".join(first["source"])
    assert "colab-badge.svg" in text
    assert BADGE.search(text) and BADGE.search(text).group(1) == path.name
    assert "need" in text.lower()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_uses_only_package_functions_that_exist(path):
    """Every name imported from `trainer` exists, and so does every attribute used on the server object."""
    from trainer.colab import ColabServer

    for source in cells(path, "code"):
        tree = python(source)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("trainer"):
                module = importlib.import_module(node.module)
                for alias in node.names:
                    assert hasattr(module, alias.name), f"{node.module}.{alias.name}"
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "server":
                assert hasattr(ColabServer, node.attr) or node.attr in ColabServer.__dataclass_fields__, node.attr


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_the_training_arguments_in_the_notebook_are_accepted_by_the_cli(path):
    """The `main([...])` calls pass arguments the trainer's parser accepts."""
    from trainer.cli import build_parser
    from trainer.settings import load_settings

    calls = [
        node
        for source in cells(path, "code")
        for node in ast.walk(python(source))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "main"
    ]
    assert calls
    for call in calls:
        build_parser(load_settings({})).parse_args(ast.literal_eval(call.args[0]))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_credentials_come_from_colab_secrets_never_from_the_cells(path):
    """Secrets are read with google.colab.userdata; no cell assigns a password or token literal."""
    code = "\n".join(cells(path, "code"))
    assert "userdata.get(" in code
    assert not re.search(r"(PASSWORD|TOKEN)\w*\s*=\s*['\"]", code, re.I)
