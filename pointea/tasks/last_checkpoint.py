"""``last.ckpt``: the latest training state after every epoch and at the end of training."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytorch_lightning as pl
from pytorch_lightning.callbacks import Checkpoint

__all__ = ["LastCheckpoint"]


class LastCheckpoint(Checkpoint):
    """Writes ``dirpath/last.ckpt`` after every training epoch, whatever the monitored
    metric did, and at the end of training if the last steps were not saved yet.

    ``ModelCheckpoint(save_last=True)`` rewrites ``last.ckpt`` only when a top-k checkpoint
    is saved in the same step, so after epochs whose metric fell it would hold an old
    state. This callback uses Lightning's public API only (``Trainer.save_checkpoint`` from
    public hooks). An epoch's end comes after the validation it runs, and Lightning calls
    checkpoint callbacks after all others and in the order given, so ``last.ckpt`` holds
    the best-checkpoint callback's record of this epoch when that callback comes first.

    When a run folder was moved (copied to another machine) and is resumed there, the
    checkpoint's records of every ``ModelCheckpoint`` name files in the old folder, and
    Lightning would drop the best score and keep a path to the old place. Before they
    load, paths in the old checkpoints folder are rewritten to this one.

    Attributes:
        last_model_path: the file written, once one is ("" before).
    """

    FILE_NAME = "last.ckpt"

    def __init__(self, dirpath) -> None:
        self.dirpath = str(dirpath)  # a str, as ModelCheckpoint's
        self.last_model_path = ""
        self._saved_step: int | None = None

    def _save(self, trainer: pl.Trainer) -> None:
        if (
            trainer.fast_dev_run
            or trainer.sanity_checking
            or self._saved_step == trainer.global_step
        ):
            return
        path = Path(self.dirpath) / self.FILE_NAME
        # the full state (optimiser, loops, callbacks): last.ckpt is what a resume starts from;
        # every rank calls it, the strategy writes on rank 0
        trainer.save_checkpoint(path, weights_only=False)
        self._saved_step = trainer.global_step
        self.last_model_path = str(path)

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._save(trainer)

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._save(trainer)

    def on_load_checkpoint(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        here = str(self.dirpath)
        for state in checkpoint.get("callbacks", {}).values():
            before = state.get("dirpath") if isinstance(state, dict) else None
            if not before or before == here:
                continue

            def moved(path: str, before: str = before) -> str:
                return (
                    str(Path(here) / Path(path).name) if Path(path).parent == Path(before) else path
                )

            state["dirpath"] = here
            for key in ("best_model_path", "kth_best_model_path", "last_model_path"):
                if state.get(key):
                    state[key] = moved(state[key])
            if "best_k_models" in state:
                state["best_k_models"] = {moved(k): v for k, v in state["best_k_models"].items()}
