"""The base class every release reader is written against.

A dataset is one subclass of :class:`PointCloudRelease` and one
``pointea/configs/data/NAME.yaml`` naming it (``data.dataset._target_``). The data module,
the download, the built-in data, checkpoint metadata and ``pointea-visualize`` ask a
release only what this class declares.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import ClassVar

import torch
from torch.utils.data import Dataset

from pointea.data.errors import DatasetError
from pointea.data.release_spec import ReleaseSpec
from pointea.data.release_tables import ReleaseTables

__all__ = ["PointCloudRelease"]


class PointCloudRelease(Dataset, ABC):
    """One split of a release, held whole in memory as tensors.

    S shapes, P stored points per shape, N = ``num_points``.

    Class attributes (the layout's facts; a subclass sets every one without a default):
        folder: the release folder's name, what its archive extracts to. ``find(root)``
            accepts ``root/folder`` or ``root`` itself.
        marker: a file that every copy of the release holds at the top of ``folder``; its
            presence identifies the release folder.
        splits: the splits ``__init__`` accepts, e.g. ``("train", "test")``. A release
            without ``"val"`` gets a validation split carved out of train by the data module.
        task: ``"cls"`` (one label per shape, ``y`` (S,)) or ``"seg"`` (one global part id
            per point, ``y`` (S, P), and the object category, ``category`` (S,)).
        stratify_by: the array a carved-out validation split is stratified by (``"y"`` for
            classification, ``"category"`` for part segmentation).
        features: per-point features the release stores beyond xyz, as named in
            ``data.features`` (``("normals",)``: ``arrays()`` then holds ``normals``
            (S, P, 3)). Empty when it stores coordinates only.
        download: how to fetch and verify the release (a
            :class:`~pointea.data.release_spec.ReleaseSpec`, whose ``urls`` may be empty when
            only ``--archive`` installs it), or ``None``: the user gives ``data.root``.

    ``partial=True`` accepts a copy whose contents differ from the official release's
    (a partial download, a category subset): where :meth:`load` compares a split with the
    official facts, it calls :meth:`differs_from_official`, which refuses the split unless
    ``partial`` and otherwise records the difference in :attr:`partial_notes`. After
    :meth:`load`, :attr:`sources` names the file each block of rows came from, so that
    checks across splits (duplicated shapes) can name files.

    A subclass implements :meth:`read_tables` (label tables, without loading points),
    :meth:`stored_count` and :meth:`load` (one split's arrays, validated, every error a
    :class:`DatasetError` naming the file and the fault).

    Shapes:
        arrays(): {"pos": (S, P, 3) float32, "y": (S,) or (S, P) int64,
        "category": (S,) int64 (seg), "normals": (S, P, 3) float32 (when stored)}
        item: the same keys, one shape, the first N points.
    """

    folder: ClassVar[str]
    marker: ClassVar[str]
    splits: ClassVar[tuple[str, ...]]
    task: ClassVar[str]
    stratify_by: ClassVar[str]
    features: ClassVar[tuple[str, ...]] = ()
    download: ClassVar[ReleaseSpec | None] = None

    def __init__(
        self,
        root: str | Path,
        split: str = "train",
        num_points: int = 1024,
        *,
        partial: bool = False,
    ) -> None:
        if split not in self.splits:
            raise DatasetError(
                f"{type(self).__name__} split must be one of {self.splits}, got {split!r}"
            )
        self.root = self.find(root)
        self.split = split
        self.num_points = num_points
        self.partial = partial
        self.partial_notes: list[str] = []
        self.sources: list[tuple[Path, int]] = []
        self.tables = self.read_tables(self.root)
        try:
            self._arrays = self.load(self.root, split)
        except PermissionError as err:  # a folder or file of the release the user may not read
            raise DatasetError(
                f"{err.filename}: cannot be read ({err.strerror}); the {split} split of "
                f"{self.root} needs it"
            ) from err
        if not self.sources:
            self.sources = [(self.root, len(self))]
        stored = self._arrays["pos"].shape[1]
        if num_points > stored:
            raise DatasetError(
                f"{self.root} ({split}): shapes store {stored} points, fewer than "
                f"num_points={num_points}"
            )

    @classmethod
    def find(cls, root: str | Path) -> Path:
        """The release folder: ``root`` itself or ``root/<folder>``, whichever holds the marker.

        Raises:
            DatasetError: neither does; the message says how to get the release.
        """
        root = Path(root).expanduser()
        for candidate in (root, root / cls.folder):
            if (candidate / cls.marker).is_file():
                return candidate
        state = "does not exist" if not root.exists() else "holds no release"
        raise DatasetError(
            f"{root} {state}: expected {cls.folder}/{cls.marker} (or {cls.marker} directly) "
            f"in it. {cls.how_to_get(root)}"
        )

    @classmethod
    def how_to_get(cls, root: Path) -> str:
        """One sentence telling a user how to put the release into ``root``."""
        from pointea.data.download import download_options  # the download imports readers

        names = [name for name, release in download_options().items() if release is cls]
        if cls.download is None:
            return f"no download for {cls.__name__}: give data.root=PATH where the release is."
        option = names[0] if names else "DATA_OPTION"  # a class no data option names yet
        how = f"python -m pointea.data.download {option} --root {root}"
        if not cls.download.urls:
            return (
                f"It has no public URL: install the zip you obtained with "
                f"`{how} --archive {cls.download.archive}`."
            )
        return f"Download it with `{how}`."

    def differs_from_official(self, message: str) -> None:
        """A split differs from the official release as ``message`` says (it names the file
        and the counts): refused unless ``partial``, else noted in :attr:`partial_notes`.

        Raises:
            DatasetError: ``partial`` is off; the message names ``data.partial=true``.
        """
        if not self.partial:
            raise DatasetError(
                f"{message}. If this is a partial copy or a subset, say so with data.partial=true"
            )
        self.partial_notes.append(message)

    @classmethod
    @abstractmethod
    def read_tables(cls, root: str | Path) -> ReleaseTables:
        """The release's label tables and the counts they define, read from its small files
        (no point data loaded): what a task needs before ``setup``."""

    @classmethod
    @abstractmethod
    def stored_count(cls, folder: Path) -> tuple[int, Path]:
        """Points stored per shape (the most ``data.num_points`` may be) and the file that
        says so, read as cheaply as the layout allows."""

    @abstractmethod
    def load(self, folder: Path, split: str) -> dict[str, torch.Tensor]:
        """One split's arrays (see the class's ``Shapes``), validated against ``self.tables``."""

    def arrays(self) -> dict[str, torch.Tensor]:
        """The whole split (see ``Shapes``); the data module reads it once."""
        return self._arrays

    @property
    def class_names(self) -> list[str]:
        """Shape-level label names: classes, or a part release's object categories."""
        return list(self.tables.class_names)

    def __len__(self) -> int:
        return self._arrays["pos"].shape[0]

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        n = self.num_points
        # per-point arrays are (S, P, ...), per-shape ones (S,)
        return {k: v[index, :n] if v.dim() >= 2 else v[index] for k, v in self._arrays.items()}
