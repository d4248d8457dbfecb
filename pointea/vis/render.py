"""Off-screen rendering of coloured point clouds with Open3D (no display needed: EGL)."""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
import tempfile
from collections.abc import Iterator

import numpy as np

__all__ = ["MAX_RENDER_POINTS", "RenderError", "depth_shade", "render_cloud", "render_subset"]

BACKGROUND = (255, 255, 255)
FRONT = (0.8, 0.6, 1.2)  # the camera's direction from the cloud: a three-quarter view
MAX_RENDER_POINTS = 100_000
"""Larger clouds are drawn from a random subset of this many points: a 400-pixel picture
shows no more, and Open3D takes seconds over millions (a 2M-point predict input)."""


class RenderError(RuntimeError):
    """Open3D could not open an off-screen context (no EGL/GL libraries)."""


def _flush_c_stdio() -> None:
    try:
        ctypes.CDLL(None).fflush(None)
    except (OSError, AttributeError):  # no C library to reach (Windows): nothing buffered there
        pass


@contextlib.contextmanager
def _native_output_captured() -> Iterator[list[str]]:
    """Send what C code writes to stdout and stderr (such as "XDG_RUNTIME_DIR is invalid or
    not set") to a temporary file for the duration; the list yielded receives that text."""
    captured: list[str] = []
    sys.stdout.flush()
    sys.stderr.flush()
    _flush_c_stdio()
    saved = [os.dup(1), os.dup(2)]
    with tempfile.TemporaryFile(mode="w+b") as sink:
        try:
            os.dup2(sink.fileno(), 1)
            os.dup2(sink.fileno(), 2)
            yield captured
        finally:
            _flush_c_stdio()  # text still in the C library's buffers belongs to the sink
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)
            sink.seek(0)
            captured.append(sink.read().decode(errors="replace"))


def depth_shade(
    points: np.ndarray, colors: np.ndarray, front=FRONT, darkest: float = 0.45
) -> np.ndarray:
    """Darken each point's colour with its distance from the camera, so that the cloud reads
    as 3-D: the nearest point keeps its colour, the farthest is scaled by ``darkest``.

    Shapes:
        points: (N, 3); colors: (N, 3) uint8 -> (N, 3) uint8
    """
    toward_camera = np.asarray(front, dtype=np.float64)
    depth = np.asarray(points, dtype=np.float64) @ (toward_camera / np.linalg.norm(toward_camera))
    span = depth.max() - depth.min()
    near = (depth - depth.min()) / span if span > 0 else np.ones_like(depth)  # 1 = nearest
    factor = darkest + (1 - darkest) * near  # (N,)
    return (np.asarray(colors, dtype=np.float64) * factor[:, None]).round().astype(np.uint8)


def render_subset(num_points: int, max_points: int | None, seed: int = 0) -> np.ndarray:
    """Indices of the points drawn: all of them, or a seeded random ``max_points`` of them
    (in their original order) when there are more. Shapes: -> (min(N, max_points),) int64"""
    if max_points is None or num_points <= max_points:
        return np.arange(num_points)
    if max_points < 1:
        raise ValueError(f"max_points must be at least 1 or None, got {max_points}")
    chosen = np.random.default_rng(seed).choice(num_points, size=max_points, replace=False)
    return np.sort(chosen)


def render_cloud(
    points: np.ndarray,
    colors: np.ndarray,
    *,
    size: int = 400,
    point_size: float = 5.0,
    front: tuple[float, float, float] = FRONT,
    shade: bool = True,
    max_points: int | None = MAX_RENDER_POINTS,
    seed: int = 0,
) -> np.ndarray:
    """Render points from a three-quarter view, y up, unlit: each pixel carries its point's
    colour, depth-shaded (``depth_shade``) unless ``shade=False``. The start-up messages of
    every window (GLFW finding no display, Open3D falling back to EGL) are kept off the
    terminal; they are shown if the off-screen window cannot be opened.

    A cloud of more than ``max_points`` points is drawn from a random subset of that many
    (``render_subset`` with ``seed``); ``max_points=None`` draws every point. Only the
    picture is affected: callers keep their full clouds.

    Shapes:
        points: (N, 3) float; colors: (N, 3) uint8 -> image (size, size, 3) uint8
    """
    import open3d as o3d

    keep = render_subset(len(points), max_points, seed)
    if len(keep) < len(points):
        points, colors = np.asarray(points)[keep], np.asarray(colors)[keep]
    if shade:
        colors = depth_shade(points, colors, front)
    cloud = o3d.geometry.PointCloud(
        o3d.utility.Vector3dVector(np.asarray(points, dtype=np.float64))
    )
    cloud.colors = o3d.utility.Vector3dVector(np.asarray(colors, dtype=np.float64) / 255.0)
    vis = o3d.visualization.Visualizer()
    verbosity = o3d.utility.get_verbosity_level()
    o3d.utility.set_verbosity_level(o3d.utility.VerbosityLevel.Error)  # its warnings, notes
    try:
        with _native_output_captured() as messages:  # GLFW's complaints, from C
            opened = vis.create_window(visible=False, width=size, height=size)
    finally:
        o3d.utility.set_verbosity_level(verbosity)
    if not opened:
        raise RenderError(
            "Open3D could not create an off-screen window: install the EGL/GL libraries "
            f"(libegl1, libgl1; `make setup` does it as root). Open3D said:\n{messages[0]}"
        )
    try:
        vis.add_geometry(cloud)
        option = vis.get_render_option()
        option.light_on = False  # unlit: pixels carry the (shaded) colours exactly
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
