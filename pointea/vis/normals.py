"""Estimating unit normals for a cloud that has none (Open3D), for networks that take them.

N points, K neighbours.
"""

from __future__ import annotations

import numpy as np

__all__ = ["NORMAL_NEIGHBOURS", "estimate_normals"]

NORMAL_NEIGHBOURS = 30  # K: the neighbourhood whose covariance gives each normal


def estimate_normals(points: np.ndarray, k: int = NORMAL_NEIGHBOURS) -> np.ndarray:
    """Unit normals of a cloud, each the direction of least variance of its ``k`` nearest
    neighbours (Open3D's ``estimate_normals`` with a kNN search), oriented outward: away
    from the cloud's centroid (a normal ``n`` at ``p`` is flipped when ``n . (p - centroid)
    < 0``), the rule that holds for closed, roughly convex shapes such as the shapes of the
    standard releases. A point at the centroid keeps the sign Open3D gives it.

    The estimate depends only on the neighbourhoods, so centring and uniform scaling of the
    cloud do not change it.

    Shapes:
        points: (N, 3) -> (N, 3) float32
    """
    import open3d as o3d

    points = np.asarray(points, dtype=np.float64)
    cloud = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(points))
    cloud.estimate_normals(o3d.geometry.KDTreeSearchParamKNN(max(3, min(k, len(points)))))
    normals = np.asarray(cloud.normals, dtype=np.float64)  # (N, 3), unit, arbitrary sign
    outward = points - points.mean(axis=0)
    normals[(normals * outward).sum(axis=1) < 0] *= -1
    return normals.astype(np.float32)
