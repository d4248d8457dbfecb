"""The LightningDataModule that feeds pointea's tasks from device-resident tensors."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pytorch_lightning as pl
import torch

from pointea.data.batches import DeviceBatches, WorkerBatches
from pointea.data.errors import DatasetError
from pointea.data.h5_release import stored_points
from pointea.data.modelnet40 import ModelNet40H5
from pointea.data.shapenet_part import ShapeNetPartH5
from pointea.data.splits import stratified_split
from pointea.data.synthetic import SyntheticConfig, ensure_synthetic
from pointea.data.transforms import Compose, FirstPoints, RandomSubset

__all__ = ["PointCloudDataModule"]

LAYOUTS = ("modelnet40", "shapenetpart")


class PointCloudDataModule(pl.LightningDataModule):
    """Loads each split once onto the trainer's device and serves augmented batches.

    Args:
        layout: ``"modelnet40"`` (classification: ``y`` is the class) or ``"shapenetpart"``
            (segmentation: ``y`` holds per-point global part ids, plus ``category``).
        root: the release folder or the folder holding it.
        num_points: points per cloud fed to the model.
        num_classes: classes (ModelNet40 layout) or global parts (ShapeNetPart layout) the
            configuration promises; checked against the release's own tables.
        num_categories: object categories (ShapeNetPart layout), checked likewise.
        builtin: ``"synthetic_cls"``/``"synthetic_parts"`` to generate the built-in data
            into ``root`` in ``prepare_data``.
        builtin_options: :class:`SyntheticConfig` fields for the generator (sizes, seed).
        download: fetch the release into ``root`` in ``prepare_data`` when it is absent.
        urls: mirror URLs for the download, tried in order.
        val_fraction: ModelNet40 has no validation split: this fraction of train is carved
            out, stratified by class and seeded.
        select_on_test: use the test split for validation (checkpoint selection on test),
            only when asked for by name; train then keeps all of its shapes.
        train_split: ShapeNetPart only: ``"train"`` or ``"trainval"``.
        random_subset: train on a random ``num_points`` of the stored points instead of the
            first ``num_points``.
        train_transforms: batched transforms applied to training batches, in order.
        loader: ``"device"`` (tensors on the device) or ``"workers"`` (DataLoader workers
            collate on the host, then the batch moves to the device).
    """

    def __init__(
        self,
        *,
        layout: str,
        root: str,
        num_points: int,
        num_classes: int,
        num_categories: int | None = None,
        batch_size: int = 32,
        eval_batch_size: int | None = None,
        builtin: str | None = None,
        builtin_options: Mapping[str, int] | None = None,
        download: bool = False,
        urls: Sequence[str] | None = None,
        val_fraction: float = 0.1,
        select_on_test: bool = False,
        train_split: str = "train",
        random_subset: bool = False,
        train_transforms: Sequence | None = None,
        loader: str = "device",
        num_workers: int = 2,
        seed: int = 0,
    ) -> None:
        super().__init__()
        if layout not in LAYOUTS:
            raise ValueError(f"data.layout must be one of {LAYOUTS}, got {layout!r}")
        if loader not in ("device", "workers"):
            raise ValueError(f"data.loader must be 'device' or 'workers', got {loader!r}")
        self.layout, self.root = layout, Path(root).expanduser()
        self.num_points, self.num_classes, self.num_categories = (
            num_points,
            num_classes,
            num_categories,
        )
        self.batch_size = batch_size
        self.eval_batch_size = eval_batch_size or batch_size
        self.builtin, self.download, self.urls = builtin, download, list(urls or [])
        self.builtin_config = SyntheticConfig(**dict(builtin_options or {}))
        self.val_fraction, self.select_on_test = val_fraction, select_on_test
        self.train_split = train_split
        self.train_transform = Compose(
            [RandomSubset(num_points) if random_subset else FirstPoints(num_points)]
            + list(train_transforms or [])
        )
        self.eval_transform = Compose([FirstPoints(num_points)])
        self.loader, self.num_workers, self.seed = loader, num_workers, seed
        self.arrays: dict[str, dict[str, torch.Tensor]] = {}
        self.class_names: list[str] = []
        self.category_names: list[str] = []
        self.category_parts: list[list[int]] = []

    def prepare_data(self) -> None:
        if self.builtin:
            ensure_synthetic(self.root, self.builtin, self.builtin_config)
        elif self.download and not self._release_present():
            from pointea.data.download import fetch

            fetch(self.layout, self.root, urls=self.urls or None)

    def _release_present(self) -> bool:
        """The release's marker file is at ``root`` or in its release folder (as the readers look)."""
        reader = ModelNet40H5 if self.layout == "modelnet40" else ShapeNetPartH5
        marker = "shape_names.txt" if self.layout == "modelnet40" else "all_object_categories.txt"
        return any((p / marker).is_file() for p in (self.root, self.root / reader.folder))

    def release_folder(self) -> Path:
        """The folder holding the release's files: ``root`` or its release folder."""
        reader = ModelNet40H5 if self.layout == "modelnet40" else ShapeNetPartH5
        marker = "shape_names.txt" if self.layout == "modelnet40" else "all_object_categories.txt"
        inner = self.root / reader.folder
        return inner if not (self.root / marker).is_file() and inner.is_dir() else self.root

    def stored_points(self) -> tuple[int, Path]:
        """Points per shape the release stores (HDF5 headers only) and the shard that says so."""
        return stored_points(self.release_folder())

    def read_tables(self) -> None:
        """Fill ``class_names`` (and the part table) from the release's small text files,
        without loading shards: what a task needs to be built before ``setup``."""
        if self.layout == "modelnet40":
            self.class_names = ModelNet40H5.read_class_names(self.root)
            self._check_fact(
                "num_classes",
                self.num_classes,
                len(self.class_names),
                self.release_folder() / "shape_names.txt",
            )
        else:
            self.category_names, self.category_parts = ShapeNetPartH5.read_part_table(self.root)
            self.class_names = self.category_names
            num_parts = sum(len(p) for p in self.category_parts)
            self._check_fact(
                "num_classes",
                self.num_classes,
                num_parts,
                self.release_folder() / "overallid_to_catid_partid.json",
            )
            self._check_fact(
                "num_categories",
                self.num_categories,
                len(self.category_names),
                self.release_folder() / "all_object_categories.txt",
            )

    # --- loading --------------------------------------------------------------------------

    def setup(self, stage: str | None = None) -> None:
        if self.arrays:
            return
        device = self.trainer.strategy.root_device if self.trainer else torch.device("cpu")
        host = self._load_modelnet40() if self.layout == "modelnet40" else self._load_shapenetpart()
        for split, arrays in host.items():
            if len(arrays["pos"]) == 0:
                carved = split == "val" and self.layout == "modelnet40" and not self.select_on_test
                why = f" (data.val_fraction={self.val_fraction} carves none)" if carved else ""
                raise DatasetError(
                    f"the {split} split of {self.release_folder()} holds no shapes{why}; "
                    f"training and testing need shapes in train, val and test"
                )
        keep_on_host = self.loader == "workers"
        self.arrays = {
            split: {k: v if keep_on_host else v.to(device) for k, v in arrays.items()}
            for split, arrays in host.items()
        }

    def _load_modelnet40(self) -> dict[str, dict[str, torch.Tensor]]:
        train = ModelNet40H5(self.root, "train", self.num_points)
        test = ModelNet40H5(self.root, "test", self.num_points)
        self.class_names = train.class_names
        self._check_fact(
            "num_classes", self.num_classes, train.num_classes, train.root / "shape_names.txt"
        )
        full = {"pos": train.points, "y": train.labels}
        test_arrays = {"pos": test.points, "y": test.labels}
        if self.select_on_test:
            return {"train": full, "val": test_arrays, "test": test_arrays}
        train_idx, val_idx = stratified_split(train.labels, self.val_fraction, self.seed)
        return {
            "train": {k: v[train_idx] for k, v in full.items()},
            "val": {k: v[val_idx] for k, v in full.items()},
            "test": test_arrays,
        }

    def _load_shapenetpart(self) -> dict[str, dict[str, torch.Tensor]]:
        splits = {"train": self.train_split, "val": "val", "test": "test"}
        if self.select_on_test:
            splits["val"] = "test"
        out = {}
        for name, split in splits.items():
            ds = ShapeNetPartH5(self.root, split, self.num_points)
            out[name] = {"pos": ds.points, "y": ds.parts, "category": ds.categories}
        self.category_names, self.category_parts = ds.category_names, ds.category_parts
        self.class_names = self.category_names
        self._check_fact(
            "num_classes",
            self.num_classes,
            ds.num_parts,
            ds.root / "overallid_to_catid_partid.json",
        )
        self._check_fact(
            "num_categories",
            self.num_categories,
            ds.num_categories,
            ds.root / "all_object_categories.txt",
        )
        return out

    @staticmethod
    def _check_fact(key: str, configured: int | None, actual: int, source: Path) -> None:
        if configured is not None and configured != actual:
            raise DatasetError(
                f"data.{key}={configured} but {source} defines {actual}: the data config "
                f"does not describe this release"
            )

    # --- loaders --------------------------------------------------------------------------

    def _batches(self, split: str, train: bool):
        trainer = self.trainer
        kwargs = dict(
            transform=self.train_transform if train else self.eval_transform,
            shuffle=train,
            drop_last=train and len(self.arrays[split]["pos"]) > self.batch_size,
            seed=self.seed,
            rank=trainer.global_rank if trainer else 0,
            world_size=trainer.world_size if trainer else 1,
        )
        batch_size = self.batch_size if train else self.eval_batch_size
        if self.loader == "device":
            return DeviceBatches(self.arrays[split], batch_size, **kwargs)
        device = trainer.strategy.root_device if trainer else torch.device("cpu")
        return WorkerBatches(
            self.arrays[split], batch_size, device=device, num_workers=self.num_workers, **kwargs
        )

    def train_dataloader(self):
        return self._batches("train", train=True)

    def val_dataloader(self):
        return self._batches("val", train=False)

    def test_dataloader(self):
        return self._batches("test", train=False)
