"""A throwaway stack for benchmarks, the same kind the integration tests start, always removed."""

from __future__ import annotations

import re
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "integration"))

from stack_control import Stack, free_port, new_env_file, read_env  # noqa: E402


@contextmanager
def bench_stack(backend: str = "minio", project: str = "mlflowstackbench") -> Iterator[Stack]:
    """A stack on free ports with a fresh .env, not yet started; removed with its volumes at the end."""
    with tempfile.TemporaryDirectory() as folder:
        env_file = new_env_file(Path(folder))
        # PostgreSQL published on this machine, so the search benchmarks' own workers
        # use the stack's Optuna database as `make tune` workers do.
        env_file.write_text(
            re.sub(r"^POSTGRES_PORT=.*$", f"POSTGRES_PORT={free_port()}", env_file.read_text(), flags=re.M)
        )
        stack = Stack(backend=backend, project=f"{project}{backend}", env_file=env_file)
        stack.values = read_env(stack.env_file)
        stack.make("clean", env={"FORCE": "1"}, check=False)
        try:
            yield stack
        finally:
            stack.make("clean", env={"FORCE": "1"}, check=False)


def optuna_storage(stack: Stack) -> str:
    """The stack's Optuna database as seen from this machine."""
    v = stack.values
    return f"postgresql+psycopg2://{v['POSTGRES_USER']}:{v['POSTGRES_PASSWORD']}@127.0.0.1:{v['POSTGRES_PORT']}/optuna"
