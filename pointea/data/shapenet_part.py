"""ShapeNetPart in the PointNet HDF5 release ``shapenet_part_seg_hdf5_data`` (``hdf5_data/``)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from pointea.data.errors import DatasetError
from pointea.data.h5_release import check_points, find_release, read_list_file, read_shards
from pointea.data.release_tables import ReleaseTables

__all__ = ["ShapeNetPartH5"]


class ShapeNetPartH5(Dataset):
    """Shapes, per-point global part ids and object categories of one split, in memory.

    S shapes, P stored points (2048), N = ``num_points``. ``root`` is the extracted
    ``hdf5_data/`` folder or the folder that holds it. Categories come from
    ``all_object_categories.txt`` (name and synset id per line) and each category's global
    part ids from ``overallid_to_catid_partid.json`` (one ``[synset, local part]`` per
    global id). ``trainval`` joins the train and val lists. The class attributes are the
    layout's facts, as in :class:`ModelNet40H5`.

    Shapes:
        points: (S, P, 3) float32; parts: (S, P) int64; categories: (S,) int64;
        item: {"pos": (N, 3) float32, "y": (N,) int64, "category": int64 scalar}
    """

    folder = "hdf5_data"
    marker = "all_object_categories.txt"
    release = "shapenetpart"
    splits = ("train", "val", "trainval", "test")
    task = "seg"
    stratify_by = "category"

    def __init__(self, root: str | Path, split: str = "train", num_points: int = 2048) -> None:
        if split not in self.splits:
            raise DatasetError(f"ShapeNetPart split must be one of {self.splits}, got {split!r}")
        self.root = self.find(root)
        self.split = split
        self.num_points = num_points
        self.category_names, self.category_parts = self.read_part_table(self.root)
        shards = []
        for name in ("train", "val") if split == "trainval" else (split,):
            shards += read_list_file(self.root / f"{name}_hdf5_file_list.txt")
        arrays = read_shards(shards, ("data", "label", "pid"))
        where = self.root / f"{split}_hdf5_file_list.txt"
        check_points(where, arrays["data"].shape[1], num_points)
        categories = arrays["label"].astype(np.int64)
        parts = arrays["pid"].astype(np.int64)
        self._check_labels(where, categories, parts)
        self.points = torch.from_numpy(arrays["data"].astype(np.float32, copy=False))
        self.parts = torch.from_numpy(parts)
        self.categories = torch.from_numpy(categories)

    @classmethod
    def find(cls, root: str | Path) -> Path:
        """The release folder: ``root`` itself or ``root/<folder>``, whichever holds the marker."""
        return find_release(
            root, cls.folder, cls.marker, f"python -m pointea.data.download {cls.release}"
        )

    @classmethod
    def read_tables(cls, root: str | Path) -> ReleaseTables:
        """Category names, each category's global part ids and the counts (no shards read)."""
        folder = cls.find(root)
        names, parts = cls.read_part_table(folder)
        num_parts = sum(len(p) for p in parts)
        counts = {
            "num_parts": (num_parts, folder / "overallid_to_catid_partid.json"),
            "num_categories": (len(names), folder / cls.marker),
        }
        return ReleaseTables(names, num_parts, parts, counts)

    @classmethod
    def read_part_table(cls, root: str | Path) -> tuple[list[str], list[list[int]]]:
        """Category names and each category's global part ids (no shards read)."""
        folder = cls.find(root)
        names_file = folder / cls.marker
        rows = [line.split() for line in names_file.read_text().splitlines() if line.strip()]
        if not rows or any(len(row) != 2 for row in rows):
            raise DatasetError(f"{names_file}: expected 'name synset' on every line")
        synsets = {synset: i for i, (_, synset) in enumerate(rows)}
        table_file = folder / "overallid_to_catid_partid.json"
        if not table_file.is_file():
            raise DatasetError(f"part table {table_file} is missing")
        table = json.loads(table_file.read_text())
        parts: list[list[int]] = [[] for _ in rows]
        for global_id, entry in enumerate(table):
            if not isinstance(entry, list) or len(entry) != 2 or entry[0] not in synsets:
                raise DatasetError(
                    f"{table_file}: entry {global_id} must be [synset, part] with a synset of "
                    f"{names_file}, got {entry!r}"
                )
            parts[synsets[entry[0]]].append(global_id)
        empty = [rows[i][0] for i, p in enumerate(parts) if not p]
        if empty:
            raise DatasetError(f"{table_file}: categories without parts: {empty}")
        return [name for name, _ in rows], parts

    def _check_labels(self, where: Path, categories: np.ndarray, parts: np.ndarray) -> None:
        bad = (categories < 0) | (categories >= len(self.category_names))
        if bad.any():
            raise DatasetError(
                f"{where}: category {int(categories[bad][0])} (row {int(np.argmax(bad))}) is "
                f"outside the {len(self.category_names)} categories"
            )
        allowed = np.zeros((len(self.category_names), self.num_parts), dtype=bool)
        for category, ids in enumerate(self.category_parts):
            allowed[category, ids] = True
        in_table = (parts >= 0) & (parts < self.num_parts)
        ok = in_table & allowed[categories[:, None], np.clip(parts, 0, self.num_parts - 1)]
        if not ok.all():
            row = int(np.argmax(~ok.all(axis=1)))
            value = int(parts[row][~ok[row]][0])
            name = self.category_names[categories[row]]
            raise DatasetError(
                f"{where}: part id {value} in row {row} is not a part of its category {name} "
                f"(parts {self.category_parts[categories[row]]})"
            )

    def arrays(self) -> dict[str, torch.Tensor]:
        """The whole split: ``pos`` (S, P, 3), ``y`` (S, P) and ``category`` (S,)."""
        return {"pos": self.points, "y": self.parts, "category": self.categories}

    @property
    def num_parts(self) -> int:
        return sum(len(p) for p in self.category_parts)

    @property
    def num_categories(self) -> int:
        return len(self.category_names)

    def __len__(self) -> int:
        return self.categories.shape[0]

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        n = self.num_points
        return {
            "pos": self.points[index, :n],
            "y": self.parts[index, :n],
            "category": self.categories[index],
        }
