"""An interactive Open3D window, when a display exists."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

import numpy as np

__all__ = ["NoDisplayError", "has_display", "show_clouds"]


class NoDisplayError(RuntimeError):
    """show=true was asked for where no display is available."""


def has_display() -> bool:
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


def show_clouds(clouds: Sequence[tuple[np.ndarray, np.ndarray]], title: str = "pointea") -> None:
    """Open one window with the clouds side by side, each given as (points (N, 3), colors uint8)."""
    if not has_display():
        raise NoDisplayError(
            "show=true needs a display, and none is available (DISPLAY and WAYLAND_DISPLAY are "
            "unset); the PNG and PLY files were written instead"
        )
    import open3d as o3d

    geometries = []
    for i, (points, colors) in enumerate(clouds):
        cloud = o3d.geometry.PointCloud(
            o3d.utility.Vector3dVector(np.asarray(points, float) + [2.2 * i, 0, 0])
        )
        cloud.colors = o3d.utility.Vector3dVector(np.asarray(colors, float) / 255.0)
        geometries.append(cloud)
    o3d.visualization.draw_geometries(geometries, window_name=title)
