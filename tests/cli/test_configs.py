"""Every option of every config group composes, resolves and builds what it describes."""

import pytest
from cli_helpers import CONFIGS, compose_train
from hydra.errors import ConfigCompositionException
from hydra.utils import get_class, get_object, instantiate
from omegaconf import OmegaConf

from pointea.cli.attention_config import attention_kinds, attention_node
from pointea.data.release_tables import COUNT_KEYS
from pointea.nn import OffsetBlock

# Every option of every group on disk. model/attention_tiny is merged over model/attention
# by the tiny networks, never chosen on its own.
GROUPS = {
    group: sorted(p.stem for p in (CONFIGS / group).glob("*.yaml"))
    for group in sorted(
        {p.parent.relative_to(CONFIGS).as_posix() for p in CONFIGS.rglob("*/*.yaml")}
    )
}
# The values an option leaves to the user (``???``) or to its files (``null`` counts, which
# train.py reads from the data before building the network), given as a user would.
REQUIRED = {
    "pyg": ["data.dataset.pyg._target_=torch_geometric.datasets.ModelNet", "data.num_classes=10"],
    "folder": ["data.num_classes=4"],
    "folder_seg": ["data.num_parts=4", "data.num_categories=2"],
}


def _with_data(data):
    return [f"data={data}", *REQUIRED.get(data, [])]


def release_class(node):
    """The release class a data option's dataset node names, or builds (``from_pyg``)."""
    target = get_object(node._target_)
    release = target if isinstance(target, type) else instantiate(node)
    return getattr(release, "func", release)


CHOSEN = sorted(g for g in GROUPS if g != "model/attention_tiny")
OPTIONS = [(group, option) for group in CHOSEN for option in GROUPS[group]]


def _network_of(model, tmp_path):
    return compose_train([f"model={model}"], tmp_path).model._target_


def _data_where(key, value, tmp_path):
    """The first data option whose task's ``key`` is ``value`` (each data option picks its
    task, each task names its network)."""
    for data in GROUPS["data"]:
        if compose_train(_with_data(data), tmp_path).task[key] == value:
            return data
    raise AssertionError(f"no data option's task has {key}={value}")


def _fitting(group, option, tmp_path):
    """The overrides that choose ``option`` of ``group`` with data that fit it."""
    if group == "data":
        return _with_data(option)
    if group == "model":
        network = _network_of(option, tmp_path)
        return [*_with_data(_data_where("network", network, tmp_path)), f"model={option}"]
    if group == "task":
        return [*_with_data(_data_where("name", option, tmp_path)), f"task={option}"]
    return [f"{group}={option}"]


def test_every_config_group_is_documented_in_train_yaml():
    defaults = (CONFIGS / "train.yaml").read_text()
    for group in ("data", "trainer", "optim"):
        assert "#" in defaults.split(f"- {group}: ")[1].splitlines()[0]
    for group in ("task", "model", "model/attention"):  # chosen by the data and the task
        assert f"{group}" in defaults.split("- _self_")[0]


@pytest.mark.parametrize(("group", "option"), OPTIONS, ids=[f"{g}={o}" for g, o in OPTIONS])
def test_every_option_of_every_group_composes_and_resolves(tmp_path, group, option):
    cfg = compose_train(_fitting(group, option, tmp_path), tmp_path)
    OmegaConf.to_container(cfg, resolve=True)
    assert release_class(cfg.data.dataset).task == cfg.task.name
    assert cfg.task.network == cfg.model._target_


@pytest.mark.parametrize("data", GROUPS["data"])
def test_the_data_picks_its_task_and_the_task_its_network(tmp_path, data):
    cfg = compose_train(_with_data(data), tmp_path)
    assert cfg.task.name == release_class(cfg.data.dataset).task
    assert cfg.model._target_ == cfg.task.network


@pytest.mark.parametrize("model", GROUPS["model"])
def test_every_model_builds_with_every_data_option_of_its_task(tmp_path, model):
    network = _network_of(model, tmp_path)
    fitting = [d for d in GROUPS["data"]
               if compose_train(_with_data(d), tmp_path).task.network == network]  # fmt: skip
    assert fitting, f"no data option's task trains {network}"
    for data in fitting:
        cfg = compose_train([*_with_data(data), f"model={model}"], tmp_path)
        datamodule = instantiate(cfg.data)
        for key in COUNT_KEYS:
            assert datamodule.counts.get(key) == cfg.data.get(key)
        assert type(instantiate(cfg.model)) is get_class(network)


@pytest.mark.parametrize("kind", attention_kinds())
@pytest.mark.parametrize("model", GROUPS["model"])
def test_attention_is_one_value_to_swap(tmp_path, model, kind):
    """Every block's mixer is the kind's class, at the kind's options; a tiny network
    merges the kind's attention_tiny options over them, where the kind has a file there."""
    overrides = [*_fitting("model", model, tmp_path), f"model/attention={kind}"]
    cfg = compose_train(overrides, tmp_path)
    expected = attention_node(kind, tiny="attention_tiny" in str(_tiny_defaults(model)))
    assert OmegaConf.to_container(cfg.model.attention) == expected
    network = instantiate(cfg.model)
    mixer = get_class(expected["_target_"])
    assert {type(block) for block in network.attention.blocks} == {OffsetBlock}
    assert {type(block.mixer) for block in network.attention.blocks} == {mixer}


def _tiny_defaults(model):
    return OmegaConf.load(CONFIGS / "model" / f"{model}.yaml").get("defaults", [])


def test_every_tiny_attention_file_belongs_to_a_kind():
    assert set(GROUPS["model/attention_tiny"]) <= set(GROUPS["model/attention"])


def test_an_unknown_attention_kind_names_the_options(tmp_path):
    with pytest.raises(ConfigCompositionException, match=attention_kinds()[-1]):
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


STUDIES = [e for e in GROUPS["experiment"] if e.startswith("attention_study")]


@pytest.mark.parametrize("experiment", STUDIES)
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


@pytest.mark.parametrize("experiment", STUDIES)
def test_the_study_sweeps_every_attention_kind(experiment):
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.override_parser.overrides_parser import OverridesParser

    GlobalHydra.instance().clear()
    with initialize_config_dir(str(CONFIGS), version_base="1.3"):
        cfg = compose("train", [f"experiment={experiment}"], return_hydra_config=True)
    value = cfg.hydra.sweeper.params["model/attention"]
    swept = OverridesParser.create().parse_override(f"model/attention={value}").value()
    assert swept.filter(attention_kinds()) == attention_kinds()


@pytest.mark.parametrize("entry", ["train", "predict", "visualize", "export", "sweep"])
def test_every_entry_point_can_resolve_in_channels(entry):
    """The data configs' ``${pointea.in_channels:...}`` needs its resolver: importing any entry
    point registers it (a fresh interpreter, so no other test has)."""
    import subprocess
    import sys

    code = (
        f"import pointea.cli.{entry}; from omegaconf import OmegaConf; "
        "c = OmegaConf.create({'data': {'features': ['normals'], "
        "'in_channels': '${pointea.in_channels:${data.features}}'}}); print(c.data.in_channels)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "6"
