"""Temporary folders that name their owner, so that those of dead processes can be removed.

A download, an extraction or the built-in data generation writes into a temporary folder
inside the data root and renames it into place when done. A process killed on the way
cannot remove it; the folder's name records the owner (``.NAME-KIND-PID@HOST-XXXXXXXX``),
and the next start on the same host removes the folders whose owner is gone.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import tempfile
from pathlib import Path

__all__ = ["make_owned_temporary", "remove_dead_temporaries"]

# mkdtemp's random suffix holds no '-', so the last '-' ends the host name.
_OWNED = re.compile(r"^\..+-[a-z]+-(?P<pid>\d+)@(?P<host>.+)-[A-Za-z0-9_]+$")


def _host() -> str:
    return socket.gethostname().replace("/", "_") or "localhost"


def make_owned_temporary(root: str | Path, name: str, kind: str) -> Path:
    """A new folder ``root/.NAME-KIND-PID@HOST-XXXXXXXX`` owned by this process.

    Args:
        root: the folder that will hold the result; it must exist.
        name: what is being made (the release folder's name).
        kind: a lowercase word for the work (``download``, ``staging``, ``generate``).
    """
    if not re.fullmatch(r"[a-z]+", kind):
        raise ValueError(f"kind must be a lowercase word, got {kind!r}")
    prefix = f".{name}-{kind}-{os.getpid()}@{_host()}-"
    return Path(tempfile.mkdtemp(prefix=prefix, dir=root))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def remove_dead_temporaries(root: str | Path) -> list[Path]:
    """Remove the owned temporaries in ``root`` whose owner process no longer runs on this
    host; returns them. Folders of other hosts (a shared file system) are left alone."""
    root = Path(root)
    if not root.is_dir():
        return []
    host, removed = _host(), []
    for path in sorted(root.glob(".*")):
        match = _OWNED.match(path.name)
        if not match or not path.is_dir() or match["host"] != host:
            continue
        if not _alive(int(match["pid"])):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed
