"""ShapeNetPart in the text release ``shapenetcore_partanno_segmentation_benchmark_v0_normal``."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from pointea.data.errors import DatasetError
from pointea.data.h5_release import read_text_lines
from pointea.data.ingested_release import IngestedRelease
from pointea.data.release_tables import ReleaseTables
from pointea.data.shapenet_part import OFFICIAL_CATEGORIES
from pointea.data.text_table import read_table

__all__ = ["ShapeNetPartNormal"]

log = logging.getLogger(__name__)

_COLUMNS = "x y z nx ny nz part"
_OFFICIAL_SPLITS = ("train", "val", "test")
_NUM_PARTS = 1 + max(i for c in OFFICIAL_CATEGORIES for i in c[2])  # global part ids


def _parse_shape(path: Path) -> dict[str, np.ndarray]:
    """One shape file: rows ``x y z nx ny nz part`` (module level: worker processes call
    it). The part column is a whole number written as a float.

    Shapes:
        -> {"data": (R, 3) float32, "normal": (R, 3) float32, "pid": (R,) int64}
    """
    table = read_table(path, 7, _COLUMNS)
    part = table[:, 6]
    whole = part == np.round(part)
    if not whole.all():
        row = int(np.argmax(~whole))
        raise DatasetError(f"{path}: row {row + 1} has part {part[row]}, not a whole number")
    outside = (part < 0) | (part >= _NUM_PARTS)
    if outside.any():
        row = int(np.argmax(outside))
        raise DatasetError(
            f"{path}: row {row + 1} has part {int(part[row])}, outside the global part ids "
            f"0..{_NUM_PARTS - 1}"
        )
    return {"data": table[:, :3], "normal": table[:, 3:6], "pid": part.astype(np.int64)}


class ShapeNetPartNormal(IngestedRelease):
    """Shapes, normals, per-point global part ids and object categories of one split of
    ``shapenetcore_partanno_segmentation_benchmark_v0_normal`` (what PyG's ``ShapeNet``,
    torch-points3d, PointNet++ and PointNeXt read).

    S shapes, P stored points (``stored_points``), N = ``num_points``. The folder holds
    ``synsetoffset2category.txt`` (``name<TAB>synset`` per line, the category order),
    ``train_test_split/shuffled_{train,val,test}_file_list.json`` (JSON lists of
    ``shape_data/<synset>/<shape id>``; officially 12,137 / 1,870 / 2,874 shapes) and
    ``<synset>/<shape id>.txt`` with one row ``x y z nx ny nz part`` per point, ``part``
    the global part id 0..49. Clouds have different sizes (about 2,000 to 3,000 points,
    a few far fewer): each is resampled at ingest to ``stored_points`` (every point and
    random repeats for a smaller cloud; a random or farthest-point subset of a larger one)
    and cached as :class:`~pointea.data.modelnet_normal.ModelNet40Normal` is. Categories
    must be official ShapeNetPart synsets; their parts are the official table
    (:data:`~pointea.data.shapenet_part.OFFICIAL_CATEGORIES`). ``trainval`` joins train and val.

    Args:
        root, split, num_points: as for every release.
        stored_points, sampling, workers, cache: the ingest options
            (:class:`~pointea.data.ingested_release.IngestedRelease`).

    Shapes:
        arrays(): {"pos": (S, P, 3) float32, "normals": (S, P, 3) float32,
        "y": (S, P) int64, "category": (S,) int64}
    """

    folder = "shapenetcore_partanno_segmentation_benchmark_v0_normal"
    marker = "synsetoffset2category.txt"
    list_file = "train_test_split/shuffled_{split}_file_list.json"
    splits = ("train", "val", "trainval", "test")
    task = "seg"
    stratify_by = "category"
    features = ("normals",)
    download = None  # users bring their own copy (about 674 MB)
    stored_points: ClassVar[int] = 2048  # points kept per shape by default (an option)

    def __init__(
        self, root: str | Path, split: str = "train", num_points: int = 2048, **options: Any
    ) -> None:
        """2,048 points per item by default; ``options`` are :class:`IngestedRelease`'s."""
        super().__init__(root, split, num_points, **options)

    @classmethod
    def read_tables(cls, root: str | Path) -> ReleaseTables:
        """Categories from ``synsetoffset2category.txt``, parts from the official table."""
        names_file = cls.find(root) / cls.marker
        rows = [line.split() for line in read_text_lines(names_file)]
        if not rows or any(len(row) != 2 for row in rows):
            raise DatasetError(f"{names_file}: expected 'name<TAB>synset' on every line")
        official = {c[1]: c for c in OFFICIAL_CATEGORIES}
        for column, what in ((0, "category name"), (1, "synset id")):
            values = [row[column] for row in rows]
            twice = sorted({v for v in values if values.count(v) > 1})
            if twice:
                raise DatasetError(f"{names_file} lists {what}(s) more than once: {twice}")
        unknown = [f"{name} {synset}" for name, synset in rows if synset not in official]
        if unknown:
            raise DatasetError(
                f"{names_file} lists categories that are not ShapeNetPart's: {unknown} "
                f"(known: {', '.join(f'{c[0]} {c[1]}' for c in OFFICIAL_CATEGORIES)})"
            )
        parts = [list(official[synset][2]) for _, synset in rows]
        counts = {
            "num_parts": (_NUM_PARTS, names_file),
            "num_categories": (len(rows), names_file),
        }
        return ReleaseTables([name for name, _ in rows], _NUM_PARTS, parts, counts)

    @classmethod
    def stored_count(cls, folder: Path) -> tuple[int, Path]:
        """The default stored count (clouds vary in size; each is resampled to it)."""
        return cls.stored_points, Path(folder) / cls.marker

    @classmethod
    def synsets(cls, folder: Path) -> list[str]:
        """The synset ids of ``synsetoffset2category.txt``, in category order."""
        return [line.split()[1] for line in read_text_lines(folder / cls.marker)]

    def entries(self, folder: Path, split: str) -> list[tuple[str, str]]:
        """``(synset, shape id)`` of each entry of the split's list(s), checked: valid JSON
        lists of ``shape_data/<synset>/<id>``, none twice, none in two splits."""
        lists: dict[str, list[tuple[str, str]]] = {}
        for name in _OFFICIAL_SPLITS:
            path = folder / self.list_file.format(split=name)
            if not path.is_file():
                continue
            try:
                entries = json.loads(path.read_text(encoding="utf-8"))
            except (json.JSONDecodeError, UnicodeDecodeError) as err:
                raise DatasetError(
                    f"{path} is not a JSON list of 'shape_data/<synset>/<id>' ({err})"
                ) from err
            except OSError as err:
                raise DatasetError(f"{path} cannot be read: {err.strerror or err}") from err
            if not isinstance(entries, list):
                raise DatasetError(f"{path}: expected a JSON list, got {type(entries).__name__}")
            pairs, seen = [], set()
            for entry in entries:
                bits = entry.split("/") if isinstance(entry, str) else []
                if len(bits) != 3 or not bits[1] or not bits[2]:
                    raise DatasetError(
                        f"{path}: entry {entry!r} is not 'shape_data/<synset>/<shape id>'"
                    )
                if entry in seen:
                    raise DatasetError(f"{path} lists {entry!r} more than once")
                seen.add(entry)
                pairs.append((bits[1], bits[2]))
            lists[name] = pairs
        wanted = ("train", "val") if split == "trainval" else (split,)
        for name in wanted:
            if name not in lists:
                raise DatasetError(
                    f"split list {folder / self.list_file.format(split=name)} is missing"
                )
        owner: dict[tuple[str, str], str] = {}
        for name, pairs in lists.items():
            for pair in pairs:
                if pair in owner:
                    raise DatasetError(
                        f"shape {'/'.join(pair)} is in both the {owner[pair]} and the {name} "
                        f"split lists of {folder / 'train_test_split'}: a shape may belong to "
                        f"one split only"
                    )
                owner[pair] = name
        return [pair for name in wanted for pair in lists[name]]

    def load(self, folder: Path, split: str) -> dict[str, torch.Tensor]:
        index = {synset: i for i, synset in enumerate(self.synsets(folder))}
        where = folder / self.list_file.format(split=split)
        files, categories = [], []
        for synset, shape in self.entries(folder, split):
            if synset not in index:
                raise DatasetError(
                    f"{where}: shape {synset}/{shape} is of synset {synset}, which "
                    f"{folder / self.marker} does not list"
                )
            files.append(folder / synset / f"{shape}.txt")
            categories.append(index[synset])
        if not files:
            raise DatasetError(f"{where} lists no shape")
        self.require_files(folder, files, where)
        arrays = self.ingest_files(folder, files, _parse_shape, f"shapenetpart_{split}", _COLUMNS)
        category = np.asarray(categories, dtype=np.int64)
        self._check_parts(files, category, arrays["pid"])
        self._warn_unofficial_counts(where, split, category)
        self.sizes = torch.from_numpy(arrays["size"])  # each cloud's points before resampling
        return {
            "pos": torch.from_numpy(arrays["data"]),
            "normals": torch.from_numpy(arrays["normal"]),
            "y": torch.from_numpy(arrays["pid"]),
            "category": torch.from_numpy(category),
        }

    def _check_parts(self, files: list[Path], category: np.ndarray, pid: np.ndarray) -> None:
        """Every point's part must be one of its category's parts (the file named if not)."""
        allowed = np.zeros((len(self.tables.category_parts), _NUM_PARTS), dtype=bool)
        for c, ids in enumerate(self.tables.category_parts):
            allowed[c, ids] = True
        ok = (pid >= 0) & (pid < _NUM_PARTS)
        ok &= allowed[category[:, None], np.clip(pid, 0, _NUM_PARTS - 1)]
        if not ok.all():
            row = int(np.argmax(~ok.all(axis=1)))
            value = int(pid[row][~ok[row]][0])
            name = self.tables.class_names[category[row]]
            raise DatasetError(
                f"{files[row]}: part {value} is not a part of its category {name} "
                f"(parts {self.tables.category_parts[category[row]]})"
            )

    def _warn_unofficial_counts(self, where: Path, split: str, category: np.ndarray) -> None:
        columns = [0, 1] if split == "trainval" else [_OFFICIAL_SPLITS.index(split)]
        if self.synsets(self.root) != [c[1] for c in OFFICIAL_CATEGORIES]:
            return
        expected = sum(sum(c[3][i] for i in columns) for c in OFFICIAL_CATEGORIES)
        if len(category) != expected:
            log.warning(
                "%s lists %d shapes; the official %s split has %d",
                where,
                len(category),
                split,
                expected,
            )
