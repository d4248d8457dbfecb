"""Checks on a composed run configuration and its checkpoint, before any work starts."""

from __future__ import annotations

import errno
import sys
from collections.abc import Callable
from typing import Any, TypeVar

from hydra.errors import InstantiationException
from hydra.utils import get_object, instantiate
from omegaconf import DictConfig, OmegaConf, open_dict

from pointea.data.errors import DatasetError
from pointea.data.release_tables import ReleaseTables
from pointea.tasks.checkpoint_io import CheckpointError
from pointea.tasks.weight_average import EMA_KEY
from pointea.vis.atomic import WriteError

__all__ = [
    "METADATA_VERSION",
    "ConfigError",
    "check_checkpoint",
    "check_metadata_version",
    "check_task_and_data",
    "exit_on_user_error",
    "run_metadata",
    "use_stored_network",
]

T = TypeVar("T")

# Version 2: the network config holds its attention as a node (``model.attention._target_``).
METADATA_VERSION = 2


class ConfigError(ValueError):
    """A configuration or checkpoint that cannot work; the message says which key and why."""


# What a user can cause: reported as one line, not a traceback.
USER_ERRORS = (ConfigError, DatasetError, CheckpointError, FileNotFoundError, WriteError)
# Full disk or quota, no permission, read-only file system: also one line, naming the file.
DISK_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM, errno.EROFS}


def exit_on_user_error(action: Callable[[], T]) -> T:
    """Run a CLI's work; a user error ends the program with its message and exit status 2."""
    try:
        return action()
    except USER_ERRORS as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    except OSError as err:
        if err.errno not in DISK_ERRORS:
            raise
        where = f"{err.filename}: " if err.filename else ""
        print(f"error: {where}{err.strerror or err}", file=sys.stderr)
        sys.exit(2)


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
    from pointea.data.datamodule import COUNT_KEYS  # here: it imports Lightning (not in predict)

    for key in COUNT_KEYS:
        if key in cfg.model and key in cfg.data and cfg.model[key] != cfg.data[key]:
            raise ConfigError(
                f"model.{key}={cfg.model[key]} does not match data.{key}={cfg.data[key]}"
            )


def run_metadata(cfg: DictConfig, tables: ReleaseTables) -> dict[str, Any]:
    """Plain data stored in every checkpoint: enough to rebuild the network and label outputs."""
    return {
        "version": METADATA_VERSION,
        "task": cfg.task.name,
        "model": OmegaConf.to_container(cfg.model, resolve=True),
        "num_classes": tables.num_labels,  # values of y: classes, or global part ids
        "num_points": int(cfg.data.num_points),
        "class_names": list(tables.class_names),
        "category_parts": [list(p) for p in tables.category_parts],
    }


def check_metadata_version(path: str, stored: dict[str, Any]) -> None:
    """Checkpoints written before the attention became a config node are named, with the fix."""
    if stored.get("version") != METADATA_VERSION:
        raise ConfigError(
            f"{path} was written by an older pointea (its network config has the old "
            f"attention=<kind> form); convert it once with `python -m "
            f"pointea.cli.checkpoint_upgrade {path} NEW.ckpt` and use NEW.ckpt"
        )


def check_checkpoint(
    path: str,
    checkpoint: dict[str, Any],
    metadata: dict[str, Any],
    mode: str,
    ema_decay: float | None = None,
) -> None:
    """The checkpoint must belong to this task and this data; resuming needs the same network
    and, when the checkpoint holds a weight average, the same ``task.ema_decay``."""
    stored = checkpoint.get("pointea")
    if not isinstance(stored, dict) or "task" not in stored:
        raise ConfigError(f"{path} was not written by pointea's train.py (no 'pointea' metadata)")
    check_metadata_version(path, stored)
    if stored["task"] != metadata["task"]:
        raise ConfigError(
            f"{path} is a task={stored['task']} checkpoint, but this run is task={metadata['task']}"
        )
    for key in ("num_classes", "class_names", "category_parts"):
        if stored.get(key) != metadata[key]:
            raise ConfigError(
                f"{path} was trained with {key}={stored.get(key)!r}, but the data has {metadata[key]!r}"
            )
    if mode == "fit" and stored["model"] != metadata["model"]:
        raise ConfigError(
            f"{path} holds a different network than model= describes; resume with the same model config"
        )
    average = checkpoint.get(EMA_KEY)
    if mode == "fit" and average and ema_decay and float(average["decay"]) != float(ema_decay):
        raise ConfigError(
            f"{path} holds a weight average with decay {average['decay']}, but "
            f"task.ema_decay={ema_decay}: resume with task.ema_decay={average['decay']}"
        )


def use_stored_network(cfg: DictConfig, checkpoint: dict[str, Any]) -> None:
    """``mode=test`` runs the network stored in the checkpoint, whatever ``model.*`` the
    command line gave: put it into ``cfg.model`` so the value checks judge that network."""
    stored = checkpoint.get("pointea")
    if not isinstance(stored, dict) or "model" not in stored:
        raise ConfigError(
            f"{cfg.ckpt_path} was not written by pointea's train.py (no 'pointea' metadata)"
        )
    check_metadata_version(cfg.ckpt_path, stored)
    if stored["task"] != cfg.task.name:
        raise ConfigError(
            f"{cfg.ckpt_path} is a task={stored['task']} checkpoint, but this run is "
            f"task={cfg.task.name}"
        )
    with open_dict(cfg):
        cfg.model = stored["model"]
