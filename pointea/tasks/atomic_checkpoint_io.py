"""The Lightning checkpoint plugin that writes through a temporary file and a rename.

Its own module because it imports Lightning; ``pointea.tasks.checkpoint_io`` re-exports
it on first use.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

import torch
from pytorch_lightning.plugins.io import TorchCheckpointIO

from pointea.tasks.checkpoint_io import load_checkpoint

__all__ = ["AtomicCheckpointIO"]


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
        except OSError as err:
            Path(tmp).unlink(missing_ok=True)
            if err.filename:
                raise
            # torch.save wrote to a file object, so a full disk's error names no file
            raise OSError(err.errno, err.strerror, str(path)) from err
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def load_checkpoint(self, path, map_location=None, weights_only=None) -> dict[str, Any]:
        return load_checkpoint(path, map_location)
