"""Rebuilding a trained network from a pointea checkpoint (plain data, weights_only).

This is the one place outside ``train.py`` that turns a checkpoint's model description
(a Hydra ``_target_`` config) back into a network, with the same ``instantiate`` that built
it for training. ``pointea.load_model`` is defined here for that reason: the library's
own layers stay free of Hydra, and the Python API, ``pointea-predict``, ``pointea-visualize``
and ``pointea-export`` rebuild networks one way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hydra.utils import instantiate
from torch import nn

from pointea.cli.checkpoint_upgrade import upgrade_checkpoint
from pointea.cli.run_config import ConfigError
from pointea.tasks.checkpoint_io import load_checkpoint
from pointea.tasks.weight_average import EMA_KEY
from pointea.trained_model import TrainedModel

__all__ = ["load_model", "load_network", "run_folder"]


def load_network(
    path: str | Path, *, task: str | None = None, map_location: Any = "cpu"
) -> tuple[nn.Module, dict[str, Any]]:
    """The network in eval mode and the checkpoint's metadata; ``task`` checks the kind.

    A checkpoint trained with ``task.ema_decay`` yields its averaged weights.
    """
    checkpoint = upgrade_checkpoint(
        load_checkpoint(path, map_location), str(path)
    )  # old forms converted
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
    if EMA_KEY in checkpoint:
        weights.update(checkpoint[EMA_KEY]["weights"])
    network.load_state_dict(weights)
    return network.to(map_location).eval(), meta


def load_model(path: str | Path, map_location: Any = "cpu") -> TrainedModel:
    """A trained pointea checkpoint as a :class:`~pointea.trained_model.TrainedModel`.

    Example::

        model = pointea.load_model("outputs/cls-modelnet40/RUN/checkpoints/last.ckpt")
        model.predict(points)["classes"]  # points: (N, 3) or (B, N, 3), any units
    """
    return TrainedModel(*load_network(path, map_location=map_location))


def run_folder(ckpt_path: str | Path) -> Path:
    """The run folder a checkpoint belongs to (``RUN/checkpoints/x.ckpt`` -> ``RUN``)."""
    ckpt_path = Path(ckpt_path).resolve()
    return ckpt_path.parent.parent if ckpt_path.parent.name == "checkpoints" else ckpt_path.parent
