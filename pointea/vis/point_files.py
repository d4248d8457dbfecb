"""Reading users' point clouds and meshes, and writing labelled coloured PLY files (Open3D)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pointea.data.errors import DatasetError

__all__ = [
    "CLOUD_SUFFIXES",
    "MESH_SUFFIXES",
    "read_labeled_ply",
    "read_points",
    "write_labeled_ply",
]

CLOUD_SUFFIXES = (".ply", ".pcd", ".xyz", ".pts", ".txt", ".npy")
MESH_SUFFIXES = (".off", ".obj", ".stl")


def read_points(path: Path, *, mesh_points: int = 10_000, seed: int = 0) -> np.ndarray:
    """Coordinates of a point file, or ``mesh_points`` samples on a mesh's surface: (N, 3).

    ``.txt`` holds whitespace- or comma-separated rows whose first three columns are x y z;
    ``.npy`` an (N, >=3) array. A ``.ply`` with faces is read as a point cloud of its
    vertices unless it has no vertices as a cloud.
    """
    import open3d as o3d

    path = Path(path)
    suffix = path.suffix.lower()
    if not path.is_file():
        raise DatasetError(f"{path}: no such file")
    if suffix not in CLOUD_SUFFIXES + MESH_SUFFIXES:
        raise DatasetError(
            f"{path}: unsupported format {suffix or '(no suffix)'}; expected one of "
            f"{', '.join(CLOUD_SUFFIXES + MESH_SUFFIXES)}"
        )
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
            o3d.utility.random.seed(seed)
            array = np.asarray(mesh.sample_points_uniformly(mesh_points).points)
        else:
            array = np.asarray(o3d.io.read_point_cloud(str(path)).points)
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
    points = np.asarray(array[:, :3], dtype=np.float64)
    if len(points) == 0:
        raise DatasetError(f"{path}: the cloud is empty (or the file could not be parsed)")
    if not np.isfinite(points).all():
        bad = int((~np.isfinite(points).all(axis=1)).sum())
        raise DatasetError(f"{path}: {bad} point(s) have NaN or infinite coordinates")
    return points


def write_labeled_ply(
    path: Path, points: np.ndarray, colors: np.ndarray, labels: np.ndarray
) -> Path:
    """Binary PLY with float x y z, uchar red green blue and an int ``label`` per point."""
    import open3d as o3d

    cloud = o3d.t.geometry.PointCloud(o3d.core.Tensor(np.asarray(points, dtype=np.float32)))
    cloud.point["colors"] = o3d.core.Tensor(np.asarray(colors, dtype=np.uint8))
    cloud.point["label"] = o3d.core.Tensor(np.asarray(labels, dtype=np.int32).reshape(-1, 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    if not o3d.t.io.write_point_cloud(str(path), cloud):
        raise OSError(f"Open3D could not write {path}")
    return path


def read_labeled_ply(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Points (N, 3), colours (N, 3) uint8 and labels (N,) of a PLY from :func:`write_labeled_ply`."""
    import open3d as o3d

    cloud = o3d.t.io.read_point_cloud(str(path))
    return (
        cloud.point["positions"].numpy(),
        cloud.point["colors"].numpy(),
        cloud.point["label"].numpy().reshape(-1),
    )
