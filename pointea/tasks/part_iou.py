"""ShapeNetPart's part-IoU protocol (instance and class mIoU), synced across ranks."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torchmetrics import Metric

from pointea.tasks.part_masks import category_part_mask, restrict_to_category

__all__ = ["PartIoU", "category_part_mask", "part_ious", "restrict_to_category", "shape_ious"]


def part_ious(pred: torch.Tensor, target: torch.Tensor, num_parts: int) -> torch.Tensor:
    """IoU of every part id in every shape; a part absent from both counts as 1.

    Shapes:
        pred, target: (B, N) global part ids -> (B, num_parts) float64
    """
    parts = torch.arange(num_parts, device=pred.device)
    pred_hot = pred.unsqueeze(-1) == parts  # (B, N, P)
    target_hot = target.unsqueeze(-1) == parts
    inter = (pred_hot & target_hot).sum(1).double()  # (B, P)
    union = (pred_hot | target_hot).sum(1).double()
    return torch.where(union == 0, torch.ones_like(union), inter / union.clamp_min(1))


def shape_ious(
    pred: torch.Tensor, target: torch.Tensor, category: torch.Tensor, mask: torch.Tensor
) -> torch.Tensor:
    """Mean IoU over each shape's category parts; a part absent from both counts as 1.

    Shapes:
        pred, target: (B, N) global part ids; category: (B,); mask: (num_categories, P) -> (B,)
    """
    iou = part_ious(pred, target, mask.shape[1])  # (B, P)
    allowed = mask[category]  # (B, P)
    return (iou * allowed).sum(1) / allowed.sum(1)


class PartIoU(Metric):
    """Instance mIoU (mean over shapes), class mIoU (mean over categories of their mean shape
    IoU, categories with test shapes only), per-category IoU and per-part IoU (each part's
    IoU averaged over the shapes of its category).

    Shapes:
        update(pred (B, N), target (B, N), category (B,)); compute() -> dict with
        ``per_category`` (C,) and ``per_part`` (P,) vectors, also when C or P is 1
    """

    VECTORS = ("per_category", "per_part")  # one value per category / part, never squeezed

    full_state_update = False

    def __init__(self, category_parts: Sequence[Sequence[int]]) -> None:
        super().__init__()
        num_parts = sum(len(p) for p in category_parts)
        self.register_buffer(
            "mask", category_part_mask(category_parts, num_parts), persistent=False
        )
        categories = len(category_parts)
        self.add_state("iou_sum", torch.zeros(categories, dtype=torch.double), dist_reduce_fx="sum")
        self.add_state("count", torch.zeros(categories, dtype=torch.long), dist_reduce_fx="sum")
        self.add_state("part_sum", torch.zeros(num_parts, dtype=torch.double), dist_reduce_fx="sum")

    def update(self, pred: torch.Tensor, target: torch.Tensor, category: torch.Tensor) -> None:
        allowed = self.mask[category]  # (B, P)
        ious = part_ious(pred, target, self.mask.shape[1]) * allowed  # (B, P)
        self.iou_sum.index_add_(0, category, ious.sum(1) / allowed.sum(1))
        self.part_sum += ious.sum(0)
        self.count += torch.bincount(category, minlength=len(self.count))

    def _wrap_compute(self, compute: Callable) -> Callable:
        """torchmetrics squeezes every one-element tensor of ``compute``'s result to 0-d: the
        per-category and per-part vectors of a one-category (or one-part) run keep their
        length, so that callers iterate them whatever their size."""
        wrapped = super()._wrap_compute(compute)

        @functools.wraps(compute)
        def keep_vectors(*args: Any, **kwargs: Any) -> dict[str, torch.Tensor]:
            value = dict(wrapped(*args, **kwargs))
            return {**value, **{key: value[key].reshape(-1) for key in self.VECTORS}}

        return keep_vectors

    def compute(self) -> dict[str, torch.Tensor]:
        present = self.count > 0
        per_category = self.iou_sum / self.count.clamp_min(1)
        part_count = self.count[self.mask.long().argmax(0)]  # (P,) shapes of each part's category
        return {
            "per_part": torch.where(
                part_count > 0, self.part_sum / part_count.clamp_min(1), float("nan")
            ),
            "instance_miou": self.iou_sum.sum() / self.count.sum().clamp_min(1),
            "class_miou": per_category[present].mean(),
            "per_category": torch.where(
                present, per_category, torch.full_like(per_category, float("nan"))
            ),
        }
