"""ModelNet40 in the PointNet HDF5 release ``modelnet40_ply_hdf5_2048``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from pointea.data.errors import DatasetError
from pointea.data.h5_release import H5Release, read_names
from pointea.data.release_spec import ReleaseSpec
from pointea.data.release_tables import ReleaseTables

__all__ = ["ModelNet40H5"]


class ModelNet40H5(H5Release):
    """Shapes and class labels of one split, held in memory as tensors.

    S shapes, P stored points (2048), N = ``num_points``. ``root`` is the extracted
    ``modelnet40_ply_hdf5_2048/`` folder or the folder that holds it; the shards are those
    named in ``{split}_files.txt`` (matched by basename) and the class table is
    ``shape_names.txt``. Items take the first ``num_points`` points (PCT's recipe); the
    device pipeline reads :meth:`arrays` whole. The official release holds 9,840 train and
    2,468 test shapes of 40 classes and has no validation split.

    Shapes:
        arrays(): {"pos": (S, P, 3) float32, "y": (S,) int64};
        item: {"pos": (N, 3) float32, "y": int64 scalar}
    """

    folder = "modelnet40_ply_hdf5_2048"
    marker = "shape_names.txt"
    list_file = "{split}_files.txt"
    splits = ("train", "test")
    list_splits = ("train", "test")
    task = "cls"
    stratify_by = "y"
    download = ReleaseSpec(
        archive="modelnet40_ply_hdf5_2048.zip",
        urls=("https://shapenet.cs.stanford.edu/media/modelnet40_ply_hdf5_2048.zip",),
        counts={"train": 9840, "test": 2468},
        md5={
            "ply_data_train0.h5": "3176385ffc31a7b6b5af22191fd920d1",
            "ply_data_train1.h5": "e3f613fb500559403b34925112754dc4",
            "ply_data_train2.h5": "0c56e233a090ff87c3049d4ce08e7d8b",
            "ply_data_train3.h5": "9d2af465adfa33a3285c369f3ca66c45",
            "ply_data_train4.h5": "dff38de489b2c41bfaeded86c2208984",
            "ply_data_test0.h5": "e9732e6d83b09e79e9a7617df058adee",
            "ply_data_test1.h5": "aba4b12a67c34391cc3c015a6f08ed4b",
        },
    )

    @classmethod
    def read_tables(cls, root: str | Path) -> ReleaseTables:
        """The class table ``shape_names.txt`` of the release under ``root`` (no shards read)."""
        names_file = cls.find(root) / cls.marker
        names = read_names(names_file)
        return ReleaseTables(names, len(names), counts={"num_classes": (len(names), names_file)})

    def convert(self, where: Path, raw: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
        labels = raw["label"].astype(np.int64)
        names = self.tables.class_names
        bad = (labels < 0) | (labels >= len(names))
        if bad.any():
            raise DatasetError(
                f"{where}: label {int(labels[bad][0])} (row {int(np.argmax(bad))}) is outside "
                f"the {len(names)} classes of {self.root / self.marker}"
            )
        points = torch.from_numpy(raw["data"].astype(np.float32, copy=False))
        return {"pos": points, "y": torch.from_numpy(labels)}

    @property
    def points(self) -> torch.Tensor:
        """(S, P, 3) float32: every stored point of every shape."""
        return self._arrays["pos"]

    @property
    def labels(self) -> torch.Tensor:
        """(S,) int64 class labels."""
        return self._arrays["y"]

    @property
    def num_classes(self) -> int:
        return len(self.class_names)
