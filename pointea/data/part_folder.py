"""A folder of a user's part-labelled clouds, one sub-folder per category: ``data=folder_seg``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch

from pointea.data.errors import DatasetError
from pointea.data.folder_files import (
    LABEL_SUFFIXES,
    PARTS_FILE,
    FolderListing,
    list_folder,
    parse_labelled_cloud,
)
from pointea.data.point_folder import PointFolder
from pointea.data.release_tables import ReleaseTables

__all__ = ["PartFolder"]


class PartFolder(PointFolder):
    """A folder of clouds with a global part id per point (part segmentation).

    ``root/<category>/...`` (or, for one category, the files directly in ``root``), split
    as :class:`PointFolder` is. A file carries its labels as a ``label`` vertex property of
    a ``.ply`` (what ``pointea-predict`` writes, so corrected predictions train the next
    model) or as the last column of a ``.txt``/``.pts``/``.npy`` of 4 (x y z label) or 7
    (x y z nx ny nz label) columns.

    ``root/parts.json`` (optional), ``{"Chair": ["back", "seat", "leg"], "Table": [...]}``,
    names the categories and their parts; global part ids follow the listed order (Chair
    0-2, Table 3-...). Without it, the categories are the sub-folders (sorted) and a
    category's parts are the labels its files use, which must then be 0..P-1 with no
    label in two categories. A file whose labels are not parts of its category is
    refused, naming it; other bad files are skipped as in :class:`PointFolder`.

    Shapes:
        arrays(): {"pos": (S, P, 3) float32, "y": (S, P) int64, "category": (S,) int64}
    """

    task = "seg"
    stratify_by = "category"
    suffixes: ClassVar[tuple[str, ...]] = LABEL_SUFFIXES
    extra_arrays: ClassVar[tuple[tuple[str, str], ...]] = (("pid", "int64"),)

    @classmethod
    def parser(cls):
        return parse_labelled_cloud

    @classmethod
    def read_parts_file(cls, folder: Path) -> dict[str, list[str]] | None:
        """``parts.json``: category -> part names, in order; ``None`` when absent."""
        path = folder / PARTS_FILE
        if not path.is_file():
            return None
        try:
            table = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            raise DatasetError(f"{path} cannot be read as JSON ({err})") from err
        if (
            not isinstance(table, dict)
            or not table
            or not all(
                isinstance(v, list) and v and all(isinstance(n, str) for n in v)
                for v in table.values()
            )  # fmt: skip
        ):
            raise DatasetError(
                f'{path}: expected {{"category": ["part name", ...], ...}} with at least one '
                f"category and one part per category"
            )
        return table

    @classmethod
    def listing(cls, folder: Path) -> FolderListing:
        parts = cls.read_parts_file(folder)
        flat = folder.name if parts is None else (next(iter(parts)) if len(parts) == 1 else None)
        return list_folder(folder, cls.suffixes, flat)

    @classmethod
    def read_tables(cls, root: str | Path) -> ReleaseTables:
        """Categories and their global part ids, from ``parts.json`` or from the labels."""
        folder = cls.find(root)
        listing = cls.listing(folder)
        cls.refuse_empty(folder, listing)
        found = sorted(set(listing.labels))
        if not found:
            raise DatasetError(
                f"{folder} holds no file with per-point labels ({', '.join(cls.suffixes)})"
            )
        table = cls.read_parts_file(folder)
        if table is not None:
            source = folder / PARTS_FILE
            unknown = [name for name in found if name not in table]
            if unknown:
                raise DatasetError(
                    f"{source} does not list the category folder(s) {unknown}; it lists {list(table)}"
                )
            empty = [name for name in table if name not in found]
            if empty:
                raise DatasetError(f"{source} lists categories without files in {folder}: {empty}")
            names, parts, start = list(table), [], 0
            for name in names:
                parts.append(list(range(start, start + len(table[name]))))
                start += len(table[name])
        else:
            source = folder
            names, parts = found, cls._parts_from_labels(folder, listing, found)
        num_parts = sum(len(p) for p in parts)
        counts = {"num_parts": (num_parts, source), "num_categories": (len(names), source)}
        return ReleaseTables(names, num_parts, parts, counts)

    @classmethod
    def _parts_from_labels(
        cls, folder: Path, listing: FolderListing, names: list[str]
    ) -> list[list[int]]:
        arrays, reasons = cls.ingest_all(folder, listing)
        used: dict[int, str] = {}
        parts: list[list[int]] = []
        for name in names:
            rows = [i for i, label in enumerate(listing.labels)
                    if label == name and listing.files[i] not in reasons]  # fmt: skip
            ids = np.unique(arrays["pid"][rows]).tolist() if rows else []
            for part in ids:
                if part in used:
                    raise DatasetError(
                        f"{folder}: label {part} is used by categories {used[part]} and {name}; "
                        f"labels are global part ids, one category each: number them apart or "
                        f"name the parts in {PARTS_FILE}"
                    )
                used[part] = name
            parts.append(ids)
        gaps = sorted(set(range(max(used, default=-1) + 1)) - set(used))
        if gaps:
            raise DatasetError(
                f"{folder}: no file uses label(s) {gaps[:10]}; labels must be the part ids "
                f"0..{max(used)} with none unused, or name the parts in {PARTS_FILE}"
            )
        return parts

    def check_rows(
        self, folder: Path, split: str, listing: FolderListing, rows: list[int], arrays: dict
    ) -> None:
        """Every category keeps a training file; every label is a part of its file's category."""
        super().check_rows(folder, split, listing, rows, arrays)
        names, table = self.tables.class_names, self.tables.category_parts
        for i in rows:
            allowed = table[names.index(listing.labels[i])]
            wrong = np.setdiff1d(arrays["pid"][i], allowed)
            if len(wrong):
                where = folder / PARTS_FILE if (folder / PARTS_FILE).is_file() else folder
                raise DatasetError(
                    f"{folder / listing.files[i]}: label {int(wrong[0])} is not a part of its "
                    f"category {listing.labels[i]} (global part ids {allowed[0]}..{allowed[-1]}, "
                    f"from {where})"
                )

    def targets(
        self, folder: Path, labels: list[str], arrays: dict, rows: list[int]
    ) -> dict[str, torch.Tensor]:
        names = self.tables.class_names
        return {
            "y": torch.from_numpy(arrays["pid"][rows].astype(np.int64)),
            "category": torch.tensor([names.index(label) for label in labels], dtype=torch.int64),
        }
