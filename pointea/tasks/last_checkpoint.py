"""``last.ckpt``: the latest training state after every epoch and at the end of training."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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

    When a run folder was moved (copied to another machine) and is resumed there, the
    checkpoint's records of every ``ModelCheckpoint`` name files in the old folder, and
    Lightning would drop the best score and keep a path to the old place. Before they
    load, paths in the old checkpoints folder are rewritten to this one.
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
