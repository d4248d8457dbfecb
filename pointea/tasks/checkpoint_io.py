"""Checkpoint files written to a temporary file first and renamed into place.

``load_checkpoint`` and ``CheckpointError`` live in :mod:`pointea.checkpoint`; they are
imported here for the Lightning plugin that reads checkpoints through them."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pointea.checkpoint import load_checkpoint
from pointea.checkpoint_error import CheckpointError
from pointea.lazy_exports import lazy_exports

if TYPE_CHECKING:  # imported on first use, see __getattr__
    from pointea.tasks.atomic_checkpoint_io import AtomicCheckpointIO

__all__ = ["AtomicCheckpointIO", "CheckpointError", "load_checkpoint", "remove_stale_temporaries"]

# ``.NAME.<random>.tmp`` beside the checkpoint NAME while it is written.
TEMPORARY_GLOB = ".*.ckpt.*.tmp"


# AtomicCheckpointIO is a Lightning plugin: imported on first use, so that loading a
# checkpoint (pointea.cli.predict, pointea.load_model) does not import Lightning.
__getattr__ = lazy_exports(__name__, {"AtomicCheckpointIO": "pointea.tasks.atomic_checkpoint_io"})


def remove_stale_temporaries(dirpath: str | Path) -> list[Path]:
    """Delete the temporary files that interrupted :class:`AtomicCheckpointIO` saves left in
    ``dirpath``; returns them. Call it only while no save into ``dirpath`` can be running."""
    stale = sorted(Path(dirpath).glob(TEMPORARY_GLOB))
    for path in stale:
        path.unlink(missing_ok=True)
    return stale
