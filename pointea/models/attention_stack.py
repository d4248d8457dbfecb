"""The stack of attention blocks shared by the classification and segmentation networks."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from pointea.nn import OffsetBlock

__all__ = ["AttentionStack", "MixerFactory"]

# Builds one token mixer ``(x (B, N, C), pos (B, N, 3)) -> (B, N, C)`` for C channels: a
# layer class such as ``ExternalAttention`` or a partial of one carrying its options
# (what the ``model/attention`` config group builds with ``_partial_: true``).
MixerFactory = Callable[[int], nn.Module]


class AttentionStack(nn.Module):
    """``num_blocks`` PCT blocks in sequence; returns every block's output, concatenated.

    B batch, N points, C channels. Every block is an :class:`OffsetBlock` around a mixer
    made by ``attention(channels)``.

    Shapes:
        x: (B, N, C); pos: (B, N, 3) -> (B, N, num_blocks * C)
    """

    def __init__(self, channels: int, num_blocks: int = 4, *, attention: MixerFactory) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(
            OffsetBlock(attention(channels), channels) for _ in range(num_blocks)
        )

    def forward(self, x: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
        outputs = []
        for block in self.blocks:
            x = block(x, pos)
            outputs.append(x)
        return torch.cat(outputs, dim=-1)  # (B, N, num_blocks * C)
