"""Writing an output file so that no reader ever sees a half-written one."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["WriteError", "atomic_output"]


class WriteError(OSError):
    """An output whose written file is wrong: missing, unreadable or incomplete. It has no
    errno (nothing in the system failed) and its message names the output."""


@contextmanager
def atomic_output(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` to write to; then move it over ``path``.

    The temporary file is hidden (``.NAME.<random>.tmp.SUFFIX``: writers that pick the
    format from the suffix still see it). On success it is flushed to disk and renamed
    over ``path`` in one step; on any failure it is removed and ``path`` keeps what it
    held before. An ``OSError`` (a full disk, no permission) is re-raised naming ``path``.
    Files get the permissions any new file of the process gets (umask), not 0600.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp{path.suffix}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        yield tmp
        if not tmp.is_file():
            raise WriteError(f"{path}: the writer produced no file")
        with tmp.open("rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        if err.errno is None:
            raise
        raise OSError(err.errno, err.strerror, str(path)) from err
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
