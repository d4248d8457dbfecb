"""Point-wise Linear -> BatchNorm -> activation, the "LBR" of PCT."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["LinearBNAct"]

_ACTIVATIONS = {
    "relu": nn.ReLU,
    "leaky_relu": lambda: nn.LeakyReLU(0.2),
    "none": nn.Identity,
}


class LinearBNAct(nn.Module):
    """Shared per-point Linear, BatchNorm over channels, activation.

    Equivalent to PCT's 1x1 Conv1d + BatchNorm1d + act in channel-first layout, but
    applied to channels-last features of any leading shape: BatchNorm statistics are
    taken over every leading position, exactly as BatchNorm1d over (B, C, N) would.

    Shapes:
        x: (*, in_channels) -> (*, out_channels)
    """

    def __init__(
        self, in_channels: int, out_channels: int, *, bias: bool = False, act: str = "relu"
    ) -> None:
        super().__init__()
        if act not in _ACTIVATIONS:
            raise ValueError(f"act must be one of {sorted(_ACTIVATIONS)}, got {act!r}")
        self.linear = nn.Linear(in_channels, out_channels, bias=bias)
        self.norm = nn.BatchNorm1d(out_channels)
        self.act = _ACTIVATIONS[act]()

    def normalise(self, h: torch.Tensor) -> torch.Tensor:
        """BatchNorm + activation of an already-projected tensor (*, out_channels)."""
        shape = h.shape
        return self.act(self.norm(h.reshape(-1, shape[-1])).reshape(shape))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.normalise(self.linear(x))
