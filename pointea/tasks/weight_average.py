"""An exponential moving average of a network's weights, kept beside the training weights."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from pointea.checkpoint import EMA_KEY

__all__ = ["EMA_KEY", "WeightAverage", "check_decay", "check_same_decay"]


def check_decay(decay: Any, key: str = "task.ema_decay") -> None:
    """A weight average's decay must be a number in (0, 1); ``null`` (off) is checked by the
    caller. Raises ValueError naming ``key``."""
    if isinstance(decay, bool) or not isinstance(decay, int | float) or not 0.0 < decay < 1.0:
        raise ValueError(
            f"{key}={decay!r} is not allowed: expected a number in (0, 1), e.g. 0.999, or "
            f"null (off)"
        )


def check_same_decay(stored: Any, decay: float, source: str = "the checkpoint") -> None:
    """A resumed weight average keeps its decay: ``task.ema_decay`` must be the stored one.
    Raises ValueError naming ``source`` and the value to resume with."""
    if float(stored) != float(decay):
        raise ValueError(
            f"{source} holds a weight average with decay {stored}, but task.ema_decay={decay}: "
            f"resume with task.ema_decay={stored}"
        )


class WeightAverage:
    """``average = decay * average + (1 - decay) * weights`` after every optimiser step.

    Floating-point parameters and buffers (BatchNorm's running statistics) are averaged;
    integer buffers (``num_batches_tracked``) are copied. The average starts from the
    weights given to :meth:`reset`. Plain torch, no Lightning: ``PointTask`` calls it.

    Args:
        decay: in (0, 1), e.g. 0.999.
    """

    def __init__(self, decay: float) -> None:
        check_decay(decay)
        self.decay = float(decay)
        self.num_updates = 0
        self.weights: dict[str, torch.Tensor] = {}

    def reset(self, network: nn.Module) -> None:
        """Start the average at the network's current weights."""
        self.weights = {k: v.detach().clone() for k, v in network.state_dict().items()}
        self.num_updates = 0

    @torch.no_grad()
    def update(self, network: nn.Module) -> None:
        for name, value in network.state_dict().items():
            average = self.weights[name]
            if average.is_floating_point():
                average.lerp_(value.to(average.device), 1.0 - self.decay)
            else:
                average.copy_(value)
        self.num_updates += 1

    @torch.no_grad()
    def swap(self, network: nn.Module) -> None:
        """Exchange the network's weights and the average (twice restores both)."""
        for name, value in network.state_dict().items():
            average = self.weights[name]
            held = value.clone()
            value.copy_(average)
            average.copy_(held)

    def state_dict(self) -> dict[str, Any]:
        return {"decay": self.decay, "num_updates": self.num_updates, "weights": self.weights}

    def load_state_dict(self, state: dict[str, Any], device: torch.device | None = None) -> None:
        check_same_decay(state["decay"], self.decay)
        self.num_updates = int(state["num_updates"])
        self.weights = {
            k: v.to(device) if device else v.clone() for k, v in state["weights"].items()
        }
