"""The stack of attention blocks shared by the classification and segmentation networks."""

from __future__ import annotations

import torch
from torch import nn

from pointea.nn import (
    ExternalAttention,
    LocalSelfAttention,
    MultiHeadExternalAttention,
    OffsetAttention,
    OffsetBlock,
)

__all__ = ["ATTENTION_KINDS", "AttentionStack", "build_attention_block"]

ATTENTION_KINDS = ("external", "multihead_external", "offset", "local")


def build_attention_block(
    attention: str, channels: int, *, memory_size: int, num_heads: int, local_k: int
) -> nn.Module:
    """One PCT block ``(x, pos) -> x`` whose token mixer is the named attention."""
    if attention == "offset":
        return OffsetAttention(channels)
    if attention == "external":
        mixer: nn.Module = ExternalAttention(channels, memory_size=memory_size)
    elif attention == "multihead_external":
        mixer = MultiHeadExternalAttention(channels, num_heads=num_heads, memory_size=memory_size)
    elif attention == "local":
        mixer = LocalSelfAttention(channels, k=local_k, num_heads=num_heads)
    else:
        raise ValueError(f"attention must be one of {ATTENTION_KINDS}, got {attention!r}")
    return OffsetBlock(mixer, channels)


class AttentionStack(nn.Module):
    """``num_blocks`` attention blocks in sequence; returns every block's output, concatenated.

    B batch, N points, C channels.

    Shapes:
        x: (B, N, C); pos: (B, N, 3) -> (B, N, num_blocks * C)
    """

    def __init__(
        self,
        channels: int,
        num_blocks: int = 4,
        *,
        attention: str = "external",
        memory_size: int = 64,
        num_heads: int = 8,
        local_k: int = 16,
    ) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(
            build_attention_block(
                attention, channels, memory_size=memory_size, num_heads=num_heads, local_k=local_k
            )
            for _ in range(num_blocks)
        )

    def forward(self, x: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
        outputs = []
        for block in self.blocks:
            x = block(x, pos)
            outputs.append(x)
        return torch.cat(outputs, dim=-1)  # (B, N, num_blocks * C)
