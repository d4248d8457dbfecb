"""Shape classification: label-smoothed cross-entropy, overall and mean per-class accuracy."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from pointea.tasks.class_accuracy import ClassAccuracy
from pointea.tasks.point_task import Batch, PointTask

__all__ = ["ClassificationTask"]


class ClassificationTask(PointTask):
    """Train and evaluate a classifier ``xyz (B, N, 3) -> logits (B, num_classes)``.

    Logs ``train/loss``, ``val/loss``, ``val/oa``, ``val/macc``, ``test/oa``, ``test/macc``
    and, with voting on, ``test/oa_vote`` and ``test/macc_vote``. After testing,
    :attr:`test_confusion` holds the (num_classes, num_classes) confusion matrix
    (rows: truth, columns: prediction).
    """

    monitor = "val/oa"

    def __init__(
        self, *args, num_classes: int | None = None, label_smoothing: float = 0.2, **kwargs
    ) -> None:
        """``num_classes`` defaults to the run metadata's (the release's class table)."""
        super().__init__(*args, **kwargs)
        if num_classes is None:
            num_classes = int(self.metadata["num_classes"])
        self.num_classes, self.label_smoothing = num_classes, label_smoothing
        self.val_metric = ClassAccuracy(num_classes)
        self.test_metric = ClassAccuracy(num_classes)
        self.test_vote_metric = ClassAccuracy(num_classes)
        self.test_confusion: torch.Tensor | None = None

    def predict_logits(self, batch: Batch) -> torch.Tensor:
        return self.model(self.network_input(batch))

    def loss(self, logits: torch.Tensor, batch: Batch) -> torch.Tensor:
        return F.cross_entropy(logits.float(), batch["y"], label_smoothing=self.label_smoothing)

    def update_metric(self, metric: ClassAccuracy, logits: torch.Tensor, batch: Batch) -> None:
        metric.update(logits.argmax(-1), batch["y"])

    def on_validation_epoch_end(self) -> None:
        metrics = self.val_metric.compute()
        self.log("val/oa", metrics["oa"].float(), prog_bar=True)
        self.log("val/macc", metrics["macc"].float())
        self.val_metric.reset()

    def test_details(self) -> dict:
        """The test confusion matrix (rows: truth, columns: prediction)."""
        return {} if self.test_confusion is None else {"confusion": self.test_confusion.tolist()}

    def on_test_epoch_end(self) -> None:
        metrics = self.test_metric.compute()
        self.log("test/oa", metrics["oa"].float())
        self.log("test/macc", metrics["macc"].float())
        self.test_confusion = self.test_metric.confusion.detach().cpu().clone()
        if self.votes > 1:
            voted = self.test_vote_metric.compute()
            self.log("test/oa_vote", voted["oa"].float())
            self.log("test/macc_vote", voted["macc"].float())
            self.test_vote_metric.reset()
        self.test_metric.reset()
