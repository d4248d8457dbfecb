"""PCT offset attention.

"PCT: Point Cloud Transformer", Guo et al., 2021, https://arxiv.org/abs/2012.09688
"""

from __future__ import annotations

import torch
from torch import nn

from pointea.nn.external_attention import EPS
from pointea.nn.mlp import LinearBNAct

__all__ = ["OffsetAttention"]


class OffsetAttention(nn.Module):
    """Global self-attention over all N points with PCT's offset residual.

    B batch, N points, C channels. Queries and keys share one projection to C/4
    channels; the (B, N, N) attention map is softmaxed over keys, then each key's column
    is L1-normalised over the queries (PCT's double normalisation). Output
    ``x + LBR(x - attended)``. Cost O(N^2 C): the quadratic baseline external attention
    replaces.

    Shapes:
        x: (B, N, C) -> (B, N, C)
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.query_key = nn.Linear(channels, channels // 4, bias=False)
        self.value = nn.Linear(channels, channels)
        self.offset = LinearBNAct(channels, channels, bias=True)

    def forward(self, x: torch.Tensor, pos: torch.Tensor | None = None) -> torch.Tensor:
        """``pos`` is accepted for a uniform interface and unused."""
        qk = self.query_key(x)  # (B, N, C/4)
        energy = torch.bmm(qk, qk.transpose(1, 2))  # (B, N_query, N_key)
        attn = energy.softmax(dim=-1)
        attn = attn / (EPS + attn.sum(dim=1, keepdim=True))
        attended = torch.bmm(attn.transpose(1, 2), self.value(x))  # (B, N, C)
        return x + self.offset(x - attended)
