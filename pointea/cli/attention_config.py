"""The attention kinds of ``configs/model/attention/``, for code that picks one by name
(benchmarks, tests, checkpoint conversion) outside a composed run config.

A kind is one file there; ``model/attention_tiny/KIND.yaml``, when it exists, holds the
smaller options the tiny networks merge over it (a kind without one keeps its own sizes).
"""

from __future__ import annotations

from typing import Any

from hydra.utils import instantiate
from omegaconf import OmegaConf

from pointea.config_error import ConfigError
from pointea.configs import CONFIG_DIR
from pointea.models import MixerFactory

__all__ = [
    "ATTENTION_CONFIGS",
    "TINY_ATTENTION_CONFIGS",
    "attention_factory",
    "attention_kind",
    "attention_kinds",
    "attention_node",
]

ATTENTION_CONFIGS = CONFIG_DIR / "model" / "attention"
TINY_ATTENTION_CONFIGS = CONFIG_DIR / "model" / "attention_tiny"


def attention_kinds() -> list[str]:
    """The kinds ``model/attention=KIND`` accepts, in the config group's (sorted) order."""
    return sorted(p.stem for p in ATTENTION_CONFIGS.glob("*.yaml"))


def attention_node(kind: str, *, tiny: bool = False) -> dict[str, Any]:
    """The config node of one kind, as plain data (``_target_``, ``_partial_``, options);
    with ``tiny``, its ``attention_tiny`` options merged over it, as ``pct_*_tiny`` do."""
    path = ATTENTION_CONFIGS / f"{kind}.yaml"
    if not path.is_file():
        raise ConfigError(
            f"attention {kind!r} is not one of {attention_kinds()} ({ATTENTION_CONFIGS})"
        )
    node = OmegaConf.load(path)
    small = TINY_ATTENTION_CONFIGS / f"{kind}.yaml"
    if tiny and small.is_file():
        node = OmegaConf.merge(node, OmegaConf.load(small))
    return OmegaConf.to_container(node)


def attention_factory(kind: str, *, tiny: bool = False, **options: Any) -> MixerFactory:
    """The mixer factory (``channels -> module``) of one kind at its configured options
    (``tiny``: the tiny networks' options), ``options`` replacing some of them."""
    return instantiate({**attention_node(kind, tiny=tiny), **options})


def attention_kind(node: dict[str, Any]) -> str:
    """The kind whose config builds ``node`` (a run's ``model.attention``): each kind has a
    class of its own, so its ``_target_`` names it."""
    target = node.get("_target_") if isinstance(node, dict) else None
    for kind in attention_kinds():
        if attention_node(kind)["_target_"] == target:
            return kind
    raise ConfigError(
        f"model.attention builds {target!r}, which no kind in {ATTENTION_CONFIGS} builds"
    )
