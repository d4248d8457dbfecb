"""Which parts belong to which category, and predictions restricted to them.

Free of torchmetrics (unlike :mod:`pointea.tasks.part_iou`, which re-exports these), so
that inference (``pointea.load_model``, ``pointea.cli.predict``) starts faster.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

__all__ = ["category_part_mask", "restrict_to_category"]


def category_part_mask(category_parts: Sequence[Sequence[int]], num_parts: int) -> torch.Tensor:
    """(num_categories, num_parts) bool: which global part ids belong to each category."""
    mask = torch.zeros(len(category_parts), num_parts, dtype=torch.bool)
    for category, parts in enumerate(category_parts):
        mask[category, list(parts)] = True
    return mask


def restrict_to_category(
    logits: torch.Tensor, category: torch.Tensor, mask: torch.Tensor
) -> torch.Tensor:
    """Predictions among the parts of each shape's known category.

    Shapes:
        logits: (B, N, P); category: (B,); mask: (num_categories, P) -> (B, N) int64
    """
    allowed = mask[category].unsqueeze(1)  # (B, 1, P)
    return logits.masked_fill(~allowed, float("-inf")).argmax(-1)
