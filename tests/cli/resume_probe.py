"""Callbacks the resume tests inject through +callbacks: kill the process (SIGKILL, no
clean-up of any kind) in the middle of writing a checkpoint of a given epoch, or stop it
as a scheduler does (SIGTERM) in the middle of an epoch."""

import os
import signal

import pytorch_lightning as pl
import torch


class KillDuringSave(pl.Callback):
    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def setup(self, trainer, pl_module, stage):
        save = torch.save

        def half_save(obj, f, *args, **kwargs):
            if stage == "fit" and trainer.current_epoch == self.epoch:
                f.write(b"the first bytes of a checkpoint")
                f.flush()
                os.kill(os.getpid(), signal.SIGKILL)
            return save(obj, f, *args, **kwargs)

        torch.save = half_save


class TermDuringEpoch(pl.Callback):
    """Send this process SIGTERM (a scheduler's stop) after the first training batch of
    ``epoch``, once: the stop leaves ``marker`` behind, so the resumed run is not stopped."""

    def __init__(self, epoch: int, marker: str) -> None:
        self.epoch, self.marker = epoch, marker

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if (
            trainer.current_epoch == self.epoch
            and batch_idx == 0
            and not os.path.exists(self.marker)
        ):
            open(self.marker, "w").close()
            os.kill(os.getpid(), signal.SIGTERM)
