"""A fixed palette, so that a part has the same colour in every picture and file."""

from __future__ import annotations

import numpy as np

__all__ = ["PALETTE", "label_colors"]

# 20 well-separated colours (uint8 RGB). Part ids of one ShapeNetPart category are
# consecutive and at most 6, so no two parts of a shape share a colour.
PALETTE = np.array(
    [
        [230, 25, 75], [60, 180, 75], [0, 130, 200], [245, 130, 48], [145, 30, 180],
        [70, 240, 240], [240, 50, 230], [210, 245, 60], [250, 190, 212], [0, 128, 128],
        [220, 190, 255], [170, 110, 40], [128, 0, 0], [170, 255, 195], [128, 128, 0],
        [255, 215, 180], [0, 0, 128], [255, 225, 25], [128, 128, 128], [0, 0, 0],
    ],
    dtype=np.uint8,
)  # fmt: skip


def label_colors(labels: np.ndarray) -> np.ndarray:
    """(N,) int labels -> (N, 3) uint8 colours."""
    return PALETTE[np.asarray(labels) % len(PALETTE)]
