"""Every option of every config group composes, resolves and builds what it describes."""

import pytest
from cli_helpers import CONFIGS, compose_train
from hydra.utils import instantiate
from omegaconf import OmegaConf

from pointea.models import ATTENTION_KINDS

GROUPS = {
    group: sorted(p.stem for p in (CONFIGS / group).glob("*.yaml"))
    for group in ("task", "data", "model", "trainer", "optim", "experiment")
}
TASK_OF_DATA = {
    "modelnet40": "cls",
    "synthetic_cls": "cls",
    "shapenetpart": "seg",
    "synthetic_parts": "seg",
}


def test_every_group_has_the_documented_options():
    assert GROUPS["task"] == ["cls", "seg"]
    assert GROUPS["data"] == ["modelnet40", "shapenetpart", "synthetic_cls", "synthetic_parts"]
    assert GROUPS["model"] == ["ea_pct", "ea_pct_tiny"]
    assert GROUPS["trainer"] == ["cpu", "ddp", "default", "gpu"]
    assert GROUPS["optim"] == ["adamw_cosine", "sgd_cosine"]
    defaults = (CONFIGS / "train.yaml").read_text()
    for group in ("task", "data", "model", "trainer", "optim"):
        assert (
            f"- {group}: " in defaults and "#" in defaults.split(f"- {group}: ")[1].splitlines()[0]
        )


@pytest.mark.parametrize("data", GROUPS["data"])
@pytest.mark.parametrize("model", GROUPS["model"])
def test_data_and_model_options_build(tmp_path, data, model):
    task = TASK_OF_DATA[data]
    cfg = compose_train([f"task={task}", f"data={data}", f"model={model}"], tmp_path)
    OmegaConf.to_container(cfg, resolve=True)
    datamodule = instantiate(cfg.data)
    assert datamodule.num_classes == cfg.data.num_classes
    network = instantiate(cfg.model[task])
    assert network.__class__.__name__ == (
        "PointTransformerCls" if task == "cls" else "PointTransformerSeg"
    )


@pytest.mark.parametrize("attention", ATTENTION_KINDS)
def test_attention_is_switchable(tmp_path, attention):
    cfg = compose_train(["model=ea_pct_tiny", f"model.attention={attention}"], tmp_path)
    network = instantiate(cfg.model.cls)
    kinds = {type(block).__name__ for block in network.attention.blocks}
    mixers = {type(getattr(block, "mixer", block)).__name__ for block in network.attention.blocks}
    assert len(kinds) == 1 and len(mixers) == 1
    expected = {
        "external": "ExternalAttention",
        "multihead_external": "MultiHeadExternalAttention",
        "offset": "OffsetAttention",
        "local": "LocalSelfAttention",
    }
    assert mixers == {expected[attention]}


@pytest.mark.parametrize("trainer", GROUPS["trainer"])
def test_trainer_options_compose(tmp_path, trainer):
    cfg = compose_train(
        [
            f"trainer={trainer}",
            "trainer.max_epochs=3",
            "trainer.limit_train_batches=2",
            "trainer.precision=bf16-mixed",
        ],
        tmp_path,
    )
    assert cfg.trainer._target_ == "pytorch_lightning.Trainer"
    assert cfg.trainer.max_epochs == 3 and cfg.trainer.limit_train_batches == 2
    if trainer == "ddp":
        assert cfg.trainer.strategy == "ddp" and cfg.trainer.sync_batchnorm


@pytest.mark.parametrize("optim", GROUPS["optim"])
def test_optim_options_build_partials(tmp_path, optim):
    import torch

    cfg = compose_train([f"optim={optim}", "trainer.max_epochs=7"], tmp_path)
    optimizer = instantiate(cfg.optim.optimizer)([torch.nn.Parameter(torch.zeros(1))])
    scheduler = instantiate(cfg.optim.scheduler)(optimizer)
    assert scheduler.T_max == 7
    if optim == "sgd_cosine":  # PCT's recipe
        group = optimizer.param_groups[0]
        assert (group["lr"], group["momentum"], group["weight_decay"], scheduler.eta_min) == (
            0.01,
            0.9,
            5e-4,
            1e-4,
        )


@pytest.mark.parametrize("experiment", GROUPS["experiment"])
def test_experiments_compose(tmp_path, experiment):
    cfg = compose_train([f"experiment={experiment}"], tmp_path)
    OmegaConf.to_container(cfg, resolve=True)
    assert cfg.data.layout == ("modelnet40" if cfg.task.name == "cls" else "shapenetpart")
