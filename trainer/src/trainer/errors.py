"""Errors the CLI turns into a one-line message and an exit code."""


class UserError(Exception):
    """Bad input the user can fix (a file, a parameter, a URL): the CLI exits with status 2."""

    exit_code = 2


class Interrupted(BaseException):
    """SIGTERM or SIGINT arrived: raised from the signal handler so `finally` blocks still run.

    A BaseException, like KeyboardInterrupt, so that `except Exception` does not swallow it.
    """

    def __init__(self, signal_name: str) -> None:
        super().__init__(f"interrupted by {signal_name}")
        self.signal_name = signal_name
