"""Overall and mean per-class accuracy from a confusion matrix (synced across ranks)."""

from __future__ import annotations

import torch
from torchmetrics import Metric

__all__ = ["ClassAccuracy"]


class ClassAccuracy(Metric):
    """OA = correct / total; mAcc = mean over classes present in the targets of their recall.

    Shapes:
        update(preds: (B,) int64, target: (B,) int64); compute() -> {"oa", "macc"}
    """

    full_state_update = False

    def __init__(self, num_classes: int) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.add_state(
            "confusion",
            torch.zeros(num_classes, num_classes, dtype=torch.long),
            dist_reduce_fx="sum",
        )

    def update(self, preds: torch.Tensor, target: torch.Tensor) -> None:
        flat = target * self.num_classes + preds
        self.confusion += torch.bincount(flat, minlength=self.num_classes**2).reshape(
            self.num_classes, self.num_classes
        )

    def compute(self) -> dict[str, torch.Tensor]:
        confusion = self.confusion.double()
        support = confusion.sum(1)
        recall = confusion.diagonal()[support > 0] / support[support > 0]
        return {"oa": confusion.trace() / confusion.sum().clamp_min(1), "macc": recall.mean()}
