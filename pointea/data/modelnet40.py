"""ModelNet40 in the PointNet HDF5 release ``modelnet40_ply_hdf5_2048``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from pointea.data.errors import DatasetError
from pointea.data.h5_release import (
    check_lists_disjoint,
    check_points,
    find_release,
    read_list_file,
    read_names,
    read_shards,
)
from pointea.data.release_tables import ReleaseTables

__all__ = ["ModelNet40H5"]


class ModelNet40H5(Dataset):
    """Shapes and class labels of one split, held in memory as tensors.

    S shapes, P stored points (2048), N = ``num_points``. ``root`` is the extracted
    ``modelnet40_ply_hdf5_2048/`` folder or the folder that holds it; the shards are those
    named in ``{split}_files.txt`` (matched by basename) and the class table is
    ``shape_names.txt``. Items take the first ``num_points`` points (PCT's recipe); the
    device pipeline reads :meth:`arrays` whole.

    The class attributes are the layout's facts, read by the data module, the download,
    the built-in data and the mesh converter: the release folder and its marker file,
    the download's release name, the splits, the task the layout serves and the
    per-shape label a carved-out validation split is stratified by.

    Shapes:
        points: (S, P, 3) float32; labels: (S,) int64;
        item: {"pos": (N, 3) float32, "y": int64 scalar}
    """

    folder = "modelnet40_ply_hdf5_2048"
    marker = "shape_names.txt"
    list_file = "{split}_files.txt"  # each split's list of shards
    release = "modelnet40"
    splits = ("train", "test")
    task = "cls"
    stratify_by = "y"

    def __init__(self, root: str | Path, split: str = "train", num_points: int = 1024) -> None:
        if split not in self.splits:
            raise DatasetError(f"ModelNet40 split must be one of {self.splits}, got {split!r}")
        self.root = self.find(root)
        self.split = split
        self.num_points = num_points
        self.class_names = self.read_tables(self.root).class_names
        names_file = self.root / self.marker
        check_lists_disjoint({s: self.root / self.list_file.format(split=s) for s in self.splits})
        list_file = self.root / self.list_file.format(split=split)
        arrays = read_shards(read_list_file(list_file), ("data", "label"))
        check_points(list_file, arrays["data"].shape[1], num_points)
        labels = arrays["label"].astype(np.int64)
        bad = (labels < 0) | (labels >= len(self.class_names))
        if bad.any():
            raise DatasetError(
                f"{list_file}: label {int(labels[bad][0])} (row {int(np.argmax(bad))}) is outside "
                f"the {len(self.class_names)} classes of {names_file}"
            )
        self.points = torch.from_numpy(arrays["data"].astype(np.float32, copy=False))
        self.labels = torch.from_numpy(labels)

    @classmethod
    def find(cls, root: str | Path) -> Path:
        """The release folder: ``root`` itself or ``root/<folder>``, whichever holds the marker."""
        return find_release(
            root, cls.folder, cls.marker, f"python -m pointea.data.download {cls.release}"
        )

    @classmethod
    def read_tables(cls, root: str | Path) -> ReleaseTables:
        """The class table ``shape_names.txt`` of the release under ``root`` (no shards read)."""
        names_file = cls.find(root) / cls.marker
        names = read_names(names_file)
        return ReleaseTables(names, len(names), counts={"num_classes": (len(names), names_file)})

    def arrays(self) -> dict[str, torch.Tensor]:
        """The whole split: ``pos`` (S, P, 3) and ``y`` (S,)."""
        return {"pos": self.points, "y": self.labels}

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def __len__(self) -> int:
        return self.labels.shape[0]

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return {"pos": self.points[index, : self.num_points], "y": self.labels[index]}
