"""A callback the resume test injects through +callbacks: kill the process (SIGKILL, no
clean-up of any kind) in the middle of writing a checkpoint of a given epoch."""

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
