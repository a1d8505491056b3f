"""A throwaway stack for benchmarks, the same kind the integration tests start, always removed."""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "integration"))

from stack_control import Stack, new_env_file, read_env  # noqa: E402


@contextmanager
def bench_stack(backend: str = "minio", project: str = "mlflowstackbench") -> Iterator[Stack]:
    """A stack on free ports with a fresh .env, not yet started; removed with its volumes at the end."""
    with tempfile.TemporaryDirectory() as folder:
        stack = Stack(backend=backend, project=f"{project}{backend}", env_file=new_env_file(Path(folder)))
        stack.values = read_env(stack.env_file)
        stack.make("clean", env={"FORCE": "1"}, check=False)
        try:
            yield stack
        finally:
            stack.make("clean", env={"FORCE": "1"}, check=False)
