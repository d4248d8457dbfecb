"""Index a per-point tensor with per-cloud indices."""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["gather_points"]


def gather_points(x: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """Pick rows of ``x`` per cloud: ``out[b, ...] = x[b, idx[b, ...]]``.

    B batch, N points, C channels; ``idx`` may have any trailing shape, e.g. (B, M) for
    sampled centres or (B, M, K) for neighbourhoods.

    Shapes:
        x: (B, N, C); idx: (B, *S) int64 in [0, N) -> (B, *S, C)
    """
    batch, num_points, channels = x.shape
    if torch.compiler.is_compiling():  # inductor fuses an element-wise gather into its consumers
        flat = idx.reshape(batch, -1, 1).expand(-1, -1, channels)  # (B, prod(S), C)
        return torch.gather(x, 1, flat).reshape(*idx.shape, channels)
    # Eager: whole rows through one flat index (an embedding lookup) move faster, forward
    # and backward; the result is a fresh tensor, not a view, so the callers' in-place ops
    # on it need no as_strided copy in backward, as they would after index_select + view.
    offset = (torch.arange(batch, device=idx.device) * num_points).view(
        batch, *([1] * (idx.dim() - 1))
    )
    return F.embedding(idx + offset, x.reshape(batch * num_points, channels))  # (B, *S, C)
