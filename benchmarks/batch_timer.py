"""A Lightning callback for the epoch benchmark, written to a JSON file at the end of fit.

- ``intervals``: seconds between consecutive training-batch ends (data, augmentation, step);
- ``steps``: seconds from each training batch's start (batch already on hand) to its end:
  forward, loss, backward, optimiser step;
- ``epochs``: seconds from each training epoch's start to the next one's start (or the end
  of fit), so everything the loop does is inside: data, augmentation, logging,
  validation, checkpointing;
- ``validation``: seconds of each validation run inside those epochs.
"""

import json
import time
from pathlib import Path

import pytorch_lightning as pl


class BatchTimer(pl.Callback):
    def __init__(self, path: str) -> None:
        self.path = Path(path)
        self.intervals: list[float] = []
        self.steps: list[float] = []
        self.epochs: list[float] = []
        self.validation: list[float] = []
        self.last: float | None = None
        self.batch_start: float | None = None
        self.epoch_start: float | None = None
        self.validation_start: float | None = None

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        now = time.perf_counter()
        if self.epoch_start is not None:
            self.epochs.append(now - self.epoch_start)
        self.epoch_start = self.last = now

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        self.batch_start = time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        now = time.perf_counter()
        self.intervals.append(now - self.last)
        self.steps.append(now - self.batch_start)
        self.last = now

    def on_validation_start(self, trainer, pl_module) -> None:
        self.validation_start = time.perf_counter()

    def on_validation_end(self, trainer, pl_module) -> None:
        if not trainer.sanity_checking:
            self.validation.append(time.perf_counter() - self.validation_start)

    def on_fit_end(self, trainer, pl_module) -> None:
        if self.epoch_start is not None:
            self.epochs.append(time.perf_counter() - self.epoch_start)
        self.path.write_text(
            json.dumps(
                {
                    "intervals": self.intervals,
                    "steps": self.steps,
                    "epochs": self.epochs,
                    "validation": self.validation,
                    "batches_per_epoch": trainer.num_training_batches,
                }
            )
        )
