"""Value checks on a composed configuration, one function per concern, run before any work.

Each refusal is a :class:`ConfigError` naming ``key=value`` and what is allowed, so
:func:`~pointea.error_boundary.exit_on_user_error` prints it as one line.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Sequence
from typing import Any, get_args, get_origin, get_type_hints

from hydra.utils import get_object
from omegaconf import DictConfig, OmegaConf
from torch import nn

from pointea.config_error import ConfigError
from pointea.data.release_tables import COUNT_KEYS
from pointea.tasks.weight_average import check_decay

__all__ = [
    "ATTENTION_WIDTH",
    "RUN_VALUES",
    "check_data_values",
    "check_model_values",
    "check_network_values",
    "check_predict_values",
    "check_run_values",
    "check_schedule_values",
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
    check_run_values(cfg)


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


# --- Run values: the trainer, the optimiser and schedule, the seed and loader, the network's
# sizes. A value that would run yet mean nothing (a NaN learning rate, no epochs, no
# batches) is refused before anything is made, naming the key.


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_finite(value: Any) -> bool:
    return (_is_int(value) or isinstance(value, float)) and math.isfinite(value)


def _is_fraction_or_count(value: Any) -> bool:
    """Lightning's ``limit_*_batches``: a count of batches (int) or a share of them (float)."""
    if _is_int(value):
        return value >= 1
    return isinstance(value, float) and 0.0 < value <= 1.0


_BATCHES = "an integer >= 1 (batches) or a number in (0, 1] (a share of the batches)"

# key -> (allowed?, what is allowed). A key the config lacks is not checked; null is a value
# like any other and must be allowed explicitly.
RUN_VALUES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "seed": (
        lambda v: _is_int(v) and 0 <= v <= 2**32 - 1,
        "an integer in [0, 4294967295] (what numpy accepts)",
    ),
    "data.num_workers": (
        lambda v: _is_int(v) and v >= 0,
        "an integer >= 0 (0: load in the main process)",
    ),
    "trainer.max_epochs": (
        lambda v: _is_int(v) and v >= 1,
        "an integer >= 1 (the cosine schedule's T_max is the number of epochs)",
    ),
    "trainer.max_steps": (
        lambda v: _is_int(v) and (v == -1 or v >= 1),
        "-1 (no step limit) or an integer >= 1",
    ),
    "trainer.limit_train_batches": (_is_fraction_or_count, _BATCHES),
    "trainer.limit_val_batches": (
        lambda v: (v == 0 and not isinstance(v, bool)) or _is_fraction_or_count(v),
        _BATCHES + ", or 0 (no validation: the last checkpoint is tested)",
    ),
    "trainer.limit_test_batches": (_is_fraction_or_count, _BATCHES),
    "trainer.accumulate_grad_batches": (lambda v: _is_int(v) and v >= 1, "an integer >= 1"),
    "trainer.check_val_every_n_epoch": (
        lambda v: v is None or _is_int(v) and v >= 1,
        "an integer >= 1 or null",
    ),
    "trainer.log_every_n_steps": (lambda v: _is_int(v) and v >= 1, "an integer >= 1"),
    "trainer.gradient_clip_val": (
        lambda v: v is None or _is_finite(v) and v >= 0,
        "a finite number >= 0 or null (no clipping)",
    ),
    "optim.optimizer.lr": (lambda v: _is_finite(v) and v > 0, "a finite number > 0"),
    "optim.optimizer.weight_decay": (lambda v: _is_finite(v) and v >= 0, "a finite number >= 0"),
    "optim.optimizer.momentum": (lambda v: _is_finite(v) and 0 <= v < 1, "a number in [0, 1)"),
    "optim.optimizer.eps": (lambda v: _is_finite(v) and v > 0, "a finite number > 0"),
    "optim.optimizer.betas": (
        lambda v: (
            isinstance(v, Sequence)
            and not isinstance(v, str)
            and len(v) == 2
            and all(_is_finite(b) and 0 <= b < 1 for b in v)
        ),
        "two numbers in [0, 1), e.g. [0.9, 0.999]",
    ),
    "optim.scheduler.T_max": (
        lambda v: _is_int(v) and v >= 1,
        "an integer >= 1 (epochs of one cosine half-period)",
    ),
    "optim.scheduler.eta_min": (lambda v: _is_finite(v) and v >= 0, "a finite number >= 0"),
}

_ABSENT = object()


def _plain(value: Any) -> Any:
    return OmegaConf.to_container(value, resolve=True) if OmegaConf.is_config(value) else value


def _non_finite(node: Any, key: str) -> tuple[str, Any] | None:
    """The first NaN or infinity in a config node, with its key."""
    if isinstance(node, dict):
        for name, value in node.items():
            found = _non_finite(value, f"{key}.{name}")
            if found:
                return found
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found = _non_finite(value, f"{key}[{i}]")
            if found:
                return found
    elif isinstance(node, float) and not math.isfinite(node):
        return key, node
    return None


def check_schedule_values(cfg: DictConfig) -> None:
    """The seed, the loader, the trainer's loop sizes and the optimiser and schedule
    (:data:`RUN_VALUES`); no NaN or infinity anywhere under ``optim``."""
    for key, (allowed, expected) in RUN_VALUES.items():
        value = OmegaConf.select(cfg, key, default=_ABSENT)
        if value is _ABSENT:
            continue
        value = _plain(value)
        if not allowed(value):
            raise ConfigError(f"{key}={value!r} is not allowed: expected {expected}")
    found = _non_finite(_plain(cfg.get("optim") or {}), "optim")
    if found:
        raise ConfigError(f"{found[0]}={found[1]!r} is not allowed: expected a finite number")


# The width each network's attention runs on: the config key and, for a list, its index.
ATTENTION_WIDTH: dict[str, tuple[str, int | None]] = {
    "pointea.models.point_transformer_cls.PointTransformerCls": ("stage_channels", 1),
    "pointea.models.point_transformer_seg.PointTransformerSeg": ("channels", None),
}


def _check_signature_values(node: DictConfig, where: str, cls: type) -> None:
    """The values of ``node`` against the annotations of ``cls.__init__``: an ``int`` is a
    size (>= 1), a ``float`` a finite number (a ``*dropout*`` one a probability in [0, 1)),
    a ``tuple[int, int]`` exactly that many sizes."""
    try:
        hints = get_type_hints(cls.__init__)
    except Exception:  # annotations that do not resolve say nothing checkable
        return
    for name in inspect.signature(cls.__init__).parameters:
        if name not in node or name not in hints:
            continue
        key, value, hint = f"{where}.{name}", _plain(node[name]), hints[name]
        if value is None and name in COUNT_KEYS:
            continue  # data=folder leaves its counts to its files; train.py reads them first
        if hint is int:
            _at_least(key, value, 1)
        elif hint is float and "dropout" in name:
            if not _is_finite(value) or not 0 <= value < 1:
                raise ConfigError(f"{key}={value!r} is not allowed: expected a number in [0, 1)")
        elif hint is float and not _is_finite(value):
            raise ConfigError(f"{key}={value!r} is not allowed: expected a finite number")
        elif get_origin(hint) is tuple and all(a is int for a in get_args(hint)):
            length = len(get_args(hint))
            if not isinstance(value, list) or len(value) != length:
                raise ConfigError(
                    f"{key}={value!r} is not allowed: expected a list of {length} integers >= 1"
                    f" ({cls.__name__} has exactly {length} of them)"
                )
            for i, item in enumerate(value):
                _at_least(f"{key}[{i}]", item, 1)


def _module_class(target: Any) -> type | None:
    """The ``nn.Module`` class a ``_target_`` names; None for anything else (which is never
    called here)."""
    if not isinstance(target, str):
        return None
    try:
        found = get_object(target)
    except Exception:  # an unknown target is reported where the network is built
        return None
    return found if isinstance(found, type) and issubclass(found, nn.Module) else None


def check_network_values(cfg: DictConfig) -> None:
    """The sizes of ``model.*`` and ``model.attention.*`` against what their classes accept,
    and the attention against the width it runs on (e.g. ``num_heads`` must divide it)."""
    network = _module_class(cfg.model.get("_target_"))
    if network is not None:
        _check_signature_values(cfg.model, "model", network)
    attention = cfg.model.get("attention")
    if not isinstance(attention, DictConfig):
        return
    mixer = _module_class(attention.get("_target_"))
    if mixer is None:
        return
    _check_signature_values(attention, "model.attention", mixer)
    if network is None:
        return
    width_at = ATTENTION_WIDTH.get(f"{network.__module__}.{network.__qualname__}")
    if width_at is None:
        return
    name, index = width_at
    width = cfg.model[name] if index is None else cfg.model[name][index]
    width_key = f"model.{name}" if index is None else f"model.{name}[{index}]"
    options = {k: _plain(v) for k, v in attention.items() if not str(k).startswith("_")}
    try:  # the attention's own constructor says which widths it runs on
        mixer(width, **options)
    except TypeError as err:
        raise ConfigError(
            f"model.attention holds an option {mixer.__name__} does not take: {err}"
        ) from None
    except ValueError as err:
        raise ConfigError(
            f"model/attention {mixer.__name__} cannot run on the network's width "
            f"{width_key}={width}: {err}"
        ) from None


def check_run_values(cfg: DictConfig) -> None:
    """The schedule's and the network's values (part of :func:`check_train_values`)."""
    check_schedule_values(cfg)
    check_network_values(cfg)
