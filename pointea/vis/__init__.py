"""Rendering, export and plots. The only package that imports open3d or matplotlib."""

from pointea.vis.palette import PALETTE, label_colors

__all__ = ["PALETTE", "label_colors"]
