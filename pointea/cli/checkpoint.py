"""Rebuilding a trained network from a pointea checkpoint (plain data, weights_only)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hydra.utils import instantiate
from torch import nn

from pointea.cli.checkpoint_upgrade import upgrade_checkpoint
from pointea.cli.run_config import ConfigError
from pointea.tasks.checkpoint_io import load_checkpoint

__all__ = ["load_network", "run_folder"]


def load_network(path: str | Path, *, task: str | None = None) -> tuple[nn.Module, dict[str, Any]]:
    """The network in eval mode and the checkpoint's metadata; ``task`` checks the kind."""
    checkpoint = upgrade_checkpoint(load_checkpoint(path), str(path))  # old forms converted
    meta = checkpoint.get("pointea")
    if not isinstance(meta, dict) or "model" not in meta:
        raise ConfigError(f"{path} was not written by pointea's train.py (no 'pointea' metadata)")
    if task is not None and meta["task"] != task:
        raise ConfigError(
            f"{path} is a task={meta['task']} checkpoint; a task={task} checkpoint is needed here"
        )
    network = instantiate(meta["model"])
    weights = {
        k.removeprefix("model."): v
        for k, v in checkpoint["state_dict"].items()
        if k.startswith("model.")
    }
    network.load_state_dict(weights)
    return network.eval(), meta


def run_folder(ckpt_path: str | Path) -> Path:
    """The run folder a checkpoint belongs to (``RUN/checkpoints/x.ckpt`` -> ``RUN``)."""
    ckpt_path = Path(ckpt_path).resolve()
    return ckpt_path.parent.parent if ckpt_path.parent.name == "checkpoints" else ckpt_path.parent
