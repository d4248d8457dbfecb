"""Seeded, stratified validation split carved from a training set."""

from __future__ import annotations

import torch

__all__ = ["stratified_split"]


def stratified_split(
    labels: torch.Tensor, fraction: float, seed: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Indices (train, val): ``round(fraction * count)`` samples of every class go to val.

    Every class with at least two samples keeps at least one in each part. Deterministic
    for a given seed; both index tensors are sorted.

    Shapes:
        labels: (S,) int64 -> train: (S - V,), val: (V,)
    """
    if not 0 < fraction < 1:
        raise ValueError(f"validation fraction must be in (0, 1), got {fraction}")
    generator = torch.Generator().manual_seed(seed)
    val = []
    for cls in labels.unique(sorted=True):
        members = (labels == cls).nonzero().flatten()
        members = members[torch.randperm(len(members), generator=generator)]
        take = round(fraction * len(members))
        if len(members) >= 2:
            take = min(max(take, 1), len(members) - 1)
        val.append(members[:take])
    val_idx = torch.cat(val).sort().values
    keep = torch.ones(len(labels), dtype=torch.bool)
    keep[val_idx] = False
    return keep.nonzero().flatten(), val_idx
