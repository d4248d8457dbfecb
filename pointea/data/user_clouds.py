"""Preparing a user's cloud the way the training data was: normalised, resampled."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pointea.data.errors import DatasetError

__all__ = ["normalise_cloud", "resample_cloud"]


def normalise_cloud(points: np.ndarray, source: str | Path = "cloud") -> np.ndarray:
    """Centre on the centroid and scale into the unit sphere, as the HDF5 releases are.

    The result does not depend on the cloud's scale, so the cloud is first divided by its
    largest coordinate magnitude (in float64): any finite cloud normalises without
    overflow, whether its coordinates are near float32's limit or beyond it. Normals need
    no change: the scale is uniform.

    Shapes:
        points: (N, 3) -> (N, 3) float32
    """
    points = np.asarray(points, dtype=np.float64)
    largest = np.abs(points).max() if points.size else 0.0
    if not np.isfinite(largest):
        raise DatasetError(f"{source}: NaN or infinite coordinates; expected finite numbers")
    scaled = points / largest if largest > 0 else points
    centred = scaled - scaled.mean(axis=0)
    radius = np.linalg.norm(centred, axis=1).max() if len(points) else 0.0
    if not radius > 0:
        raise DatasetError(f"{source}: all {len(points)} points coincide; nothing to normalise")
    return (centred / radius).astype(np.float32)


def resample_cloud(points: np.ndarray, num_points: int, seed: int = 0) -> np.ndarray:
    """Indices of ``num_points`` input points: a random subset without repeats, or, for a
    smaller cloud, every point plus random repeats.

    Shapes:
        points: (N, 3) -> indices (num_points,) int64 into ``points``
    """
    rng = np.random.default_rng(seed)
    count = len(points)
    if count >= num_points:
        return rng.choice(count, num_points, replace=False)
    return np.concatenate([np.arange(count), rng.choice(count, num_points - count, replace=True)])
