"""Value checks on a composed configuration, one function per concern, run before any work.

Each refusal is a :class:`ConfigError` naming ``key=value`` and what is allowed, so
:func:`~pointea.error_boundary.exit_on_user_error` prints it as one line.
"""

from __future__ import annotations

from typing import Any

from omegaconf import DictConfig

from pointea.config_error import ConfigError
from pointea.tasks.weight_average import check_decay

__all__ = [
    "check_data_values",
    "check_model_values",
    "check_predict_values",
    "check_stored_points",
    "check_task_values",
    "check_train_values",
    "check_visualize_values",
]


def _at_least(key: str, value: Any, low: int, why: str = "") -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ConfigError(f"{key}={value!r} is not allowed: expected an integer >= {low}{why}")


def check_data_values(cfg: DictConfig) -> None:
    """``data.num_points``, ``data.batch_size``, ``data.eval_batch_size``, ``data.val_fraction``."""
    data = cfg.data
    _at_least("data.num_points", data.num_points, 1)
    _at_least("data.batch_size", data.batch_size, 1)
    if data.get("eval_batch_size") is not None:
        _at_least("data.eval_batch_size", data.eval_batch_size, 1)
    fraction = data.get("val_fraction")
    if fraction is not None and (
        isinstance(fraction, bool) or not isinstance(fraction, int | float) or not 0 < fraction < 1
    ):
        raise ConfigError(
            f"data.val_fraction={fraction!r} is not allowed: expected a number strictly between "
            f"0 and 1 (the share of train carved out for validation)"
        )


def check_task_values(cfg: DictConfig) -> None:
    """``task.votes``: 1 (no voting) or more; ``task.ema_decay``: null (off) or in (0, 1)."""
    _at_least("task.votes", cfg.task.votes, 1, " (1: no test-time voting)")
    decay = cfg.task.get("ema_decay")
    if decay is not None:
        try:
            check_decay(decay)
        except ValueError as err:
            raise ConfigError(str(err)) from None


def check_model_values(cfg: DictConfig) -> None:
    """Memory size, neighbour counts and sample counts of the network ``cfg.model``.

    The points available shrink stage by stage: ``data.num_points`` input points, then each
    of ``model.num_samples`` (classification). Every neighbour-embedding stage takes
    ``model.k`` neighbours among the points it starts from. The attention node
    (``model/attention=KIND``) is checked for the sizes it has: ``memory_size`` (external
    attention's memory slots) and ``k`` (a neighbourhood attention's neighbours, taken
    among the points the attention runs on).
    """
    network = cfg.model
    attention = network.get("attention") or {}
    if "memory_size" in attention:
        _at_least(
            "model.attention.memory_size",
            attention.memory_size,
            1,
            " (external attention's memory slots)",
        )
    _at_least("model.k", network.k, 1)
    if "k" in attention:
        _at_least("model.attention.k", attention.k, 1, " (the attention's neighbours)")
    num_points = cfg.data.num_points
    samples = list(network.get("num_samples") or [])
    available = [num_points]  # points at the start of each stage
    for i, count in enumerate(samples):
        key = f"model.num_samples[{i}]"
        _at_least(key, count, 1)
        if i == 0 and count > num_points:
            raise ConfigError(
                f"data.num_points={num_points} is not allowed: the network samples {key}={count} "
                f"points from it; expected at least {count}"
            )
        if count > available[-1]:
            source = f"model.num_samples[{i - 1}]"
            raise ConfigError(
                f"{key}={count} is not allowed: the stage samples from {available[-1]} points "
                f"({source}={available[-1]}); expected at most {available[-1]}"
            )
        available.append(count)
    stages = available[:-1] if samples else available  # points each kNN stage searches
    fewest = min(stages)
    if network.k > fewest:
        where = "data.num_points" if fewest == num_points else "a sampled stage"
        raise ConfigError(
            f"model.k={network.k} is not allowed: a neighbour-embedding stage has only {fewest} "
            f"points ({where}); expected at most {fewest}"
        )
    if "k" in attention and attention.k > available[-1]:
        raise ConfigError(
            f"model.attention.k={attention.k} is not allowed: the attention runs on "
            f"{available[-1]} points; expected at most {available[-1]}"
        )


def check_train_values(cfg: DictConfig) -> None:
    """Every value check of a ``train.py`` run that needs only the configuration."""
    check_data_values(cfg)
    check_task_values(cfg)
    check_model_values(cfg)


def check_stored_points(cfg: DictConfig, stored: int, source: str) -> None:
    """``data.num_points`` cannot exceed the points each shape of the release stores."""
    if cfg.data.num_points > stored:
        raise ConfigError(
            f"data.num_points={cfg.data.num_points} is not allowed: the shapes in {source} store "
            f"{stored} points; expected at most {stored}"
        )


def check_visualize_values(cfg: DictConfig) -> None:
    _at_least("num_shapes", cfg.num_shapes, 1)


def check_predict_values(cfg: DictConfig) -> None:
    _at_least("mesh_points", cfg.mesh_points, 1, " (surface samples taken from a mesh)")
