"""PCT's sample-and-group neighbour embedding."""

from __future__ import annotations

import torch
from torch import nn

from pointea.nn.mlp import LinearBNAct
from pointea.ops import farthest_point_sample, gather_points, knn

__all__ = ["NeighborEmbedding", "BLOCK_ELEMENTS"]

BLOCK_ELEMENTS = 2**22
"""In eval mode, at most this many grouped feature values (pairs x channels, 16 MiB in
float32) are held at once: blocks below glibc's 32 MiB mmap threshold are reused by the C
allocator instead of mapped and zeroed afresh by the kernel, and they mostly stay in cache
between the gather and the matmul."""


class NeighborEmbedding(nn.Module):
    """Sample M centres by FPS, group their K nearest points, MLP, max over the group.

    "PCT: Point Cloud Transformer", Guo et al., 2021, https://arxiv.org/abs/2012.09688
    B batch, N points, M centres, K neighbours, C in_channels, C' out_channels.
    Each (centre i, neighbour j) pair gets ``LBR(LBR([f_j - f_i, f_i]))`` and the result
    is max-pooled over j. With ``num_samples=None`` every point is a centre.

    Two exact savings, same parameters and result as the concatenated form: the first
    layer is linear in the concatenation, so ``W [f_j - f_i, f_i] = W_a f_j + (W_b - W_a)
    f_i`` is applied once per point before grouping instead of once per pair after it (K
    times fewer multiply-adds); and the max over neighbours is taken before the second
    layer's BatchNorm and ReLU, which are monotone per channel
    (:meth:`LinearBNAct.normalise_max`). In eval mode the first BatchNorm is folded into
    the per-point terms as well, and at most ``max_pairs`` (centre, neighbour) pairs, and
    at most ``BLOCK_ELEMENTS`` grouped values, are held at once.

    Shapes:
        pos: (B, N, 3); x: (B, N, C) -> pos: (B, M, 3), x: (B, M, C')
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        num_samples: int | None,
        k: int = 32,
        max_pairs: int = 2**20,
    ) -> None:
        super().__init__()
        if k < 1:
            raise ValueError(f"k (neighbours) must be at least 1, got {k}")
        self.num_samples = num_samples
        self.k = k
        self.max_pairs = max_pairs
        self.first = LinearBNAct(2 * in_channels, out_channels)
        self.second = LinearBNAct(out_channels, out_channels)

    def forward(self, pos: torch.Tensor, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        num_points = pos.shape[1]
        if self.num_samples is None:
            centre_pos, centre_x = pos, x
        else:
            centre_idx = farthest_point_sample(pos, self.num_samples)  # (B, M)
            centre_pos = gather_points(pos, centre_idx)  # (B, M, 3)
            centre_x = gather_points(x, centre_idx)  # (B, M, C)
        idx = knn(centre_pos, pos, min(self.k, num_points))  # (B, M, K)
        first = self.first
        # Eval: the first BatchNorm is a fixed affine map, folded in before grouping.
        weight, bias = first.folded() if first.folds else (first.linear.weight, first.linear.bias)
        w_neighbour, w_centre = weight.chunk(2, dim=1)  # (C', C) each
        per_point = x @ w_neighbour.T  # (B, N, C')
        per_centre = centre_x @ (w_centre - w_neighbour).T  # (B, M, C')
        if bias is not None:
            per_centre = per_centre + bias
        if not first.folds:
            h = gather_points(per_point, idx).add_(per_centre.unsqueeze(2))  # (B, M, K, C')
            return centre_pos, self._pooled(first.normalise(h))
        # With fixed statistics the centres are independent: chunks bound the memory.
        pairs = min(self.max_pairs, max(1, BLOCK_ELEMENTS // per_point.shape[-1]))
        chunk = max(1, pairs // (idx.shape[0] * idx.shape[2]))
        pooled = []
        for start in range(0, idx.shape[1], chunk):
            centres = slice(start, start + chunk)
            h = gather_points(per_point, idx[:, centres])  # (B, chunk, K, C')
            h.add_(per_centre[:, centres].unsqueeze(2))
            pooled.append(self._pooled(first.act(h)))
        return centre_pos, torch.cat(pooled, dim=1)  # (B, M, C')

    def _pooled(self, h1: torch.Tensor) -> torch.Tensor:
        """Max over the K neighbours of the second LBR, taken before its BN and ReLU.

        Shapes:
            h1: (B, M, K, C') -> (B, M, C')
        """
        # The linear's fresh output is read by nothing else: its gradient may reuse it.
        return self.second.normalise_max(self.second.linear(h1), dim=2, overwrite=True)
