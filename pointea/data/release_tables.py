"""What a release's small text files say, read before (and without) loading any shard."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["COUNT_KEYS", "ReleaseTables"]

# The counts a data config may promise, by key; the release's tables say what they are.
COUNT_KEYS = ("num_classes", "num_parts", "num_categories")


@dataclass(frozen=True)
class ReleaseTables:
    """A release's label tables and the counts they define.

    Attributes:
        class_names: the names of the shape-level labels: classes (classification) or
            object categories (part segmentation).
        num_labels: how many values the targets ``y`` take: classes, or global part ids.
        category_parts: each category's global part ids; empty for classification.
        counts: each count the release defines, by its data-config key (``num_classes``,
            ``num_parts``, ``num_categories``), with the file that defines it.
    """

    class_names: list[str]
    num_labels: int
    category_parts: list[list[int]] = field(default_factory=list)
    counts: dict[str, tuple[int, Path]] = field(default_factory=dict)
