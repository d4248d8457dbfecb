"""A training run stopped by a scheduler's SIGTERM, and the one line that says how to resume it."""

from __future__ import annotations

import shlex
import signal
from collections.abc import Sequence
from pathlib import Path

__all__ = ["EXIT_STOPPED", "RunStopped", "resume_command"]

# What a shell reports for a process ended by SIGTERM: schedulers and requeue scripts read
# it as "stopped", never as success (0) or a user's error (pointea's EXIT_USER_ERROR).
EXIT_STOPPED = 128 + int(signal.SIGTERM)

# Overrides a resume command sets itself.
_RESUME_KEYS = ("mode", "ckpt_path")


class RunStopped(Exception):
    """A run that SIGTERM stopped before it finished; the message says whether and how it
    resumes. ``metrics.json`` is never written for it."""


def resume_command(
    overrides: Sequence[str],
    checkpoint: Path | None,
    program: Sequence[str] = ("python", "train.py"),
) -> str:
    """The run's command with its own overrides: with ``checkpoint``, the resume from it
    (``mode=fit ckpt_path=CHECKPOINT`` in place of the run's own ``mode`` and
    ``ckpt_path``); without, the same command again.

    Args:
        overrides: the command line's overrides (``HydraConfig.get().overrides.task``).
        checkpoint: the checkpoint a resume continues from, or None.
        program: what runs ``train.py`` (``("pointea-train",)`` for the console script).
    """
    kept = list(overrides)
    if checkpoint is not None:
        kept = [o for o in kept if o.split("=", 1)[0].lstrip("+~") not in _RESUME_KEYS]
        kept += ["mode=fit", f"ckpt_path={checkpoint}"]
    return shlex.join([*program, *kept])
