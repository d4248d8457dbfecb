"""Building objects from stored config nodes through an allow-list, never an arbitrary import.

A checkpoint's metadata describes its network as a config node (``_target_``, options,
nested nodes such as the attention). Hydra's ``instantiate`` would import and call any
``_target_`` it names, so a forged checkpoint could run ``builtins.open`` or
``subprocess.run``. Here a node is built only when every ``_target_`` in it is one that a
config group names: pointea's own (``pointea/configs``) or a config folder the caller adds
(the folders a CLI's ``hydra.searchpath`` names, or ``load_model(config_dirs=)``). A user's
own attention kind in their own config folder therefore loads; nothing else is imported.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import partial
from importlib import import_module
from pathlib import Path
from typing import Any

import yaml

from pointea.checkpoint_error import CheckpointError
from pointea.configs import CONFIG_DIR

__all__ = [
    "NETWORK_GROUPS",
    "build_node",
    "check_targets",
    "config_dirs_from_searchpath",
    "group_nodes",
    "group_targets",
    "resolve_target",
    "task_configs",
]

# The config groups whose targets a checkpoint's network may name: the networks and their
# attention kinds.
NETWORK_GROUPS = ("model", "model/attention")
# Keys of a node that Hydra reads; a stored node may use only these of them.
_NODE_KEYS = {"_target_", "_partial_"}


def config_dirs_from_searchpath(searchpath: Iterable[str] | None) -> list[Path]:
    """The local folders of a ``hydra.searchpath`` list (``file://DIR`` or a plain path);
    ``pkg://`` entries are packages, not folders, and are skipped."""
    dirs = []
    for entry in searchpath or ():
        entry = str(entry)
        if entry.startswith("pkg://"):
            continue
        dirs.append(Path(entry.removeprefix("file://")))
    return dirs


def _all_dirs(config_dirs: Iterable[str | Path]) -> list[Path]:
    return [CONFIG_DIR, *(Path(d) for d in config_dirs)]


def group_nodes(group: str, config_dirs: Iterable[str | Path] = ()) -> dict[Path, Any]:
    """Every option file of a config group (``CONFIG_DIR/group/*.yaml`` and the same group in
    each of ``config_dirs``), read as plain data."""
    nodes = {}
    for folder in _all_dirs(config_dirs):
        for path in sorted((folder / group).glob("*.yaml")):
            try:
                nodes[path] = yaml.safe_load(path.read_text())
            except (OSError, yaml.YAMLError) as err:
                raise CheckpointError(f"{path}: not a readable config file ({err})") from err
    return nodes


def _targets(node: Any) -> set[str]:
    if isinstance(node, Mapping):
        found = {node["_target_"]} if isinstance(node.get("_target_"), str) else set()
        return found.union(*(_targets(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(_targets(v) for v in node))
    return set()


def group_targets(groups: Iterable[str], config_dirs: Iterable[str | Path] = ()) -> set[str]:
    """Every ``_target_`` named anywhere in the options of ``groups``: the allow-list."""
    return set().union(
        *(_targets(node) for group in groups for node in group_nodes(group, config_dirs).values())
    )


def task_configs(config_dirs: Iterable[str | Path] = ()) -> dict[str, dict[str, Any]]:
    """The task config group by task name (``task/cls.yaml``'s ``name: cls`` ...)."""
    tasks = {}
    for node in group_nodes("task", config_dirs).values():
        if isinstance(node, dict) and isinstance(node.get("name"), str):
            tasks.setdefault(node["name"], node)
    return tasks


def check_targets(node: Any, allowed: set[str], source: str, where: str = "model") -> None:
    """Refuse a node naming a ``_target_`` outside ``allowed`` or Hydra keys beyond
    ``_target_`` and ``_partial_``, in one line naming ``source`` and the target."""
    if isinstance(node, Mapping):
        target = node.get("_target_")
        if "_target_" in node and (not isinstance(target, str) or target not in allowed):
            raise CheckpointError(
                f"{source}: refused to build {target!r} (at {where}): a checkpoint may name "
                f"only the networks and attention kinds of pointea's config groups and of "
                f"the config folders given"
            )
        if not isinstance(node.get("_partial_", False), bool):
            raise CheckpointError(f"{source}: {where}._partial_ must be true or false")
        for key, value in node.items():
            if not isinstance(key, str) or key.startswith("_") and key not in _NODE_KEYS:
                raise CheckpointError(f"{source}: {where}.{key} is not allowed in a stored config")
            check_targets(value, allowed, source, f"{where}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            check_targets(value, allowed, source, f"{where}[{i}]")


def resolve_target(target: str, allowed: set[str], source: str) -> Any:
    """The object a dotted ``_target_`` on the allow-list names (``pkg.module.Name``)."""
    if not isinstance(target, str) or target not in allowed:
        raise CheckpointError(f"{source}: refused to build {target!r}: not on the allow-list")
    parts = target.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            found: Any = import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for name in parts[cut:]:
                found = getattr(found, name)
        except AttributeError:
            break
        return found
    raise CheckpointError(f"{source}: {target!r} cannot be imported")


def build_node(node: Any, allowed: set[str], source: str) -> Any:
    """The object a plain-data config node describes, every ``_target_`` checked first.

    Nested nodes are built first and passed as arguments; ``_partial_: true`` gives a
    :func:`functools.partial` (as an attention kind's node does: ``channels -> mixer``).
    """
    check_targets(node, allowed, source)
    return _build(node, allowed, source)


def _build(node: Any, allowed: set[str], source: str) -> Any:
    if isinstance(node, Mapping):
        options = {k: _build(v, allowed, source) for k, v in node.items() if k not in _NODE_KEYS}
        if "_target_" not in node:
            return options
        factory = resolve_target(node["_target_"], allowed, source)
        return partial(factory, **options) if node.get("_partial_") else factory(**options)
    if isinstance(node, list):
        return [_build(v, allowed, source) for v in node]
    return node
