"""k nearest neighbours with bounded memory."""

from __future__ import annotations

import torch

from pointea.ops.backends import HAS_TORCH_CLUSTER
from pointea.ops.gather import gather_points

__all__ = ["knn", "DEFAULT_MEMORY_BUDGET"]

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
    """Pure-torch kNN, processing query points in chunks that fit ``memory_budget``."""
    batch, num_query, _ = query.shape
    num_ref = ref.shape[1]
    query, ref = query.float(), ref.float()
    chunk = max(1, memory_budget // (4 * batch * num_ref))
    if chunk >= num_query:
        return _distances(query, ref).topk(k, dim=-1, largest=False).indices
    idx = torch.empty(batch, num_query, k, dtype=torch.long, device=query.device)
    for start in range(0, num_query, chunk):
        block = _distances(query[:, start : start + chunk], ref)  # (B, chunk, N)
        idx[:, start : start + chunk] = block.topk(k, dim=-1, largest=False).indices
    return idx


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
    return ref_idx.gather(-1, dist.argsort(-1, stable=True))


@torch.compiler.disable  # chunking and backend choice are data-dependent: keep it eager
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

    Args:
        backend: ``"torch"``, ``"torch_cluster"``, or ``"auto"`` (torch-cluster when
            installed, else torch).

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
    if backend not in ("auto", "torch", "torch_cluster"):
        raise ValueError(f"backend must be 'auto', 'torch' or 'torch_cluster', got {backend!r}")
    if backend == "torch_cluster" or (backend == "auto" and HAS_TORCH_CLUSTER):
        return knn_torch_cluster(query, ref, k)
    return knn_torch(query, ref, k, memory_budget=memory_budget)
