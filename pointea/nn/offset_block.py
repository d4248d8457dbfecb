"""PCT's offset residual around any token mixer."""

from __future__ import annotations

import torch
from torch import nn

from pointea.nn.mlp import LinearBNAct

__all__ = ["OffsetBlock"]


class OffsetBlock(nn.Module):
    """``x + LBR(x - mixer(x, pos))``: PCT's offset path around an attention layer.

    "PCT: Point Cloud Transformer", Guo et al., 2021, https://arxiv.org/abs/2012.09688
    The offset ``x - attended`` acts like a discrete Laplacian; this is how PCT wraps its
    attention, and how external attention replaces offset attention inside PCT. Every
    attention kind is a plain mixer inside this block: with :class:`OffsetAttention` as
    the mixer it is PCT's offset attention exactly.

    Shapes:
        x: (B, N, C); pos: (B, N, 3) -> (B, N, C)
    """

    def __init__(self, mixer: nn.Module, channels: int) -> None:
        super().__init__()
        self.mixer = mixer
        self.offset = LinearBNAct(channels, channels, bias=True)

    def forward(self, x: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
        return x + self.offset(x - self.mixer(x, pos))
