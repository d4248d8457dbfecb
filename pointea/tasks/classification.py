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

    def __init__(self, *args, num_classes: int, label_smoothing: float = 0.2, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.num_classes, self.label_smoothing = num_classes, label_smoothing
        self.val_accuracy = ClassAccuracy(num_classes)
        self.test_accuracy = ClassAccuracy(num_classes)
        self.test_vote_accuracy = ClassAccuracy(num_classes)
        self.test_confusion: torch.Tensor | None = None

    def predict_logits(self, batch: Batch) -> torch.Tensor:
        return self.model(batch["pos"])

    def _loss(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(logits.float(), target, label_smoothing=self.label_smoothing)

    def training_step(self, batch: Batch, batch_idx: int) -> torch.Tensor:
        loss = self._loss(self.predict_logits(batch), batch["y"])
        self.log(
            "train/loss",
            loss,
            on_step=True,
            on_epoch=True,
            prog_bar=True,
            batch_size=len(batch["y"]),
        )
        return loss

    def validation_step(self, batch: Batch, batch_idx: int) -> None:
        logits = self.predict_logits(batch)
        self.val_accuracy.update(logits.argmax(-1), batch["y"])
        self.log(
            "val/loss",
            self._loss(logits, batch["y"]),
            on_epoch=True,
            sync_dist=True,
            batch_size=len(batch["y"]),
        )

    def on_validation_epoch_end(self) -> None:
        metrics = self.val_accuracy.compute()
        self.log("val/oa", metrics["oa"].float(), prog_bar=True)
        self.log("val/macc", metrics["macc"].float())
        self.val_accuracy.reset()

    def on_test_epoch_start(self) -> None:
        self._vote_generator = self.vote_generator()

    def test_step(self, batch: Batch, batch_idx: int) -> None:
        self.test_accuracy.update(self.predict_logits(batch).argmax(-1), batch["y"])
        if self.votes > 1:
            voted = self.voted_logits(batch, self._vote_generator)
            self.test_vote_accuracy.update(voted.argmax(-1), batch["y"])

    def on_test_epoch_end(self) -> None:
        metrics = self.test_accuracy.compute()
        self.log("test/oa", metrics["oa"].float())
        self.log("test/macc", metrics["macc"].float())
        self.test_confusion = self.test_accuracy.confusion.detach().cpu().clone()
        if self.votes > 1:
            voted = self.test_vote_accuracy.compute()
            self.log("test/oa_vote", voted["oa"].float())
            self.log("test/macc_vote", voted["macc"].float())
            self.test_vote_accuracy.reset()
        self.test_accuracy.reset()
