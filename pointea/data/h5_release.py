"""Reading the PointNet-family HDF5 releases: list files, shards, whole-array validation.

Both ModelNet40 (``modelnet40_ply_hdf5_2048``) and ShapeNetPart (``hdf5_data``) store
shards ``ply_data_<split><i>.h5`` named in list files, with ``data`` (n, P, 3) float
coordinates and integer ``label`` (n, 1). Everything is read into memory and every file
is closed before the caller gets the arrays.
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from pointea.data.errors import DatasetError

__all__ = ["find_release", "read_list_file", "read_shards", "check_points"]


def find_release(root: str | Path, folder: str, marker: str, download_hint: str) -> Path:
    """The release folder: ``root`` itself when it holds ``marker``, else ``root / folder``."""
    root = Path(root).expanduser()
    for candidate in (root, root / folder):
        if (candidate / marker).is_file():
            return candidate
    state = "does not exist" if not root.exists() else "holds no release"
    raise DatasetError(
        f"{root} {state}: expected {folder}/{marker} (or {marker} directly) in it. "
        f"Download it with `{download_hint} --root {root}`."
    )


def read_list_file(path: Path) -> list[Path]:
    """Shard paths named in a release list file, resolved by basename next to it."""
    if not path.is_file():
        raise DatasetError(f"list file {path} is missing")
    names = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    if not names:
        raise DatasetError(f"list file {path} names no shard")
    shards = [path.parent / Path(name.replace("\\", "/")).name for name in names]
    missing = [shard.name for shard in shards if not shard.is_file()]
    if missing:
        raise DatasetError(f"{path} names shard(s) missing from {path.parent}: {missing}")
    return shards


def read_shards(shards: list[Path], keys: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Concatenate ``keys`` over the shards; labels are flattened from (n, 1) to (n,)."""
    parts: dict[str, list[np.ndarray]] = {key: [] for key in keys}
    for shard in shards:
        try:
            with h5py.File(shard, "r") as f:
                arrays = {}
                for key in keys:
                    if key not in f:
                        raise DatasetError(
                            f"{shard}: key {key!r} is missing (keys present: {sorted(f.keys())})"
                        )
                    arrays[key] = f[key][()]
        except OSError as err:
            raise DatasetError(f"{shard} is not a readable HDF5 file: {err}") from err
        _check_shard(shard, arrays)
        for key in keys:
            parts[key].append(arrays[key])
    return {key: np.concatenate(chunks) for key, chunks in parts.items()}


def _check_shard(shard: Path, arrays: dict[str, np.ndarray]) -> None:
    data = arrays["data"]
    if data.ndim != 3 or data.shape[2] != 3:
        raise DatasetError(f"{shard}: 'data' must have shape (n, points, 3), got {data.shape}")
    if not np.issubdtype(data.dtype, np.floating):
        raise DatasetError(f"{shard}: 'data' must be floating point, got dtype {data.dtype}")
    count = data.shape[0]
    label = arrays["label"]
    if label.shape not in ((count,), (count, 1)):
        raise DatasetError(f"{shard}: 'label' must have shape ({count}, 1), got {label.shape}")
    if not np.issubdtype(label.dtype, np.integer):
        raise DatasetError(f"{shard}: 'label' must be integer, got dtype {label.dtype}")
    arrays["label"] = label.reshape(count)
    if "pid" in arrays:
        pid = arrays["pid"]
        if pid.shape != data.shape[:2]:
            raise DatasetError(f"{shard}: 'pid' must have shape {data.shape[:2]}, got {pid.shape}")
        if not np.issubdtype(pid.dtype, np.integer):
            raise DatasetError(f"{shard}: 'pid' must be integer, got dtype {pid.dtype}")
    bad = ~np.isfinite(data).all(axis=(1, 2))
    if bad.any():
        raise DatasetError(
            f"{shard}: {int(bad.sum())} shape(s) have NaN or infinite coordinates "
            f"(first at row {int(np.argmax(bad))})"
        )


def check_points(where: Path, stored: int, num_points: int) -> None:
    """The release must store at least the requested number of points per shape."""
    if num_points > stored:
        raise DatasetError(
            f"{where}: shapes store {stored} points, fewer than num_points={num_points}"
        )
