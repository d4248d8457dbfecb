"""Checks on a composed run configuration and its checkpoint, before any work starts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.errors import InstantiationException
from hydra.utils import get_class, get_object, instantiate
from omegaconf import DictConfig, OmegaConf, open_dict

from pointea.checkpoint import METADATA_VERSION, checkpoint_metadata, load_checkpoint
from pointea.cli.config_checks import check_train_values
from pointea.cli.run_folder import resumed_run_folder
from pointea.config_error import ConfigError
from pointea.data.errors import DatasetError
from pointea.data.release_tables import COUNT_KEYS, ReleaseTables
from pointea.error_boundary import exit_on_user_error
from pointea.network_builder import config_dirs_from_searchpath
from pointea.tasks.weight_average import EMA_KEY, check_same_decay

__all__ = [
    "ConfigError",
    "check_run_config",
    "check_same_tables",
    "check_task_and_data",
    "config_dirs",
    "exit_on_user_error",
    "run_metadata",
]


def config_dirs() -> list[Path]:
    """The user's config folders of the running Hydra app (its ``hydra.searchpath``): their
    networks and attention kinds may be named by a checkpoint."""
    if not HydraConfig.initialized():
        return []
    return config_dirs_from_searchpath(HydraConfig.get().get("searchpath"))


def check_task_and_data(cfg: DictConfig) -> None:
    """The mode, the task, the data's dataset and the network must fit together."""
    if cfg.mode not in ("fit", "test"):
        raise ConfigError(f"mode must be 'fit' or 'test', got {cfg.mode!r}")
    if cfg.mode == "test" and not cfg.ckpt_path:
        raise ConfigError("mode=test needs ckpt_path=PATH (the checkpoint to evaluate)")
    dataset = cfg.data.dataset._target_
    release = get_object(dataset)
    if not isinstance(release, type):  # a function that builds the class (pointea.data.from_pyg)
        try:
            release = instantiate(cfg.data.dataset)
        except InstantiationException as err:
            if isinstance(err.__cause__, DatasetError):  # the user's data, said in one line
                raise err.__cause__ from None
            raise
    serves = getattr(release, "func", release).task
    if serves != cfg.task.name:
        raise ConfigError(
            f"task={cfg.task.name} cannot use this data: its dataset {dataset} serves "
            f"task={serves}; pick a data= option whose dataset serves task={cfg.task.name}"
        )
    if cfg.model._target_ != cfg.task.network:
        raise ConfigError(
            f"model= builds {cfg.model._target_}, but task={cfg.task.name} trains "
            f"{cfg.task.network}: pick a model= option for task={cfg.task.name}"
        )
    for key in COUNT_KEYS:
        if key in cfg.model and key in cfg.data and cfg.model[key] != cfg.data[key]:
            raise ConfigError(
                f"model.{key}={cfg.model[key]} does not match data.{key}={cfg.data[key]}"
            )


def _stored_run(cfg: DictConfig) -> dict[str, Any] | None:
    """The checkpoint ``ckpt_path`` names, its metadata validated as data and its network
    checked against the allow-list; ``mode=test`` takes its network into ``cfg.model``
    (whatever ``model.*`` the command line gave), a resume must describe the same network
    and weight average as the config."""
    if not cfg.ckpt_path:
        return None
    path = str(cfg.ckpt_path)
    checkpoint = load_checkpoint(path)
    stored = checkpoint_metadata(checkpoint, path, config_dirs=config_dirs())
    if stored["task"] != cfg.task.name:
        raise ConfigError(
            f"{path} is a task={stored['task']} checkpoint, but this run is task={cfg.task.name}"
        )
    if cfg.mode == "test":
        with open_dict(cfg):
            cfg.model = stored["model"]
        return checkpoint
    if stored["model"] != OmegaConf.to_container(cfg.model, resolve=True):
        raise ConfigError(
            f"{path} holds a different network than model= describes; resume with the same "
            f"model config"
        )
    _check_same_optimisation(cfg, path)
    average, decay = checkpoint.get(EMA_KEY), cfg.task.get("ema_decay")
    if average and decay:
        try:
            check_same_decay(average["decay"], decay, path)
        except ValueError as err:
            raise ConfigError(str(err)) from None
    return checkpoint


def _flat(node: Any, prefix: str) -> dict[str, Any]:
    """``{"optim.optimizer.lr": 0.01, ...}``: the leaves of a config tree by dotted key."""
    if not isinstance(node, dict):
        return {prefix: node}
    flat = {}
    for key, value in node.items():
        flat.update(_flat(value, f"{prefix}.{key}"))
    return flat


def _check_same_optimisation(cfg: DictConfig, path: str) -> None:
    """A resume trains with the optimiser and schedule its run started with.

    Lightning restores the optimiser's and the scheduler's state from the checkpoint (the
    learning rate, weight decay, momentum, ``T_max`` ...), so a changed ``optim.*`` (or a
    ``trainer.max_epochs`` that a schedule interpolates) would be recorded in the run's
    ``config.yaml`` but not used. The run folder's ``config.yaml`` records the first start's
    values (a resume with other values never gets to write it).
    """
    record = resumed_run_folder(path) / "config.yaml"
    try:
        first = OmegaConf.to_container(OmegaConf.load(record), resolve=True)
    except Exception as err:  # unreadable, not YAML, unresolvable: said in one line
        raise ConfigError(f"{record}: cannot read the run's config ({err})") from None
    if not isinstance(first, dict):
        raise ConfigError(f"{record}: the run's config is not a mapping")
    was = _flat(first.get("optim") or {}, "optim")
    now = _flat(OmegaConf.to_container(cfg.optim, resolve=True), "optim")
    given = _flat(OmegaConf.to_container(cfg.optim, resolve=False), "optim")
    unset = "<unset>"
    changed = sorted(k for k in was.keys() | now.keys() if was.get(k, unset) != now.get(k, unset))
    if not changed:
        return

    def source(key: str) -> str:  # a value the config interpolates: say from what
        value = given.get(key)
        return f" (from {value})" if isinstance(value, str) and value.startswith("${") else ""

    that = ", ".join(f"{k}={was.get(k, unset)!r}" for k in changed)
    this = ", ".join(f"{k}={now.get(k, unset)!r}{source(k)}" for k in changed)
    raise ConfigError(
        f"{path} was trained with {that} (recorded in {record}), but this resume gives "
        f"{this}: a resume continues the checkpoint's optimiser and schedule, so resume with "
        f"its values (other ones need a new run)"
    )


def check_run_config(cfg: DictConfig) -> dict[str, Any] | None:
    """Every check of a ``train.py`` run that needs no data: the task and data fit, the
    stored checkpoint (if any) and the values. Returns the checkpoint ``ckpt_path`` names."""
    check_task_and_data(cfg)
    checkpoint = _stored_run(cfg)
    try:
        check_train_values(cfg)
    except ConfigError as err:
        if cfg.mode != "test":
            raise
        raise ConfigError(f"{err} (model.* is the network stored in {cfg.ckpt_path})") from None
    return checkpoint


def run_metadata(cfg: DictConfig, tables: ReleaseTables) -> dict[str, Any]:
    """Plain data stored in every checkpoint: enough to rebuild the network and its
    trained-model kind and to label outputs (see :mod:`pointea.checkpoint`)."""
    kind = cfg.task.trained_model._target_
    return {
        "version": METADATA_VERSION,
        "task": cfg.task.name,
        "trained_model": kind,
        "model": OmegaConf.to_container(cfg.model, resolve=True),
        "num_points": int(cfg.data.num_points),
        **get_class(kind).metadata_from(tables),
    }


# Metadata entries that describe the network and its input, not the data's label tables.
_NOT_TABLES = ("version", "task", "trained_model", "model", "num_points")


def check_same_tables(path: str, stored: dict[str, Any], metadata: dict[str, Any]) -> None:
    """A checkpoint is used only with data of the label tables it was trained on."""
    for key, value in metadata.items():
        if key not in _NOT_TABLES and stored.get(key) != value:
            raise ConfigError(
                f"{path} was trained with {key}={stored.get(key)!r}, but the data has {value!r}"
            )
