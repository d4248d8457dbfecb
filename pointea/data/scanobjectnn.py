"""ScanObjectNN, the real-world scan benchmark, in its HDF5 release ``h5_files/``."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import h5py
import numpy as np
import torch

from pointea.data.errors import DatasetError
from pointea.data.h5_release import read_shards, stored_points
from pointea.data.point_cloud_release import PointCloudRelease
from pointea.data.release_spec import ReleaseSpec
from pointea.data.release_tables import ReleaseTables

__all__ = ["ScanObjectNN"]


class ScanObjectNN(PointCloudRelease):
    """Shapes and class labels of one split of one ScanObjectNN variant, in memory.

    S shapes, P stored points (2048), N = ``num_points``. ``root`` is the extracted
    ``h5_files/`` folder or the folder that holds it. The authors hand the archive out on
    request (there is no public URL): ``python -m pointea.data.download scanobjectnn
    --archive h5_files.zip --root DIR`` installs a copy, verified.

    Each variant is one pair of files (``VARIANTS``): OBJ_BG and OBJ_ONLY hold 2,309 train
    and 581 test shapes, PB_T50_RS (the perturbed copies peers headline) 11,416 and 2,882.
    Every file holds ``data`` (n, 2048, 3) float32, ``label`` (n,) integer 0..14 and
    ``mask`` (n, 2048), the object/background flag of each point (checked, not served).
    There is no validation split: the data module carves one out of train; selecting on
    the test split, as most papers do, is ``data.select_on_test=true``.

    Args:
        root: the ``h5_files/`` folder or the folder holding it.
        split: ``"train"`` or ``"test"``.
        num_points: points per item (the first ``num_points`` of each shape).
        variant: one of ``VARIANTS`` (``data.dataset.variant``).

    Shapes:
        arrays(): {"pos": (S, P, 3) float32, "y": (S,) int64}
        item: {"pos": (N, 3) float32, "y": int64 scalar}
    """

    folder = "h5_files"
    marker = "main_split/training_objectdataset.h5"
    splits = ("train", "test")
    task = "cls"
    stratify_by = "y"
    # No public URL: the authors hand out the archive on request; `--archive` installs it,
    # verified with the default variant (PB_T50_RS), whose files every copy holds.
    download = ReleaseSpec(archive="h5_files.zip", counts={"train": 11416, "test": 2882})
    # The 15 classes in label order.
    CLASS_NAMES: ClassVar[tuple[str, ...]] = (
        "bag", "bin", "box", "cabinet", "chair", "desk", "display", "door", "shelf", "table",
        "bed", "pillow", "sink", "sofa", "toilet",
    )  # fmt: skip
    # Each variant's sub-folder, file suffix and (train, test) shapes; None: not published.
    VARIANTS: ClassVar[dict[str, tuple[str, str, tuple[int, int] | None]]] = {
        "obj_bg": ("main_split", "", (2309, 581)),
        "obj_only": ("main_split_nobg", "", (2309, 581)),
        "pb_t50_rs": ("main_split", "_augmentedrs", (11416, 2882)),
        "pb_t25": ("main_split", "_augmented25_norot", None),
        "pb_t25_r": ("main_split", "_augmented25rot", None),
    }
    FILE: ClassVar[dict[str, str]] = {"train": "training", "test": "test"}  # split -> file stem

    def __init__(
        self,
        root: str | Path,
        split: str = "train",
        num_points: int = 1024,
        variant: str = "pb_t50_rs",
        *,
        partial: bool = False,
    ) -> None:
        if variant not in self.VARIANTS:
            raise DatasetError(
                f"data.dataset.variant must be one of {sorted(self.VARIANTS)} (ScanObjectNN), "
                f"got {variant!r}"
            )
        self.variant = variant
        super().__init__(root, split, num_points, partial=partial)

    @classmethod
    def file_name(cls, variant: str, split: str) -> str:
        """A variant's file of a split, relative to ``h5_files/``."""
        sub, suffix, _ = cls.VARIANTS[variant]
        return f"{sub}/{cls.FILE[split]}_objectdataset{suffix}.h5"

    @classmethod
    def find(cls, root: str | Path) -> Path:
        """``root`` or ``root/h5_files``, whichever holds ``main_split/`` or ``main_split_nobg/``."""
        root = Path(root).expanduser()
        for candidate in (root, root / cls.folder):
            if any((candidate / sub).is_dir() for sub in cls._sub_folders()):
                return candidate
        state = "does not exist" if not root.exists() else "holds no release"
        raise DatasetError(
            f"{root} {state}: expected {cls.folder}/main_split/ (or main_split/ directly) in "
            f"it. {cls.how_to_get(root)}"
        )

    @classmethod
    def how_to_get(cls, root: Path) -> str:
        return (
            f"ScanObjectNN's authors hand out {cls.download.archive} on request. "
            f"{super().how_to_get(root)} Or give data.root=PATH where its h5_files/ folder is."
        )

    @classmethod
    def _sub_folders(cls) -> list[str]:
        return sorted({sub for sub, _, _ in cls.VARIANTS.values()})

    @classmethod
    def read_tables(cls, root: str | Path) -> ReleaseTables:
        """The 15 classes: the release stores no class table, so they are the class's own."""
        names = list(cls.CLASS_NAMES)
        source = Path(__file__)  # the fact's one place: this class
        return ReleaseTables(names, len(names), counts={"num_classes": (len(names), source)})

    @classmethod
    def stored_count(cls, folder: Path) -> tuple[int, Path]:
        """Points per shape in the first present sub-folder's files (HDF5 headers only)."""
        for sub in cls._sub_folders():
            if (folder / sub).is_dir():
                return stored_points(folder / sub)
        raise DatasetError(f"{folder} holds neither of {cls._sub_folders()}")

    def load(self, folder: Path, split: str) -> dict[str, torch.Tensor]:
        path = folder / self.file_name(self.variant, split)
        if not path.is_file():
            present = sorted(
                str(p.relative_to(folder)) for p in folder.glob("*/*objectdataset*.h5")
            )
            raise DatasetError(
                f"{path} is missing: variant {self.variant!r} reads "
                f"{self.file_name(self.variant, 'train')} and "
                f"{self.file_name(self.variant, 'test')}; {folder} holds {present or 'none'}"
            )
        arrays, counts = read_shards([path], ("data", "label"))
        self.sources = [(path, counts[0])]
        self._check_mask(path, arrays["data"].shape[:2])
        labels = arrays["label"].astype(np.int64)
        bad = (labels < 0) | (labels >= len(self.CLASS_NAMES))
        if bad.any():
            raise DatasetError(
                f"{path}: label {int(labels[bad][0])} (row {int(np.argmax(bad))}) is outside "
                f"the {len(self.CLASS_NAMES)} classes 0..{len(self.CLASS_NAMES) - 1}"
            )
        return {
            "pos": torch.from_numpy(arrays["data"].astype(np.float32, copy=False)),
            "y": torch.from_numpy(labels),
        }

    @staticmethod
    def _check_mask(path: Path, expected: tuple[int, int]) -> None:
        """``mask`` must be present with one flag per point (its header only is read)."""
        with h5py.File(path, "r") as f:
            mask = f.get("mask")
            if not isinstance(mask, h5py.Dataset):
                raise DatasetError(
                    f"{path}: key 'mask' is missing (keys present: {sorted(f.keys())}); "
                    f"expected a ScanObjectNN file with data, label and mask"
                )
            if mask.shape != expected:
                raise DatasetError(f"{path}: 'mask' must have shape {expected}, got {mask.shape}")
