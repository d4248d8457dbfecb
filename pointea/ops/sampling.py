"""Farthest point sampling."""

from __future__ import annotations

import torch

from pointea.ops.eager_only import eager_only
from pointea.ops.threads import single_threaded

__all__ = ["farthest_point_sample"]


# A loop over the samples: torch.compile would unroll it, so it stays eager.
@eager_only
@torch.no_grad()
def farthest_point_sample(
    xyz: torch.Tensor,
    num_samples: int,
    *,
    random_start: bool = False,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Iteratively pick the point farthest from those already picked.

    B batch, N points, M = ``num_samples``. One loop over the M steps, vectorised over
    the batch. The first pick is point 0 of each cloud (deterministic), or a random
    point per cloud with ``random_start=True``. Ties go to the lowest index, as in the
    naive algorithm.

    Shapes:
        xyz: (B, N, 3) -> idx: (B, M) int64
    """
    batch, num_points, _ = xyz.shape
    if not 0 < num_samples <= num_points:
        raise ValueError(
            f"num_samples must be in [1, {num_points}] for clouds of {num_points} points, "
            f"got {num_samples}"
        )
    device = xyz.device
    idx = torch.empty(batch, num_samples, dtype=torch.long, device=device)
    if random_start:
        farthest = torch.randint(num_points, (batch,), generator=generator, device=device)
    else:
        farthest = torch.zeros(batch, dtype=torch.long, device=device)
    # float32 even under autocast (argmax must not flip on rounding), and channel-first so
    # that each step sums three contiguous rows instead of reducing a last dimension of 3.
    points = xyz.float().transpose(1, 2).contiguous()  # (B, 3, N)
    min_dist = torch.full((batch, num_points), float("inf"), device=device)
    rows = torch.arange(batch, device=device)
    with single_threaded():  # M steps of small ops: OpenMP wake-ups would dominate
        for step in range(num_samples):
            idx[:, step] = farthest
            centre = points[rows, :, farthest].unsqueeze(-1)  # (B, 3, 1)
            torch.minimum(min_dist, (points - centre).square_().sum(1), out=min_dist)  # (B, N)
            farthest = min_dist.argmax(-1)
    return idx
