"""The PointNet-family HDF5 releases: list files, shards, whole-array validation.

Both ModelNet40 (``modelnet40_ply_hdf5_2048``) and ShapeNetPart (``hdf5_data``) store
shards ``ply_data_<split><i>.h5`` named in list files, with ``data`` (n, P, 3) float
coordinates and integer ``label`` (n, 1). :class:`H5Release` reads them for both readers;
everything is read into memory and every file is closed before the caller gets the arrays.
"""

from __future__ import annotations

import re
from abc import abstractmethod
from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar

import h5py
import numpy as np
import torch

from pointea.data.errors import DatasetError
from pointea.data.point_cloud_release import PointCloudRelease

__all__ = [
    "H5Release",
    "check_lists_disjoint",
    "read_list_file",
    "read_names",
    "read_shards",
    "read_text_lines",
    "stored_points",
]


class H5Release(PointCloudRelease):
    """A release of ``ply_data_<split><i>.h5`` shards named in one list file per split.

    S shapes, P stored points. A subclass sets the layout's facts below and converts the
    shards' raw arrays (:meth:`convert`); finding the folder, the list files, reading and
    checking the shards and the stored point count are done here once.

    Class attributes (beyond :class:`PointCloudRelease`'s):
        list_file: each split's list of shards, ``"{split}_files.txt"``-style.
        list_splits: the splits that have a list file. No shard may serve two of them.
        joined_splits: splits read as the union of others, e.g. ``{"trainval": ("train",
            "val")}``.
        keys: the HDF5 datasets every shard holds (``"data"`` and ``"label"`` first).

    Shapes:
        convert(raw): raw {"data": (S, P, 3) float, "label": (S,) int, ...} -> arrays()
    """

    list_file: ClassVar[str]
    list_splits: ClassVar[tuple[str, ...]]
    joined_splits: ClassVar[Mapping[str, tuple[str, ...]]] = {}
    keys: ClassVar[tuple[str, ...]] = ("data", "label")

    @classmethod
    def stored_count(cls, folder: Path) -> tuple[int, Path]:
        """Points per shape of the shards in ``folder``, from their HDF5 headers."""
        return stored_points(folder)

    def load(self, folder: Path, split: str) -> dict[str, torch.Tensor]:
        """Read the shards of ``split``'s list file(s), check them and :meth:`convert` them."""
        check_lists_disjoint({s: folder / self.list_file.format(split=s) for s in self.list_splits})
        shards: list[Path] = []
        for name in self.joined_splits.get(split, (split,)):
            shards += read_list_file(folder / self.list_file.format(split=name))
        raw, counts = read_shards(shards, self.keys)
        self.sources = list(zip(shards, counts, strict=True))
        return self.convert(folder / self.list_file.format(split=split), raw)

    @abstractmethod
    def convert(self, where: Path, raw: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
        """The split's arrays from the shards' (shape-checked) raw arrays, with the labels
        checked against ``self.tables``; ``where`` names the split's list file in errors."""


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


def read_shards(
    shards: list[Path], keys: tuple[str, ...]
) -> tuple[dict[str, np.ndarray], list[int]]:
    """Concatenate ``keys`` over the shards; labels are flattened from (n, 1) to (n,).

    Returns:
        the arrays, and the shapes each shard holds (in order)
    """
    parts: dict[str, list[np.ndarray]] = {key: [] for key in keys}
    counts: list[int] = []
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
                    if not isinstance(f[key], h5py.Dataset):
                        raise DatasetError(
                            f"{shard}: {key!r} is an HDF5 {type(f[key]).__name__.lower()}, "
                            f"expected a dataset (an array)"
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
        counts.append(len(arrays["data"]))
    return {key: np.concatenate(chunks) for key, chunks in parts.items()}, counts


def _check_shard(shard: Path, arrays: dict[str, np.ndarray]) -> None:
    data = arrays["data"]
    if data.ndim != 3 or data.shape[2] != 3:
        raise DatasetError(f"{shard}: 'data' must have shape (n, points, 3), got {data.shape}")
    if not np.issubdtype(data.dtype, np.floating):
        raise DatasetError(f"{shard}: 'data' must be floating point, got dtype {data.dtype}")
    count = data.shape[0]
    if count == 0:
        raise DatasetError(f"{shard} holds no shapes ('data' has shape {data.shape})")
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


def stored_points(folder: Path) -> tuple[int, Path]:
    """Points per shape stored by the release's shards (the ``*.h5`` files holding ``data``
    in ``folder``), read from the HDF5 headers only, and the first shard (to name it).
    Shards that disagree are refused.
    """
    counts: list[tuple[Path, int]] = []
    for shard in sorted(folder.glob("*.h5")):
        try:
            with h5py.File(shard, "r") as f:
                data = f.get("data")
                if data is not None and not isinstance(data, h5py.Dataset):
                    raise DatasetError(
                        f"{shard}: 'data' is an HDF5 {type(data).__name__.lower()}, expected "
                        f"a dataset (an array)"
                    )
                shape = None if data is None else data.shape
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
