"""One plain line of metrics per epoch, for logs that are not a terminal."""

from __future__ import annotations

import pytorch_lightning as pl

__all__ = ["EpochLog"]


class EpochLog(pl.Callback):
    """Prints ``epoch E: name=value ...`` once per epoch, after its validation (rank zero only)."""

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not trainer.is_global_zero:
            return
        metrics = {
            k: float(v) for k, v in trainer.callback_metrics.items() if "/" in k and v.numel() == 1
        }
        text = " ".join(f"{k}={v:.4f}" for k, v in sorted(metrics.items()))
        print(f"epoch {trainer.current_epoch}: {text}", flush=True)
