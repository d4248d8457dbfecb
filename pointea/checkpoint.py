"""pointea checkpoints as plain data: reading, upgrading, validating, rebuilding the network.

A checkpoint written by ``train.py`` holds Lightning's entries and, under ``"pointea"``,
plain metadata (metadata version ``METADATA_VERSION``)::

    version        int, the form of this entry
    task           the task's name (``name`` of a ``configs/task/*.yaml``)
    trained_model  the task's trained-model kind (its config's ``trained_model._target_``)
    model          the network's config node (``_target_``, options, the attention node)
    num_points     int >= 1, the points per cloud the network was trained on
    ...            what the trained-model kind records: a classifier ``num_classes`` and
                   ``class_names``; a segmenter ``num_parts``, ``categories`` and
                   ``category_parts``

Nothing stored is ever executed: the file is read with ``weights_only=True``, the metadata
is checked as data (types, counts, ranges) and the network is built through
:mod:`pointea.network_builder`, which imports only the ``_target_``s pointea's config
groups (and config folders the caller names) hold. No Hydra is needed here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from pointea.checkpoint_error import CheckpointError
from pointea.network_builder import (
    NETWORK_GROUPS,
    build_node,
    check_targets,
    group_nodes,
    group_targets,
    resolve_target,
    task_configs,
)

if TYPE_CHECKING:
    from pointea.trained_model import TrainedModel

__all__ = [
    "EMA_KEY",
    "METADATA_VERSION",
    "CheckpointError",
    "build_network",
    "checkpoint_metadata",
    "load_checkpoint",
    "load_model",
    "load_network",
    "load_weights",
    "run_folder",
    "trained_model_kind",
    "upgrade_checkpoint",
]

# 2: the attention is a config node (``model.attention._target_``).
# 3: a segmenter stores ``num_parts`` and ``categories``; every checkpoint its trained-model kind.
METADATA_VERSION = 3
# Where a checkpoint keeps a weight average (plain data: a float, an int and a dict of tensors).
EMA_KEY = "pointea_ema"
ConfigDirs = Iterable[str | Path]


def _first_line(err: BaseException) -> str:
    lines = str(err).strip().splitlines()
    return f"{type(err).__name__}: {lines[0]}" if lines else type(err).__name__


def load_checkpoint(path: str | Path, map_location: Any = None) -> dict[str, Any]:
    """A checkpoint file as plain data only (``weights_only=True``, never arbitrary pickles).

    Raises:
        FileNotFoundError: no file at ``path``.
        CheckpointError: an empty or unreadable file, not a checkpoint, or ``map_location``
            naming a CUDA device on a machine without one; one line naming ``path``.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    location = map_location or "cpu"
    if isinstance(location, str | torch.device):
        try:
            device = torch.device(location)
        except (RuntimeError, ValueError) as err:
            raise CheckpointError(f"{path}: map_location={location!r} is not a device") from err
        if device.type == "cuda" and not torch.cuda.is_available():
            raise CheckpointError(
                f"{path}: map_location={location!r} names a CUDA device, but this machine has "
                f"none available; use map_location='cpu'"
            )
    if path.stat().st_size == 0:
        raise CheckpointError(f"{path} is empty (0 bytes): not a checkpoint")
    try:
        checkpoint = torch.load(path, map_location=location, weights_only=True)
    except Exception as err:
        raise CheckpointError(
            f"{path} is not a checkpoint pointea can load safely (weights_only=True refused "
            f"it: {_first_line(err)})"
        ) from err
    if not isinstance(checkpoint, dict):
        raise CheckpointError(f"{path} holds a {type(checkpoint).__name__}, not a checkpoint")
    return checkpoint


def _pointea_entry(checkpoint: Any, source: str) -> dict[str, Any]:
    meta = checkpoint.get("pointea") if isinstance(checkpoint, Mapping) else None
    if not isinstance(meta, dict) or "model" not in meta:
        raise CheckpointError(
            f"{source} was not written by pointea's train.py (no 'pointea' metadata)"
        )
    return meta


# --- upgrading older forms --------------------------------------------------------------

# Version 1 network configs: the attention kind by name and its options beside it.
_OLD_OPTION_NAMES = {"k": "local_k"}
_OLD_OPTIONS = ("attention", "memory_size", "num_heads", "local_k")
# Offset attention's own layers: directly in its block in version 1, in the block's mixer after.
_OFFSET_WEIGHTS = re.compile(r"^(.*attention\.blocks\.\d+\.)(query_key|value)\.")


def _attention_node(kind: str, source: str) -> dict[str, Any]:
    nodes = {path.stem: node for path, node in group_nodes("model/attention").items()}
    if kind not in nodes:
        raise CheckpointError(f"{source}: attention {kind!r} is not one of {sorted(nodes)}")
    return dict(nodes[kind])


def _to_version_2(checkpoint: dict[str, Any], source: str) -> dict[str, Any]:
    meta = checkpoint["pointea"]
    old = dict(meta["model"])
    kind = old.get("attention")
    if not isinstance(kind, str):
        raise CheckpointError(f"{source}: its network config has no attention kind ({old!r})")
    node = _attention_node(kind, source)
    for key in node:
        old_key = _OLD_OPTION_NAMES.get(key, key)
        if not key.startswith("_") and old_key in old:
            node[key] = old[old_key]
    model = {k: v for k, v in old.items() if k not in _OLD_OPTIONS}
    model["attention"] = node
    upgraded = dict(checkpoint)
    upgraded["pointea"] = {
        **{k: v for k, v in meta.items() if k != "layout"},
        "model": model,
        "version": 2,
    }
    upgraded["state_dict"] = {
        _OFFSET_WEIGHTS.sub(r"\1mixer.\2.", key): value
        for key, value in checkpoint.get("state_dict", {}).items()
    }
    return upgraded


def _to_version_3(checkpoint: dict[str, Any], source: str) -> dict[str, Any]:
    meta = dict(checkpoint["pointea"])
    tasks = task_configs()
    if meta.get("task") not in tasks:
        raise CheckpointError(
            f"{source}: task {meta.get('task')!r} is not one of {', '.join(sorted(tasks))}"
        )
    if meta["task"] == "seg":  # version 2 named a segmenter's parts and categories as classes
        meta["num_parts"] = meta.pop("num_classes", None)
        meta["categories"] = meta.pop("class_names", None)
    elif not meta.get("category_parts"):
        meta.pop("category_parts", None)
    meta["trained_model"] = tasks[meta["task"]]["trained_model"]["_target_"]
    meta["version"] = 3
    return {**checkpoint, "pointea": meta}


def upgrade_checkpoint(checkpoint: dict[str, Any], source: str = "checkpoint") -> dict[str, Any]:
    """The checkpoint in the current form (returned as is when it already is).

    Version 1 (no ``version``) held the attention as a kind name with its options beside it
    and offset attention's weights outside its block's ``mixer``; version 2 named a
    segmenter's parts and categories ``num_classes`` and ``class_names`` and did not record
    the trained-model kind. The weights are unchanged, so the converted network computes
    what the old one did.
    """
    version = _pointea_entry(checkpoint, source).get("version", 1)
    if version == METADATA_VERSION:
        return checkpoint
    if not isinstance(version, int) or isinstance(version, bool) or version > METADATA_VERSION:
        raise CheckpointError(
            f"{source}: metadata version {version!r} is not one this pointea reads (1 to "
            f"{METADATA_VERSION}); a newer pointea wrote it"
        )
    if version < 2:
        checkpoint = _to_version_2(checkpoint, source)
    return _to_version_3(checkpoint, source)


# --- the metadata as data ---------------------------------------------------------------

_PLAIN = (str, int, float, bool, type(None))


def _check_plain(node: Any, source: str, where: str) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if not isinstance(key, str):
                raise CheckpointError(f"{source}: {where} has a key {key!r} that is not a string")
            _check_plain(value, source, f"{where}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            _check_plain(value, source, f"{where}[{i}]")
    elif not isinstance(node, _PLAIN):
        raise CheckpointError(
            f"{source}: {where} holds a {type(node).__name__}; a stored config holds only "
            f"strings, numbers, booleans, null, lists and mappings"
        )


def trained_model_kind(
    meta: Mapping[str, Any], source: str, config_dirs: ConfigDirs = ()
) -> type[TrainedModel]:
    """The trained-model kind the metadata names, resolved only among the kinds the task
    config group names (``task/*.yaml``'s ``trained_model._target_``)."""
    tasks = task_configs(config_dirs)
    task = meta.get("task")
    if task not in tasks:
        raise CheckpointError(f"{source}: task {task!r} is not one of {', '.join(sorted(tasks))}")
    expected = tasks[task].get("trained_model", {}).get("_target_")
    if meta.get("trained_model") != expected:
        raise CheckpointError(
            f"{source}: trained_model={meta.get('trained_model')!r} is not the kind task={task} "
            f"names ({expected!r})"
        )
    return resolve_target(expected, {expected}, source)


def checkpoint_metadata(
    checkpoint: Mapping[str, Any], source: str, *, config_dirs: ConfigDirs = ()
) -> dict[str, Any]:
    """Whether this is a pointea checkpoint, of which task, with which network: its validated
    metadata (``task``, ``model``, ...), or a one-line :class:`CheckpointError`.

    The metadata must be of the current version (:func:`upgrade_checkpoint` converts older
    ones), plain data, with counts and names that agree, and a network whose every
    ``_target_`` is on the allow-list of pointea's network config groups and
    ``config_dirs``. Nothing is built or imported beyond pointea's own trained-model kinds.
    """
    meta = _pointea_entry(checkpoint, source)
    if meta.get("version") != METADATA_VERSION:
        raise CheckpointError(
            f"{source} was written by an older pointea (metadata version "
            f"{meta.get('version', 1)}, this one reads {METADATA_VERSION}); convert it once "
            f"with `python -m pointea.cli.checkpoint_upgrade {source} NEW.ckpt` and use NEW.ckpt"
        )
    _check_plain(meta, source, "metadata")
    num_points = meta.get("num_points")
    if isinstance(num_points, bool) or not isinstance(num_points, int) or num_points < 1:
        raise CheckpointError(f"{source}: num_points={num_points!r}; expected an integer >= 1")
    model = meta["model"]
    if not isinstance(model, dict) or not isinstance(model.get("_target_"), str):
        raise CheckpointError(f"{source}: its network config has no _target_ ({model!r})")
    trained_model_kind(meta, source, config_dirs).check_metadata(meta, source)
    check_targets(model, group_targets(NETWORK_GROUPS, config_dirs), source)
    return meta


# --- the network and the trained model ---------------------------------------------------


def build_network(meta: Mapping[str, Any], source: str, config_dirs: ConfigDirs = ()) -> nn.Module:
    """The network ``meta["model"]`` describes, untrained, built through the allow-list."""
    network = build_node(meta["model"], group_targets(NETWORK_GROUPS, config_dirs), source)
    if not isinstance(network, nn.Module):
        raise CheckpointError(f"{source}: its network config builds a {type(network).__name__}")
    return network


def load_weights(network: nn.Module, checkpoint: Mapping[str, Any], source: str) -> None:
    """Load the checkpoint's network weights (its weight average when it has one) into
    ``network``; weights that do not fit it are one line naming ``source`` and the tensor."""
    state = checkpoint.get("state_dict")
    if not isinstance(state, dict):
        raise CheckpointError(f"{source} holds no state_dict")
    weights = {k.removeprefix("model."): v for k, v in state.items() if k.startswith("model.")}
    average = checkpoint.get(EMA_KEY)
    if isinstance(average, dict) and isinstance(average.get("weights"), dict):
        weights.update(average["weights"])
    expected = network.state_dict()
    missing = sorted(expected.keys() - weights.keys())
    unexpected = sorted(weights.keys() - expected.keys())
    wrong = [k for k in expected.keys() & weights.keys()
             if not torch.is_tensor(weights[k]) or weights[k].shape != expected[k].shape]  # fmt: skip
    if missing or unexpected or wrong:
        if wrong:
            key = sorted(wrong)[0]
            found = getattr(weights[key], "shape", type(weights[key]).__name__)
            fault = f"{key} is {tuple(found)}, the network's is {tuple(expected[key].shape)}"
        else:
            fault = f"missing {missing[:3]}" if missing else f"unexpected {unexpected[:3]}"
        raise CheckpointError(
            f"{source}: its weights do not fit the network its metadata describes ({fault})"
        )
    network.load_state_dict(weights)


def load_network(
    path: str | Path,
    *,
    task: str | None = None,
    map_location: Any = "cpu",
    config_dirs: ConfigDirs = (),
) -> tuple[nn.Module, dict[str, Any]]:
    """The checkpoint's network in eval mode and its validated metadata.

    Older checkpoints are upgraded in memory. A checkpoint trained with ``task.ema_decay``
    yields its averaged weights. ``task`` refuses a checkpoint of another task;
    ``config_dirs`` are config folders whose ``model`` groups add allowed ``_target_``s.
    """
    source = str(path)
    checkpoint = upgrade_checkpoint(load_checkpoint(path, map_location), source)
    meta = checkpoint_metadata(checkpoint, source, config_dirs=config_dirs)
    if task is not None and meta["task"] != task:
        raise CheckpointError(
            f"{source} is a task={meta['task']} checkpoint; a task={task} checkpoint is needed here"
        )
    network = build_network(meta, source, config_dirs)
    load_weights(network, checkpoint, source)
    return network.to(map_location).eval(), meta


def load_model(
    path: str | Path, map_location: Any = "cpu", *, config_dirs: ConfigDirs = ()
) -> TrainedModel:
    """A trained pointea checkpoint as a :class:`~pointea.trained_model.TrainedModel`.

    ``config_dirs``: your own config folders (as given to ``hydra.searchpath``), whose
    networks and attention kinds the checkpoint may then name. Example::

        model = pointea.load_model("outputs/cls-modelnet40/RUN/checkpoints/last.ckpt")
        model.predict(points)["classes"]  # points: (N, 3) or (B, N, 3), any units
    """
    network, meta = load_network(path, map_location=map_location, config_dirs=config_dirs)
    return trained_model_kind(meta, str(path), config_dirs)(network, meta)


def run_folder(ckpt_path: str | Path) -> Path | None:
    """The run folder a checkpoint belongs to: ``RUN`` for ``RUN/checkpoints/NAME.ckpt``
    beside ``RUN/config.yaml``; None for a checkpoint anywhere else."""
    path = Path(ckpt_path).resolve()
    folder = path.parent.parent
    if path.parent.name == "checkpoints" and (folder / "config.yaml").is_file():
        return folder
    return None
