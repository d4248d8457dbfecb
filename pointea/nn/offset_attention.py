"""The self-attention of PCT's offset attention.

"PCT: Point Cloud Transformer", Guo et al., 2021, https://arxiv.org/abs/2012.09688
"""

from __future__ import annotations

import torch
from torch import nn

from pointea.nn.external_attention import EPS

__all__ = ["OffsetAttention"]


class OffsetAttention(nn.Module):
    """Global self-attention over all N points with PCT's double normalisation.

    B batch, N points, C channels. Queries and keys share one projection to C/4
    channels; the (B, N, N) attention map is softmaxed over keys, then each key's column
    is L1-normalised over the queries. Each point receives the values of the keys that
    attend to it, weighted by that normalised attention. Cost O(N^2 C): the quadratic
    baseline external attention replaces. Like every token mixer here it is only the
    attention; PCT's offset residual ``x + LBR(x - attended)`` is :class:`OffsetBlock`.

    Shapes:
        x: (B, N, C) -> (B, N, C)
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.query_key = nn.Linear(channels, channels // 4, bias=False)
        self.value = nn.Linear(channels, channels)

    def forward(self, x: torch.Tensor, pos: torch.Tensor | None = None) -> torch.Tensor:
        """``pos`` is accepted for a uniform interface and unused."""
        qk = self.query_key(x)  # (B, N, C/4)
        energy = torch.bmm(qk, qk.transpose(1, 2))  # (B, N_query, N_key)
        attn = energy.softmax(dim=-1)
        attn = attn / (EPS + attn.sum(dim=1, keepdim=True))
        return torch.bmm(attn.transpose(1, 2), self.value(x))  # (B, N, C)
