"""Checkpoint files written to a temporary file first and renamed into place."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from pointea.lazy_exports import lazy_exports

if TYPE_CHECKING:  # imported on first use, see __getattr__
    from pointea.tasks.atomic_checkpoint_io import AtomicCheckpointIO

__all__ = ["AtomicCheckpointIO", "CheckpointError", "load_checkpoint", "remove_stale_temporaries"]

# ``.NAME.<random>.tmp`` beside the checkpoint NAME while it is written.
TEMPORARY_GLOB = ".*.ckpt.*.tmp"


class CheckpointError(ValueError):
    """A file that cannot be loaded as a checkpoint safely; the message names it."""


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


def load_checkpoint(path, map_location=None) -> dict[str, Any]:
    """Load a checkpoint as plain data only: ``weights_only=True``, never arbitrary pickles."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    try:
        return torch.load(path, map_location=map_location or "cpu", weights_only=True)
    except Exception as err:
        raise CheckpointError(
            f"{path} is not a checkpoint pointea can load safely (weights_only=True refused it: "
            f"{type(err).__name__}: {str(err).splitlines()[0]})"
        ) from err
