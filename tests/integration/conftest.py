"""Fixtures that start real stacks with `make up` under their own project name and remove them at the end."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from stack_control import Stack, start_stack


@pytest.fixture(scope="session")
def stacks(tmp_path_factory) -> Iterator[Callable[[str], Stack]]:
    """Started stacks by backend, each started on first use; all removed with their volumes at the end."""
    started: dict[str, Stack] = {}

    def get(backend: str) -> Stack:
        if backend not in started:
            started[backend] = start_stack(backend, tmp_path_factory.mktemp(backend))
        return started[backend]

    yield get
    for stack in started.values():
        stack.make("clean", env={"FORCE": "1"}, check=False)


@pytest.fixture(scope="session")
def stack(stacks) -> Stack:
    """The default stack (MinIO), running and healthy."""
    return stacks("minio")


@pytest.fixture(scope="session", params=["minio", "seaweedfs"])
def any_stack(request, stacks) -> Stack:
    """The stack with each S3 backend in turn."""
    return stacks(request.param)
