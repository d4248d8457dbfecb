"""A run whose training means nothing (a non-finite loss, no optimiser step) stops with an
error naming where, and never writes metrics.json."""

import pytest
import pytorch_lightning as pl
from cli_helpers import compose_train, tiny_overrides

from pointea.cli.train import run
from pointea.error_boundary import user_error_line
from pointea.tasks.training_error import TrainingError


class PoisonBatch(pl.Callback):
    """Puts a NaN coordinate into the training batch ``batch_idx`` of epoch ``epoch``."""

    def __init__(self, epoch, batch_idx):
        self.epoch, self.batch_idx = epoch, batch_idx

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if trainer.current_epoch == self.epoch and batch_idx == self.batch_idx:
            batch["pos"][0, 0, 0] = float("nan")


class StopBeforeTraining(pl.Callback):
    def on_train_start(self, trainer, pl_module):
        trainer.should_stop = True


def test_a_non_finite_loss_stops_the_run_naming_epoch_and_step(data_root, tmp_path):
    # two batches an epoch, one optimiser step each: epoch 1's first batch is step 2
    cfg = compose_train(tiny_overrides(data_root / "cls", epochs=2, batches=2), tmp_path)
    message = r"the training loss is nan at epoch 1, step 2 \(batch 0 of the epoch\)"
    with pytest.raises(TrainingError, match=message):
        run(cfg, callbacks=[PoisonBatch(epoch=1, batch_idx=0)])
    assert not (tmp_path / "metrics.json").exists()
    assert not (tmp_path / "test_details.json").exists()


def test_a_huge_learning_rate_stops_the_run(data_root, tmp_path):
    cfg = compose_train(
        [*tiny_overrides(data_root / "cls", epochs=3, batches=2), "optim.optimizer.lr=1e30"],
        tmp_path,
    )
    with pytest.raises(
        TrainingError, match=r"the training loss is (nan|inf) at epoch \d+, step"
    ) as err:
        run(cfg)
    assert not (tmp_path / "metrics.json").exists()
    # every CLI reports it as one line, not a traceback
    assert user_error_line(err.value) == f"error: {err.value}" and "\n" not in str(err.value)


def test_a_fit_without_an_optimiser_step_is_not_reported(data_root, tmp_path):
    cfg = compose_train(tiny_overrides(data_root / "cls"), tmp_path)
    with pytest.raises(TrainingError, match=r"training made no optimiser step"):
        run(cfg, callbacks=[StopBeforeTraining()])
    assert not (tmp_path / "metrics.json").exists()
