"""Brute-force k nearest neighbours in chunks: the reference every faster path must match."""

from __future__ import annotations

import torch

__all__ = ["knn_torch", "DEFAULT_MEMORY_BUDGET"]

# Largest distance block materialised at once, in bytes (B * chunk * N * 4).
DEFAULT_MEMORY_BUDGET = 256 * 2**20


def _distances(query: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
    """(B, M, 3), (B, N, 3) -> (B, M, N) Euclidean distances from coordinate differences.

    The matmul expansion |q|^2 - 2 q.r + |r|^2 loses the order of close pairs in float32
    on dense clouds; the direct form is exact and, on CPU, also faster.
    """
    return torch.cdist(query, ref, compute_mode="donot_use_mm_for_euclid_dist")


@torch.no_grad()
def knn_torch(
    query: torch.Tensor, ref: torch.Tensor, k: int, *, memory_budget: int = DEFAULT_MEMORY_BUDGET
) -> torch.Tensor:
    """Pure-torch kNN, processing query points in chunks that fit ``memory_budget``.

    Nearest first; with ``k = 1`` the nearest is the first of equally near points.
    """
    batch, num_query, _ = query.shape
    num_ref = ref.shape[1]
    query, ref = query.float(), ref.float()
    chunk = max(1, memory_budget // (4 * batch * num_ref))
    if chunk >= num_query:
        return _nearest(_distances(query, ref), k)
    idx = torch.empty(batch, num_query, k, dtype=torch.long, device=query.device)
    for start in range(0, num_query, chunk):
        block = _distances(query[:, start : start + chunk], ref)  # (B, chunk, N)
        idx[:, start : start + chunk] = _nearest(block, k)
    return idx


def _nearest(dist: torch.Tensor, k: int) -> torch.Tensor:
    """(..., N) distances -> (..., K) indices of the k smallest, smallest first."""
    if k == 1:  # a plain reduction, faster than a selection
        return dist.argmin(dim=-1, keepdim=True)
    return dist.topk(k, dim=-1, largest=False).indices
