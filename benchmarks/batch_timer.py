"""A Lightning callback for the epoch benchmark: seconds between consecutive training-batch
ends (data loading, augmentation and the step), written to a JSON file."""

import json
import time
from pathlib import Path

import pytorch_lightning as pl


class BatchTimer(pl.Callback):
    def __init__(self, path: str) -> None:
        self.path = Path(path)
        self.intervals: list[float] = []
        self.last: float | None = None

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        self.last = time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        now = time.perf_counter()
        self.intervals.append(now - self.last)
        self.last = now

    def on_train_end(self, trainer, pl_module) -> None:
        self.path.write_text(
            json.dumps(
                {"intervals": self.intervals, "batches_per_epoch": trainer.num_training_batches}
            )
        )
