"""Reading users' point clouds and meshes, and writing labelled coloured PLY files (Open3D)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from pointea.data.errors import DatasetError
from pointea.vis.atomic import WriteError, atomic_output

__all__ = [
    "CLOUD_SUFFIXES",
    "MESH_SUFFIXES",
    "check_ply",
    "read_cloud",
    "read_labeled_ply",
    "read_points",
    "write_labeled_ply",
]

CLOUD_SUFFIXES = (".ply", ".pcd", ".xyz", ".pts", ".txt", ".npy")
MESH_SUFFIXES = (".off", ".obj", ".stl")


def read_points(path: Path, *, mesh_points: int = 10_000, seed: int = 0) -> np.ndarray:
    """Coordinates of a point file, or ``mesh_points`` samples on a mesh's surface: (N, 3)
    float64. The formats and their rules are :func:`read_cloud`'s."""
    return read_cloud(path, mesh_points=mesh_points, seed=seed)[0]


def _first_row_width(path: Path) -> int:
    """The number of whitespace- or comma-separated values on a text file's first line."""
    with path.open("rb") as f:
        line = f.readline(4096)
    return len(line.decode("ascii", "replace").replace(",", " ").split())


def read_cloud(
    path: Path, *, mesh_points: int = 10_000, seed: int = 0
) -> tuple[np.ndarray, np.ndarray | None]:
    """Coordinates of a point file and its normals where it has them, or ``mesh_points``
    samples on a mesh's surface with the normals of the faces they lie on.

    - ``.txt``: whitespace- or comma-separated rows whose first three columns are x y z;
      ``.npy``: an (N, >=3) array. With 6 or more columns, columns 4-6 are the normals
      (``x y z nx ny nz [label]``, the layout of the standard text releases).
    - ``.xyz``, ``.pts``: rows of x y z, with normals when the first row has 6 or more
      values; a ``.pts`` whose first line is a single number (the point count of
      Open3D's own ``.pts``) is read by Open3D as such, without normals.
    - ``.ply``, ``.pcd``: through Open3D, with the file's normals when it stores them. A
      ``.ply`` with faces is read as a point cloud of its vertices.
    - ``.off``, ``.obj``, ``.stl``: ``mesh_points`` points sampled uniformly on the surface
      (``seed`` fixes them), each with its face's normal (the faces' winding orients it).

    Returns:
        points (N, 3) float64 and normals (N, 3) float64 as stored (not checked for unit
        length), or ``None`` when the file has none.
    """
    import open3d as o3d

    path = Path(path)
    suffix = path.suffix.lower()
    if not path.is_file():
        raise DatasetError(f"{path}: no such file")
    if not os.access(path, os.R_OK):
        raise DatasetError(f"{path}: cannot be read (permission denied)")
    if suffix not in CLOUD_SUFFIXES + MESH_SUFFIXES:
        raise DatasetError(
            f"{path}: unsupported format {suffix or '(no suffix)'}; expected one of "
            f"{', '.join(CLOUD_SUFFIXES + MESH_SUFFIXES)}"
        )
    normals = None
    try:
        if suffix == ".npy":
            array = np.load(path, allow_pickle=False)
        elif suffix == ".txt":
            text = path.read_text().replace(",", " ")
            array = np.loadtxt(text.splitlines(), ndmin=2) if text.strip() else np.zeros((0, 3))
        elif suffix in MESH_SUFFIXES:
            mesh = o3d.io.read_triangle_mesh(str(path))
            if len(mesh.triangles) == 0:
                raise DatasetError(
                    f"{path}: the mesh has no faces to sample (or could not be read)"
                )
            mesh.compute_triangle_normals()
            o3d.utility.random.seed(seed)
            sampled = mesh.sample_points_uniformly(mesh_points, use_triangle_normal=True)
            array = np.hstack([np.asarray(sampled.points), np.asarray(sampled.normals)])
        else:
            width = _first_row_width(path) if suffix in (".xyz", ".pts") else 0
            if width == 1 and suffix == ".pts":
                fmt = "auto"  # Open3D's .pts: a count line, then x y z [i] [r g b]
            elif width:
                fmt = "xyzn" if width >= 6 else "xyz"
            else:
                fmt = "auto"
            cloud = o3d.io.read_point_cloud(str(path), format=fmt)
            array = np.asarray(cloud.points)
            if cloud.has_normals():
                array = np.hstack([array, np.asarray(cloud.normals)])
    except DatasetError:
        raise
    except Exception as err:  # noqa: BLE001 - readers raise many kinds; name the file
        raise DatasetError(
            f"{path}: could not be read as {suffix} ({type(err).__name__}: {err})"
        ) from err
    if array.ndim != 2 or array.shape[1] < 3:
        raise DatasetError(
            f"{path}: expected rows of at least 3 coordinates, got an array of shape {array.shape}"
        )
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_):
        raise DatasetError(
            f"{path}: expected numbers, got an array of dtype {array.dtype} ({array.dtype.kind!r})"
        )
    points = np.asarray(array[:, :3], dtype=np.float64)
    if len(points) == 0:
        raise DatasetError(f"{path}: the cloud is empty (or the file could not be parsed)")
    if not np.isfinite(points).all():
        bad = int((~np.isfinite(points).all(axis=1)).sum())
        raise DatasetError(f"{path}: {bad} point(s) have NaN or infinite coordinates")
    if array.shape[1] >= 6:
        normals = np.asarray(array[:, 3:6], dtype=np.float64)
    return points, normals


def write_labeled_ply(
    path: Path, points: np.ndarray, colors: np.ndarray, labels: np.ndarray
) -> Path:
    """Binary PLY with float x y z, uchar red green blue and an int ``label`` per point.

    Written atomically (:func:`~pointea.vis.atomic.atomic_output`); the file Open3D wrote
    is checked (vertex count and size) before it replaces ``path``, since Open3D can
    report success for a truncated file.
    """
    import open3d as o3d

    cloud = o3d.t.geometry.PointCloud(o3d.core.Tensor(np.asarray(points, dtype=np.float32)))
    cloud.point["colors"] = o3d.core.Tensor(np.asarray(colors, dtype=np.uint8))
    cloud.point["label"] = o3d.core.Tensor(np.asarray(labels, dtype=np.int32).reshape(-1, 1))
    path = Path(path)
    with atomic_output(path) as tmp:
        if not o3d.t.io.write_point_cloud(str(tmp), cloud):
            raise WriteError(f"{path}: Open3D could not write it")
        check_ply(tmp, len(points), path)
    return path


# Bytes per value of each PLY scalar type.
_PLY_SIZES = {
    **dict.fromkeys(("char", "uchar", "int8", "uint8"), 1),
    **dict.fromkeys(("short", "ushort", "int16", "uint16"), 2),
    **dict.fromkeys(("int", "uint", "float", "int32", "uint32", "float32"), 4),
    **dict.fromkeys(("double", "float64"), 8),
}


def check_ply(written: Path, count: int, name: Path | None = None) -> None:
    """A binary PLY of ``count`` vertices with fixed-size properties must be complete:
    its header names ``count`` vertices and the file holds exactly their bytes."""
    name = name or written
    with written.open("rb") as f:
        head = f.read(4096)
    end = head.find(b"end_header\n")
    if not head.startswith(b"ply") or end < 0:
        raise WriteError(f"{name}: the written file has no complete PLY header")
    lines = head[:end].decode("ascii", "replace").splitlines()
    vertices, record, element = None, 0, None
    for line in lines:
        words = line.split()
        if words[:1] == ["element"]:
            element = words[1]
            if element == "vertex":
                vertices = int(words[2])
            elif int(words[2]) != 0:
                return  # other elements (faces): not a layout this check knows
        elif words[:1] == ["property"] and element == "vertex":
            if words[1] == "list" or words[1] not in _PLY_SIZES:
                return
            record += _PLY_SIZES[words[1]]
    if not any(line.startswith("format binary") for line in lines):
        return
    expected = end + len(b"end_header\n") + count * record
    size = written.stat().st_size
    if vertices != count or size != expected:
        raise WriteError(
            f"{name}: the written file is incomplete (header: {vertices} vertices, "
            f"{size} bytes; expected {count} vertices, {expected} bytes)"
        )


def read_labeled_ply(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Points (N, 3), colours (N, 3) uint8 and labels (N,) of a PLY from :func:`write_labeled_ply`."""
    import open3d as o3d

    cloud = o3d.t.io.read_point_cloud(str(path))
    return (
        cloud.point["positions"].numpy(),
        cloud.point["colors"].numpy(),
        cloud.point["label"].numpy().reshape(-1),
    )
