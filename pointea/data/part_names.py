"""Names of the parts of a ShapeNetPart-layout release, for legends and reports.

The official release names categories but not parts; a release may carry a
``part_names.json`` (``{category: [name of part 1, name of part 2, ...]}``), as pointea's
built-in ``synthetic_parts`` does. Without one, parts are called ``part 1``, ``part 2`` ...
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from pointea.data.errors import DatasetError

__all__ = ["PART_NAMES_FILE", "read_part_names"]

PART_NAMES_FILE = "part_names.json"


def read_part_names(
    folder: str | Path, category_names: Sequence[str], category_parts: Sequence[Sequence[int]]
) -> list[list[str]]:
    """Per category, the names of its parts in global-id order.

    Raises:
        DatasetError: ``part_names.json`` exists but does not match the part table.
    """
    path = Path(folder) / PART_NAMES_FILE
    if not path.is_file():  # a folder of the user's files names its parts in parts.json
        path = Path(folder) / "parts.json"
    names = json.loads(path.read_text()) if path.is_file() else {}
    out = []
    for category, parts in zip(category_names, category_parts, strict=True):
        given = names.get(category)
        if given is None:
            out.append([f"part {k + 1}" for k in range(len(parts))])
        elif not isinstance(given, list) or len(given) != len(parts):
            raise DatasetError(
                f"{path}: {category!r} must list {len(parts)} part names, got {given!r}"
            )
        else:
            out.append([str(name) for name in given])
    return out
