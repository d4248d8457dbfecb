"""A folder of a user's own clouds and meshes, one sub-folder per class: ``data=folder``."""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar

import numpy as np
import torch

from pointea.data.errors import DatasetError
from pointea.data.folder_files import (
    FolderListing,
    assign_splits,
    list_folder,
    parse_cloud,
)
from pointea.data.ingest_cache import check_resampling
from pointea.data.point_cloud_release import PointCloudRelease
from pointea.data.release_tables import ReleaseTables

__all__ = ["PointFolder"]

log = logging.getLogger(__name__)


def _parse_or_flag(parse, extra: tuple[tuple[str, str], ...], path: Path) -> dict[str, np.ndarray]:
    """``parse(path)`` plus a per-point ``bad`` flag; a file that cannot be used becomes a
    one-point stand-in flagged bad (with ``extra``'s arrays: name, dtype), so that one bad
    file does not stop the ingest of the others."""
    try:
        arrays = dict(parse(path))
    except DatasetError:
        return {"data": np.zeros((1, 3), np.float32), "bad": np.ones(1, bool),
                **{key: np.zeros(1, dtype) for key, dtype in extra}}  # fmt: skip
    arrays["bad"] = np.zeros(len(arrays["data"]), bool)
    return arrays


class PointFolder(PointCloudRelease):
    """A folder of point files, labelled by the sub-folder they are in (classification).

    ``root/<class>/...``: ``.ply .pcd .xyz .pts .txt .npy`` clouds and ``.off .obj .stl``
    meshes, at any depth. ``root/train/<class>/`` and ``root/test/<class>/`` (or ModelNet's
    ``root/<class>/{train,test}/``) give the split; otherwise a seeded split stratified by
    class (``test_fraction`` of each class) is written to ``root/splits.json`` and read back
    after, so that it stays the same and can be edited. The data module carves validation
    out of train, as for ModelNet40.

    Every file is centred, scaled into the unit sphere and resampled to ``stored_points`` points
    (``sampling``: ``"random"`` or ``"fps"``, farthest point sampling); meshes are sampled
    on their surface. The result is cached (``root/.pointea_cache/``, rebuilt when a file
    changes), so the files are parsed once. A file that cannot be used (unreadable,
    truncated, empty, NaN rows, wrong columns, an unsupported format) is skipped and named
    in one warning line with the count; an empty class and a folder of one class are
    refused.

    The options are class attributes: called with options only (``PointFolder(sampling=
    "fps")``, as Hydra does with ``data.dataset``), the class returns a subclass carrying
    them, so that what the data module asks of the class (tables, stored points) sees them.

    Shapes:
        arrays(): {"pos": (S, P, 3) float32, "y": (S,) int64}, P = ``stored_points``
    """

    folder = ""  # the folder is data.root itself
    marker = ""
    splits = ("train", "test")
    task = "cls"
    stratify_by = "y"
    suffixes: ClassVar[tuple[str, ...]] = (
        ".ply", ".pcd", ".xyz", ".pts", ".txt", ".npy", ".off", ".obj", ".stl",
    )  # fmt: skip
    # options (see the class docstring)
    stored_points: ClassVar[int] = 2048
    sampling: ClassVar[str] = "random"
    test_fraction: ClassVar[float] = 0.2
    seed: ClassVar[int] = 0
    OPTIONS: ClassVar[tuple[str, ...]] = ("stored_points", "sampling", "test_fraction", "seed")
    extra_arrays: ClassVar[tuple[tuple[str, str], ...]] = ()  # per-point arrays beside data

    def __new__(cls, root: str | Path | None = None, *args: Any, **options: Any):
        if root is None:
            return cls.configured(**options)
        if set(options) - {"partial"}:  # partial is the release's own (a subset implies it)
            raise TypeError(
                f"{cls.__name__}(root, ...) takes no options; use {cls.__name__}(**options)"
            )
        return super().__new__(cls)

    @classmethod
    def configured(cls, **options: Any) -> type[PointFolder]:
        """A subclass with these options. They are checked when the folder is first asked
        for (:meth:`find`), so that a wrong value is a one-line :class:`DatasetError` there
        rather than an error inside Hydra's instantiation."""
        known = {name: value for name, value in options.items() if name in cls.OPTIONS}
        return type(cls.__name__, (cls,), {"__module__": cls.__module__, "given": options, **known})

    given: ClassVar[Mapping[str, Any]] = MappingProxyType({})  # as given; see check_options

    @classmethod
    def check_options(cls) -> None:
        """Unknown names and impossible values are refused, naming the key."""
        unknown = sorted(set(cls.given) - set(cls.OPTIONS))
        if unknown:
            raise DatasetError(
                f"{cls.__name__} has no option(s) {unknown}; its options are {list(cls.OPTIONS)}"
            )
        check_resampling(cls.stored_points, cls.sampling)
        if not 0 < cls.test_fraction < 1:
            raise DatasetError(
                f"data.dataset.test_fraction must be in (0, 1), got {cls.test_fraction!r}"
            )

    # --- the folder --------------------------------------------------------------------------

    @classmethod
    def find(cls, root: str | Path) -> Path:
        """``root`` itself: it must be a folder."""
        cls.check_options()
        root = Path(root).expanduser()
        if not root.is_dir():
            state = "does not exist" if not root.exists() else "is not a folder"
            raise DatasetError(
                f"{root} {state}: data.root must be a folder of your files, one sub-folder per "
                f"{'class' if cls.task == 'cls' else 'category'} (README: Your own data)"
            )
        return root

    @classmethod
    def how_to_get(cls, root: Path) -> str:
        return "Give data.root=PATH, the folder of your files."

    @classmethod
    def listing(cls, folder: Path) -> FolderListing:
        return list_folder(folder, cls.suffixes, None)

    @classmethod
    def read_tables(cls, root: str | Path) -> ReleaseTables:
        """The classes: the sub-folders' names, sorted; at least two, none empty."""
        folder = cls.find(root)
        listing = cls.listing(folder)
        cls.refuse_empty(folder, listing)
        names = sorted(set(listing.labels))
        if len(names) < 2:
            raise DatasetError(
                f"{folder} holds {'one class folder' if names else 'no class folder with files'}"
                f"{f' ({names[0]})' if names else ''}; classification needs a sub-folder of "
                f"files per class, at least two"
            )
        return ReleaseTables(names, len(names), counts={"num_classes": (len(names), folder)})

    @classmethod
    def refuse_empty(cls, folder: Path, listing: FolderListing) -> None:
        """A class (or category) folder without a single data file is a mistake to report."""
        if listing.empty:
            kind = "class" if cls.task == "cls" else "category"
            raise DatasetError(
                f"{folder}: the {kind} folder(s) {listing.empty} hold no data file "
                f"({', '.join(cls.suffixes)}); fill or remove them"
            )

    @classmethod
    def stored_count(cls, folder: Path) -> tuple[int, Path]:
        """Every file is resampled to ``stored_points`` points at ingest."""
        return cls.stored_points, folder

    # --- one split ---------------------------------------------------------------------------

    @classmethod
    def parser(cls):
        """Reads one file into per-point arrays (a partial: it is keyed in the cache)."""
        return functools.partial(parse_cloud, mesh_points=cls.stored_points)

    @classmethod
    def ingest_all(
        cls, folder: Path, listing: FolderListing
    ) -> tuple[dict[str, np.ndarray], dict[str, str]]:
        """Every listed file ingested (from the cache when current) and, by relative path,
        why each bad file was skipped."""
        from pointea.data.ingest_cache import cache_file, ingest

        if not listing.files:
            raise DatasetError(f"{folder} holds no data file")
        parse = cls.parser()
        arrays = ingest(
            [folder / f for f in listing.files],
            functools.partial(_parse_or_flag, parse, cls.extra_arrays),
            cache_file(folder, f"folder-{cls.task}"),
            num_points=cls.stored_points,
            sampling=cls.sampling,
            seed=cls.seed,
            version=f"{cls.__module__}.{cls.task}.1",
        )
        reasons = {}
        for i in np.flatnonzero(
            arrays["bad"][:, 0]
        ):  # parsed again: few, and the cache keeps no messages
            try:
                parse(folder / listing.files[i])
            except DatasetError as err:
                reasons[listing.files[i]] = str(err)
        return arrays, reasons

    def load(self, folder: Path, split: str) -> dict[str, torch.Tensor]:
        listing = self.listing(folder)
        splits = assign_splits(folder, listing, self.test_fraction, self.seed)
        arrays, reasons = self.ingest_all(folder, listing)
        mine = [i for i, s in enumerate(splits) if s == split]
        rows = [i for i in mine if listing.files[i] not in reasons]
        skipped = [reasons[listing.files[i]] for i in mine if i not in rows]
        if split == "train":  # files that are not data belong to no split: named once
            skipped = [f"{folder / rel}: {why}" for rel, why in listing.skipped] + skipped
        if skipped:
            log.warning(
                "%s split of %s: skipped %d bad file(s): %s",
                split, folder, len(skipped), "; ".join(skipped),
            )  # fmt: skip
        self.check_rows(folder, split, listing, rows, arrays)
        labels = [listing.labels[i] for i in rows]
        return {"pos": torch.from_numpy(arrays["data"][rows].astype(np.float32, copy=False)),
                **self.targets(folder, labels, arrays, rows)}  # fmt: skip

    def check_rows(
        self, folder: Path, split: str, listing: FolderListing, rows: list[int], arrays: dict
    ) -> None:
        """Every class keeps a usable training file."""
        if split != "train":
            return
        kept = {listing.labels[i] for i in rows}
        empty = [name for name in self.tables.class_names if name not in kept]
        if empty:
            raise DatasetError(
                f"{folder}: {', '.join(empty)} has no usable training file (see the files "
                f"skipped above); every {'class' if self.task == 'cls' else 'category'} needs one"
            )

    def targets(
        self, folder: Path, labels: list[str], arrays: dict, rows: list[int]
    ) -> dict[str, torch.Tensor]:
        names = self.tables.class_names
        return {"y": torch.tensor([names.index(label) for label in labels], dtype=torch.int64)}
