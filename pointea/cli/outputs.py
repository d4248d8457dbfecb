"""Writing a run's result files without ever leaving a half-written one behind."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pointea.vis.atomic import atomic_output

__all__ = ["write_json"]


def write_json(path: Path, data: Any) -> None:
    """Write ``data`` as JSON to a temporary file beside ``path``, then rename it into place;
    a failed write (a full disk) leaves ``path`` as it was and no temporary file."""
    text = json.dumps(data, indent=1, sort_keys=True)
    with atomic_output(path) as tmp:
        tmp.write_text(text)
