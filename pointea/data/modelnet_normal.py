"""ModelNet40 in PointNet++'s text release ``modelnet40_normal_resampled``."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch

from pointea.data.errors import DatasetError
from pointea.data.h5_release import read_names, read_text_lines
from pointea.data.ingested_release import IngestedRelease
from pointea.data.release_tables import ReleaseTables
from pointea.data.text_table import read_table

__all__ = ["ModelNet40Normal"]

log = logging.getLogger(__name__)

_COLUMNS = "x,y,z,nx,ny,nz"


def _parse_shape(path: Path) -> dict[str, np.ndarray]:
    """One shape file: rows ``x,y,z,nx,ny,nz`` (module level: worker processes call it).

    Shapes:
        -> {"data": (R, 3) float32, "normal": (R, 3) float32}
    """
    table = read_table(path, 6, _COLUMNS)
    return {"data": table[:, :3], "normal": table[:, 3:]}


class ModelNet40Normal(IngestedRelease):
    """Shapes, normals and class labels of one split of ``modelnet40_normal_resampled``.

    S shapes, P stored points (10,000 in the release), N = ``num_points``. The folder
    holds ``modelnet40_shape_names.txt`` (the 40 classes, label order),
    ``modelnet40_{train,test}.txt`` (one shape id per line, e.g. ``airplane_0001``) and
    ``<class>/<shape id>.txt`` with one row ``x,y,z,nx,ny,nz`` per point. The official
    release has 9,843 train and 2,468 test shapes (three more train shapes than the HDF5
    release); it has no validation split (the data module carves one out of train).

    The text files are parsed once into an HDF5 cache (see
    :func:`~pointea.data.ingest_cache.ingest`), resampled to ``stored_points`` rows per
    shape: a shape of exactly that many keeps its file order, so the first ``num_points``
    are those of the file (the common recipe).

    Args:
        root: the release folder or the folder that holds it.
        split: ``"train"`` or ``"test"``.
        num_points: points per item (the first of the stored points).
        stored_points, sampling, workers, cache: the ingest options
            (:class:`~pointea.data.ingested_release.IngestedRelease`).

    Shapes:
        arrays(): {"pos": (S, P, 3) float32, "normals": (S, P, 3) float32, "y": (S,) int64}
    """

    folder = "modelnet40_normal_resampled"
    marker = "modelnet40_shape_names.txt"
    variant = "modelnet40"  # the prefix of the class table and the split lists
    splits = ("train", "test")
    task = "cls"
    stratify_by = "y"
    features = ("normals",)
    download = None  # users bring their own copy (about 1.6 GB)
    stored_points: ClassVar[int] = 10000  # default: rows per shape file in the release
    # the official class table and split sizes: a copy that lists these classes is checked
    official_classes: tuple[str, ...] = (
        "airplane bathtub bed bench bookshelf bottle bowl car chair cone cup curtain desk "
        "door dresser flower_pot glass_box guitar keyboard lamp laptop mantel monitor "
        "night_stand person piano plant radio range_hood sink sofa stairs stool table tent "
        "toilet tv_stand vase wardrobe xbox"
    ).split()
    official_counts = {"train": 9843, "test": 2468}

    @classmethod
    def read_tables(cls, root: str | Path) -> ReleaseTables:
        """The class table ``<variant>_shape_names.txt`` (no shape file read)."""
        names_file = cls.find(root) / cls.marker
        names = read_names(names_file)
        return ReleaseTables(names, len(names), counts={"num_classes": (len(names), names_file)})

    @classmethod
    def stored_count(cls, folder: Path) -> tuple[int, Path]:
        """The release's rows per shape file, the default ``stored_points`` (shapes of other
        sizes are resampled to ``stored_points`` at ingest)."""
        return cls.stored_points, Path(folder) / f"{cls.variant}_train.txt"

    def shape_ids(self, folder: Path, split: str) -> list[str]:
        """The split list's shape ids, checked: none twice, none in another split's list."""
        lists = {s: folder / f"{self.variant}_{s}.txt" for s in self.splits}
        ids: dict[str, list[str]] = {}
        for name, path in lists.items():
            if not path.is_file():
                if name == split:
                    raise DatasetError(f"split list {path} is missing")
                continue
            ids[name] = read_text_lines(path)
            seen: set[str] = set()
            for shape in ids[name]:
                if shape in seen:
                    raise DatasetError(f"{path} lists shape {shape!r} more than once")
                seen.add(shape)
        if not ids[split]:
            raise DatasetError(f"split list {lists[split]} lists no shape")
        for other, other_ids in ids.items():
            if other != split:
                both = sorted(set(ids[split]) & set(other_ids))
                if both:
                    raise DatasetError(
                        f"shape {both[0]!r} is in both {lists[split]} and {lists[other]} "
                        f"({len(both)} shape(s)): a shape may belong to one split only"
                    )
        return ids[split]

    def load(self, folder: Path, split: str) -> dict[str, torch.Tensor]:
        names = self.tables.class_names
        label_of = {name: i for i, name in enumerate(names)}
        list_file = folder / f"{self.variant}_{split}.txt"
        files, labels = [], []
        for shape in self.shape_ids(folder, split):
            name = shape.rsplit("_", 1)[0]
            if name not in label_of:
                raise DatasetError(
                    f"{list_file}: shape {shape!r} is of class {name!r}, which is not among "
                    f"the {len(names)} classes of {folder / self.marker}"
                )
            files.append(folder / name / f"{shape}.txt")
            labels.append(label_of[name])
        self.require_files(folder, files, list_file)
        if list(names) == list(self.official_classes) and len(files) != self.official_counts[split]:
            log.warning(
                "%s lists %d shapes, the official %s release has %d",
                list_file,
                len(files),
                split,
                self.official_counts[split],
            )
        arrays = self.ingest_files(folder, files, _parse_shape, f"{self.variant}_{split}", _COLUMNS)
        return {
            "pos": torch.from_numpy(arrays["data"]),
            "normals": torch.from_numpy(arrays["normal"]),
            "y": torch.tensor(labels, dtype=torch.int64),
        }
