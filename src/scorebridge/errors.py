"""User-facing errors. The CLI prints them as one line and exits with status 2."""

from __future__ import annotations

from collections.abc import Callable
from os import PathLike


class ScorebridgeError(Exception):
    """An error caused by the user's input or environment, not by a bug in scorebridge."""


class InputError(ScorebridgeError):
    """A problem with one input file; the message names the file and the problem."""

    def __init__(self, path: str | PathLike[str] | None, problem: str):
        self.path = None if path is None else str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}" if self.path else problem)


class MissingToolError(ScorebridgeError):
    """An optional external program or package is not installed."""

    def __init__(self, tool: str, how_to_install: str):
        self.tool = tool
        super().__init__(f"{tool} is not installed ({how_to_install})")


class OutputError(ScorebridgeError):
    """An output that cannot or must not be written (it is an input, a folder, exists, is in /proc ...)."""

    def __init__(self, path: str | PathLike[str], problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


def exit_status(command: Callable[[], object], debug: bool = False) -> int:
    """Run a script's ``command``: 0 when it returns; a ScorebridgeError or ValueError becomes one line on stderr
    and status 2 (raised with its traceback when ``debug``). For the small module and script entry points; the
    ``scorebridge`` command has its own (cli/main.py)."""
    import sys

    try:
        command()
    except (ScorebridgeError, ValueError) as exc:
        if debug:
            raise
        print(f"scorebridge: error: {exc}", file=sys.stderr)
        return 2
    return 0
