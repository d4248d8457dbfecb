"""What ``predict`` does with one file, per kind of trained model: a classifier prints and
records its top-5 classes; a part segmenter writes a coloured PLY and a PNG of every input
point's part. A task's config names its flow (``predict._target_``). Every record says
where the network's normals came from (``"normals"``: ``"given"`` by the file,
``"estimated"``, or ``"unused"`` by a network of x y z alone; see ``TrainedModel``)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch
from omegaconf import DictConfig

from pointea.checkpoint import load_model
from pointea.cli.run_config import ConfigError, config_dirs
from pointea.network_builder import resolve_target, task_configs
from pointea.trained_model import TrainedClassifier, TrainedModel, TrainedSegmenter
from pointea.vis import label_colors
from pointea.vis.figures import captioned_row, save_png
from pointea.vis.point_files import write_labeled_ply
from pointea.vis.render import RenderError, render_cloud

__all__ = ["ClassPredictions", "FilePredictions", "PartPredictions", "file_predictions"]


def _sampled(
    model: TrainedModel, points: np.ndarray, normals: np.ndarray | None, seed: int, source: Path
) -> tuple[torch.Tensor, str]:
    """The resampled cloud a model sees, and where its normals came from.

    Shapes:
        points: (N, 3); normals: (N, 3) or None -> (1, num_points, in_channels)
    """
    normals, how = model.point_normals(points, normals, source)
    return torch.from_numpy(model.sample(points, normals, seed, source)).unsqueeze(0), how


class FilePredictions:
    """The per-file flow of one kind of trained model, built as ``flow(model, cfg)``; a task
    names its flow in its config (``predict._target_``), so a new task adds one subclass
    and one config line."""

    def __call__(
        self, path: Path, raw: np.ndarray, points: np.ndarray, out: Path, normals=None
    ) -> dict:
        """``raw``: the file's points (N, 3); ``points``: normalised; ``normals``: the
        file's (N, 3), or None when it has none. Returns the record."""
        raise NotImplementedError


class ClassPredictions(FilePredictions):
    """The top-5 classes of each file's cloud, printed and recorded."""

    def __init__(self, model: TrainedClassifier, cfg: DictConfig) -> None:
        self.model, self.seed = model, cfg.seed
        if cfg.get("category") or cfg.get("cls_ckpt_path"):  # refused, as predict() refuses it
            given = "category" if cfg.get("category") else "cls_ckpt_path"
            raise ConfigError(
                f"{given}= is for part segmenters; {cfg.ckpt_path} is a classifier: leave it out"
            )

    def __call__(
        self, path: Path, raw: np.ndarray, points: np.ndarray, out: Path, normals=None
    ) -> dict:
        """See :meth:`FilePredictions.__call__`."""
        cloud, how = _sampled(self.model, points, normals, self.seed, path)
        probs = self.model.class_probabilities(cloud, [str(path)])[0]
        top = probs.topk(min(5, len(probs)))
        top5 = [
            {"class": self.model.class_names[int(i)], "probability": round(float(p), 6)}
            for p, i in zip(top.values, top.indices, strict=True)
        ]
        shown = ", ".join(f"{t['class']} {t['probability']:.3f}" for t in top5)
        print(f"{path}: {shown}" + (f" (normals {how})" if how != "unused" else ""))
        return {"file": str(path), "task": self.model.task, "points": len(raw), "top5": top5,
                "normals": how}  # fmt: skip


class PartPredictions(FilePredictions):
    """Every point's part, written as a coloured PLY (all input points) and a PNG.

    The category is ``category=`` or, with ``cls_ckpt_path=``, the most probable of a
    classifier's classes that are categories of the segmenter.
    """

    def __init__(self, model: TrainedSegmenter, cfg: DictConfig) -> None:
        self.model, self.seed = model, cfg.seed
        names = model.class_names
        self.category = self.classifier = None
        if cfg.category:
            try:
                self.category = model.category_index(cfg.category)
            except ValueError as err:
                raise ConfigError(f"category={cfg.category}: {err}") from None
        elif cfg.cls_ckpt_path:
            self.classifier = load_model(cfg.cls_ckpt_path, config_dirs=config_dirs())
            if not isinstance(self.classifier, TrainedClassifier):
                raise ConfigError(
                    f"{cfg.cls_ckpt_path} is a task={self.classifier.task} checkpoint; "
                    f"a classifier's checkpoint is needed here"
                )
            known = {n.lower() for n in names}
            self.cls_to_category = {
                i: model.category_index(n)
                for i, n in enumerate(self.classifier.class_names)
                if n.lower() in known
            }
            if not self.cls_to_category:
                raise ConfigError(
                    f"{cfg.cls_ckpt_path}: none of its classes is a category of {cfg.ckpt_path}"
                )
        else:
            raise ConfigError(
                f"{cfg.ckpt_path} is a part segmenter: give category=NAME or cls_ckpt_path=CKPT"
            )

    def _category(self, points: np.ndarray, normals, path: Path) -> tuple[int, str]:
        """The category's index and how it was chosen."""
        if self.classifier is None:
            return self.category, "given"
        cloud, _ = _sampled(self.classifier, points, normals, self.seed, path)
        probs = self.classifier.class_probabilities(cloud, [str(path)])[0]
        best = max(self.cls_to_category, key=lambda i: float(probs[i]))
        return self.cls_to_category[best], f"classifier ({float(probs[best]):.3f})"

    def __call__(
        self, path: Path, raw: np.ndarray, points: np.ndarray, out: Path, normals=None
    ) -> dict:
        """See :meth:`FilePredictions.__call__`."""
        category, how = self._category(points, normals, path)
        name = self.model.class_names[category]
        sampled, normals_from = _sampled(self.model, points, normals, self.seed, path)
        cloud = torch.from_numpy(points).unsqueeze(0)
        labels = self.model.part_labels(cloud, sampled, torch.tensor([category]), [str(path)])
        parts = labels[0].numpy()
        colors = label_colors(parts)
        # Named after the whole file name: a.ply and a.npy must not overwrite each other.
        ply = write_labeled_ply(out / f"{path.name}.parts.ply", raw, colors, parts)
        counts = {
            int(p): int(c) for p, c in zip(*np.unique(parts, return_counts=True), strict=True)
        }
        shown = f", normals {normals_from}" if normals_from != "unused" else ""
        print(f"{path}: {name} ({how}{shown}), parts {counts} -> {ply}")
        record = {"file": str(path), "task": self.model.task, "points": len(raw), "category": name,
                  "category_from": how, "normals": normals_from, "part_counts": counts,
                  "ply": str(ply)}  # fmt: skip
        try:
            image = render_cloud(points, colors)
            png = save_png(
                captioned_row([image], [f"{name} ({how})"], title=path.name),
                out / f"{path.name}.parts.png",
            )
        except (OSError, RenderError) as err:  # the labelled PLY stands; the record says so
            print(f"skipped: {path}: its picture: {err}", file=sys.stderr)
            return {**record, "error": f"the PLY was written, the picture was not: {err}"}
        return {**record, "png": str(png)}


def file_predictions(model: TrainedModel, cfg: DictConfig) -> FilePredictions:
    """The per-file flow the model's task config names (``predict._target_``)."""
    tasks = task_configs(config_dirs())
    node = tasks.get(model.task, {}).get("predict")
    if not isinstance(node, dict) or "_target_" not in node:
        raise ConfigError(f"task={model.task} names no predict flow (predict._target_)")
    flow = resolve_target(node["_target_"], {node["_target_"]}, f"task={model.task}")
    return flow(model, cfg)
