"""Checks on a composed run configuration and its checkpoint, before any work starts."""

from __future__ import annotations

import errno
import sys
from collections.abc import Callable
from typing import Any, TypeVar

from omegaconf import DictConfig, OmegaConf

from pointea.data.errors import DatasetError
from pointea.tasks.checkpoint_io import CheckpointError

__all__ = [
    "ConfigError",
    "check_checkpoint",
    "check_task_and_data",
    "exit_on_user_error",
    "run_metadata",
]

T = TypeVar("T")


class ConfigError(ValueError):
    """A configuration or checkpoint that cannot work; the message says which key and why."""


# What a user can cause: reported as one line, not a traceback.
USER_ERRORS = (ConfigError, DatasetError, CheckpointError, FileNotFoundError)
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
    if cfg.mode not in ("fit", "test"):
        raise ConfigError(f"mode must be 'fit' or 'test', got {cfg.mode!r}")
    if cfg.mode == "test" and not cfg.ckpt_path:
        raise ConfigError("mode=test needs ckpt_path=PATH (the checkpoint to evaluate)")
    if cfg.task.layout != cfg.data.layout:
        raise ConfigError(
            f"task={cfg.task.name} reads {cfg.task.layout}-layout data, but the data config has "
            f"layout {cfg.data.layout!r}: pick a matching data= (task=cls: modelnet40 or "
            f"synthetic_cls; task=seg: shapenetpart or synthetic_parts)"
        )
    network = cfg.model[cfg.task.name]
    count_key = "num_classes" if cfg.task.name == "cls" else "num_parts"
    if network[count_key] != cfg.data.num_classes:
        raise ConfigError(
            f"model.{cfg.task.name}.{count_key}={network[count_key]} does not match "
            f"data.num_classes={cfg.data.num_classes}"
        )


def run_metadata(cfg: DictConfig, class_names, category_parts) -> dict[str, Any]:
    """Plain data stored in every checkpoint: enough to rebuild the network and label outputs."""
    return {
        "task": cfg.task.name,
        "layout": cfg.data.layout,
        "model": OmegaConf.to_container(cfg.model[cfg.task.name], resolve=True),
        "num_classes": int(cfg.data.num_classes),
        "num_points": int(cfg.data.num_points),
        "class_names": list(class_names),
        "category_parts": [list(p) for p in category_parts],
    }


def check_checkpoint(
    path: str, checkpoint: dict[str, Any], metadata: dict[str, Any], mode: str
) -> None:
    """The checkpoint must belong to this task and this data; resuming needs the same network."""
    stored = checkpoint.get("pointea")
    if not isinstance(stored, dict) or "task" not in stored:
        raise ConfigError(f"{path} was not written by pointea's train.py (no 'pointea' metadata)")
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
