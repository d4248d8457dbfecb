"""Weight averaging: the update rule, and through train.py: validation on the average,
checkpoints holding both weight sets, an exact restore on resume."""

import pytest
import pytorch_lightning as pl
import torch
from cli_helpers import compose_train, tiny_overrides
from torch import nn

from pointea.checkpoint import load_network
from pointea.cli.train import run
from pointea.tasks.checkpoint_io import load_checkpoint
from pointea.tasks.weight_average import EMA_KEY, WeightAverage


def test_update_follows_the_closed_form():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    start = {k: v.clone() for k, v in net.state_dict().items()}
    ema = WeightAverage(0.8)
    ema.reset(net)
    history = []
    for _ in range(5):
        with torch.no_grad():
            for p in net.parameters():
                p.add_(torch.randn_like(p))
            net[1].running_mean.add_(1.0)
            net[1].num_batches_tracked.add_(1)
        history.append({k: v.clone() for k, v in net.state_dict().items()})
        ema.update(net)
    # Closed form: 0.8^T start + sum_t 0.2 * 0.8^(T - t) w_t
    for name in ("0.weight", "1.running_mean", "1.bias"):
        expected = 0.8**5 * start[name] + sum(
            0.2 * 0.8 ** (5 - t) * w[name] for t, w in enumerate(history, start=1)
        )
        torch.testing.assert_close(ema.weights[name], expected, rtol=0, atol=1e-5)
    assert int(ema.weights["1.num_batches_tracked"]) == 5  # integers are copied
    trained = {k: v.clone() for k, v in net.state_dict().items()}
    average = {k: v.clone() for k, v in ema.weights.items()}
    ema.swap(net)
    assert all(torch.equal(v, average[k]) for k, v in net.state_dict().items())
    assert all(torch.equal(v, trained[k]) for k, v in ema.weights.items())
    ema.swap(net)
    assert all(torch.equal(v, trained[k]) for k, v in net.state_dict().items())


@pytest.mark.parametrize("decay", [0.0, 1.0, -0.5])
def test_decay_out_of_range_is_refused(decay):
    with pytest.raises(ValueError, match=r"task\.ema_decay=.* expected a number in \(0, 1\)"):
        WeightAverage(decay)


class Record(pl.Callback):
    """Training weights at the start and after every step; weights seen by validation."""

    def __init__(self):
        self.start, self.steps, self.validated, self.restored = None, [], [], None

    @staticmethod
    def _state(module):
        return {k: v.detach().clone() for k, v in module.model.state_dict().items()}

    def on_train_start(self, trainer, pl_module):
        self.start = self._state(pl_module)
        self.restored = {k: v.clone() for k, v in pl_module.ema.weights.items()}

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self.steps.append(self._state(pl_module))

    def on_validation_batch_start(self, trainer, pl_module, batch, batch_idx, dataloader_idx=0):
        if batch_idx == 0 and not trainer.sanity_checking:
            self.validated.append(self._state(pl_module))


class StopAfterFirstEpoch(pl.Callback):
    def on_train_epoch_end(self, trainer, pl_module):
        trainer.should_stop = True


def independent_ema(start, steps, decay):
    average = {k: v.clone().double() for k, v in start.items()}
    for weights in steps:
        for k, v in weights.items():
            if v.is_floating_point():
                average[k] = decay * average[k] + (1 - decay) * v.double()
            else:
                average[k] = v.clone()
    return average


def assert_same(actual, expected, atol=1e-6):
    assert actual.keys() == expected.keys()
    for k in expected:
        torch.testing.assert_close(actual[k].double(), expected[k].double(), rtol=0, atol=atol)


def test_average_is_validated_saved_and_restored_exactly_on_resume(tmp_path):
    decay = 0.7
    overrides = [*tiny_overrides(tmp_path / "data", epochs=2, batches=3), f"task.ema_decay={decay}"]
    first = Record()
    run(compose_train(overrides, tmp_path / "first"), callbacks=[first, StopAfterFirstEpoch()])
    expected = independent_ema(first.start, first.steps, decay)
    assert len(first.steps) == 3
    assert_same(first.validated[0], expected)  # validation ran on the average
    last = tmp_path / "first" / "checkpoints" / "last.ckpt"
    checkpoint = load_checkpoint(last)
    assert_same(checkpoint[EMA_KEY]["weights"], expected)
    # Saved during validation, the checkpoint still holds the training weights as state_dict.
    training = {k.removeprefix("model."): v for k, v in checkpoint["state_dict"].items()}
    assert_same(training, first.steps[-1], atol=0)
    assert checkpoint[EMA_KEY]["num_updates"] == 3

    resumed = Record()
    run(compose_train([*overrides, f"ckpt_path={last}"], tmp_path / "resumed"), callbacks=[resumed])
    assert_same(resumed.restored, checkpoint[EMA_KEY]["weights"], atol=0)  # exact restore
    assert_same(resumed.start, first.steps[-1], atol=0)  # training weights, not the average
    assert len(resumed.steps) == 3
    continued = independent_ema(checkpoint[EMA_KEY]["weights"], resumed.steps, decay)
    # A resume continues in the run's own folder.
    final = load_checkpoint(last)
    assert_same(final[EMA_KEY]["weights"], continued)
    assert final[EMA_KEY]["num_updates"] == 6
    # Every consumer of a checkpoint (predict, export, load_model) gets the average.
    network, _ = load_network(last)
    assert_same(network.state_dict(), continued)


def test_checkpoint_saved_while_the_average_is_swapped_in_keeps_both_sets_apart():
    """ModelCheckpoint saves from on_validation_end when validation runs within an epoch
    (val_check_interval), before the task swaps the training weights back."""
    from pointea.tasks.point_task import PointTask

    torch.manual_seed(0)
    task = PointTask(nn.Linear(3, 2), lambda params: torch.optim.SGD(params, lr=0.1), ema_decay=0.5)
    task.on_fit_start()
    with torch.no_grad():
        task.model.weight.add_(1.0)
    task.ema.update(task.model)
    training = {k: v.clone() for k, v in task.model.state_dict().items()}
    average = {k: v.clone() for k, v in task.ema.weights.items()}
    task.on_validation_start()  # swapped in
    checkpoint = {"state_dict": dict(task.state_dict())}
    task.on_save_checkpoint(checkpoint)
    saved = {k: v.clone() for k, v in checkpoint["state_dict"].items()}  # as written to disk
    saved_average = {k: v.clone() for k, v in checkpoint[EMA_KEY]["weights"].items()}
    task.on_validation_end()
    assert_same({k.removeprefix("model."): v for k, v in saved.items()}, training, atol=0)
    assert_same(saved_average, average, atol=0)
    assert_same(task.model.state_dict(), training, atol=0)  # swapped back


def test_resume_with_another_decay_is_refused_naming_both():
    """The one decay check names the checkpoint, both decays and the value to resume with;
    a range check refuses a decay outside (0, 1) naming the key."""
    from pointea.tasks.weight_average import check_decay, check_same_decay

    with pytest.raises(ValueError, match=r"a\.ckpt holds a weight average with decay 0\.9, but "
                       r"task\.ema_decay=0\.99: resume with task\.ema_decay=0\.9"):  # fmt: skip
        check_same_decay(0.9, 0.99, "a.ckpt")
    check_same_decay(0.9, 0.9, "a.ckpt")
    for bad in (0, 1, 1.5, -0.1, "0.9", True):
        with pytest.raises(ValueError, match=r"task\.ema_decay=.* expected a number in \(0, 1\)"):
            check_decay(bad)
