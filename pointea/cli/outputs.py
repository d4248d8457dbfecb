"""Writing a run's result files without ever leaving a half-written one behind."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pointea.vis.atomic import atomic_output

__all__ = ["write_json", "write_text"]


def write_text(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to a temporary file beside ``path``, then rename it into place;
    a failed write (a full disk) leaves ``path`` as it was and no temporary file."""
    with atomic_output(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(path: Path, data: Any) -> None:
    """:func:`write_text` of ``data`` as indented JSON with sorted keys."""
    write_text(path, json.dumps(data, indent=1, sort_keys=True))
