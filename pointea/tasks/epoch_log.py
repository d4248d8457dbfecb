"""One plain line of metrics per epoch, for logs that are not a terminal."""

from __future__ import annotations

import time

import pytorch_lightning as pl

__all__ = ["EpochLog"]


class EpochLog(pl.Callback):
    """Prints ``epoch E (S s): name=value ...`` once per epoch, after its validation (rank
    zero only). Lightning's ``_step``/``_epoch`` copies of a metric are left out."""

    def __init__(self) -> None:
        self.start = time.perf_counter()  # until the first epoch starts (a callback used alone)

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.start = time.perf_counter()

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not trainer.is_global_zero:
            return
        metrics = {
            k: float(v)
            for k, v in trainer.callback_metrics.items()
            if "/" in k and v.numel() == 1 and not k.endswith(("_step", "_epoch"))
        }
        text = " ".join(f"{k}={v:.4f}" for k, v in sorted(metrics.items()))
        seconds = time.perf_counter() - self.start
        print(f"epoch {trainer.current_epoch} ({seconds:.1f} s): {text}", flush=True)
