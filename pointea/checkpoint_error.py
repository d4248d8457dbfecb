"""The error for a file that cannot be used as a pointea checkpoint."""

from __future__ import annotations

__all__ = ["CheckpointError"]


class CheckpointError(ValueError):
    """A file that cannot be loaded or used as a pointea checkpoint; the message names it and
    says what is wrong, in one line."""
