"""Reading the PointNet-family HDF5 releases: list files, shards, whole-array validation.

Both ModelNet40 (``modelnet40_ply_hdf5_2048``) and ShapeNetPart (``hdf5_data``) store
shards ``ply_data_<split><i>.h5`` named in list files, with ``data`` (n, P, 3) float
coordinates and integer ``label`` (n, 1). Everything is read into memory and every file
is closed before the caller gets the arrays.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import h5py
import numpy as np

from pointea.data.errors import DatasetError

__all__ = [
    "check_lists_disjoint",
    "check_points",
    "find_release",
    "read_list_file",
    "read_names",
    "read_shards",
    "read_text_lines",
    "stored_points",
]


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


def read_text_lines(path: Path) -> list[str]:
    """The non-empty, stripped lines of a small text file of a release; an unreadable or
    binary file is a :class:`DatasetError` naming it."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise DatasetError(
            f"{path} is not a text file (byte {err.start} is not UTF-8); expected one name per line"
        ) from err
    except OSError as err:
        raise DatasetError(f"{path} cannot be read: {err.strerror or err}") from err
    if "\x00" in text:
        raise DatasetError(
            f"{path} is not a text file (it holds NUL bytes); expected one name per line"
        )
    return [line.strip() for line in text.splitlines() if line.strip()]


def read_names(path: Path) -> list[str]:
    """A release's class table: one name per line, at least one, none twice."""
    names = read_text_lines(path)
    if not names:
        raise DatasetError(f"{path} lists no class")
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise DatasetError(f"{path} lists class name(s) more than once: {twice}")
    return names


def _shard_names(path: Path) -> list[str]:
    """Basenames of the shards a list file names, in order (paths may carry a folder prefix)."""
    return [Path(name.replace("\\", "/")).name for name in read_text_lines(path)]


def read_list_file(path: Path) -> list[Path]:
    """Shard paths named in a release list file, resolved by basename next to it."""
    if not path.is_file():
        raise DatasetError(f"list file {path} is missing")
    names = _shard_names(path)
    if not names:
        raise DatasetError(f"list file {path} names no shard")
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise DatasetError(f"list file {path} names shard(s) more than once: {twice}")
    shards = [path.parent / name for name in names]
    missing = [shard.name for shard in shards if not shard.is_file()]
    if missing:
        raise DatasetError(f"{path} names shard(s) missing from {path.parent}: {missing}")
    return shards


def check_lists_disjoint(lists: Mapping[str, Path]) -> None:
    """No shard may serve two splits: ``lists`` maps each split to its list file.

    Refused: a shard named by two list files, and a shard named like another split's
    (``ply_data_test0.h5`` in the train list). Absent list files are left to the reader.
    """
    owner: dict[str, Path] = {}
    present = {split: path for split, path in lists.items() if path.is_file()}
    for split, path in present.items():
        for name in _shard_names(path):
            other = next(
                (s for s in lists if s != split and re.fullmatch(rf"ply_data_{s}\d*\.h5", name)),
                None,
            )
            if other is not None:
                raise DatasetError(f"{path} names {name}, a {other} shard, in the {split} split")
            if name in owner and owner[name] != path:
                raise DatasetError(
                    f"shard {name} is named by both {owner[name]} and {path}: a shard may belong "
                    f"to one split only"
                )
            owner[name] = path


def read_shards(shards: list[Path], keys: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Concatenate ``keys`` over the shards; labels are flattened from (n, 1) to (n,)."""
    parts: dict[str, list[np.ndarray]] = {key: [] for key in keys}
    first: tuple[Path, int] | None = None
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
        points = arrays["data"].shape[1]
        if first is None:
            first = (shard, points)
        elif points != first[1]:
            raise DatasetError(
                f"{shard} stores {points} points per shape but {first[0]} stores {first[1]}: "
                f"every shard of a release must store the same number"
            )
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
    if count and data.shape[1]:
        flat = np.ptp(data, axis=1).max(axis=1) == 0  # (n,) every point of the shape coincides
        if flat.any():
            raise DatasetError(
                f"{shard}: {int(flat.sum())} shape(s) have all their points at one place "
                f"(first at row {int(np.argmax(flat))}); a cloud must have extent"
            )


def check_points(where: Path, stored: int, num_points: int) -> None:
    """The release must store at least the requested number of points per shape."""
    if num_points > stored:
        raise DatasetError(
            f"{where}: shapes store {stored} points, fewer than num_points={num_points}"
        )


def stored_points(folder: Path) -> tuple[int, Path]:
    """Points per shape stored by the release's shards (the ``*.h5`` files holding ``data``
    in ``folder``), read from the HDF5 headers only, and the first shard (to name it).
    Shards that disagree are refused.
    """
    counts: list[tuple[Path, int]] = []
    for shard in sorted(folder.glob("*.h5")):
        try:
            with h5py.File(shard, "r") as f:
                shape = f["data"].shape if isinstance(f.get("data"), h5py.Dataset) else None
        except OSError as err:
            raise DatasetError(f"{shard} is not a readable HDF5 file: {err}") from err
        if shape is None:
            continue  # not a shard
        if len(shape) != 3:
            raise DatasetError(f"{shard}: 'data' must have shape (n, points, 3), got {shape}")
        counts.append((shard, shape[1]))
    if not counts:
        raise DatasetError(f"{folder} holds no HDF5 shard (an .h5 file with 'data')")
    first, points = counts[0]
    for shard, count in counts[1:]:
        if count != points:
            raise DatasetError(
                f"{shard} stores {count} points per shape but {first} stores {points}: "
                f"every shard of a release must store the same number"
            )
    return points, first
