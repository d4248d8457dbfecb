"""ShapeNetPart in the PointNet HDF5 release ``shapenet_part_seg_hdf5_data`` (``hdf5_data/``)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from pointea.data.errors import DatasetError
from pointea.data.h5_release import H5Release, read_text_lines
from pointea.data.release_spec import ReleaseSpec
from pointea.data.release_tables import ReleaseTables

__all__ = ["OFFICIAL_CATEGORIES", "ShapeNetPartH5"]

# Facts of the official release (PointNet's hdf5_data, the official ShapeNetPart split), one
# row per category in label order: name, ShapeNet synset id, global part ids, and the shapes
# of the category in train / val / test (derived from the release's own split files). A
# release whose all_object_categories.txt lists exactly these synsets claims to be the
# official one and is checked against them; the download's split counts are their sums.
OFFICIAL_CATEGORIES: tuple[tuple[str, str, tuple[int, ...], tuple[int, int, int]], ...] = (
    ("Airplane", "02691156", (0, 1, 2, 3), (1958, 391, 341)),
    ("Bag", "02773838", (4, 5), (54, 8, 14)),
    ("Cap", "02954340", (6, 7), (39, 5, 11)),
    ("Car", "02958343", (8, 9, 10, 11), (659, 81, 158)),
    ("Chair", "03001627", (12, 13, 14, 15), (2658, 396, 704)),
    ("Earphone", "03261776", (16, 17, 18), (49, 6, 14)),
    ("Guitar", "03467517", (19, 20, 21), (550, 78, 159)),
    ("Knife", "03624134", (22, 23), (277, 35, 80)),
    ("Lamp", "03636649", (24, 25, 26, 27), (1118, 143, 286)),
    ("Laptop", "03642806", (28, 29), (324, 44, 83)),
    ("Motorbike", "03790512", (30, 31, 32, 33, 34, 35), (125, 26, 51)),
    ("Mug", "03797390", (36, 37), (130, 16, 38)),
    ("Pistol", "03948459", (38, 39, 40), (209, 30, 44)),
    ("Rocket", "04099429", (41, 42, 43), (46, 8, 12)),
    ("Skateboard", "04225987", (44, 45, 46), (106, 15, 31)),
    ("Table", "04379243", (47, 48, 49), (3835, 588, 848)),
)
_OFFICIAL_SPLITS = ("train", "val", "test")


class ShapeNetPartH5(H5Release):
    """Shapes, per-point global part ids and object categories of one split, in memory.

    S shapes, P stored points (2048), N = ``num_points``. ``root`` is the extracted
    ``hdf5_data/`` folder or the folder that holds it. Categories come from
    ``all_object_categories.txt`` (name and synset id per line) and each category's global
    part ids from ``overallid_to_catid_partid.json`` (one ``[synset, local part]`` per
    global id). ``trainval`` joins the train and val lists. The official release's
    per-category facts are :data:`OFFICIAL_CATEGORIES`.

    Shapes:
        arrays(): {"pos": (S, P, 3) float32, "y": (S, P) int64, "category": (S,) int64};
        item: {"pos": (N, 3) float32, "y": (N,) int64, "category": int64 scalar}
    """

    folder = "hdf5_data"
    marker = "all_object_categories.txt"
    list_file = "{split}_hdf5_file_list.txt"
    part_table = "overallid_to_catid_partid.json"  # [synset, local part] per global part id
    splits = ("train", "val", "trainval", "test")
    list_splits = _OFFICIAL_SPLITS
    joined_splits = {"trainval": ("train", "val")}
    keys = ("data", "label", "pid")
    task = "seg"
    stratify_by = "category"
    download = ReleaseSpec(
        archive="shapenet_part_seg_hdf5_data.zip",
        urls=("https://shapenet.cs.stanford.edu/media/shapenet_part_seg_hdf5_data.zip",),
        counts={
            split: sum(c[3][i] for c in OFFICIAL_CATEGORIES)
            for i, split in enumerate(_OFFICIAL_SPLITS)
        },
    )

    def convert(self, where: Path, raw: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
        categories = raw["label"].astype(np.int64)
        parts = raw["pid"].astype(np.int64)
        self._check_labels(where, categories, parts)
        rows = self._read_categories(self.root / self.marker)
        if self._claims_official([synset for _, synset in rows]):
            self._check_official_counts(where, categories)
        return {
            "pos": torch.from_numpy(raw["data"].astype(np.float32, copy=False)),
            "y": torch.from_numpy(parts),
            "category": torch.from_numpy(categories),
        }

    @classmethod
    def read_tables(cls, root: str | Path) -> ReleaseTables:
        """Category names, each category's global part ids and the counts (no shards read)."""
        folder = cls.find(root)
        names, parts = cls.read_part_table(folder)
        num_parts = sum(len(p) for p in parts)
        table_file = folder / cls.part_table
        # without the part table, the official categories in the marker file define the parts
        parts_source = table_file if table_file.is_file() else folder / cls.marker
        counts = {
            "num_parts": (num_parts, parts_source),
            "num_categories": (len(names), folder / cls.marker),
        }
        return ReleaseTables(names, num_parts, parts, counts)

    @classmethod
    def read_part_table(cls, root: str | Path) -> tuple[list[str], list[list[int]]]:
        """Category names and each category's global part ids (no shards read).

        The official release may lack ``overallid_to_catid_partid.json``: its part table is
        a fixed fact (:data:`OFFICIAL_CATEGORIES`) and is used then; when present, the file
        must agree with it.
        """
        folder = cls.find(root)
        names_file = folder / cls.marker
        rows = cls._read_categories(names_file)
        official = cls._claims_official([synset for _, synset in rows])
        table_file = folder / cls.part_table
        if not table_file.is_file():
            if official:
                return [name for name, _ in rows], [list(c[2]) for c in OFFICIAL_CATEGORIES]
            raise DatasetError(f"part table {table_file} is missing")
        parts = cls._read_table_file(table_file, names_file, [synset for _, synset in rows])
        empty = [rows[i][0] for i, p in enumerate(parts) if not p]
        if empty:
            raise DatasetError(f"{table_file}: categories without parts: {empty}")
        if official:
            for (name, _), ids, fact in zip(rows, parts, OFFICIAL_CATEGORIES, strict=True):
                if ids != list(fact[2]):
                    raise DatasetError(
                        f"{table_file} gives {name} the global parts {ids}, but the official "
                        f"ShapeNetPart table gives it {list(fact[2])}"
                    )
        return [name for name, _ in rows], parts

    @staticmethod
    def _read_categories(names_file: Path) -> list[list[str]]:
        """``[name, synset]`` per line of ``all_object_categories.txt``; none twice."""
        rows = [line.split() for line in read_text_lines(names_file)]
        if not rows or any(len(row) != 2 for row in rows):
            raise DatasetError(f"{names_file}: expected 'name synset' on every line")
        for column, what in ((0, "category name"), (1, "synset id")):
            values = [row[column] for row in rows]
            twice = sorted({v for v in values if values.count(v) > 1})
            if twice:
                raise DatasetError(f"{names_file} lists {what}(s) more than once: {twice}")
        return rows

    @staticmethod
    def _read_table_file(table_file: Path, names_file: Path, synsets: list[str]) -> list[list[int]]:
        """Global part ids per category from ``[synset, local part]`` entries in id order."""
        try:
            table = json.loads(table_file.read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise DatasetError(
                f"{table_file} is not valid JSON ({err.msg} at line {err.lineno}, column "
                f"{err.colno}); expected a list of [synset, part] entries"
            ) from err
        except UnicodeDecodeError as err:
            raise DatasetError(
                f"{table_file} is not a text file (byte {err.start} is not UTF-8)"
            ) from err
        except OSError as err:
            raise DatasetError(f"{table_file} cannot be read: {err.strerror or err}") from err
        if not isinstance(table, list):
            raise DatasetError(
                f"{table_file}: expected a list of [synset, part] entries, got {type(table).__name__}"
            )
        index = {synset: i for i, synset in enumerate(synsets)}
        parts: list[list[int]] = [[] for _ in synsets]
        for global_id, entry in enumerate(table):
            if not isinstance(entry, list) or len(entry) != 2 or entry[0] not in index:
                raise DatasetError(
                    f"{table_file}: entry {global_id} must be [synset, part] with a synset of "
                    f"{names_file}, got {entry!r}"
                )
            parts[index[entry[0]]].append(global_id)
        return parts

    @staticmethod
    def _claims_official(synsets: list[str]) -> bool:
        """The release lists exactly the official 16 categories, in the official order."""
        return synsets == [c[1] for c in OFFICIAL_CATEGORIES]

    def _check_official_counts(self, where: Path, categories: np.ndarray) -> None:
        """Per-category shape counts of an official release must be those of the official split."""
        columns = [0, 1] if self.split == "trainval" else [_OFFICIAL_SPLITS.index(self.split)]
        expected = [sum(c[3][i] for i in columns) for c in OFFICIAL_CATEGORIES]
        got = np.bincount(categories, minlength=len(expected)).tolist()
        wrong = [
            f"{name} {n} (official {e})"
            for (name, *_), n, e in zip(OFFICIAL_CATEGORIES, got, expected, strict=True)
            if n != e
        ]
        if wrong:
            self.differs_from_official(
                f"{where}: the release lists the 16 official categories, but its {self.split} "
                f"split does not hold the official shapes per category: {', '.join(wrong)}"
            )

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

    @property
    def category_names(self) -> list[str]:
        return self.class_names

    @property
    def category_parts(self) -> list[list[int]]:
        """Each category's global part ids."""
        return [list(p) for p in self.tables.category_parts]

    @property
    def num_parts(self) -> int:
        return self.tables.num_labels

    @property
    def num_categories(self) -> int:
        return len(self.class_names)

    @property
    def points(self) -> torch.Tensor:
        """(S, P, 3) float32: every stored point of every shape."""
        return self._arrays["pos"]

    @property
    def parts(self) -> torch.Tensor:
        """(S, P) int64 global part ids."""
        return self._arrays["y"]

    @property
    def categories(self) -> torch.Tensor:
        """(S,) int64 object categories."""
        return self._arrays["category"]
