"""Off-screen rendering of coloured point clouds with Open3D (no display needed: EGL)."""

from __future__ import annotations

import numpy as np

__all__ = ["RenderError", "render_cloud"]

BACKGROUND = (255, 255, 255)


class RenderError(RuntimeError):
    """Open3D could not open an off-screen context (no EGL/GL libraries)."""


def render_cloud(
    points: np.ndarray,
    colors: np.ndarray,
    *,
    size: int = 400,
    point_size: float = 5.0,
    front: tuple[float, float, float] = (0.8, 0.6, 1.2),
) -> np.ndarray:
    """Render points with their exact colours (lighting off) from a three-quarter view, y up.

    Shapes:
        points: (N, 3) float; colors: (N, 3) uint8 -> image (size, size, 3) uint8
    """
    import open3d as o3d

    cloud = o3d.geometry.PointCloud(
        o3d.utility.Vector3dVector(np.asarray(points, dtype=np.float64))
    )
    cloud.colors = o3d.utility.Vector3dVector(np.asarray(colors, dtype=np.float64) / 255.0)
    vis = o3d.visualization.Visualizer()
    if not vis.create_window(visible=False, width=size, height=size):
        raise RenderError(
            "Open3D could not create an off-screen window: install the EGL/GL libraries "
            "(libegl1, libgl1; `make setup` does it as root)"
        )
    try:
        vis.add_geometry(cloud)
        option = vis.get_render_option()
        option.light_on = False  # unlit: pixels carry the palette colours exactly
        option.point_size = point_size
        option.background_color = np.array(BACKGROUND) / 255.0
        view = vis.get_view_control()
        view.set_front(list(front))
        view.set_up([0.0, 1.0, 0.0])
        view.set_lookat(cloud.get_axis_aligned_bounding_box().get_center())
        view.set_zoom(0.75)
        vis.poll_events()
        vis.update_renderer()
        image = np.asarray(vis.capture_screen_float_buffer(do_render=True))
    finally:
        vis.destroy_window()
    return (image * 255).round().astype(np.uint8)
