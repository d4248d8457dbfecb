"""Every option of every config group composes, resolves and builds what it describes."""

import pytest
from cli_helpers import CONFIGS, compose_train
from hydra.errors import ConfigCompositionException
from hydra.utils import get_class, instantiate
from omegaconf import OmegaConf

from pointea.nn import (
    ExternalAttention,
    LocalSelfAttention,
    MultiHeadExternalAttention,
    OffsetAttention,
    OffsetBlock,
)

GROUPS = {
    group: sorted(p.stem for p in (CONFIGS / group).glob("*.yaml"))
    for group in ("task", "data", "model", "model/attention", "trainer", "optim", "experiment")
}
# Written out by hand: which task each data option is for, and each task's networks.
TASK_OF_DATA = {
    "folder": "cls",
    "folder_seg": "seg",
    "modelnet40": "cls",
    "scanobjectnn": "cls",
    "synthetic_cls": "cls",
    "shapenetpart": "seg",
    "synthetic_parts": "seg",
}
NETWORK_OF_TASK = {"cls": "PointTransformerCls", "seg": "PointTransformerSeg"}


def test_every_group_has_the_documented_options():
    assert GROUPS["task"] == ["cls", "seg"]
    assert GROUPS["data"] == [
        "folder",
        "folder_seg",
        "modelnet40",
        "scanobjectnn",
        "shapenetpart",
        "synthetic_cls",
        "synthetic_parts",
    ]
    assert GROUPS["model"] == ["pct_cls", "pct_cls_tiny", "pct_seg", "pct_seg_tiny"]
    assert GROUPS["model/attention"] == ["external", "local", "multihead_external", "offset"]
    assert GROUPS["trainer"] == ["cpu", "ddp", "default", "gpu"]
    assert GROUPS["optim"] == ["adamw_cosine", "sgd_cosine"]
    defaults = (CONFIGS / "train.yaml").read_text()
    for group in ("data", "trainer", "optim"):
        assert "#" in defaults.split(f"- {group}: ")[1].splitlines()[0]
    for group in ("task", "model"):  # chosen by the data and the task: documented in comments
        assert f"#   {group}: " in defaults


@pytest.mark.parametrize("data", GROUPS["data"])
def test_the_data_picks_its_task_and_the_task_its_network(tmp_path, data):
    cfg = compose_train([f"data={data}"], tmp_path)
    task = TASK_OF_DATA[data]
    assert cfg.task.name == task
    assert get_class(cfg.data.dataset._target_).task == task
    assert (
        cfg.model._target_.endswith(NETWORK_OF_TASK[task])
        and cfg.task.network == cfg.model._target_
    )


@pytest.mark.parametrize("data", GROUPS["data"])
@pytest.mark.parametrize("size", ["", "_tiny"])
def test_data_and_model_options_build(tmp_path, data, size):
    task = TASK_OF_DATA[data]
    cfg = compose_train([f"data={data}", f"model=pct_{task}{size}"], tmp_path)
    read_from_data = {"num_classes": 3, "num_parts": 5, "num_categories": 2}
    for key, count in read_from_data.items():  # data=folder: train.py fills them from the files
        if key in cfg.data and cfg.data[key] is None:
            cfg.data[key] = count
    OmegaConf.to_container(cfg, resolve=True)
    datamodule = instantiate(cfg.data)
    for key in ("num_classes", "num_parts", "num_categories"):
        assert datamodule.counts.get(key) == cfg.data.get(key)
    network = instantiate(cfg.model)
    assert type(network).__name__ == NETWORK_OF_TASK[task]


def test_tiny_networks_keep_their_small_attention_options(tmp_path):
    expected = {  # (module, attribute) -> value, at tiny and at PCT's sizes
        "external": [("mixer.memory_key", "out_features", 16, 64)],
        "multihead_external": [("mixer", "num_heads", 4, 8)],
        "local": [("mixer", "k", 8, 16), ("mixer", "num_heads", 4, 8)],
    }
    for kind, checks in expected.items():
        for size, column in (("_tiny", 2), ("", 3)):
            cfg = compose_train([f"model=pct_cls{size}", f"model/attention={kind}"], tmp_path)
            block = instantiate(cfg.model).attention.blocks[0]
            for path, attribute, *values in checks:
                assert getattr(block.get_submodule(path), attribute) == values[column - 2], (
                    kind,
                    size,
                )


@pytest.mark.parametrize(
    ("attention", "mixer"),
    [
        ("external", ExternalAttention),
        ("multihead_external", MultiHeadExternalAttention),
        ("offset", OffsetAttention),
        ("local", LocalSelfAttention),
    ],
)
@pytest.mark.parametrize("model", ["pct_cls_tiny", "pct_seg_tiny"])
def test_attention_is_one_value_to_swap(tmp_path, model, attention, mixer):
    task = model.split("_")[1]
    data = "synthetic_cls" if task == "cls" else "synthetic_parts"
    cfg = compose_train(
        [f"data={data}", f"model={model}", f"model/attention={attention}"], tmp_path
    )
    network = instantiate(cfg.model)
    assert {type(block) for block in network.attention.blocks} == {OffsetBlock}
    assert {type(block.mixer) for block in network.attention.blocks} == {mixer}


def test_an_unknown_attention_kind_names_the_options(tmp_path):
    with pytest.raises(ConfigCompositionException, match="offset"):
        compose_train(["model/attention=softmax"], tmp_path)


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
    assert get_class(cfg.data.dataset._target_).task == cfg.task.name
    assert cfg.task.network == cfg.model._target_


@pytest.mark.parametrize("experiment", ["attention_study", "attention_study_demo"])
def test_the_sweep_folder_resolves_before_any_job_starts(experiment):
    """Hydra's sweeper resolves hydra.sweep.dir before a HydraConfig exists, so a
    ${hydra:...} there breaks `train.py -m` (the subdir is resolved per job)."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.hydra_config import HydraConfig

    GlobalHydra.instance().clear()
    HydraConfig.instance().cfg = None  # as at the sweeper's start: no job config yet
    with initialize_config_dir(str(CONFIGS), version_base="1.3"):
        cfg = compose("train", [f"experiment={experiment}"], return_hydra_config=True)
    assert cfg.hydra.sweep.dir.startswith("outputs/attention_study/cls/")
