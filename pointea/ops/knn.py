"""k nearest neighbours with bounded memory."""

from __future__ import annotations

import torch

from pointea.ops.backends import HAS_TORCH_CLUSTER
from pointea.ops.brute_knn import DEFAULT_MEMORY_BUDGET, knn_torch
from pointea.ops.eager_only import eager_only
from pointea.ops.gather import gather_points
from pointea.ops.grid_knn import knn_grid

__all__ = ["knn", "knn_torch", "DEFAULT_MEMORY_BUDGET", "GRID_MIN_PAIRS"]

BACKENDS = ("auto", "torch", "grid", "torch_cluster")

GRID_MIN_PAIRS = 2**24
"""With ``backend="auto"``, clouds with at least this many (query, reference) pairs go
through the octree search (:func:`pointea.ops.grid_knn.knn_grid`); smaller ones through
brute force, which is faster there."""


@torch.no_grad()
def knn_torch_cluster(query: torch.Tensor, ref: torch.Tensor, k: int) -> torch.Tensor:
    """kNN through torch-cluster's kernels, re-sorted nearest first."""
    import torch_cluster

    batch, num_query, _ = query.shape
    num_ref = ref.shape[1]
    device = query.device
    batch_ref = torch.arange(batch, device=device).repeat_interleave(num_ref)
    batch_query = torch.arange(batch, device=device).repeat_interleave(num_query)
    # Row 0: query index, row 1: reference index, both into the flattened batch.
    pairs = torch_cluster.knn(
        ref.reshape(-1, 3).float(), query.reshape(-1, 3).float(), k, batch_ref, batch_query
    )
    order = torch.argsort(pairs[0], stable=True)
    ref_idx = pairs[1, order].reshape(batch, num_query, k) % num_ref  # (B, M, K)
    dist = (gather_points(ref.float(), ref_idx) - query.float().unsqueeze(2)).square().sum(-1)
    return ref_idx.gather(-1, dist.argsort(dim=-1, stable=True))


@eager_only  # chunking and backend choice are data-dependent: keep it eager
def knn(
    query: torch.Tensor,
    ref: torch.Tensor,
    k: int,
    *,
    memory_budget: int = DEFAULT_MEMORY_BUDGET,
    backend: str = "auto",
) -> torch.Tensor:
    """Indices of the ``k`` points of ``ref`` nearest to each point of ``query``.

    B batch, M query points, N reference points, K = ``k``. Nearest first. The pure-torch
    path never holds more than ``memory_budget`` bytes of distances at once, so clouds of
    100k points fit in ordinary memory.

    Every backend is exact: the same neighbour distances as brute force, and the same
    indices wherever the k nearest are not tied.

    Args:
        backend: ``"torch"`` (brute force, the reference), ``"grid"`` (octree blocks,
            :mod:`pointea.ops.grid_knn`), ``"torch_cluster"``, or ``"auto"``
            (torch-cluster when installed, else ``"grid"`` for clouds of at least
            ``GRID_MIN_PAIRS`` query-reference pairs, else ``"torch"``).

    Shapes:
        query: (B, M, 3); ref: (B, N, 3) -> idx: (B, M, K) int64 into ``ref``
    """
    if query.shape[0] != ref.shape[0] or query.shape[-1] != 3 or ref.shape[-1] != 3:
        raise ValueError(
            f"knn expects query (B, M, 3) and ref (B, N, 3), got {tuple(query.shape)} and "
            f"{tuple(ref.shape)}"
        )
    if not 0 < k <= ref.shape[1]:
        raise ValueError(f"k must be in [1, {ref.shape[1]}] (the reference size), got {k}")
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if backend == "torch_cluster" or (backend == "auto" and HAS_TORCH_CLUSTER):
        return knn_torch_cluster(query, ref, k)
    if backend == "grid" or (backend == "auto" and query.shape[1] * ref.shape[1] >= GRID_MIN_PAIRS):
        return knn_grid(query, ref, k, memory_budget=memory_budget)
    return knn_torch(query, ref, k, memory_budget=memory_budget)
