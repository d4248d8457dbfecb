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

__all__ = ["ModelNet40H5"]


class ModelNet40H5(Dataset):
    """Shapes and class labels of one split, held in memory as tensors.

    S shapes, P stored points (2048), N = ``num_points``. ``root`` is the extracted
    ``modelnet40_ply_hdf5_2048/`` folder or the folder that holds it; the shards are those
    named in ``{split}_files.txt`` (matched by basename) and the class table is
    ``shape_names.txt``. Items take the first ``num_points`` points (PCT's recipe); the
    device pipeline reads :attr:`points` and :attr:`labels` whole.

    Shapes:
        points: (S, P, 3) float32; labels: (S,) int64;
        item: {"pos": (N, 3) float32, "y": int64 scalar}
    """

    folder = "modelnet40_ply_hdf5_2048"
    splits = ("train", "test")

    def __init__(self, root: str | Path, split: str = "train", num_points: int = 1024) -> None:
        if split not in self.splits:
            raise DatasetError(f"ModelNet40 split must be one of {self.splits}, got {split!r}")
        self.root = find_release(
            root, self.folder, "shape_names.txt", "python -m pointea.data.download modelnet40"
        )
        self.split = split
        self.num_points = num_points
        names_file = self.root / "shape_names.txt"
        self.class_names = read_names(names_file)
        check_lists_disjoint({s: self.root / f"{s}_files.txt" for s in self.splits})
        list_file = self.root / f"{split}_files.txt"
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
    def read_class_names(cls, root: str | Path) -> list[str]:
        """The class table ``shape_names.txt`` of the release under ``root`` (no shards read)."""
        folder = find_release(
            root, cls.folder, "shape_names.txt", "python -m pointea.data.download modelnet40"
        )
        return read_names(folder / "shape_names.txt")

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def __len__(self) -> int:
        return self.labels.shape[0]

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return {"pos": self.points[index, : self.num_points], "y": self.labels[index]}
