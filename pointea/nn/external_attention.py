"""External attention.

"Beyond Self-attention: External Attention using Two Linear Layers for Visual Tasks",
Guo et al., 2021, https://arxiv.org/abs/2105.02358
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["ExternalAttention"]

EPS = 1e-9


def double_normalise(logits: torch.Tensor, point_dim: int) -> torch.Tensor:
    """Softmax over the points, then L1-normalise each point's row over the memory slots."""
    attn = logits.softmax(dim=point_dim)
    return attn / (EPS + attn.sum(dim=-1, keepdim=True))


class ExternalAttention(nn.Module):
    """Attention of every point to S learnable memory slots shared by the whole dataset.

    B batch, N points, C channels, S memory slots. ``memory_key`` holds M_k (S, C) and
    ``memory_value`` holds M_v (C, S); cost is O(N S C), linear in N. The layer is exactly
    the formula; residual paths and norms belong to the block that uses it.

    Shapes:
        x: (B, N, C) -> (B, N, C)
    """

    def __init__(self, channels: int, memory_size: int = 64) -> None:
        super().__init__()
        if memory_size < 1:
            raise ValueError(f"memory_size must be at least 1, got {memory_size}")
        self.memory_key = nn.Linear(channels, memory_size, bias=False)
        self.memory_value = nn.Linear(memory_size, channels, bias=False)

    def forward(self, x: torch.Tensor, pos: torch.Tensor | None = None) -> torch.Tensor:
        """``pos`` is accepted for a uniform interface and unused."""
        attn = double_normalise(self.memory_key(x), point_dim=1)  # (B, N, S)
        return self.memory_value(attn)  # (B, N, C)
