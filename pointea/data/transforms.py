"""Batched, on-device augmentations, vectorised over the batch.

Each transform is a small callable configured from Hydra that maps a batch dict to a new
batch dict and never modifies its input in place. B batch, N points. Keys: ``pos``
(B, N, 3) float; optional per-point ``y`` (B, N) for segmentation, which follows every
reordering of the points; optional unit ``normals`` (B, N, 3), which follow every reordering
and every rotation and scaling (a scale S maps a normal n to S^-1 n / |S^-1 n|) and ignore
translation and jitter. Randomness comes from an explicit ``torch.Generator`` on the
batch's device, so a seeded pipeline is reproducible.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F

__all__ = [
    "Compose",
    "FirstPoints",
    "RandomAnisotropicScale",
    "RandomJitter",
    "RandomPointDropout",
    "RandomRotate",
    "RandomSubset",
    "RandomTranslate",
    "ShufflePoints",
]

Batch = dict[str, torch.Tensor]


def _uniform(shape, low: float, high: float, like: torch.Tensor, gen) -> torch.Tensor:
    return (
        torch.rand(shape, generator=gen, device=like.device, dtype=like.dtype) * (high - low) + low
    )


def _reorder(batch: Batch, idx: torch.Tensor) -> Batch:
    """Apply per-cloud point indices (B, N') to ``pos``, ``normals`` and per-point ``y``."""
    out = dict(batch)
    for key in ("pos", "normals"):
        if key in batch:
            out[key] = torch.gather(batch[key], 1, idx.unsqueeze(-1).expand(-1, -1, 3))
    if "y" in batch and batch["y"].dim() == 2:
        out["y"] = torch.gather(batch["y"], 1, idx)
    return out


class Compose:
    """Apply transforms in order."""

    def __init__(self, transforms: Sequence) -> None:
        self.transforms = list(transforms)

    def __call__(self, batch: Batch, generator: torch.Generator | None = None) -> Batch:
        for transform in self.transforms:
            batch = transform(batch, generator)
        return batch


class FirstPoints:
    """Keep the first ``num_points`` stored points (PCT's evaluation recipe)."""

    def __init__(self, num_points: int) -> None:
        self.num_points = num_points

    def __call__(self, batch: Batch, generator: torch.Generator | None = None) -> Batch:
        out = dict(batch)
        out["pos"] = batch["pos"][:, : self.num_points]
        if "normals" in batch:
            out["normals"] = batch["normals"][:, : self.num_points]
        if "y" in batch and batch["y"].dim() == 2:
            out["y"] = batch["y"][:, : self.num_points]
        return out


class RandomSubset:
    """A random subset of ``num_points`` of each cloud's stored points, without repeats."""

    def __init__(self, num_points: int) -> None:
        self.num_points = num_points

    def __call__(self, batch: Batch, generator: torch.Generator | None = None) -> Batch:
        pos = batch["pos"]
        scores = torch.rand(pos.shape[:2], generator=generator, device=pos.device)
        return _reorder(batch, scores.topk(self.num_points, dim=1).indices)


class ShufflePoints:
    """An independent random permutation of each cloud's points."""

    def __call__(self, batch: Batch, generator: torch.Generator | None = None) -> Batch:
        pos = batch["pos"]
        scores = torch.rand(pos.shape[:2], generator=generator, device=pos.device)
        return _reorder(batch, scores.argsort(dim=1))


class RandomAnisotropicScale:
    """Scale each axis of each cloud by a factor drawn from U[low, high] (PCT: 2/3, 3/2).

    Normals, perpendicular to the surface, scale by the inverse factors and are renormalised.
    """

    def __init__(self, low: float = 2 / 3, high: float = 3 / 2) -> None:
        self.low, self.high = low, high

    def __call__(self, batch: Batch, generator: torch.Generator | None = None) -> Batch:
        pos = batch["pos"]
        scale = _uniform((pos.shape[0], 1, 3), self.low, self.high, pos, generator)
        out = {**batch, "pos": pos * scale}
        if "normals" in batch:
            out["normals"] = F.normalize(batch["normals"] / scale, dim=-1)
        return out


class RandomTranslate:
    """Shift each cloud by an offset drawn from U[-shift, shift] per axis (PCT: 0.2)."""

    def __init__(self, shift: float = 0.2) -> None:
        self.shift = shift

    def __call__(self, batch: Batch, generator: torch.Generator | None = None) -> Batch:
        pos = batch["pos"]
        offset = _uniform((pos.shape[0], 1, 3), -self.shift, self.shift, pos, generator)
        return {**batch, "pos": pos + offset}


class RandomJitter:
    """Add Gaussian noise N(0, sigma^2) per coordinate, clipped to [-clip, clip]."""

    def __init__(self, sigma: float = 0.01, clip: float = 0.05) -> None:
        self.sigma, self.clip = sigma, clip

    def __call__(self, batch: Batch, generator: torch.Generator | None = None) -> Batch:
        pos = batch["pos"]
        noise = torch.randn(pos.shape, generator=generator, device=pos.device, dtype=pos.dtype)
        return {**batch, "pos": pos + (self.sigma * noise).clamp(-self.clip, self.clip)}


class RandomRotate:
    """Rotate each cloud about the up axis (``mode="up"``, y by default) or uniformly in SO(3).

    SO(3) rotations come from normalised Gaussian quaternions, which are uniform.
    """

    def __init__(self, mode: str = "up", up_axis: int = 1) -> None:
        if mode not in ("up", "so3"):
            raise ValueError(f"RandomRotate mode must be 'up' or 'so3', got {mode!r}")
        if up_axis not in (0, 1, 2):
            raise ValueError(f"up_axis must be 0, 1 or 2, got {up_axis}")
        self.mode, self.up_axis = mode, up_axis

    def matrices(self, batch_size: int, like: torch.Tensor, generator) -> torch.Tensor:
        """(B, 3, 3) rotation matrices, applied as ``pos @ R``."""
        if self.mode == "up":
            angle = _uniform((batch_size,), 0.0, 2 * math.pi, like, generator)
            c, s = angle.cos(), angle.sin()
            rot = torch.zeros(batch_size, 3, 3, device=like.device, dtype=like.dtype)
            a, b = [axis for axis in range(3) if axis != self.up_axis]
            rot[:, self.up_axis, self.up_axis] = 1
            rot[:, a, a], rot[:, a, b], rot[:, b, a], rot[:, b, b] = c, -s, s, c
            return rot
        q = torch.randn(batch_size, 4, generator=generator, device=like.device, dtype=like.dtype)
        w, x, y, z = (q / q.norm(dim=1, keepdim=True)).unbind(1)
        return torch.stack(
            [
                1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w),
                2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w),
                2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y),
            ],
            dim=1,
        ).reshape(batch_size, 3, 3)  # fmt: skip

    def __call__(self, batch: Batch, generator: torch.Generator | None = None) -> Batch:
        pos = batch["pos"]
        rot = self.matrices(pos.shape[0], pos, generator)
        out = {**batch, "pos": pos @ rot}
        if "normals" in batch:
            out["normals"] = batch["normals"] @ rot
        return out


class RandomPointDropout:
    """PCT/PointNet++ dropout: per cloud a ratio r ~ U[0, max_ratio], each point dropped with
    probability r and replaced by the cloud's first point (so the size stays N).

    Per-point labels follow: a dropped point takes the first point's label.
    """

    def __init__(self, max_ratio: float = 0.875) -> None:
        if not 0 <= max_ratio < 1:
            raise ValueError(f"max_ratio must be in [0, 1), got {max_ratio}")
        self.max_ratio = max_ratio

    def __call__(self, batch: Batch, generator: torch.Generator | None = None) -> Batch:
        pos = batch["pos"]
        ratio = _uniform((pos.shape[0], 1), 0.0, self.max_ratio, pos, generator)
        dropped = torch.rand(pos.shape[:2], generator=generator, device=pos.device) <= ratio
        idx = torch.arange(pos.shape[1], device=pos.device).expand(pos.shape[0], -1)
        return _reorder(batch, idx.masked_fill(dropped, 0))
