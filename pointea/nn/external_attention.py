"""External attention.

"Beyond Self-attention: External Attention using Two Linear Layers for Visual Tasks",
Guo et al., 2021, https://arxiv.org/abs/2105.02358
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["ExternalAttention"]

EPS = 1e-9


def double_normalise(
    logits: torch.Tensor, point_dim: int, batch: torch.Tensor | None = None
) -> torch.Tensor:
    """Softmax over the points, then L1-normalise each point's row over the memory slots.

    With ``batch`` (P,) the points are those of a ragged batch along ``point_dim`` 0, and
    the softmax runs over each cloud's own points (see :func:`segment_softmax`).
    """
    attn = logits.softmax(dim=point_dim) if batch is None else segment_softmax(logits, batch)
    return attn / (EPS + attn.sum(dim=-1, keepdim=True))


def segment_softmax(logits: torch.Tensor, batch: torch.Tensor) -> torch.Tensor:
    """Softmax over dim 0 within each cloud of a ragged batch (PyG's ``utils.softmax``).

    P points of all clouds, G clouds. The same scatter PyG's segment softmax does, kept
    here so that the layers do not import torch_geometric (seconds of start-up for
    ``predict``); the clouds need not be contiguous nor sorted.

    Shapes:
        logits: (P, ...), batch: (P,) int64 cloud index -> (P, ...)
    """
    num_clouds = int(batch.max()) + 1 if batch.numel() else 0
    index = batch.view(-1, *([1] * (logits.dim() - 1))).expand_as(logits)  # (P, ...)
    # the per-cloud maximum only keeps exp() finite; it cancels out, so no gradient through it
    peak = logits.new_full((num_clouds, *logits.shape[1:]), float("-inf")).scatter_reduce(
        0, index, logits.detach(), reduce="amax"
    )  # (G, ...)
    e = (logits - peak[batch]).exp()  # (P, ...)
    total = torch.zeros_like(peak).index_add(0, batch, e)  # (G, ...)
    return e / total[batch]


def check_ragged(x: torch.Tensor, batch: torch.Tensor | None) -> None:
    """``x`` (B, N, C) dense, or (P, C) with an optional ``batch`` (P,) of cloud indices."""
    if batch is None:
        if x.dim() not in (2, 3):
            raise ValueError(f"x must be (B, N, C) or (P, C), got shape {tuple(x.shape)}")
        return
    if x.dim() != 2:
        raise ValueError(
            f"with batch, x must be (P, C) (the points of all clouds), got shape {tuple(x.shape)}"
        )
    if batch.shape != x.shape[:1] or batch.dtype not in (torch.int32, torch.int64):
        raise ValueError(
            f"batch must be an integer tensor of shape ({x.shape[0]},) (one cloud index per "
            f"point of x), got {batch.dtype} of shape {tuple(batch.shape)}"
        )
    if batch.numel() and int(batch.min()) < 0:
        raise ValueError(f"batch holds a negative cloud index {int(batch.min())}")


class ExternalAttention(nn.Module):
    """Attention of every point to S learnable memory slots shared by the whole dataset.

    B batch, N points, C channels, S memory slots, P points of a ragged batch.
    ``memory_key`` holds M_k (S, C) and ``memory_value`` holds M_v (C, S); cost is
    O(N S C), linear in N. The layer is exactly the formula; residual paths and norms
    belong to the block that uses it.

    PyG's ragged batches (clouds of different sizes concatenated, ``batch`` giving each
    point's cloud) are taken as they are: the softmax over the points then runs over each
    cloud's own points, with no padding. ``x`` (P, C) without ``batch`` is one cloud.

    Shapes:
        x: (B, N, C) -> (B, N, C)
        x: (P, C), batch: (P,) int64 -> (P, C)
    """

    def __init__(self, channels: int, memory_size: int = 64) -> None:
        super().__init__()
        if memory_size < 1:
            raise ValueError(f"memory_size must be at least 1, got {memory_size}")
        self.memory_key = nn.Linear(channels, memory_size, bias=False)
        self.memory_value = nn.Linear(memory_size, channels, bias=False)

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
        point_dim = 0 if x.dim() == 2 else 1
        attn = double_normalise(self.memory_key(x), point_dim, batch)  # (B, N, S) or (P, S)
        return self.memory_value(attn)  # (B, N, C) or (P, C)
