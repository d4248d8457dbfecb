"""The LightningDataModule that feeds pointea's tasks from device-resident tensors."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import pytorch_lightning as pl
import torch

from pointea.data.batches import DeviceBatches, WorkerBatches
from pointea.data.errors import DatasetError
from pointea.data.h5_release import stored_points
from pointea.data.point_cloud_release import PointCloudRelease
from pointea.data.release_tables import ReleaseTables
from pointea.data.splits import stratified_split
from pointea.data.synthetic import SyntheticConfig, ensure_synthetic
from pointea.data.transforms import Compose, FirstPoints, RandomSubset

__all__ = ["PointCloudDataModule"]

COUNT_KEYS = ("num_classes", "num_parts", "num_categories")


class PointCloudDataModule(pl.LightningDataModule):
    """Loads each split once onto the trainer's device and serves augmented batches.

    Everything about the release's layout comes from ``dataset``: where its folder is,
    how to read its tables, its splits, and the arrays of a split (``pos``, ``y`` and,
    for part segmentation, ``category``). A split the dataset lacks (ModelNet40 has no
    ``val``) is carved out of train, stratified by the dataset's ``stratify_by`` array.

    Args:
        dataset: the release's dataset class (``ModelNet40H5``, ``ShapeNetPartH5`` or any
            class with the same class attributes and methods), or a partial of one; it is
            called as ``dataset(folder, split, num_points)``.
        root: the release folder or the folder holding it.
        num_points: points per cloud fed to the model.
        num_classes, num_parts, num_categories: the counts the configuration promises;
            each one given is checked against the release's own tables, and must be one
            the release defines.
        builtin: ``"synthetic_cls"``/``"synthetic_parts"`` to generate the built-in data
            into ``root`` in ``prepare_data``.
        builtin_options: :class:`SyntheticConfig` fields for the generator (sizes, seed).
        download: fetch the release into ``root`` in ``prepare_data`` when it is absent.
        urls: mirror URLs for the download, tried in order.
        val_fraction: the fraction of train carved out for validation when the release
            has no validation split, stratified and seeded.
        select_on_test: use the test split for validation (checkpoint selection on test),
            only when asked for by name; train then keeps all of its shapes.
        train_split: the split to train on, one of the dataset's ``splits`` (ShapeNetPart:
            ``"train"`` or ``"trainval"``).
        random_subset: train on a random ``num_points`` of the stored points instead of the
            first ``num_points``.
        train_transforms: batched transforms applied to training batches, in order.
        loader: ``"device"`` (tensors on the device) or ``"workers"`` (DataLoader workers
            collate on the host, then the batch moves to the device).
    """

    def __init__(
        self,
        *,
        dataset: Callable,
        root: str,
        num_points: int,
        num_classes: int | None = None,
        num_parts: int | None = None,
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
        if loader not in ("device", "workers"):
            raise ValueError(f"data.loader must be 'device' or 'workers', got {loader!r}")
        self.dataset = dataset
        self.dataset_class = getattr(dataset, "func", dataset)  # a class or a partial of one
        self.root = Path(root).expanduser()
        self.num_points = num_points
        self.counts = {
            key: value
            for key, value in zip(COUNT_KEYS, (num_classes, num_parts, num_categories), strict=True)
            if value is not None
        }
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
        self.folder: Path | None = None
        self.tables: ReleaseTables | None = None

    @property
    def class_names(self) -> list[str]:
        return list(self.tables.class_names) if self.tables else []

    @property
    def category_names(self) -> list[str]:
        """Object categories: the class names of a release that has part tables."""
        return self.class_names if self.category_parts else []

    @property
    def category_parts(self) -> list[list[int]]:
        return [list(p) for p in self.tables.category_parts] if self.tables else []

    def prepare_data(self) -> None:
        if self.builtin:
            ensure_synthetic(self.root, self.builtin, self.builtin_config)
        elif self.download and not self._release_present():
            from pointea.data.download import fetch

            fetch(self.dataset_class.release, self.root, urls=self.urls or None)

    def _release_present(self) -> bool:
        try:
            self.dataset_class.find(self.root)
        except DatasetError:
            return False
        return True

    def read_tables(self) -> ReleaseTables:
        """Find the release folder (once) and read its small text files, without loading
        shards: what a task needs to be built before ``setup``. Checks the configured
        counts against them."""
        if self.tables is None:
            self.folder = self.dataset_class.find(self.root)
            tables = self.dataset_class.read_tables(self.folder)
            for key, configured in self.counts.items():
                if key not in tables.counts:
                    raise DatasetError(
                        f"data.{key}={configured}: the {self.dataset_class.__name__} release in "
                        f"{self.folder} defines no {key} (it defines {sorted(tables.counts)})"
                    )
                actual, source = tables.counts[key]
                if configured != actual:
                    raise DatasetError(
                        f"data.{key}={configured} but {source} defines {actual}: the data "
                        f"config does not describe this release"
                    )
            self.tables = tables
        return self.tables

    def stored_points(self) -> tuple[int, Path]:
        """Points per shape the release stores (HDF5 headers only) and the shard that says so."""
        self.read_tables()
        if issubclass(self.dataset_class, PointCloudRelease):
            return self.dataset_class.stored_points(self.folder)
        return stored_points(self.folder)

    # --- loading --------------------------------------------------------------------------

    def load_split(self, split: str) -> dict[str, torch.Tensor]:
        """One of the release's own splits, whole, on the host."""
        self.read_tables()
        return self.dataset(self.folder, split, self.num_points).arrays()

    def setup(self, stage: str | None = None) -> None:
        if self.arrays:
            return
        device = self.trainer.strategy.root_device if self.trainer else torch.device("cpu")
        host = self._load_splits()
        carved = "val" not in self.dataset_class.splits and not self.select_on_test
        for split, arrays in host.items():
            if len(arrays["pos"]) == 0:
                why = (
                    f" (data.val_fraction={self.val_fraction} carves none)"
                    if split == "val" and carved
                    else ""
                )
                raise DatasetError(
                    f"the {split} split of {self.folder} holds no shapes{why}; "
                    f"training and testing need shapes in train, val and test"
                )
        keep_on_host = self.loader == "workers"
        self.arrays = {
            split: {k: v if keep_on_host else v.to(device) for k, v in arrays.items()}
            for split, arrays in host.items()
        }

    def _load_splits(self) -> dict[str, dict[str, torch.Tensor]]:
        train, test = self.load_split(self.train_split), self.load_split("test")
        if self.select_on_test:
            return {"train": train, "val": test, "test": test}
        if "val" in self.dataset_class.splits:
            return {"train": train, "val": self.load_split("val"), "test": test}
        stratify = train[self.dataset_class.stratify_by]
        train_idx, val_idx = stratified_split(stratify, self.val_fraction, self.seed)
        return {
            "train": {k: v[train_idx] for k, v in train.items()},
            "val": {k: v[val_idx] for k, v in train.items()},
            "test": test,
        }

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
