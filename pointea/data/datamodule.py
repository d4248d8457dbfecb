"""The LightningDataModule that feeds pointea's tasks from device-resident tensors."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import pytorch_lightning as pl
import torch

from pointea.configs.input_channels import FEATURE_CHANNELS, input_channels
from pointea.data.batches import DeviceBatches, WorkerBatches
from pointea.data.errors import DatasetError
from pointea.data.ingest_cache import check_resampling
from pointea.data.label_subset import LabelSubset
from pointea.data.point_cloud_release import PointCloudRelease
from pointea.data.release_tables import COUNT_KEYS, ReleaseTables
from pointea.data.shared_shapes import check_no_shared_shapes
from pointea.data.splits import stratified_split
from pointea.data.synthetic import SyntheticConfig, ensure_synthetic
from pointea.data.transforms import Compose, FirstPoints, RandomSubset

__all__ = ["PointCloudDataModule"]


log = logging.getLogger(__name__)


class PointCloudDataModule(pl.LightningDataModule):
    """Loads each split once onto the trainer's device and serves augmented batches.

    Everything about the release's layout comes from ``dataset``, a
    :class:`~pointea.data.point_cloud_release.PointCloudRelease`: where its folder is, how
    to read its tables, its splits, and the arrays of a split (``pos``, ``y`` and, for part
    segmentation, ``category``). A split the dataset lacks (ModelNet40 has no ``val``) is
    carved out of train, stratified by the dataset's ``stratify_by`` array. A release whose
    test (or val) split repeats shapes of its train split is refused, naming both files.

    Args:
        dataset: the release's dataset class, or a partial of one; it is called as
            ``dataset(folder, split, num_points)`` (with ``partial=True`` when asked for).
        root: the release folder or the folder holding it.
        num_points: points per cloud fed to the model.
        num_classes, num_parts, num_categories: the counts the configuration promises (the
            network is built with them); each one given is checked against the release's
            own tables, or against the subset's when ``classes``/``categories`` select one.
        classes: train, validate and test on these classes only (classification), matched
            case-insensitively; they are numbered 0..k-1 in the release's order.
        categories: the same for the object categories of part segmentation; the kept
            categories' parts are numbered 0..p-1 in the release's order (see
            :class:`~pointea.data.label_subset.LabelSubset`).
        partial: accept a release whose contents differ from the official ones (a partial
            download, a category subset), with one warning line giving the counts. Implied
            by ``classes``/``categories``.
        builtin: ``"synthetic_cls"``/``"synthetic_parts"`` to generate the built-in data
            into ``root`` in ``prepare_data``.
        builtin_options: :class:`SyntheticConfig` fields for the generator (sizes, seed).
        download: the folder the dataset's release may be fetched into when absent, or
            ``True`` for ``root``, or ``False``/``None``: never. A data option that inherits
            another's defaults but sets its own ``root`` therefore never fetches the other's
            release into it unless it says so.
        urls: mirror URLs for the download, tried in order.
        stall_timeout: give a mirror up when the transfer makes no progress for this many
            seconds.
        val_fraction: the fraction of train carved out for validation when the release
            has no validation split, stratified and seeded.
        select_on_test: use the test split for validation (checkpoint selection on test),
            only when asked for by name; train then keeps all of its shapes.
        train_split: the split to train on, one of the dataset's ``splits`` (ShapeNetPart:
            ``"train"`` or ``"trainval"``).
        random_subset: train on a random ``num_points`` of the stored points instead of the
            first ``num_points``.
        train_transforms: batched transforms applied to training batches, in order.
        features: per-point features fed to the network after xyz (``["normals"]``); the
            release must store them. Empty: xyz only (PCT's recipe).
        in_channels: the channels per input point this promises the network; the data
            configs derive it from ``features`` (``${pointea.in_channels:${data.features}}``),
            and a value set by hand is checked against them.
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
        download: str | bool | None = None,
        urls: Sequence[str] | None = None,
        stall_timeout: float = 60.0,
        classes: Sequence[str] | None = None,
        categories: Sequence[str] | None = None,
        partial: bool = False,
        val_fraction: float = 0.1,
        select_on_test: bool = False,
        train_split: str = "train",
        random_subset: bool = False,
        train_transforms: Sequence | None = None,
        loader: str = "device",
        num_workers: int = 2,
        seed: int = 0,
        features: Sequence[str] = (),
        in_channels: int | None = None,
    ) -> None:
        super().__init__()
        self.features_given = features  # checked (a list, known names) when the tables are read
        self.features = [] if isinstance(features, str) else list(features)
        self.in_channels = in_channels
        if loader not in ("device", "workers"):
            raise ValueError(f"data.loader must be 'device' or 'workers', got {loader!r}")
        self.dataset = dataset
        self.dataset_class: type[PointCloudRelease] = getattr(dataset, "func", dataset)
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
        self.stall_timeout = stall_timeout
        self.classes = None if classes is None else list(classes)
        self.categories = None if categories is None else list(categories)
        self.partial = bool(partial) or classes is not None or categories is not None
        self.subset: LabelSubset | None = None
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
            self._fetch()

    def _fetch(self) -> None:
        """Fetch the release into ``root``, if this data option allows it there."""
        release = self.dataset_class
        if release.download is None:
            raise DatasetError(
                f"no download for {release.__name__}: give data.root=PATH where the release "
                f"is ({self.root} holds none)"
            )
        into = self.root if self.download is True else Path(str(self.download)).expanduser()
        if into.resolve() != self.root.resolve():
            raise DatasetError(
                f"{self.root} holds no {release.__name__} release, and data.download={into} "
                f"fetches it into that folder only: give data.root=PATH where the release is, "
                f"or data.download=true to fetch it into {self.root}"
            )
        if not (self.urls or release.download.urls):
            raise DatasetError(f"{self.root} holds no release. {release.how_to_get(self.root)}")
        from pointea.data.download import fetch

        fetch(release, self.root, urls=self.urls or None, stall_timeout=self.stall_timeout)

    def _release_present(self) -> bool:
        try:
            self.dataset_class.find(self.root)
        except DatasetError:
            return False
        return True

    def _check_features(self) -> None:
        """``data.features`` must be known, match ``data.in_channels`` and be stored by the
        release (checked when the tables are read: the CLI reports it as one line)."""
        if isinstance(self.features_given, str):
            raise DatasetError(
                f"data.features must be a list of feature names, e.g. "
                f"data.features=[{self.features_given}], got {self.features_given!r}"
            )
        unknown = [f for f in self.features if f not in FEATURE_CHANNELS]
        if unknown:
            raise DatasetError(
                f"data.features={self.features}: unknown feature(s) {unknown}; known: "
                f"{sorted(FEATURE_CHANNELS)}"
            )
        channels = input_channels(self.features)
        if self.in_channels is not None and self.in_channels != channels:
            raise DatasetError(
                f"data.features={self.features} feeds {channels} channels per point, but "
                f"data.in_channels={self.in_channels}: leave data.in_channels unset (it follows "
                f"data.features) or set it to {channels}"
            )
        stored = getattr(self.dataset_class, "features", ())
        missing = [f for f in self.features if f not in stored]
        if missing:
            raise DatasetError(
                f"data.features={self.features}: the {self.dataset_class.__name__} release "
                f"in {self.folder} stores no {', '.join(missing)} (it stores "
                f"{list(stored) or 'xyz only'}); use data.features=[]"
            )

    def read_tables(self) -> ReleaseTables:
        """Find the release folder (once) and read its small text files, without loading
        shards: what a task needs to be built before ``setup``. With ``classes`` or
        ``categories``, the subset's tables. Checks the configured counts against them."""
        if self.tables is None:
            self.folder = self.dataset_class.find(self.root)
            self._check_features()
            tables = self.dataset_class.read_tables(self.folder)
            names, option = self._subset_names(tables)
            if names is not None:
                self.subset = LabelSubset.select(tables, names, option)
                tables = self.subset.tables
            for key, configured in self.counts.items():
                if key not in tables.counts:
                    raise DatasetError(
                        f"data.{key}={configured}: the {self.dataset_class.__name__} release in "
                        f"{self.folder} defines no {key} (it defines {sorted(tables.counts)})"
                    )
                actual, source = tables.counts[key]
                if configured != actual:
                    fix = f": set data.{key}={actual} as well" if self.subset else ""
                    raise DatasetError(
                        f"data.{key}={configured} but {source} defines {actual}: the data "
                        f"config does not describe this release{fix}"
                    )
            self.tables = tables
        return self.tables

    def _subset_names(self, tables: ReleaseTables) -> tuple[list[str] | None, str]:
        """The names ``classes`` or ``categories`` select, and the option that gave them."""
        seg = bool(tables.category_parts)
        wrong, right = ("classes", "categories") if seg else ("categories", "classes")
        if getattr(self, wrong) is not None:
            raise DatasetError(
                f"data.{wrong} selects {wrong}, but the {self.dataset_class.__name__} release "
                f"in {self.folder} has {right}: use data.{right}=[...]"
            )
        return getattr(self, right), f"data.{right}"

    def stored_points(self) -> tuple[int, Path]:
        """Points per shape the release stores (read cheaply) and the file that says so."""
        self.read_tables()
        count, source = self.dataset_class.stored_count(self.folder)
        options = getattr(self.dataset, "keywords", {})  # a reader's options, as a partial
        if options.get("stored_points") is not None:  # resampled to it at ingest
            check_resampling(options["stored_points"], options.get("sampling", "random"))
            return options["stored_points"], source
        return count, source

    # --- loading --------------------------------------------------------------------------

    def load_split(self, split: str) -> dict[str, torch.Tensor]:
        """One of the release's own splits, whole, on the host (the release's labels)."""
        return self._fed(self._read_split(split).arrays())

    def _fed(self, arrays: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The arrays the run feeds: a stored feature not in ``data.features`` stays out."""
        return {k: v for k, v in arrays.items() if k not in FEATURE_CHANNELS or k in self.features}

    def _read_split(self, split: str) -> PointCloudRelease:
        self.read_tables()
        extra = {"partial": True} if self.partial else {}
        return self.dataset(self.folder, split, self.num_points, **extra)

    def setup(self, stage: str | None = None) -> None:
        if self.arrays:
            return
        device = self.trainer.strategy.root_device if self.trainer else torch.device("cpu")
        host = self._load_splits()
        carved = "val" not in self.dataset_class.splits and not self.select_on_test
        for split, arrays in host.items():
            if len(arrays["pos"]) == 0:
                why = ""
                if split == "val" and carved:
                    why = f" (data.val_fraction={self.val_fraction} carves none)"
                elif self.subset is not None:
                    option = "categories" if self.categories is not None else "classes"
                    why = f" of data.{option}={self.subset.tables.class_names}"
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
        names = [self.train_split, "test"]
        if "val" in self.dataset_class.splits and not self.select_on_test:
            names.insert(1, "val")
        releases = {split: self._read_split(split) for split in names}
        for line in check_no_shared_shapes(
            {split: (r.arrays()["pos"], r.sources) for split, r in releases.items()}
        ):
            log.warning("warning: %s", line)
        if any(r.partial_notes for r in releases.values()):
            log.warning("warning: %s", self._partial_line(releases))
        splits = {split: self._fed(r.arrays()) for split, r in releases.items()}
        if self.subset is not None:
            key = self.dataset_class.stratify_by
            splits = {split: self.subset.apply(arrays, key) for split, arrays in splits.items()}
        train, test = splits[self.train_split], splits["test"]
        if self.select_on_test:
            return {"train": train, "val": test, "test": test}
        if "val" in splits:
            return {"train": train, "val": splits["val"], "test": test}
        stratify = train[self.dataset_class.stratify_by]
        train_idx, val_idx = stratified_split(stratify, self.val_fraction, self.seed)
        return {
            "train": {k: v[train_idx] for k, v in train.items()},
            "val": {k: v[val_idx] for k, v in train.items()},
            "test": test,
        }

    def _partial_line(self, releases: Mapping[str, PointCloudRelease]) -> str:
        """One line giving each split's shapes against the official release's."""
        spec = self.dataset_class.download
        official = dict(spec.counts) if spec else {}
        official["trainval"] = official.get("train", 0) + official.get("val", 0)
        counts = ", ".join(
            f"{split} {len(r)}" + (f" of {official[split]}" if official.get(split) else "")
            for split, r in releases.items()
        )
        return (
            f"{self.folder} differs from the official release, accepted as partial "
            f"(data.partial=true): {counts} shapes"
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
