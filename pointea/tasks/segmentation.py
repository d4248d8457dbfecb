"""Part segmentation: per-point cross-entropy, ShapeNetPart's instance and class mIoU."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from pointea.tasks.part_iou import PartIoU, restrict_to_category
from pointea.tasks.point_task import Batch, PointTask

__all__ = ["SegmentationTask"]


class SegmentationTask(PointTask):
    """Train and evaluate ``(xyz (B, N, 3), category (B,)) -> logits (B, N, num_parts)``.

    At evaluation each shape's logits are restricted to the parts of its category. Logs
    ``train/loss``, ``val/loss``, ``val/instance_miou``, ``val/class_miou``,
    ``test/instance_miou``, ``test/class_miou``, ``test/iou/<category>``,
    ``test/part_iou/<category>/<k>`` (its k-th part, from 1) and, with voting on, the same
    test metrics (per part excepted) with a ``_vote`` suffix.
    """

    monitor = "val/instance_miou"

    def __init__(
        self,
        *args,
        category_parts: Sequence[Sequence[int]] | None = None,
        category_names: Sequence[str] | None = None,
        label_smoothing: float = 0.0,
        **kwargs,
    ) -> None:
        """The category tables default to the run metadata's (the release's tables)."""
        super().__init__(*args, **kwargs)
        if category_parts is None:
            category_parts = self.metadata["category_parts"]
        if category_names is None:
            category_names = self.metadata["categories"]
        if len(category_names) != len(category_parts):
            raise ValueError(
                f"{len(category_names)} category names for {len(category_parts)} part lists"
            )
        self.category_names = list(category_names)
        # Per global part id, in id order: (category name, the part's index in it from 1).
        owners = {part: (name, k + 1) for name, parts in zip(category_names, category_parts,
                  strict=True) for k, part in enumerate(parts)}  # fmt: skip
        self.part_names = [owners[part] for part in sorted(owners)]
        self.num_parts = sum(len(p) for p in category_parts)
        self.label_smoothing = label_smoothing
        self.val_metric = PartIoU(category_parts)
        self.test_metric = PartIoU(category_parts)
        self.test_vote_metric = PartIoU(category_parts)
        self.test_per_category: torch.Tensor | None = None

    def predict_logits(self, batch: Batch) -> torch.Tensor:
        return self.model(self.network_input(batch), batch["category"])

    def loss(self, logits: torch.Tensor, batch: Batch) -> torch.Tensor:
        flat = logits.float().reshape(-1, self.num_parts)
        return F.cross_entropy(flat, batch["y"].reshape(-1), label_smoothing=self.label_smoothing)

    def update_metric(self, metric: PartIoU, logits: torch.Tensor, batch: Batch) -> None:
        pred = restrict_to_category(logits, batch["category"], metric.mask)
        metric.update(pred, batch["y"], batch["category"])

    def on_validation_epoch_end(self) -> None:
        metrics = self.val_metric.compute()
        self.log("val/instance_miou", metrics["instance_miou"].float(), prog_bar=True)
        self.log("val/class_miou", metrics["class_miou"].float())
        self.val_metric.reset()

    def _log_test(self, metric: PartIoU, suffix: str) -> torch.Tensor:
        metrics = metric.compute()
        self.log(f"test/instance_miou{suffix}", metrics["instance_miou"].float())
        self.log(f"test/class_miou{suffix}", metrics["class_miou"].float())
        for name, value in zip(self.category_names, metrics["per_category"], strict=True):
            if not torch.isnan(value):
                self.log(f"test/iou/{name}{suffix}", value.float())
        for (name, k), value in zip(self.part_names, metrics["per_part"], strict=True):
            if not torch.isnan(value) and not suffix:
                self.log(f"test/part_iou/{name}/{k}", value.float())
        metric.reset()
        return metrics["per_category"].detach().cpu()

    def test_details(self) -> dict:
        """Each category's test IoU, by name."""
        if self.test_per_category is None:
            return {}
        ious = self.test_per_category.tolist()
        return {"per_category_iou": dict(zip(self.category_names, ious, strict=True))}

    def on_test_epoch_end(self) -> None:
        self.test_per_category = self._log_test(self.test_metric, "")
        if self.votes > 1:
            self._log_test(self.test_vote_metric, "_vote")
