"""Index a per-point tensor with per-cloud indices."""

from __future__ import annotations

import torch

__all__ = ["gather_points"]


def gather_points(x: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """Pick rows of ``x`` per cloud: ``out[b, ...] = x[b, idx[b, ...]]``.

    B batch, N points, C channels; ``idx`` may have any trailing shape, e.g. (B, M) for
    sampled centres or (B, M, K) for neighbourhoods.

    Shapes:
        x: (B, N, C); idx: (B, *S) int64 in [0, N) -> (B, *S, C)
    """
    batch = x.shape[0]
    flat = idx.reshape(batch, -1, 1).expand(-1, -1, x.shape[-1])  # (B, prod(S), C)
    return torch.gather(x, 1, flat).reshape(*idx.shape, x.shape[-1])
