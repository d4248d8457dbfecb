"""Values that would run yet mean nothing (a NaN learning rate, no epochs, no batches, a
head count that does not divide the width) are refused before any work, naming the key."""

import subprocess
import sys

import pytest
from cli_helpers import CONFIGS, ROOT, compose_train, tiny_overrides

from pointea.cli.config_checks import check_train_values
from pointea.cli.run_config import ConfigError
from pointea.cli.train import run

CASES = [
    (["optim.optimizer.lr=nan"], r"optim.optimizer.lr=nan is not allowed: expected a finite number > 0"),
    (["optim.optimizer.lr=inf"], r"optim.optimizer.lr=inf is not allowed"),
    (["optim.optimizer.lr=-0.1"], r"optim.optimizer.lr=-0.1 is not allowed"),
    (["optim.optimizer.lr=0"], r"optim.optimizer.lr=0 is not allowed"),
    (["optim.optimizer.lr=abc"], r"optim.optimizer.lr='abc' is not allowed"),
    (["optim.optimizer.weight_decay=-1e-4"], r"optim.optimizer.weight_decay=-0.0001 is not allowed: expected a finite number >= 0"),
    (["optim.optimizer.momentum=1.0"], r"optim.optimizer.momentum=1.0 is not allowed: expected a number in \[0, 1\)"),
    (["optim.optimizer.momentum=abc"], r"optim.optimizer.momentum='abc' is not allowed"),
    (["optim.scheduler.eta_min=-1e-5"], r"optim.scheduler.eta_min=-1e-05 is not allowed"),
    (["optim.scheduler.eta_min=nan"], r"optim.scheduler.eta_min=nan is not allowed"),
    (["optim=adamw_cosine", "+optim.optimizer.betas=[0.9,nan]"], r"optim.optimizer.betas=\[0.9, nan\] is not allowed"),
    (["optim=adamw_cosine", "+optim.optimizer.betas=[0.9]"], r"optim.optimizer.betas=\[0.9\] is not allowed: expected two numbers"),
    (["+optim.optimizer.dampening=inf"], r"optim.optimizer.dampening=inf is not allowed: expected a finite number"),
    (["trainer.max_epochs=0"], r"trainer.max_epochs=0 is not allowed: expected an integer >= 1 \(the cosine schedule's T_max"),
    (["trainer.max_epochs=-1"], r"trainer.max_epochs=-1 is not allowed"),
    (["trainer.max_epochs=abc"], r"trainer.max_epochs='abc' is not allowed"),
    (["trainer.max_epochs=1.5"], r"trainer.max_epochs=1.5 is not allowed"),
    (["trainer.max_epochs=null"], r"trainer.max_epochs=None is not allowed"),
    (["optim.scheduler.T_max=0"], r"optim.scheduler.T_max=0 is not allowed: expected an integer >= 1"),
    (["trainer.max_steps=0"], r"trainer.max_steps=0 is not allowed: expected -1 \(no step limit\)"),
    (["trainer.limit_train_batches=0"], r"trainer.limit_train_batches=0 is not allowed: expected an integer >= 1 \(batches\) or a number in \(0, 1\]"),
    (["trainer.limit_train_batches=0.0"], r"trainer.limit_train_batches=0.0 is not allowed"),
    (["trainer.limit_train_batches=1.5"], r"trainer.limit_train_batches=1.5 is not allowed"),
    (["trainer.limit_train_batches=-2"], r"trainer.limit_train_batches=-2 is not allowed"),
    (["trainer.limit_val_batches=-1"], r"trainer.limit_val_batches=-1 is not allowed: .*, or 0 \(no validation: the last checkpoint is tested\)"),
    (["trainer.limit_val_batches=1.5"], r"trainer.limit_val_batches=1.5 is not allowed"),
    (["trainer.limit_test_batches=0.0"], r"trainer.limit_test_batches=0.0 is not allowed"),
    (["trainer.accumulate_grad_batches=0"], r"trainer.accumulate_grad_batches=0 is not allowed: expected an integer >= 1"),
    (["trainer.check_val_every_n_epoch=0"], r"trainer.check_val_every_n_epoch=0 is not allowed"),
    (["trainer.log_every_n_steps=0"], r"trainer.log_every_n_steps=0 is not allowed"),
    (["trainer.gradient_clip_val=-1"], r"trainer.gradient_clip_val=-1 is not allowed"),
    (["seed=abc"], r"seed='abc' is not allowed: expected an integer in \[0, 4294967295\]"),
    (["seed=-1"], r"seed=-1 is not allowed"),
    (["seed=4294967296"], r"seed=4294967296 is not allowed"),
    (["seed=1.5"], r"seed=1.5 is not allowed"),
    (["data.num_workers=-1"], r"data.num_workers=-1 is not allowed: expected an integer >= 0"),
    (["model/attention=local", "model.attention.num_heads=0"], r"model.attention.num_heads=0 is not allowed: expected an integer >= 1"),
    (["model/attention=multihead_external", "model.attention.num_heads=-2"], r"model.attention.num_heads=-2 is not allowed"),
    (["model/attention=multihead_external", "+model.attention.expansion=0"], r"model.attention.expansion=0 is not allowed"),
    (["model/attention=multihead_external", "+model.attention.dropout=1.0"], r"model.attention.dropout=1.0 is not allowed: expected a number in \[0, 1\)"),
    (["model/attention=local", "model.attention.num_heads=3"], r"model/attention LocalSelfAttention cannot run on the network's width model.stage_channels\[1\]=64: channels \(64\) must be divisible by num_heads \(3\)"),
    (["model/attention=local", "model.stage_channels=[32,62]"], r"LocalSelfAttention cannot run on the network's width model.stage_channels\[1\]=62: channels \(62\) must be divisible by num_heads \(4\)"),
    (["model/attention=multihead_external", "model.attention.num_heads=3"], r"MultiHeadExternalAttention cannot run on the network's width model.stage_channels\[1\]=64: channels \* expansion \(64 \* 4 = 256\) must be divisible by num_heads \(3\)"),
    (["+model.attention.heads=2"], r"model.attention holds an option ExternalAttention does not take: .*unexpected keyword argument 'heads'"),
    (["model.stage_channels=[32]"], r"model.stage_channels=\[32\] is not allowed: expected a list of 2 integers >= 1 \(PointTransformerCls has exactly 2 of them\)"),
    (["model.num_samples=[128,64,32]"], r"model.num_samples=\[128, 64, 32\] is not allowed: expected a list of 2"),
    (["model.head_channels=[64]"], r"model.head_channels=\[64\] is not allowed"),
    (["model.stage_channels=[32,0]"], r"model.stage_channels\[1\]=0 is not allowed: expected an integer >= 1"),
    (["model.embed_channels=0"], r"model.embed_channels=0 is not allowed"),
    (["model.fuse_channels=abc"], r"model.fuse_channels='abc' is not allowed"),
    (["+model.num_blocks=0"], r"model.num_blocks=0 is not allowed"),
    (["model.dropout=1.5"], r"model.dropout=1.5 is not allowed: expected a number in \[0, 1\)"),
]  # fmt: skip

SEG_CASES = [
    (["model/attention=local", "model.attention.num_heads=3"], r"LocalSelfAttention cannot run on the network's width model.channels=32"),
    (["model.head_channels=[64,32,16]"], r"model.head_channels=\[64, 32, 16\] is not allowed: .*PointTransformerSeg has exactly 2"),
    (["model.category_channels=0"], r"model.category_channels=0 is not allowed"),
    (["model.channels=-4"], r"model.channels=-4 is not allowed"),
]  # fmt: skip


@pytest.mark.parametrize(("overrides", "message"), CASES)
def test_meaningless_values_are_refused(tmp_path, overrides, message):
    cfg = compose_train([*tiny_overrides(tmp_path / "data"), *overrides], tmp_path / "run")
    with pytest.raises(ConfigError, match=message):
        check_train_values(cfg)


@pytest.mark.parametrize(("overrides", "message"), SEG_CASES)
def test_meaningless_segmentation_values_are_refused(tmp_path, overrides, message):
    cfg = compose_train(
        [*tiny_overrides(tmp_path / "data", task="seg"), *overrides], tmp_path / "run"
    )
    with pytest.raises(ConfigError, match=message):
        check_train_values(cfg)


def _options(group):
    return sorted(p.stem for p in (CONFIGS / group).glob("*.yaml"))


@pytest.mark.parametrize("optim", _options("optim"))
@pytest.mark.parametrize("model", _options("model"))
@pytest.mark.parametrize("attention", _options("model/attention"))
def test_every_shipped_option_passes(tmp_path, optim, model, attention):
    """The checks refuse nothing the project ships: every network, attention kind and
    optimiser, at full and tiny sizes, and values at the edges of what is allowed."""
    task = "cls" if "cls" in model else "seg"
    data = "synthetic_cls" if task == "cls" else "synthetic_parts"
    edges = ["trainer.limit_train_batches=1", "trainer.limit_val_batches=0", "seed=4294967295",
             "trainer.max_steps=-1", "data.num_workers=0", "optim.scheduler.eta_min=0"]  # fmt: skip
    cfg = compose_train(
        [f"task={task}", f"data={data}", f"model={model}", f"model/attention={attention}",
         f"optim={optim}", *edges],
        tmp_path,
    )  # fmt: skip
    check_train_values(cfg)


def test_a_refused_value_makes_no_run_folder(tmp_path, data_root):
    cfg = compose_train(
        [*tiny_overrides(data_root / "cls"), "optim.optimizer.lr=nan"], tmp_path / "run"
    )
    with pytest.raises(ConfigError, match=r"optim.optimizer.lr=nan is not allowed"):
        run(cfg)
    assert not (tmp_path / "run").exists()


def test_cli_refuses_zero_epochs_in_one_line(tmp_path):
    """Zero epochs would train nothing and write metrics.json from untrained weights."""
    done = subprocess.run(
        [sys.executable, "train.py", "model=pct_cls_tiny", "data=synthetic_cls",
         "trainer.max_epochs=0", f"hydra.run.dir={tmp_path / 'run'}"],
        cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [
        "error: trainer.max_epochs=0 is not allowed: expected an integer >= 1 (the cosine "
        "schedule's T_max is the number of epochs)"
    ]
    assert not (tmp_path / "run" / "metrics.json").exists()
    assert not (tmp_path / "run" / "config.yaml").exists()


@pytest.mark.parametrize("experiment", _options("experiment"))
def test_every_shipped_experiment_passes(tmp_path, experiment):
    check_train_values(compose_train([f"experiment={experiment}"], tmp_path))


@pytest.mark.parametrize("trainer", _options("trainer"))
def test_every_shipped_trainer_passes(tmp_path, trainer):
    overrides = [f"trainer={trainer}", "model=pct_cls_tiny", "data=synthetic_cls"]
    check_train_values(compose_train(overrides, tmp_path))
