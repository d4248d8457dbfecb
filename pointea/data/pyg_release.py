"""Any PyTorch Geometric dataset of point clouds, as a pointea release.

``from_pyg(ShapeNet, categories=["Cap"])`` (or a Hydra node naming the PyG class by
``_target_``, see ``configs/data/pyg.yaml``) gives a :class:`PyGRelease` subclass that the
data module, the tasks and checkpoint metadata use like any other release. The PyG class
is named by the user's own config or code, never by a checkpoint: checkpoints hold plain
metadata (class names, part tables), not the data config.
"""

from __future__ import annotations

import functools
import inspect
import pickle
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import torch

from pointea.data.errors import DatasetError
from pointea.data.ingest_cache import check_resampling
from pointea.data.point_cloud_release import PointCloudRelease
from pointea.data.release_tables import ReleaseTables
from pointea.ops.sampling import farthest_point_sample

__all__ = ["PyGRelease", "from_pyg"]

TASKS = ("cls", "seg")
# What a PyG dataset raises on damaged raw files or a damaged processed/ cache (its parsers
# index, assert and unpickle without naming the file).
PYG_FAILURES = (
    OSError, RuntimeError, ValueError, AssertionError, KeyError, IndexError, EOFError,
    pickle.UnpicklingError,
)  # fmt: skip


class PyGRelease(PointCloudRelease):
    """One split of a PyG dataset whose items have ``pos`` and ``y``, resampled to a fixed size.

    S clouds, P = ``stored_points`` per cloud, n_i the points of cloud i.
    Built by :func:`from_pyg`, which sets the class attributes below; ``root`` is the PyG
    dataset's own root (PyG reads ``root/raw`` and caches ``root/processed``, downloading
    first when the PyG class does and the raw files are absent).

    Items are PyG ``Data`` objects: ``pos`` (n_i, 3); ``y`` one class per cloud
    (classification) or one label per point (segmentation); ``category`` (the object
    category of a part dataset) and normals in ``x`` (n_i, 3) are used when present.
    Every cloud is resampled to P points, seeded: a random P of its points without repeats
    (``sampling="random"``) or its farthest point sample (``"fps"``) when it has more than
    P, else all of its points and random repeats of them.

    Names: a dataset with ``seg_classes`` and ``categories`` (PyG's ``ShapeNet``) gives its
    categories and their parts, renumbered 0.. in category order when only some categories
    are chosen (pointea's part ids are contiguous); ``ModelNet`` gives its raw folder names
    in its label order; any other dataset gives its labels' numbers as names.

    Shapes:
        arrays(): {"pos": (S, P, 3) float32, "y": (S,) or (S, P) int64,
        "category": (S,) int64 (seg), "normals": (S, P, 3) float32 (``normals=True``)}
    """

    folder = ""
    marker = ""
    download = None
    stratify_by = "y"
    pyg: ClassVar[Callable[..., Any] | None] = None  # the PyG class (or partial), split aside
    split_instances: ClassVar[Mapping[str, Any]] = {}  # or PyG datasets given per split
    split_argument: ClassVar[str | None] = None  # "split" (a name) or "train" (a bool)
    stored_points: ClassVar[int] = 2048
    sampling: ClassVar[str] = "random"
    seed: ClassVar[int] = 0

    def __init__(
        self,
        root: str | Path,
        split: str = "train",
        num_points: int = 1024,
        *,
        partial: bool = False,
    ) -> None:
        if self.pyg is None and not self.split_instances:
            raise DatasetError(
                f"{type(self).__name__} reads no PyG dataset: build the class with from_pyg"
            )
        super().__init__(root, split, num_points, partial=partial)

    @classmethod
    def find(cls, root: str | Path) -> Path:
        """The PyG root as given (PyG itself finds, processes or downloads what is under it)."""
        return Path(root).expanduser()

    @classmethod
    def how_to_get(cls, root: Path) -> str:
        return f"{cls.__name__} reads the PyG dataset rooted at data.root"

    @classmethod
    def open(cls, root: str | Path, split: str) -> Any:
        """The PyG dataset of one split (processed by PyG on first use)."""
        if cls.split_instances:
            return cls.split_instances[split]
        if cls.pyg is None:
            raise DatasetError(
                f"{cls.__name__} reads no PyG dataset: build the class with from_pyg"
            )
        if cls.split_argument == "split":
            chosen: dict[str, Any] = {"split": split}
        else:
            chosen = {"train": split == "train"}
        name = _pyg_name(cls.pyg)
        root = Path(root).expanduser()
        try:
            return cls.pyg(root=str(root), **chosen)
        except PYG_FAILURES as err:
            # PyG names no file: say where it reads (raw/) and what it builds (processed/)
            why = " ".join(str(err).split()) or "no message"
            raise DatasetError(
                f"{name}(root={str(root)!r}, {', '.join(f'{k}={v!r}' for k, v in chosen.items())}) "
                f"failed: {type(err).__name__}: {why}. PyG builds {root / 'processed'} from the "
                f"files in {root / 'raw'}: check those (a damaged or partial file), or delete "
                f"{root / 'processed'} to have it built again"
            ) from err

    @classmethod
    def read_tables(cls, root: str | Path) -> ReleaseTables:
        """Class names, or categories and their parts, from the PyG dataset's train split."""
        dataset = cls.open(root, "train")
        where = Path(getattr(dataset, "raw_dir", root))
        if cls.task == "cls":
            names = _class_names(dataset)
            return ReleaseTables(names, len(names), counts={"num_classes": (len(names), where)})
        names, parts, _ = _part_table(dataset, where)
        num_parts = sum(len(p) for p in parts)
        counts = {"num_parts": (num_parts, where), "num_categories": (len(names), where)}
        return ReleaseTables(names, num_parts, parts, counts)

    @classmethod
    def stored_count(cls, folder: Path) -> tuple[int, Path]:
        """Every cloud is resampled to ``stored_points`` points."""
        return cls.stored_points, folder

    def load(self, folder: Path, split: str) -> dict[str, torch.Tensor]:
        dataset = self.open(folder, split)
        where = f"{_pyg_name(self.pyg or type(dataset))} ({split} split, root {folder})"
        lookup = None
        if self.task == "seg":
            _, _, lookup = _part_table(dataset, folder)
        num_labels = self.tables.num_labels
        owner = torch.zeros(num_labels, dtype=torch.long)  # the category of each part id
        for category, ids in enumerate(self.tables.category_parts):
            owner[ids] = category
        generator = torch.Generator().manual_seed(self.seed)
        columns: dict[str, list[torch.Tensor]] = {"pos": [], "y": []}
        if self.task == "seg":
            columns["category"] = []
        if "normals" in self.features:
            columns["normals"] = []
        for index in range(len(dataset)):
            item = dataset[index]
            pos, y = _item_tensor(item, "pos", where, index), _item_tensor(item, "y", where, index)
            cloud = f"{where}: cloud {index}"
            if pos.dim() != 2 or pos.shape[1] != 3 or pos.shape[0] == 0:
                raise DatasetError(
                    f"{cloud}: pos must be (n, 3) with n >= 1, got {tuple(pos.shape)}"
                )
            if not torch.isfinite(pos).all():
                raise DatasetError(f"{cloud}: pos holds NaN or infinite coordinates")
            if pos.shape[0] > 1 and float((pos.amax(0) - pos.amin(0)).max()) == 0:
                raise DatasetError(f"{cloud}: all of its points are at one place")
            y = self._labels(y, pos.shape[0], cloud, lookup)
            outside = y[(y < 0) | (y >= num_labels)]
            if outside.numel():
                raise DatasetError(
                    f"{cloud}: label {int(outside[0])} is outside 0..{num_labels - 1}"
                )
            pick = _resample(pos, self.stored_points, self.sampling, generator)  # (P,)
            columns["pos"].append(pos[pick].float())
            columns["y"].append(y[pick] if self.task == "seg" else y)
            if self.task == "seg":
                category = _category(item, cloud)
                names = self.tables.class_names
                if not 0 <= int(category) < len(names):
                    raise DatasetError(
                        f"{cloud}: category {int(category)} is outside the {len(names)} "
                        f"categories {names}"
                    )
                wrong = y[owner[y] != category]  # every point, not only the sampled ones
                if wrong.numel():
                    raise DatasetError(
                        f"{cloud} labels a point with part {int(wrong[0])}, not a part of its "
                        f"category {names[int(category)]}"
                    )
                columns["category"].append(category)
            if "normals" in self.features:
                normals = getattr(item, "x", None)
                if not isinstance(normals, torch.Tensor) or normals.shape != pos.shape:
                    raise DatasetError(
                        f"{cloud}: normals were asked for (normals=true) but x is "
                        f"{None if normals is None else tuple(normals.shape)}, "
                        f"expected {tuple(pos.shape)}"
                    )
                columns["normals"].append(normals[pick].float())
        if not columns["pos"]:
            raise DatasetError(f"{where} holds no clouds")
        arrays = {key: torch.stack(values) for key, values in columns.items()}
        return arrays

    def _labels(
        self, y: torch.Tensor, count: int, cloud: str, lookup: torch.Tensor | None
    ) -> torch.Tensor:
        """The cloud's labels as int64: one (classification) or one per point (renumbered)."""
        if y.is_floating_point():
            if not torch.isfinite(y).all() or (y != y.round()).any():
                raise DatasetError(f"{cloud}: y holds non-integer values")
        y = y.long()
        if self.task == "cls":
            if y.numel() != 1:
                raise DatasetError(
                    f"{cloud}: y has {y.numel()} values; a classification dataset has one per "
                    f"cloud (for one label per point, use task=seg)"
                )
            return y.reshape(())
        if y.shape != (count,):
            raise DatasetError(
                f"{cloud}: y has shape {tuple(y.shape)}; a segmentation dataset has one label per "
                f"point ({count},) (for one label per cloud, use task=cls)"
            )
        if lookup is None:
            return y
        inside = (y >= 0) & (y < len(lookup))
        if not inside.all():
            raise DatasetError(
                f"{cloud}: part {int(y[~inside][0])} is outside 0..{len(lookup) - 1}"
            )
        mapped = lookup[y]
        if (mapped < 0).any():
            raise DatasetError(
                f"{cloud}: part {int(y[mapped < 0][0])} belongs to none of the chosen categories"
            )
        return mapped


def from_pyg(
    pyg: Any,
    *,
    test: Any = None,
    val: Any = None,
    task: str | None = None,
    splits: Sequence[str] | None = None,
    normals: bool = False,
    stored_points: int = 2048,
    sampling: str = "random",
    seed: int = 0,
    **kwargs: Any,
) -> type[PyGRelease]:
    """A pointea release class reading a PyTorch Geometric dataset.

    Args:
        pyg: a PyG dataset class (``torch_geometric.datasets.ShapeNet``), a partial of one
            (Hydra's ``_partial_: true``) taking ``root`` and a ``split`` (a name) or
            ``train`` (a bool) argument, which pointea sets; or a PyG dataset instance, the
            train split, with ``test`` (and optionally ``val``) given as instances too.
        test, val: the other splits' instances, when ``pyg`` is an instance.
        task: ``"cls"`` or ``"seg"``; ``None`` looks at the first train item's ``y`` (one
            value: classification; one per point: segmentation).
        splits: the split names the PyG class accepts; default ``("train", "val", "test")``
            for a ``split`` argument, ``("train", "test")`` for a ``train`` argument (the
            data module then carves validation out of train, stratified and seeded).
        normals: read each item's ``x`` (n, 3) as per-point normals (``arrays()["normals"]``).
        stored_points: the points every cloud is resampled to (the most ``data.num_points``
            may be).
        sampling: how a larger cloud is cut to ``stored_points``: ``"random"`` (seeded) or
            ``"fps"`` (farthest point sampling).
        seed: the resampling's seed.
        **kwargs: more arguments for the PyG class (``categories=["Cap"]``).

    Raises:
        DatasetError: the PyG dataset does not fit (no split argument, no test instance,
            a split argument already set, an unknown task).
    """
    check_resampling(stored_points, sampling)
    if task is not None and task not in TASKS:
        raise DatasetError(f"task must be one of {TASKS} or None, got {task!r}")
    instances: dict[str, Any] = {}
    factory = None
    argument = None
    if isinstance(pyg, (type, functools.partial)):
        if test is not None or val is not None:
            raise DatasetError("test= and val= are for PyG dataset instances, not a class")
        factory = _named_categories(functools.partial(pyg, **kwargs) if kwargs else pyg)
        argument = _split_argument(factory)
        splits = tuple(
            splits or (("train", "val", "test") if argument == "split" else ("train", "test"))
        )
        if argument == "train" and set(splits) != {"train", "test"}:
            raise DatasetError(
                f"{_pyg_name(factory)} takes train=True/False: its splits are train and test, "
                f"not {list(splits)}"
            )
        name = _pyg_name(factory)
    else:
        if test is None:
            raise DatasetError(
                f"from_pyg was given a {type(pyg).__name__} instance: give the test split too "
                f"(from_pyg(train, test=test)), or the PyG class to let pointea pick the splits"
            )
        if kwargs or splits:
            raise DatasetError("PyG class arguments and splits= are for a PyG class, not instances")
        instances = {"train": pyg, "test": test, **({"val": val} if val is not None else {})}
        splits = tuple(s for s in ("train", "val", "test") if s in instances)
        name = type(pyg).__name__
    if "train" not in splits or "test" not in splits:
        raise DatasetError(f"splits must include train and test, got {list(splits)}")
    attributes = dict(
        pyg=factory,
        split_instances=instances,
        split_argument=argument,
        splits=splits,
        stored_points=stored_points,
        sampling=sampling,
        seed=seed,
        features=("normals",) if normals else (),
    )
    release = type(f"PyG{name}", (PyGRelease,), {**attributes, "task": task or "cls"})
    if task is None:
        release.task = _detect_task(release)
    release.stratify_by = "y" if release.task == "cls" else "category"
    release.__module__ = __name__
    return release


def _split_argument(factory: Any) -> str:
    func = factory.func if isinstance(factory, functools.partial) else factory
    given = factory.keywords if isinstance(factory, functools.partial) else {}
    parameters = inspect.signature(func).parameters
    for argument in ("split", "train"):
        if argument in parameters:
            if argument in given or "root" in given:
                fixed = "root" if "root" in given else argument
                raise DatasetError(
                    f"{_pyg_name(factory)}: {fixed}= is given, but pointea sets it (the root is "
                    f"data.root; the split is each split in turn)"
                )
            return argument
    raise DatasetError(
        f"{_pyg_name(factory)} takes neither a split nor a train argument: build its splits "
        f"yourself and call from_pyg(train_dataset, test=test_dataset)"
    )


def _named_categories(factory: Any) -> Any:
    """A part dataset's ``categories`` (PyG's ShapeNet) matched to its own names, ignoring
    case; an unknown name is refused listing the known ones."""
    func = factory.func if isinstance(factory, functools.partial) else factory
    given = factory.keywords.get("categories") if isinstance(factory, functools.partial) else None
    known = getattr(func, "seg_classes", None)
    if given is None or not isinstance(known, Mapping):
        return factory
    by_key = {name.lower(): name for name in known}
    names = [given] if isinstance(given, str) else list(given)
    unknown = [name for name in names if str(name).lower() not in by_key]
    if unknown or not names:
        raise DatasetError(
            f"{_pyg_name(factory)} categories {names}: "
            + (f"unknown {unknown}; " if unknown else "none chosen; ")
            + f"the categories are {list(known)}"
        )
    return functools.partial(factory, categories=[by_key[str(name).lower()] for name in names])


def _pyg_name(factory: Any) -> str:
    func = factory.func if isinstance(factory, functools.partial) else factory
    return getattr(func, "__name__", type(func).__name__)


def _detect_task(release: type[PyGRelease]) -> str:
    """``seg`` when the first train item has one label per point, else ``cls``."""
    if not release.split_instances:
        raise DatasetError(
            f"{release.__name__}: give task='cls' or task='seg' (data.dataset.task): the PyG "
            f"class is opened only once data.root is known"
        )
    train = release.split_instances["train"]
    if len(train) == 0:
        raise DatasetError(f"{release.__name__}: the train dataset is empty")
    item = train[0]
    y = _item_tensor(item, "y", f"{release.__name__} (train split)", 0)
    pos = _item_tensor(item, "pos", f"{release.__name__} (train split)", 0)
    return "seg" if y.numel() == pos.shape[0] and y.numel() > 1 else "cls"


def _item_tensor(item: Any, key: str, where: str, index: int) -> torch.Tensor:
    value = getattr(item, key, None)
    if not isinstance(value, torch.Tensor):
        raise DatasetError(
            f"{where}: cloud {index} has no {key} tensor (pointea reads items with pos and y)"
        )
    return value


def _category(item: Any, cloud: str) -> torch.Tensor:
    category = getattr(item, "category", 0)
    value = torch.as_tensor(category).reshape(-1)
    if value.numel() != 1:
        raise DatasetError(f"{cloud}: category has {value.numel()} values, expected one")
    return value[0].long()


def _resample(
    pos: torch.Tensor, size: int, sampling: str, generator: torch.Generator
) -> torch.Tensor:
    """``size`` indices into a cloud's points: a random subset or its farthest point sample
    (``sampling``), or all of them and random repeats.

    Shapes:
        pos: (n, 3) -> (size,) int64
    """
    count = pos.shape[0]
    if sampling == "fps" and count > size:
        return farthest_point_sample(pos[None].float(), size)[0]
    order = torch.randperm(count, generator=generator)
    if count >= size:
        return order[:size]
    return torch.cat([order, torch.randint(count, (size - count,), generator=generator)])


def _class_names(dataset: Any) -> list[str]:
    """ModelNet's raw folder names (its labels are their sorted order), else the numbers."""
    from torch_geometric.datasets import ModelNet

    if isinstance(dataset, ModelNet):
        raw = Path(dataset.raw_dir)
        return sorted(p.name for p in raw.iterdir() if p.is_dir())
    return [str(i) for i in range(int(dataset.num_classes))]


def _part_table(
    dataset: Any, where: Path
) -> tuple[list[str], list[list[int]], torch.Tensor | None]:
    """Category names, their parts (contiguous from 0) and the lookup from the dataset's part
    ids to pointea's (``None`` when they are the same)."""
    seg_classes = getattr(dataset, "seg_classes", None)
    chosen = getattr(dataset, "categories", None)
    if isinstance(seg_classes, Mapping):
        names = list(chosen) if chosen is not None else list(seg_classes)
        size = 1 + max(max(ids) for ids in seg_classes.values())
        lookup = torch.full((size,), -1, dtype=torch.long)
        parts: list[list[int]] = []
        for name in names:
            ids = list(seg_classes[name])
            start = sum(len(p) for p in parts)
            parts.append(list(range(start, start + len(ids))))
            lookup[ids] = torch.tensor(parts[-1])
        identity = bool((lookup == torch.arange(size)).all())
        return names, parts, None if identity else lookup
    num_parts = int(dataset.num_classes)
    return [type(dataset).__name__], [list(range(num_parts))], None
