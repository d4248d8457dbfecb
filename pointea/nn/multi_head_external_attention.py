"""Multi-head external attention.

"Beyond Self-attention: External Attention using Two Linear Layers for Visual Tasks",
Guo et al., 2021, https://arxiv.org/abs/2105.02358
"""

from __future__ import annotations

import torch
from torch import nn

from pointea.nn.external_attention import check_ragged, double_normalise

__all__ = ["MultiHeadExternalAttention"]


class MultiHeadExternalAttention(nn.Module):
    """External attention over H heads that share the two memories.

    B batch, N points, P points of a ragged batch (all clouds), C channels, H heads, S memory
    slots, E = C * expansion, D = E / H.
    The input is expanded to E channels, split into H heads of width D; every head
    attends to the same memories M_k (S, D) and M_v (D, S) with double normalisation;
    heads are concatenated and projected back to C.

    A ragged PyG batch, ``x`` (P, C) with ``batch`` (P,) giving each point's cloud, is
    taken without padding: each head's softmax runs over each cloud's own points. ``x``
    (P, C) without ``batch`` is one cloud.

    Shapes:
        x: (B, N, C) -> (B, N, C)
        x: (P, C), batch: (P,) int64 -> (P, C)
    """

    def __init__(
        self,
        channels: int,
        num_heads: int = 8,
        memory_size: int = 64,
        expansion: int = 4,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if memory_size < 1:
            raise ValueError(f"memory_size must be at least 1, got {memory_size}")
        expanded = channels * expansion
        if expanded % num_heads:
            raise ValueError(
                f"channels * expansion ({channels} * {expansion} = {expanded}) must be "
                f"divisible by num_heads ({num_heads})"
            )
        self.num_heads = num_heads
        head_dim = expanded // num_heads
        self.expand = nn.Linear(channels, expanded)
        self.memory_key = nn.Linear(head_dim, memory_size, bias=False)
        self.memory_value = nn.Linear(memory_size, head_dim, bias=False)
        self.dropout = nn.Dropout(dropout)
        self.project = nn.Linear(expanded, channels)

    def forward(
        self,
        x: torch.Tensor,
        pos: torch.Tensor | None = None,
        *,
        batch: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """``pos`` is accepted for a uniform interface and unused; ``batch`` (P,) gives
        each point's cloud when ``x`` is a ragged (P, C) batch."""
        check_ragged(x, batch)
        points = x.shape[:-1]  # (B, N) or (P,)
        heads = self.expand(x).reshape(*points, self.num_heads, -1)  # (B, N, H, D) or (P, H, D)
        point_dim = len(points) - 1
        attn = double_normalise(self.memory_key(heads), point_dim, batch)  # (..., H, S)
        out = self.memory_value(self.dropout(attn))  # (..., H, D)
        return self.project(out.reshape(*points, -1))  # (B, N, C) or (P, C)
