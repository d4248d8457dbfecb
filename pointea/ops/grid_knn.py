"""Exact k nearest neighbours through an octree of query blocks, in plain torch.

Brute force compares every query with every reference point: 10^10 pairs for one cloud
of 100,000 points. Here the query points are cut into compact blocks (the leaves of an
octree over Morton codes, at most ``leaf_size`` queries each) and each block is compared
only with the reference points inside a box that provably holds all its neighbours:

1. the block's octree cube (or its smallest ancestor holding at least k reference points)
   gives every query k candidates, so its k-th distance to them, ``u``, bounds its true
   k-th neighbour distance from above;
2. every true neighbour of query ``q`` lies in the ball of radius ``u_q`` around ``q``,
   so in the box ``[min(q - u_q), max(q + u_q)]`` over the block (widened by a rounding
   margin); the block's answer is the brute-force answer against the points of that box,
   taken for runs of ``SUB_BLOCK`` queries against the points of each run's own box.

No step guesses a radius, so the result is exact for any cloud (duplicates, ties,
clusters, queries far from the references); only the speed depends on the layout.

kNN (k = 32) of a 30,000-point cloud: 14.7x faster than brute force, ``benchmarks/machinery.py --parts knn --knn-points 30000``.
"""

from __future__ import annotations

import torch

from pointea.ops.brute_knn import DEFAULT_MEMORY_BUDGET, knn_torch
from pointea.ops.threads import single_threaded

__all__ = ["knn_grid", "morton_codes", "DEFAULT_LEAF_SIZE"]

LEVELS = 10
"""Octree depth: 2^10 cells per axis at the finest level, so codes fit in 30 bits."""

DEFAULT_LEAF_SIZE = 512
"""Most query points in one block when there are about as many queries as references. A
larger block shares one candidate box more widely (more pairs); a smaller one costs more
Python steps. With many more queries than references (labels carried back to millions of
points) the blocks grow with M / N, up to ``MAX_LEAF_SIZE``."""

MAX_LEAF_SIZE = 8192

SUB_BLOCK = 32
"""Queries per selection inside a block of at most ``DEFAULT_LEAF_SIZE``: each run of
SUB_BLOCK queries keeps only the block's candidates inside its own (smaller) box. (Larger
blocks, for many more queries than references, have few candidates: no split.)"""

# Relative widening of each candidate box, far above float32 rounding of the distances.
_MARGIN = 1e-4


def _spread_bits(v: torch.Tensor) -> torch.Tensor:
    """Put bit i of each 10-bit integer at bit 3i (int64)."""
    v = (v | (v << 16)) & 0x030000FF
    v = (v | (v << 8)) & 0x0300F00F
    v = (v | (v << 4)) & 0x030C30C3
    return (v | (v << 2)) & 0x09249249


def morton_codes(cells: torch.Tensor) -> torch.Tensor:
    """Interleave the bits of integer cell coordinates in [0, 2^10): z-order codes.

    Points whose codes share their top 3l bits lie in the same octree cube of level l.

    Shapes:
        cells: (P, 3) int64 -> (P,) int64
    """
    return (
        _spread_bits(cells[:, 0])
        | (_spread_bits(cells[:, 1]) << 1)
        | (_spread_bits(cells[:, 2]) << 2)
    )


def _leaves(codes: torch.Tensor, leaf_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Cut sorted codes into octree leaves of at most ``leaf_size`` points.

    Returns the start of each leaf in ``codes`` (L,) and the leaf's level (L,): a leaf is
    the points sharing the top ``3 * level`` bits. A cube still too full at the finest
    level (duplicated points) stays one leaf; the caller splits it.
    """
    count = codes.shape[0]
    level_of = torch.full((count,), LEVELS, dtype=torch.long, device=codes.device)
    open_ = torch.ones(count, dtype=torch.bool, device=codes.device)
    for level in range(LEVELS):
        prefix = codes >> (3 * (LEVELS - level))
        _, inverse, sizes = torch.unique_consecutive(
            prefix, return_inverse=True, return_counts=True
        )
        done = open_ & (sizes[inverse] <= leaf_size)
        level_of[done] = level
        open_ &= ~done
        if not open_.any():
            break
    key = ((codes >> (3 * (LEVELS - level_of))) << 4) | level_of  # one key per leaf
    start = torch.ones(count, dtype=torch.bool, device=codes.device)
    start[1:] = key[1:] != key[:-1]
    starts = start.nonzero().squeeze(1)
    return starts, level_of[starts]


def _cloud_knn(
    query: torch.Tensor, ref: torch.Tensor, k: int, leaf_size: int, memory_budget: int
) -> torch.Tensor:
    """(M, 3), (N, 3) float32 -> (M, K) indices into ``ref``, nearest first."""
    device = query.device
    num_query = query.shape[0]
    low = torch.minimum(query.amin(0), ref.amin(0))
    extent = float(torch.maximum(query.amax(0), ref.amax(0)).sub(low).amax())
    scale = 2**LEVELS / max(extent, 1e-30)

    def codes_of(points: torch.Tensor) -> torch.Tensor:
        cells = ((points - low) * scale).long().clamp_(0, 2**LEVELS - 1)
        return morton_codes(cells)

    query_codes, query_order = codes_of(query).sort()
    ref_codes, ref_order = codes_of(ref).sort()
    sorted_query, sorted_ref = query[query_order], ref[ref_order]
    starts, levels = _leaves(query_codes, leaf_size)
    ends = torch.cat([starts[1:], starts.new_tensor([num_query])])

    # Each leaf's cube, or its smallest ancestor holding at least k reference points.
    first_code = query_codes[starts]
    while True:
        shift = 3 * (LEVELS - levels)
        prefix = first_code >> shift
        ref_lo = torch.searchsorted(ref_codes, prefix << shift)
        ref_hi = torch.searchsorted(ref_codes, (prefix + 1) << shift)
        short = (ref_hi - ref_lo) < k
        if not short.any():
            break
        levels = torch.where(short, levels - 1, levels)  # level 0 is every point: >= k

    # Reference points sorted by x: a box's x-range is one slice of them.
    ref_x, x_order = ref[:, 0].sort()
    ref_by_x = ref[x_order]
    margin = _MARGIN * extent + 1e-30
    init_cap = max(4 * k, leaf_size)
    sub_block = SUB_BLOCK if leaf_size <= DEFAULT_LEAF_SIZE else leaf_size
    out = torch.empty(num_query, k, dtype=torch.long, device=device)
    bounds = torch.stack([starts, ends, ref_lo, ref_hi], 1).tolist()
    for q_start, q_end, r_lo, r_hi in bounds:
        # A cube holding many duplicated queries is cut into blocks of leaf_size.
        for b_start in range(q_start, q_end, leaf_size):
            b_end = min(b_start + leaf_size, q_end)
            block = sorted_query[b_start:b_end]  # (Q, 3)
            stride = -(-(r_hi - r_lo) // init_cap)
            seeds = sorted_ref[r_lo:r_hi:stride]  # (>= k, 3)
            upper = torch.cdist(block, seeds, compute_mode="donot_use_mm_for_euclid_dist")
            upper = upper.topk(k, dim=-1, largest=False).values[:, -1:]  # (Q, 1)
            reach = upper * (1 + _MARGIN) + margin
            box_low = (block - reach).amin(0).tolist()
            box_high = (block + reach).amax(0).tolist()
            x_lo = int(torch.searchsorted(ref_x, ref_x.new_tensor(box_low[0])))
            x_hi = int(torch.searchsorted(ref_x, ref_x.new_tensor(box_high[0]), right=True))
            slab = ref_by_x[x_lo:x_hi, 1:]  # (S, 2)
            inside = (
                (slab[:, 0] >= box_low[1])
                & (slab[:, 0] <= box_high[1])
                & (slab[:, 1] >= box_low[2])
                & (slab[:, 1] <= box_high[2])
            )
            # Candidates in increasing reference index, as brute force sees them.
            candidates = x_order[x_lo:x_hi][inside].sort().values  # (P,), P >= k
            points = ref[candidates]  # (P, 3)
            # Smaller runs of the block (compact in Morton order) keep only the candidates
            # in their own box: fewer pairs for the selection, with the same bounds.
            for s_start in range(0, b_end - b_start, sub_block):
                part = slice(s_start, s_start + sub_block)
                low = (block[part] - reach[part]).amin(0)
                high = (block[part] + reach[part]).amax(0)
                keep = ((points >= low) & (points <= high)).all(-1).nonzero().squeeze(1)
                local = knn_torch(
                    block[part].unsqueeze(0),
                    points[keep].unsqueeze(0),
                    k,
                    memory_budget=memory_budget,
                )[0]  # (Q', K)
                out[query_order[b_start + s_start : min(b_start + s_start + sub_block, b_end)]] = (
                    candidates[keep[local]]
                )
    return out


@torch.no_grad()
def knn_grid(
    query: torch.Tensor,
    ref: torch.Tensor,
    k: int,
    *,
    leaf_size: int | None = None,
    memory_budget: int = DEFAULT_MEMORY_BUDGET,
) -> torch.Tensor:
    """Exact kNN through an octree of query blocks (module docstring), cloud by cloud.

    Same answer as brute force: the same neighbour distances, and the same indices
    wherever the k nearest are not tied. B batch, M query points, N reference points.

    Args:
        leaf_size: most query points per block; by default ``DEFAULT_LEAF_SIZE``, grown
            with M / N up to ``MAX_LEAF_SIZE``.

    Shapes:
        query: (B, M, 3); ref: (B, N, 3) -> idx: (B, M, K) int64 into ``ref``
    """
    query, ref = query.float(), ref.float()
    if leaf_size is None:
        ratio = 64 * query.shape[1] // ref.shape[1]
        leaf_size = min(max(DEFAULT_LEAF_SIZE, ratio), MAX_LEAF_SIZE)
    with single_threaded():  # thousands of small per-leaf ops
        return torch.stack(
            [_cloud_knn(q, r, k, leaf_size, memory_budget) for q, r in zip(query, ref, strict=True)]
        )
