"""The one error boundary of pointea's command-line programs.

Every CLI runs its work through :func:`exit_on_user_error` (Hydra entry points) or
:func:`exit_code` (argparse ones): an error the user can cause (a bad value, a bad file, an
unusable checkpoint, an output path the system refuses) ends the program with one line,
``error: ...``, and exit status ``EXIT_USER_ERROR``; anything else is a bug and keeps its
traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from pointea.checkpoint_error import CheckpointError
from pointea.config_error import ConfigError
from pointea.data.errors import DatasetError
from pointea.tasks.training_error import TrainingError
from pointea.vis.atomic import WriteError

__all__ = ["EXIT_USER_ERROR", "USER_ERRORS", "exit_code", "exit_on_user_error", "user_error_line"]

T = TypeVar("T")

EXIT_USER_ERROR = 2
# What a user can cause, whose message already names the file, key or value at fault.
USER_ERRORS: tuple[type[Exception], ...] = (
    ConfigError,
    DatasetError,
    CheckpointError,
    TrainingError,
    WriteError,
)


def user_error_line(
    err: BaseException, where: str | Path | None = None, also: tuple[type[Exception], ...] = ()
) -> str | None:
    """The one line a user's error is reported as, or None for an error that is a bug.

    An ``OSError`` at a path (no space, read-only, permission denied, a folder where a file
    goes, ...) is the user's: the line names the path (``where`` when the error has none).
    """
    if isinstance(err, USER_ERRORS + also):
        return f"error: {err}"
    if isinstance(err, OSError):
        path = err.filename or where
        if path is None:
            return None
        if err.strerror and err.filename:
            return f"error: {path}: {err.strerror}"
        return f"error: {path}: {err.strerror or err}" if err.errno else f"error: {err}"
    return None


def exit_on_user_error(
    action: Callable[[], T],
    *,
    where: str | Path | None = None,
    also: tuple[type[Exception], ...] = (),
) -> T:
    """Run a CLI's work; a user's error ends the program with its line and ``EXIT_USER_ERROR``.

    Args:
        action: the work.
        where: the path an ``OSError`` without a file name is reported at.
        also: the CLI's own user-error types.
    """
    try:
        return action()
    except Exception as err:
        line = user_error_line(err, where, also)
        if line is None:
            raise
        print(line, file=sys.stderr)
        sys.exit(EXIT_USER_ERROR)


def exit_code(
    action: Callable[[], object],
    *,
    where: str | Path | None = None,
    also: tuple[type[Exception], ...] = (),
) -> int:
    """:func:`exit_on_user_error` for an argparse ``main``: 0 when ``action`` completes, else
    ``EXIT_USER_ERROR`` after the error's line."""
    try:
        exit_on_user_error(action, where=where, also=also)
    except SystemExit as done:
        return int(done.code or 0)
    return 0
