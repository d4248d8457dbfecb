"""Stand-alone local self-attention over k nearest neighbours.

"Stand-Alone Self-Attention in Vision Models", Ramachandran et al., 2019,
https://arxiv.org/abs/1906.05909, carried over from pixel windows to point neighbourhoods.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from pointea.ops import gather_points, knn

__all__ = ["LocalSelfAttention"]


class LocalSelfAttention(nn.Module):
    """Each point attends over its k nearest neighbours (itself included).

    B batch, N points, K neighbours, C channels, H heads, D = C / H. Per head the logit of
    neighbour j for point i is ``(q_i . k_j + q_i . r_ij) / sqrt(D)``, where ``r_ij`` is a
    learned embedding of the relative position ``p_j - p_i``; the output is the softmax
    over the K neighbours applied to ``v_j``, heads concatenated and projected.

    Shapes:
        x: (B, N, C); pos: (B, N, 3) -> (B, N, C)
    """

    def __init__(self, channels: int, k: int = 16, num_heads: int = 4) -> None:
        super().__init__()
        if k < 1:
            raise ValueError(f"k (neighbours) must be at least 1, got {k}")
        if channels % num_heads:
            raise ValueError(f"channels ({channels}) must be divisible by num_heads ({num_heads})")
        self.k = k
        self.num_heads = num_heads
        self.query = nn.Linear(channels, channels, bias=False)
        self.key_value = nn.Linear(channels, 2 * channels, bias=False)
        self.relative_position = nn.Sequential(
            nn.Linear(3, channels), nn.ReLU(), nn.Linear(channels, channels)
        )
        self.project = nn.Linear(channels, channels)

    def forward(self, x: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
        batch, num_points, channels = x.shape
        heads, head_dim = self.num_heads, channels // self.num_heads
        idx = knn(pos, pos, min(self.k, num_points))  # (B, N, K)
        neighbours = idx.shape[-1]
        q = self.query(x).reshape(batch, num_points, 1, heads, head_dim)  # (B, N, 1, H, D)
        kv = gather_points(self.key_value(x), idx)  # (B, N, K, 2C)
        k, v = kv.reshape(batch, num_points, neighbours, 2, heads, head_dim).unbind(3)
        rel = self.relative_position(gather_points(pos, idx) - pos.unsqueeze(2))  # (B, N, K, C)
        rel = rel.reshape(batch, num_points, neighbours, heads, head_dim)
        logits = (q * (k + rel)).sum(-1) / math.sqrt(head_dim)  # (B, N, K, H)
        attn = logits.softmax(dim=2)
        out = (attn.unsqueeze(-1) * v).sum(2)  # (B, N, H, D)
        return self.project(out.reshape(batch, num_points, channels))
