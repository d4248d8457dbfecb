"""last.ckpt holds the latest state after every epoch, with or without validation."""

import pytest
import pytorch_lightning as pl
import torch

from pointea.tasks.last_checkpoint import LastCheckpoint


class Tiny(pl.LightningModule):
    def __init__(self):
        super().__init__()
        self.layer = torch.nn.Linear(2, 1)

    def training_step(self, batch, batch_idx):
        return self.layer(batch[0]).pow(2).mean()

    def validation_step(self, batch, batch_idx):
        self.log("val/score", -float(self.current_epoch))  # falls every epoch

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


class SeenAtEpochStart(pl.Callback):
    """The epoch and step stored in last.ckpt when each epoch (after the first) starts."""

    def __init__(self, path):
        self.path, self.seen = path, []

    def on_train_epoch_start(self, trainer, pl_module):
        if self.path.is_file():
            state = torch.load(self.path, weights_only=True)
            self.seen.append((state["epoch"], state["global_step"]))


@pytest.mark.parametrize("check_val_every_n_epoch", [1, 2])
def test_last_checkpoint_after_every_epoch(tmp_path, check_val_every_n_epoch, caplog):
    data = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.randn(8, 2)),
                                       batch_size=4)  # fmt: skip
    best = pl.callbacks.ModelCheckpoint(dirpath=tmp_path, monitor="val/score", mode="max")
    last = LastCheckpoint(tmp_path)
    seen = SeenAtEpochStart(tmp_path / "last.ckpt")
    trainer = pl.Trainer(
        max_epochs=3, callbacks=[best, last, seen], logger=False, enable_progress_bar=False,
        check_val_every_n_epoch=check_val_every_n_epoch, num_sanity_val_steps=0,
        enable_model_summary=False,
    )  # fmt: skip
    trainer.fit(Tiny(), train_dataloaders=data, val_dataloaders=data)
    assert seen.seen == [(0, 2), (1, 4)]  # two batches per epoch
    final = torch.load(tmp_path / "last.ckpt", weights_only=True)
    assert (final["epoch"], final["global_step"]) == (2, 6)
    assert last.last_model_path == str(tmp_path / "last.ckpt")
    # The best callback's record in last.ckpt is this epoch's (it runs first).
    (record,) = [v for k, v in final["callbacks"].items() if k.startswith("ModelCheckpoint")]
    assert record["best_model_path"] == best.best_model_path
    assert "optimizer_states" in final  # the full state a resume needs, asked for by name
    assert "weights_only" not in caplog.text  # so Lightning has no default to log every epoch
