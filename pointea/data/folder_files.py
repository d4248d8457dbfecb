"""The files of a folder of a user's labelled clouds: which are data, their labels, their
split (given by ``train/``/``test/`` folders or kept in ``splits.json``) and their parsing.

Used by :class:`~pointea.data.point_folder.PointFolder` (one class per sub-folder) and
:class:`~pointea.data.part_folder.PartFolder` (per-point part labels). Paths are kept
relative to the folder, in POSIX form, so that ``splits.json`` is portable and editable.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from pointea.data.errors import DatasetError
from pointea.data.splits import stratified_split
from pointea.data.user_clouds import normalise_cloud

__all__ = [
    "PARTS_FILE",
    "SPLITS_FILE",
    "FolderListing",
    "assign_splits",
    "list_folder",
    "parse_cloud",
    "parse_labelled_cloud",
]

log = logging.getLogger(__name__)

SPLITS_FILE = "splits.json"  # the seeded split of a folder without train/ and test/
PARTS_FILE = "parts.json"  # {category: [part name, ...]}, global part ids in listed order
SPLIT_DIRS = ("train", "test")
LABEL_SUFFIXES = (".ply", ".txt", ".pts", ".npy")  # files that can carry per-point labels


@dataclass
class FolderListing:
    """What a folder holds, before any file is parsed.

    Attributes:
        files: data files, relative POSIX paths, sorted.
        labels: each file's class or category (its sub-folder's name).
        splits: each file's split from a ``train/``/``test/`` folder, or ``None`` for all
            when the folder has none.
        skipped: ``(relative path, why)`` of files that are not data (unsupported format,
            outside a class folder).
        empty: label folders that hold no data file in any split.
    """

    files: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    splits: list[str | None] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    empty: list[str] = field(default_factory=list)

    def add(self, rel: str, label: str, split: str | None) -> None:
        self.files.append(rel)
        self.labels.append(label)
        self.splits.append(split)


def _walk(top: Path, suffixes: tuple[str, ...]) -> list[Path]:
    """Every non-hidden file under ``top``, and every folder named like a data file (``x.ply/``,
    reported as not a file), sorted; an unreadable folder is refused."""

    def refuse(err: OSError) -> None:
        raise DatasetError(f"{err.filename} cannot be read: {err.strerror or err}")

    found = []
    for folder, dirs, files in os.walk(top, onerror=refuse):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found += [Path(folder) / f for f in files if not f.startswith(".")]
        found += [Path(folder) / d for d in dirs if Path(d).suffix.lower() in suffixes]
    return sorted(found)


def _not_a_file(path: Path) -> str | None:
    """Why a listed data path cannot be read as a file (a folder, a broken or looping link),
    or ``None`` when it can be opened."""
    try:
        if path.is_dir():
            return "a folder, not a data file"
        path.stat()
    except OSError as err:
        return f"cannot be read: {err.strerror or err}"
    return None


def _children(folder: Path) -> tuple[list[str], list[str]]:
    """Non-hidden sub-folders and files of ``folder``, sorted."""
    try:
        entries = [e for e in os.scandir(folder) if not e.name.startswith(".")]
    except OSError as err:
        raise DatasetError(f"{folder} cannot be read: {err.strerror or err}") from err
    dirs = sorted(e.name for e in entries if e.is_dir())
    return dirs, sorted(e.name for e in entries if not e.is_dir())


def list_folder(root: Path, suffixes: tuple[str, ...], flat_label: str | None) -> FolderListing:
    """The data files of ``root`` and their labels and splits.

    Layouts: ``root/<label>/...`` (files at any depth; ``root/<label>/{train,test}/...``,
    ModelNet's own, gives the split), or ``root/{train,test}/<label>/...``. With
    ``flat_label``, files directly in ``root`` (or in ``root/{train,test}/``) carry that
    label (a segmentation folder of one category); otherwise they are skipped.

    Raises:
        DatasetError: an unreadable folder, or a folder that gives some files a split
            and others none.
    """
    listing = FolderListing()
    dirs, files = _children(root)
    files = [f for f in files if f not in (SPLITS_FILE, PARTS_FILE)]
    if set(SPLIT_DIRS) <= set(dirs):
        for name in dirs:
            if name not in SPLIT_DIRS:
                listing.skipped.append((f"{name}/", "a folder beside train/ and test/"))
        listing.skipped += [(name, "not inside train/ or test/") for name in files]
        tops = [(root / split, split) for split in SPLIT_DIRS]
    else:
        tops = [(root, None)]
    folders = set()
    for top, split in tops:
        sub_dirs, loose = _children(top) if split else (dirs, files)
        for name in loose:
            rel = (top / name).relative_to(root).as_posix()
            if flat_label is None or sub_dirs:
                listing.skipped.append((rel, "not inside a class folder"))
            elif Path(name).suffix.lower() in suffixes:
                why = _not_a_file(top / name)
                if why:
                    listing.skipped.append((rel, why))
                else:
                    listing.add(rel, flat_label, split)
            else:
                listing.skipped.append(
                    (rel, f"unsupported format (expected {', '.join(suffixes)})")
                )
        folders.update(sub_dirs)
        for label in sub_dirs:
            for path in _walk(top / label, suffixes):
                rel = path.relative_to(root).as_posix()
                if path.suffix.lower() not in suffixes:
                    listing.skipped.append(
                        (rel, f"unsupported format (expected {', '.join(suffixes)})")
                    )
                    continue
                why = _not_a_file(path)
                if why:
                    listing.skipped.append((rel, why))
                    continue
                inner = path.relative_to(top / label).parts
                given = split or (inner[0] if len(inner) > 1 and inner[0] in SPLIT_DIRS else None)
                listing.add(rel, label, given)
    listing.empty = sorted(folders - set(listing.labels))
    with_split = [f for f, s in zip(listing.files, listing.splits, strict=True) if s]
    without = [f for f, s in zip(listing.files, listing.splits, strict=True) if not s]
    if with_split and without:
        raise DatasetError(
            f"{root}: {with_split[0]} lies in a train/ or test/ folder but {without[0]} does "
            f"not; put every file in one (or none, for a seeded split kept in {SPLITS_FILE})"
        )
    return listing


def assign_splits(root: Path, listing: FolderListing, fraction: float, seed: int) -> list[str]:
    """Each listed file's split: its folder's, else ``root/splits.json``'s, else a new
    seeded split stratified by label (``fraction`` of each label to test), written to
    ``splits.json`` so that it stays the same and can be edited.

    Files that ``splits.json`` does not list are left out (one warning line names them);
    the file naming a missing file, a file twice or another key is refused.
    """
    if all(listing.splits):
        return list(listing.splits)
    path = root / SPLITS_FILE
    if path.is_file():
        return _read_splits(path, listing)
    names = sorted(set(listing.labels))
    labels = torch.tensor([names.index(label) for label in listing.labels])
    train, test = stratified_split(labels, fraction, seed)
    splits = ["train"] * len(listing.files)
    for i in test.tolist():
        splits[i] = "test"
    table = {
        s: [f for f, t in zip(listing.files, splits, strict=True) if t == s] for s in SPLIT_DIRS
    }
    from pointea.vis.atomic import atomic_output

    try:
        with atomic_output(path) as tmp:
            tmp.write_text(json.dumps(table, indent=1) + "\n")
    except OSError as err:  # a read-only data folder: the split is the same for the seed
        log.warning("%s not written (%s): the split is recomputed from data.seed", path, err)
    return splits


def _read_splits(path: Path, listing: FolderListing) -> list[str]:
    try:
        table = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise DatasetError(
            f"{path} cannot be read as JSON ({err}); expected "
            f'{{"train": [files], "test": [files]}}, or delete it to split again'
        ) from err
    if (
        not isinstance(table, dict)
        or set(table) != set(SPLIT_DIRS)
        or not all(
            isinstance(v, list) and all(isinstance(f, str) for f in v) for v in table.values()
        )
    ):
        raise DatasetError(
            f'{path}: expected {{"train": [files], "test": [files]}} with paths relative to '
            f"{path.parent}; delete it to split again"
        )
    owner: dict[str, str] = {}
    for split in SPLIT_DIRS:
        for name in table[split]:
            if name in owner:
                raise DatasetError(f"{path} lists {name} twice (in {owner[name]} and {split})")
            owner[name] = split
    missing = sorted(set(owner) - set(listing.files))
    if missing:
        raise DatasetError(
            f"{path} lists {len(missing)} file(s) that are not data files of {path.parent}: "
            f"{', '.join(missing[:5])}; fix the list or delete it to split again"
        )
    unlisted = [f for f in listing.files if f not in owner]
    if unlisted:
        log.warning(
            "%d file(s) of %s are not listed in %s and are left out: %s; delete it to split again",
            len(unlisted), path.parent, path.name, ", ".join(unlisted[:5]),
        )  # fmt: skip
    return [owner.get(f, "") for f in listing.files]


def parse_cloud(path: Path, mesh_points: int) -> dict[str, np.ndarray]:
    """A classification file: its points, normalised (meshes sampled on the surface).

    Shapes:
        -> {"data": (R, 3) float32}
    """
    from pointea.vis.point_files import read_points

    if path.suffix.lower() == ".ply":
        _check_complete_ply(path)
    return {"data": normalise_cloud(read_points(path, mesh_points=mesh_points), path)}


def _check_complete_ply(path: Path) -> None:
    """A binary PLY cut short reads as fewer points without an error: its header's vertex
    count and the file's size must agree."""
    from pointea.vis.atomic import WriteError
    from pointea.vis.point_files import check_ply

    try:
        with path.open("rb") as f:
            head = f.read(4096)
        if b"element vertex" in head and b"end_header" in head:
            check_ply(path, int(head.split(b"element vertex", 1)[1].split()[0]))
    except (OSError, ValueError, IndexError) as err:
        raise DatasetError(f"{path} cannot be read as .ply ({err})") from err
    except WriteError as err:
        raise DatasetError(str(err).replace("the written file", "the file")) from err


def parse_labelled_cloud(path: Path) -> dict[str, np.ndarray]:
    """A segmentation file: its points, normalised, and a global part id per point.

    ``.ply``: a ``label`` vertex property (what ``pointea-predict`` writes); ``.txt``,
    ``.pts``, ``.npy``: 4 (x y z label) or 7 (x y z nx ny nz label) columns.

    Shapes:
        -> {"data": (R, 3) float32, "pid": (R,) int64}
    """
    suffix = path.suffix.lower()
    if suffix == ".ply":
        points, labels = _read_ply_labels(path)
    else:
        table = _read_rows(path)
        if table.ndim != 2 or table.shape[1] not in (4, 7):
            raise DatasetError(
                f"{path}: expected 4 columns (x y z label) or 7 (x y z nx ny nz label), got "
                f"an array of shape {table.shape}"
            )
        points, labels = table[:, :3], table[:, -1]
    if len(points) == 0:
        raise DatasetError(f"{path} holds no points")
    if not np.isfinite(points).all():
        bad = int((~np.isfinite(points).all(axis=1)).sum())
        raise DatasetError(f"{path}: {bad} point(s) have NaN or infinite coordinates")
    labels = np.asarray(labels, dtype=np.float64)
    whole = np.isfinite(labels) & (labels == np.round(labels)) & (labels >= 0)
    if not whole.all():
        row = int(np.argmax(~whole))
        raise DatasetError(
            f"{path}: label {labels[row]:g} at point {row} is not a part id (a whole number >= 0)"
        )
    return {"data": normalise_cloud(np.asarray(points, dtype=np.float64), path),
            "pid": labels.astype(np.int64)}  # fmt: skip


def _read_rows(path: Path) -> np.ndarray:
    """The numeric rows of a ``.npy``, ``.txt`` or ``.pts`` file (any column count)."""
    if path.suffix.lower() == ".npy":
        try:
            array = np.load(path, allow_pickle=False)
        except (OSError, ValueError, EOFError) as err:
            raise DatasetError(f"{path} cannot be read as .npy ({err})") from err
        if not np.issubdtype(array.dtype, np.number):
            raise DatasetError(f"{path}: expected numbers, got an array of dtype {array.dtype}")
        return array
    from pointea.data.text_table import read_table

    try:
        with path.open("rb") as f:
            first = next((line for line in f if line.strip()), b"")
    except OSError as err:
        raise DatasetError(f"{path} cannot be read: {err.strerror or err}") from err
    columns = len(first.replace(b",", b" ").split())
    if not columns:
        raise DatasetError(f"{path} is empty; expected rows of x y z [nx ny nz] label")
    if columns not in (4, 7):
        raise DatasetError(
            f"{path}: line 1 has {columns} columns, expected 4 (x y z label) or 7 "
            f"(x y z nx ny nz label)"
        )
    return read_table(path, columns, "x y z [nx ny nz] label")


def _read_ply_labels(path: Path) -> tuple[np.ndarray, np.ndarray]:
    import open3d as o3d

    _check_complete_ply(path)
    try:
        cloud = o3d.t.io.read_point_cloud(str(path))
    except (OSError, ValueError, RuntimeError) as err:
        raise DatasetError(f"{path} cannot be read as .ply ({err})") from err
    if "positions" not in cloud.point or "label" not in cloud.point:
        raise DatasetError(
            f"{path}: no 'label' vertex property (a part-labelled .ply holds one per point, "
            f"as pointea-predict writes)"
        )
    return cloud.point["positions"].numpy(), cloud.point["label"].numpy().reshape(-1)
