"""A trained network with the facts needed to run it on a user's own point clouds.

B clouds, N input points per cloud, M = ``num_points`` (the count the network was trained on),
C classes, P parts, F = ``in_channels`` (3: x y z; 6: x y z nx ny nz for a network trained with
``data.features=[normals]``).

``TrainedModel`` holds no Hydra or Lightning state: it wraps any pointea network and the plain
metadata a checkpoint carries. Each task is one kind of it (``TrainedClassifier``,
``TrainedSegmenter``), which owns what a checkpoint records for the task (``metadata_from``,
``check_metadata``) and what its outputs mean; a task's config names its kind
(``trained_model._target_``). ``pointea.load_model(path)`` builds the kind a checkpoint
names; ``pointea-predict`` runs files through the same methods, so resampling and carrying
labels back to every input point have one implementation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from pointea.checkpoint_error import CheckpointError
from pointea.data.errors import DatasetError
from pointea.data.user_clouds import normalise_cloud, resample_cloud
from pointea.ops import knn
from pointea.prediction_error import PredictionError
from pointea.tasks.part_masks import category_part_mask, restrict_to_category

__all__ = ["TrainedClassifier", "TrainedModel", "TrainedSegmenter"]


def _count(meta: Mapping[str, Any], key: str, source: str) -> int:
    value = meta.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise CheckpointError(f"{source}: {key}={value!r}; expected an integer >= 1")
    return value


def _names(meta: Mapping[str, Any], key: str, count: int, source: str) -> list[str]:
    names = meta.get(key)
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise CheckpointError(f"{source}: {key} must be a list of names (strings), got {names!r}")
    if len(names) != count:
        raise CheckpointError(f"{source}: {len(names)} {key} for {count}; expected {count}")
    return names


def _agrees(meta: Mapping[str, Any], key: str, value: int, source: str) -> None:
    """The network config's own count, where it has one, must be the metadata's."""
    model = meta.get("model")
    if isinstance(model, Mapping) and key in model and model[key] != value:
        raise CheckpointError(
            f"{source}: its network config has {key}={model[key]!r}, its metadata {value}"
        )


_RAGGED = (
    "points must be one (N, 3) cloud or a (B, N, 3) batch of clouds of one size; for clouds "
    "of different sizes call predict once per cloud"
)
UNIT_TOLERANCE = 0.1  # given normals whose lengths stray further from 1 are not normals


def _as_clouds(points: Any) -> np.ndarray:
    """``points`` as an (N, 3|6) or (B, N, 3|6) array of real numbers, at least one point in
    each of at least one cloud, or a ValueError saying what was expected."""
    if torch.is_tensor(points):
        clouds = points.detach().cpu().numpy()
    else:
        try:
            clouds = np.asarray(points)
        except ValueError:  # numpy refuses ragged nested lists
            raise ValueError(_RAGGED) from None
    if clouds.dtype == object:
        raise ValueError(_RAGGED)
    if clouds.dtype.kind not in "iuf":
        raise ValueError(f"points must be real numbers (integers or floats), got {clouds.dtype}")
    if clouds.ndim not in (2, 3) or clouds.shape[-1] not in (3, 6):
        raise ValueError(
            f"points must be (N, 3) or (B, N, 3) (x y z), or (N, 6) or (B, N, 6) (x y z nx ny "
            f"nz), got shape {clouds.shape}"
        )
    if clouds.ndim == 3 and clouds.shape[0] == 0:
        raise ValueError("points is a batch of zero clouds: expected (B, N, 3) with B >= 1")
    if clouds.shape[-2] == 0:
        raise ValueError(f"points holds empty clouds (shape {clouds.shape}): expected N >= 1")
    return clouds


def _check_finite(network: nn.Module, logits: torch.Tensor, names: Sequence[str]) -> None:
    """Refuse NaN or infinite logits, naming the clouds (one name per cloud of the batch)
    and whether the weights or the input are at fault: a :class:`PredictionError`."""
    bad = ~torch.isfinite(logits.reshape(len(logits), -1)).all(dim=1)  # (B,)
    if not bad.any():
        return
    weights = all(torch.isfinite(p).all() for p in network.parameters())
    why = "on this input" if weights else "(its weights hold NaN or infinite values)"
    named = ", ".join(n for n, b in zip(names, bad.tolist(), strict=True) if b)
    raise PredictionError(
        f"{named}: the network's outputs are NaN or infinite {why}; no labels are given"
    )


class TrainedModel:
    """A network in eval mode and what it was trained on.

    Each cloud is prepared as the training data was: centred on its centroid and scaled into
    the unit sphere (so any units and placement work), then resampled to ``num_points``
    (a random subset, or every point plus random repeats for a smaller cloud; ``seed`` fixes
    the choice). What the network's outputs become is the task's: see
    :class:`TrainedClassifier` and :class:`TrainedSegmenter`.

    A network trained with ``data.features=[normals]`` (``in_channels == 6``) takes each
    point's unit normal after its coordinates. Given x y z nx ny nz, the normals are used
    (scaled to unit length; lengths further than 0.1 from 1 are refused as not normals);
    given x y z only, they are estimated with Open3D
    (:func:`pointea.vis.normals.estimate_normals`: 30 nearest neighbours, oriented away
    from the centroid). Results say which (``"normals"``: ``"given"``, ``"estimated"``, or
    ``"unused"`` for a network of x y z alone, which ignores any normals it is given).
    Normalising moves and uniformly scales a cloud, so it leaves normals unchanged;
    resampling carries each normal with its point.

    Args:
        network: a ``PointTransformerCls`` (``xyz -> logits``) or ``PointTransformerSeg``
            (``xyz, category -> logits``).
        metadata: a checkpoint's ``"pointea"`` entry: ``task``, ``num_points`` and what the
            kind records (see ``check_metadata``).

    Attributes:
        task, num_points, class_names (the names of the network's shape-level labels: classes,
        or a segmenter's categories), categories (a segmenter's category names, else None),
        normalisation (how clouds are prepared, in words).

    Shapes:
        predict(points (N, 3|6) or (B, N, 3|6)) -> see the kind's ``predict``
    """

    described_as: ClassVar[str] = ""  # the kind and its names, in words: "classifier, {n} classes"
    normalisation = "centred on the centroid, scaled into the unit sphere"
    categories: list[str] | None = None

    @classmethod
    def metadata_from(cls, tables: Any) -> dict[str, Any]:
        """What a checkpoint records for this kind, from a release's ``ReleaseTables``."""
        raise NotImplementedError

    @classmethod
    def check_metadata(cls, meta: Mapping[str, Any], source: str = "metadata") -> None:
        """Refuse metadata this kind cannot use (types, counts, ranges), in one line naming
        ``source``: a :class:`~pointea.checkpoint_error.CheckpointError`."""
        _count(meta, "num_points", source)

    def __init__(self, network: nn.Module, metadata: Mapping[str, Any]) -> None:
        if type(self) is TrainedModel:
            raise TypeError("TrainedModel is abstract: use a kind, or pointea.load_model(path)")
        self.check_metadata(metadata)
        self.network = network.eval()
        self.metadata = dict(metadata)
        self.task: str = str(metadata.get("task", ""))
        self.num_points: int = int(metadata["num_points"])
        self.class_names: list[str] = []
        self.min_points: int = getattr(network, "min_points", 1)
        self.in_channels: int = int(getattr(network, "in_channels", 3))
        if self.in_channels not in (3, 6):
            raise CheckpointError(
                f"the network takes {self.in_channels} channels per point; predict feeds 3 "
                f"(x y z) or 6 (x y z and normals)"
            )

    @property
    def takes_normals(self) -> bool:
        """Whether the network takes normals after the coordinates (``in_channels == 6``)."""
        return self.in_channels == 6

    def __repr__(self) -> str:
        described = self.described_as.format(n=len(self.class_names))
        return f"TrainedModel({described}, num_points={self.num_points})"

    @property
    def device(self) -> torch.device:
        """Where the network's weights are (``load_model(..., map_location=)``); inputs go there
        and results come back to the CPU."""
        return next(self.network.parameters()).device

    # --- the steps, shared with pointea-predict ---------------------------------------------

    def resample(self, points: np.ndarray, seed: int = 0, source: Any = "cloud") -> np.ndarray:
        """Indices of the ``num_points`` points the network sees, for a normalised cloud.

        Shapes:
            points: (N, 3) -> (num_points,) int64
        """
        if len(points) < self.min_points:
            raise DatasetError(
                f"{source}: {len(points)} points, fewer than the {self.min_points} the model "
                f"needs for its neighbourhoods"
            )
        return resample_cloud(points, self.num_points, seed)

    def point_normals(
        self, points: np.ndarray, normals: np.ndarray | None, source: Any = "cloud"
    ) -> tuple[np.ndarray | None, str]:
        """The unit normals the network takes for a normalised cloud, and where they come
        from: ``"given"`` (``normals``, scaled to unit length), ``"estimated"`` (none
        given), or ``None`` and ``"unused"`` for a network of x y z alone.

        Shapes:
            points: (N, 3); normals: (N, 3) or None -> (N, 3) float32 or None
        """
        if not self.takes_normals:
            return None, "unused"
        if normals is None:
            from pointea.vis.normals import estimate_normals

            return estimate_normals(points), "estimated"
        normals = np.asarray(normals, dtype=np.float64)
        if not np.isfinite(normals).all():
            bad = int((~np.isfinite(normals).all(axis=1)).sum())
            raise DatasetError(f"{source}: {bad} normal(s) are NaN or infinite")
        lengths = np.linalg.norm(normals, axis=1)
        if np.abs(lengths - 1).max() > UNIT_TOLERANCE:
            raise DatasetError(
                f"{source}: its normals (columns 4-6) have lengths {lengths.min():.3g} to "
                f"{lengths.max():.3g}, expected unit vectors; give x y z only to have them "
                f"estimated"
            )
        return (normals / lengths[:, None]).astype(np.float32), "given"

    def sample(
        self, points: np.ndarray, normals: np.ndarray | None, seed: int = 0, source: Any = "cloud"
    ) -> np.ndarray:
        """The resampled input the network sees: each point's coordinates, then its normal
        when the network takes normals (``normals`` from :meth:`point_normals`).

        Shapes:
            points: (N, 3); normals: (N, 3) or None -> (num_points, in_channels) float32
        """
        pick = self.resample(points, seed, source)
        if normals is None:
            return np.asarray(points[pick], dtype=np.float32)
        return np.concatenate([points[pick], normals[pick]], axis=1).astype(np.float32)

    # --- the one-call API ---------------------------------------------------------------------

    def predict(
        self,
        points: np.ndarray | torch.Tensor,
        category: str | int | Sequence[str | int] | None = None,
        *,
        seed: int = 0,
    ) -> dict[str, Any]:
        """Run the network on clouds in the user's own units.

        Args:
            points: ``(N, 3)`` or ``(B, N, 3)`` coordinates, or ``(N, 6)`` or ``(B, N, 6)``
                coordinates then unit normals; numpy or torch, any float type. A network
                that takes normals gets them estimated when they are not given; one that
                does not ignores them.
            category: a segmenter's object category (name or index), one for all clouds or
                one per cloud. Required for a segmenter, refused for a classifier.
            seed: fixes the random resampling.

        Returns:
            The kind's results (see ``_results``), unbatched for an ``(N, 3|6)`` input, and
            ``"normals"``: ``"given"``, ``"estimated"`` or ``"unused"``.

        Raises:
            ValueError: input that is not clouds of finite real numbers, or normals that are
                not unit vectors; a :class:`~pointea.prediction_error.PredictionError` (a
                ValueError) when the network's outputs are NaN or infinite.
        """
        clouds = _as_clouds(points)
        single = clouds.ndim == 2
        if not np.isfinite(clouds).all():
            raise ValueError("points must be finite numbers (no NaN or inf)")
        clouds = clouds[None] if single else clouds
        names = [f"cloud {i}" for i in range(len(clouds))]
        normalised = np.stack(
            [normalise_cloud(c[:, :3], n) for c, n in zip(clouds, names, strict=True)]
        )  # (B, N, 3) float32
        sampled, how = [], "unused"
        for cloud, unit, name in zip(clouds, normalised, names, strict=True):
            given = cloud[:, 3:] if cloud.shape[-1] == 6 else None
            normals, how = self.point_normals(unit, given, name)
            sampled.append(self.sample(unit, normals, seed, name))
        results = self._results(normalised, torch.from_numpy(np.stack(sampled)), category)
        results = {k: v[0] if single and k in self.batched else v for k, v in results.items()}
        return {**results, "normals": how}

    batched: ClassVar[frozenset[str]] = frozenset()  # result keys with one entry per cloud

    def _results(self, normalised: np.ndarray, sampled: torch.Tensor, category) -> dict[str, Any]:
        """The kind's results for a batch. Shapes: normalised (B, N, 3), sampled (B, M, F)"""
        raise NotImplementedError


class TrainedClassifier(TrainedModel):
    """A shape classifier: class probabilities for every cloud.

    ``predict(points)`` returns ``{"probabilities": (C,) or (B, C) float32 array, "classes":
    the most probable class name (a list of B names for a batch), "class_names": all C
    names}``.
    """

    described_as = "classifier, {n} classes"
    batched = frozenset({"probabilities", "classes"})

    @classmethod
    def metadata_from(cls, tables: Any) -> dict[str, Any]:
        return {"num_classes": int(tables.num_labels), "class_names": list(tables.class_names)}

    @classmethod
    def check_metadata(cls, meta: Mapping[str, Any], source: str = "metadata") -> None:
        """``num_classes`` >= 1 and as many ``class_names``, the network's own count agreeing."""
        super().check_metadata(meta, source)
        count = _count(meta, "num_classes", source)
        _names(meta, "class_names", count, source)
        _agrees(meta, "num_classes", count, source)

    def __init__(self, network: nn.Module, metadata: Mapping[str, Any]) -> None:
        super().__init__(network, metadata)
        self.class_names = list(metadata["class_names"])

    @torch.no_grad()
    def class_probabilities(
        self, sampled: torch.Tensor, names: Sequence[str] | None = None
    ) -> torch.Tensor:
        """Softmax over the classes for resampled, normalised clouds (:meth:`sample`);
        NaN or infinite logits are refused naming the clouds (``names``, one per cloud).

        Shapes:
            sampled: (B, num_points, F) -> (B, C)
        """
        logits = self.network(sampled.to(self.device))  # (B, C)
        _check_finite(self.network, logits, names or [f"cloud {i}" for i in range(len(logits))])
        return logits.softmax(-1).cpu()

    def _results(self, normalised, sampled, category):
        if category is not None:
            raise ValueError("category= is for part segmenters; this model is a classifier")
        probs = self.class_probabilities(sampled).numpy()
        return {
            "probabilities": probs,
            "classes": [self.class_names[i] for i in probs.argmax(-1)],
            "class_names": list(self.class_names),
        }


class TrainedSegmenter(TrainedModel):
    """A part segmenter: a part for every input point of a cloud of a given category.

    The part of an input point is the part of its nearest resampled point, chosen among its
    category's parts. ``predict(points, category)`` returns ``{"parts": (N,) or (B, N) int64
    array of global part ids, one for every input point, "categories": the category name
    (a list for a batch)}``. ``metadata`` holds ``num_parts``, ``categories`` (the names)
    and ``category_parts`` (each category's global part ids).
    """

    described_as = "part segmenter, {n} categories"
    batched = frozenset({"parts", "categories"})

    @classmethod
    def metadata_from(cls, tables: Any) -> dict[str, Any]:
        return {
            "num_parts": int(tables.num_labels),
            "categories": list(tables.class_names),
            "category_parts": [[int(p) for p in parts] for parts in tables.category_parts],
        }

    @classmethod
    def check_metadata(cls, meta: Mapping[str, Any], source: str = "metadata") -> None:
        """``num_parts`` >= 1; one name and one non-empty list of part ids per category,
        each id in ``[0, num_parts)`` and in one category only; the network's counts agree."""
        super().check_metadata(meta, source)
        num_parts = _count(meta, "num_parts", source)
        parts = meta.get("category_parts")
        if not isinstance(parts, list) or not parts:
            raise CheckpointError(f"{source}: category_parts must be a list of part lists")
        _names(meta, "categories", len(parts), source)
        seen: set[int] = set()
        for i, ids in enumerate(parts):
            if (
                not isinstance(ids, list)
                or not ids
                or not all(
                    isinstance(p, int) and not isinstance(p, bool) and 0 <= p < num_parts
                    for p in ids
                )
            ):
                raise CheckpointError(
                    f"{source}: category_parts[{i}]={ids!r}; expected a non-empty list of part "
                    f"ids in [0, {num_parts})"
                )
            if seen & set(ids):
                raise CheckpointError(
                    f"{source}: part {sorted(seen & set(ids))[0]} belongs to two categories"
                )
            seen |= set(ids)
        _agrees(meta, "num_parts", num_parts, source)
        _agrees(meta, "num_categories", len(parts), source)

    def __init__(self, network: nn.Module, metadata: Mapping[str, Any]) -> None:
        super().__init__(network, metadata)
        self.class_names = list(metadata["categories"])
        self.categories = self.class_names
        self.category_parts = metadata["category_parts"]
        self._mask = category_part_mask(self.category_parts, int(metadata["num_parts"]))

    def category_index(self, category: str | int) -> int:
        """A category, by name (any case) or integer index."""
        if isinstance(category, bool) or not isinstance(category, str | int | np.integer):
            raise ValueError(
                f"category must be a name or an integer index, got {category!r} "
                f"({type(category).__name__})"
            )
        if isinstance(category, str):
            lowered = [n.lower() for n in self.class_names]
            if category.lower() not in lowered:
                raise ValueError(
                    f"unknown category {category!r}; the model knows: {', '.join(self.class_names)}"
                )
            return lowered.index(category.lower())
        if not 0 <= int(category) < len(self.class_names):
            raise ValueError(f"category index {category} out of range [0, {len(self.class_names)})")
        return int(category)

    @torch.no_grad()
    def part_labels(
        self,
        points: torch.Tensor,
        sampled: torch.Tensor,
        categories: torch.Tensor,
        names: Sequence[str] | None = None,
    ) -> torch.Tensor:
        """Every input point's part (among its category's parts), from the resampled clouds
        (:meth:`sample`); NaN or infinite logits are refused naming the clouds (``names``).

        Shapes:
            points: (B, N, 3); sampled: (B, num_points, F); categories: (B,) -> (B, N) int64
        """
        points, sampled, categories = (t.to(self.device) for t in (points, sampled, categories))
        logits = self.network(sampled, categories)  # (B, num_points, P)
        _check_finite(self.network, logits, names or [f"cloud {i}" for i in range(len(logits))])
        sampled_parts = restrict_to_category(logits, categories, self._mask.to(self.device))
        nearest = knn(points, sampled[..., :3], 1)[..., 0]  # (B, N): the nearest resampled point
        return sampled_parts.gather(1, nearest).cpu()

    def _results(self, normalised, sampled, category):
        if category is None:
            raise ValueError(
                f"a part segmenter needs category= (one of {', '.join(self.class_names)})"
            )
        clouds = len(normalised)
        one = not isinstance(category, Sequence | np.ndarray) or isinstance(category, str)
        wanted = [category] * clouds if one else list(category)
        if len(wanted) != clouds:
            raise ValueError(f"{len(wanted)} categories given for {clouds} clouds")
        cats = torch.tensor([self.category_index(c) for c in wanted])
        parts = self.part_labels(torch.from_numpy(normalised), sampled, cats).numpy()
        return {"parts": parts, "categories": [self.class_names[int(c)] for c in cats]}
