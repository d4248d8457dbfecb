"""A trained network with the facts needed to run it on a user's own point clouds.

B clouds, N input points per cloud, M = ``num_points`` (the count the network was trained on),
C classes, P parts.

``TrainedModel`` holds no Hydra or Lightning state: it wraps any pointea network and the plain
metadata a checkpoint carries. ``pointea.load_model(path)`` builds one from a checkpoint;
``pointea-predict`` runs files through the same methods, so resampling and carrying labels
back to every input point have one implementation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from pointea.data.errors import DatasetError
from pointea.data.user_clouds import normalise_cloud, resample_cloud
from pointea.ops import knn
from pointea.tasks.part_masks import category_part_mask, restrict_to_category

__all__ = ["TrainedModel"]


class TrainedModel:
    """A network in eval mode and what it was trained on.

    Each cloud is prepared as the training data was: centred on its centroid and scaled into
    the unit sphere (so any units and placement work), then resampled to ``num_points``
    (a random subset, or every point plus random repeats for a smaller cloud; ``seed`` fixes
    the choice). A segmenter's part for every input point is the part of its nearest
    resampled point.

    Args:
        network: a ``PointTransformerCls`` (``xyz -> logits``) or ``PointTransformerSeg``
            (``xyz, category -> logits``).
        metadata: a checkpoint's ``"pointea"`` entry: ``task`` (``"cls"`` or ``"seg"``),
            ``num_points``, ``num_classes``, ``class_names`` (for a segmenter: the category
            names) and, for a segmenter, ``category_parts`` (the part ids of each category).

    Attributes:
        task, num_points, class_names, categories (a segmenter's category names, else None),
        category_parts, normalisation (how clouds are prepared, in words).

    Shapes:
        predict(points (N, 3) or (B, N, 3)) -> see :meth:`predict`
    """

    normalisation = "centred on the centroid, scaled into the unit sphere"

    def __init__(self, network: nn.Module, metadata: Mapping[str, Any]) -> None:
        missing = {"task", "num_points", "num_classes", "class_names"} - set(metadata)
        if metadata.get("task") == "seg":
            missing |= {"category_parts"} - set(metadata)
        if missing:
            raise ValueError(f"metadata lacks {sorted(missing)}; a pointea checkpoint has them")
        if metadata["task"] not in ("cls", "seg"):
            raise ValueError(f"metadata task must be 'cls' or 'seg', got {metadata['task']!r}")
        self.network = network.eval()
        self.metadata = dict(metadata)
        self.task: str = metadata["task"]
        self.num_points: int = int(metadata["num_points"])
        self.class_names: list[str] = list(metadata["class_names"])
        self.categories = self.class_names if self.task == "seg" else None
        self.category_parts = metadata.get("category_parts")
        self.min_points: int = getattr(network, "min_points", 1)
        if self.task == "seg":
            self._mask = category_part_mask(self.category_parts, int(metadata["num_classes"]))

    def __repr__(self) -> str:
        kind = "classifier" if self.task == "cls" else "part segmenter"
        return (
            f"TrainedModel({kind}, {len(self.class_names)} "
            f"{'classes' if self.task == 'cls' else 'categories'}, num_points={self.num_points})"
        )

    @property
    def device(self) -> torch.device:
        """Where the network's weights are (``load_model(..., map_location=)``); inputs go there
        and results come back to the CPU."""
        return next(self.network.parameters()).device

    # --- the steps, shared with pointea-predict ---------------------------------------------

    def category_index(self, category: str | int) -> int:
        """A segmenter's category, by name (any case) or index."""
        if self.task != "seg":
            raise ValueError("category= is for part segmenters; this model is a classifier")
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

    @torch.no_grad()
    def class_probabilities(self, sampled: torch.Tensor) -> torch.Tensor:
        """Softmax over the classes for resampled, normalised clouds.

        Shapes:
            sampled: (B, num_points, 3) -> (B, C)
        """
        return self.network(sampled.to(self.device)).softmax(-1).cpu()

    @torch.no_grad()
    def part_labels(
        self, points: torch.Tensor, sampled: torch.Tensor, categories: torch.Tensor
    ) -> torch.Tensor:
        """Every input point's part (among its category's parts), from the resampled clouds.

        Shapes:
            points: (B, N, 3); sampled: (B, num_points, 3); categories: (B,) -> (B, N) int64
        """
        points, sampled, categories = (t.to(self.device) for t in (points, sampled, categories))
        logits = self.network(sampled, categories)  # (B, num_points, P)
        sampled_parts = restrict_to_category(logits, categories, self._mask.to(self.device))
        nearest = knn(points, sampled, 1)[..., 0]  # (B, N): the nearest resampled point
        return sampled_parts.gather(1, nearest).cpu()

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
            points: ``(N, 3)`` or ``(B, N, 3)``, numpy or torch, any float type.
            category: a segmenter's object category (name or index), one for all clouds or
                one per cloud. Required for a segmenter, refused for a classifier.
            seed: fixes the random resampling.

        Returns:
            Classifier: ``{"probabilities": (C,) or (B, C) float32 array, "classes": the most
            probable class name (a list of B names for a batch), "class_names": all C names}``.
            Segmenter: ``{"parts": (N,) or (B, N) int64 array of global part ids, one for
            every input point, "categories": the category name (list for a batch)}``.
        """
        clouds = points.detach().cpu().numpy() if torch.is_tensor(points) else np.asarray(points)
        single = clouds.ndim == 2
        if clouds.ndim not in (2, 3) or clouds.shape[-1] != 3:
            raise ValueError(f"points must be (N, 3) or (B, N, 3), got shape {clouds.shape}")
        if not np.issubdtype(clouds.dtype, np.number) or not np.isfinite(clouds).all():
            raise ValueError("points must be finite numbers (no NaN or inf)")
        clouds = clouds[None] if single else clouds
        normalised = np.stack([normalise_cloud(c) for c in clouds])  # (B, N, 3) float32
        sampled = np.stack(
            [c[self.resample(c, seed, f"cloud {i}")] for i, c in enumerate(normalised)]
        )  # (B, num_points, 3)
        sampled = torch.from_numpy(sampled)
        if self.task == "cls":
            if category is not None:
                raise ValueError("category= is for part segmenters; this model is a classifier")
            probs = self.class_probabilities(sampled).numpy()
            names = [self.class_names[i] for i in probs.argmax(-1)]
            return {
                "probabilities": probs[0] if single else probs,
                "classes": names[0] if single else names,
                "class_names": list(self.class_names),
            }
        if category is None:
            raise ValueError(
                f"a part segmenter needs category= (one of {', '.join(self.class_names)})"
            )
        wanted = (
            [category] * len(clouds)
            if isinstance(category, str | int | np.integer)
            else list(category)
        )
        if len(wanted) != len(clouds):
            raise ValueError(f"{len(wanted)} categories given for {len(clouds)} clouds")
        cats = torch.tensor([self.category_index(c) for c in wanted])
        parts = self.part_labels(torch.from_numpy(normalised), sampled, cats).numpy()
        names = [self.class_names[int(c)] for c in cats]
        return {"parts": parts[0] if single else parts, "categories": names[0] if single else names}
