"""``last.ckpt``: the latest training state after every epoch and at the end of training."""

from __future__ import annotations

import pytorch_lightning as pl
from pytorch_lightning.callbacks import ModelCheckpoint

__all__ = ["LastCheckpoint"]


class LastCheckpoint(ModelCheckpoint):
    """Writes ``dirpath/last.ckpt`` after every epoch, whatever the monitored metric did.

    Lightning 2.6's ``ModelCheckpoint(save_last=True)`` rewrites ``last.ckpt`` only when a
    top-k checkpoint is saved in the same step, so after epochs whose metric fell it still
    holds an old state (``save_last="link"`` only links to the last top-k file). This is a
    ``ModelCheckpoint`` with no monitor and a fixed file name: it saves when the best one
    would (after each epoch's validation, or at the epoch's end without validation), and
    once more at the end of training if the last steps were not saved yet.
    """

    def __init__(self, dirpath) -> None:
        super().__init__(
            dirpath=dirpath,
            filename=self.CHECKPOINT_NAME_LAST,
            monitor=None,
            save_top_k=1,
            every_n_epochs=1,
            enable_version_counter=False,
        )

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not self._should_skip_saving_checkpoint(trainer):
            self._save_topk_checkpoint(trainer, self._monitor_candidates(trainer))
