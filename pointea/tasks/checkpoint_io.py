"""Checkpoint files written to a temporary file first and renamed into place."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

import torch
from pytorch_lightning.plugins.io import TorchCheckpointIO

__all__ = ["AtomicCheckpointIO", "CheckpointError", "load_checkpoint", "remove_stale_temporaries"]

# ``.NAME.<random>.tmp`` beside the checkpoint NAME while it is written.
TEMPORARY_GLOB = ".*.ckpt.*.tmp"


class CheckpointError(ValueError):
    """A file that cannot be loaded as a checkpoint safely; the message names it."""


class AtomicCheckpointIO(TorchCheckpointIO):
    """An interrupted save leaves the previous checkpoint of that name intact: the new one is
    written beside it and moved over it with an atomic rename only once complete.

    The file is created with mode 0666 less the umask, as every other output is (not
    0600 as ``tempfile.mkstemp`` would). A save killed outright (SIGKILL, power loss)
    cannot clean up after itself: :func:`remove_stale_temporaries` does, when the run
    next starts in that folder.
    """

    def save_checkpoint(self, checkpoint: dict[str, Any], path, storage_options=None) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        try:
            with os.fdopen(fd, "wb") as f:
                torch.save(checkpoint, f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def load_checkpoint(self, path, map_location=None, weights_only=None) -> dict[str, Any]:
        return load_checkpoint(path, map_location)


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
