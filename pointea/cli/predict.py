"""Run a trained model on your own point clouds and meshes.

    python -m pointea.cli.predict ckpt_path=CKPT input=PATH [output_dir=DIR] [category=NAME]
        [cls_ckpt_path=CLS_CKPT]

Each cloud is normalised as the training data was (centred, unit sphere) and resampled to
the model's point count. A classifier prints and records the top-5 classes; a part
segmenter writes a coloured PLY with the predicted part of every input point (mapped
back from the resampled points by nearest neighbour) and a PNG. ``predictions.json`` in
``output_dir`` records every result and every file that failed, with the reason.
"""

from __future__ import annotations

import errno
import json
import os
import sys
from pathlib import Path
from typing import Any

import hydra
import numpy as np
import torch
from omegaconf import DictConfig

from pointea.cli.checkpoint import load_model
from pointea.cli.config_checks import check_predict_values
from pointea.cli.outputs import write_json
from pointea.cli.run_config import ConfigError, exit_on_user_error
from pointea.configs import CONFIG_DIR
from pointea.data import DatasetError
from pointea.data.user_clouds import normalise_cloud
from pointea.trained_model import TrainedModel
from pointea.vis import label_colors
from pointea.vis.figures import captioned_row, save_png
from pointea.vis.point_files import read_points, write_labeled_ply
from pointea.vis.render import render_cloud

__all__ = ["main", "predict"]


def _inputs(path: Path) -> list[tuple[Path, str | None]]:
    """The files to predict, each with the reason it cannot be (``None`` when it can).

    ``path`` is one file or a folder; a folder's entries are taken in name order, not
    descending into sub-folders. Sub-folders, broken links, symbolic-link loops and other
    non-files are returned with their reason so they are reported, never silently dropped;
    hidden names (``.name``) are skipped.
    """
    if path.is_symlink() and _link_problem(path):
        raise DatasetError(f"{path}: {_link_problem(path)}")
    if not path.exists():
        raise DatasetError(f"{path}: no such file or folder")
    if not path.is_dir():
        return [(path, None if path.is_file() else "not a regular file")]
    try:
        entries = sorted(p for p in path.iterdir() if not p.name.startswith("."))
    except OSError as err:
        raise DatasetError(f"{path}: the folder cannot be listed ({err.strerror})") from err
    if not entries:
        raise DatasetError(f"{path}: the folder holds no files")
    found = []
    for entry in entries:
        problem = _link_problem(entry) if entry.is_symlink() else None
        if problem is None and entry.is_dir():
            problem = "a sub-folder; predict reads only the files directly in input= (give the sub-folder as input= to predict it)"
        elif problem is None and not entry.is_file():
            problem = "not a regular file"
        found.append((entry, problem))
    return found


def _link_problem(link: Path) -> str | None:
    """Why a symbolic link cannot be followed, or ``None``."""
    try:
        link.resolve(strict=True)
    except RuntimeError:  # Python < 3.13 reports a loop this way
        return "a symbolic link loop"
    except OSError as err:
        if err.errno == errno.ELOOP:
            return "a symbolic link loop"
        return f"a broken symbolic link (its target {os.readlink(link)} is missing)"
    return None


# Files in output_dir that earlier predict runs wrote.
RECORD = "predictions.json"
OUTPUT_SUFFIXES = (".parts.ply", ".parts.png")
OUTPUT_KEYS = ("ply", "png")


def _earlier_results(out: Path) -> list[str]:
    if not out.is_dir():
        return []
    return sorted(
        p.name for p in out.iterdir() if p.name == RECORD or p.name.endswith(OUTPUT_SUFFIXES)
    )


def _merged(out: Path, results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Earlier results of ``output_dir`` with this run's replacing those of the same input
    file or the same output files; outputs of a replaced result that this run did not
    write again are removed, so no output is left that the record does not describe."""
    record = out / RECORD
    earlier = []
    if record.is_file():
        try:
            earlier = json.loads(record.read_text())["results"]
        except (ValueError, KeyError, TypeError) as err:
            raise DatasetError(
                f"{record} cannot be merged into: it is not a predictions record ({err})"
            ) from err

    def same(paths):  # the same file however output_dir= was spelt
        return {str(Path(p).resolve()) for p in paths if p}

    files = same(r["file"] for r in results)
    written = same(r.get(k) for r in results for k in OUTPUT_KEYS)
    kept = []
    for old in earlier:
        outputs = same(old.get(k) for k in OUTPUT_KEYS)
        if not same([old.get("file")]) & files and not outputs & written:
            kept.append(old)
            continue
        for stale in outputs - written:  # replaced, and not written again: remove
            if Path(stale).parent == out.resolve():
                Path(stale).unlink(missing_ok=True)
    return kept + results


def _category_index(name: str, names: list[str], source: str) -> int:
    lowered = [n.lower() for n in names]
    if name.lower() not in lowered:
        raise ConfigError(
            f"unknown category {name!r} ({source}); the checkpoint knows: {', '.join(names)}"
        )
    return lowered.index(name.lower())


class Predictor:
    """Files through a loaded :class:`~pointea.trained_model.TrainedModel`, whose methods do
    the resampling and carry labels back (one implementation with ``pointea.load_model``)."""

    def __init__(self, cfg: DictConfig) -> None:
        self.model = load_model(cfg.ckpt_path)
        self.seed, self.mesh_points = cfg.seed, cfg.mesh_points
        self.category = self.classifier = None
        if self.model.task == "seg":
            names = self.model.class_names
            if cfg.category:
                self.category = _category_index(cfg.category, names, "category=")
            elif cfg.cls_ckpt_path:
                self.classifier = load_model(cfg.cls_ckpt_path)
                if self.classifier.task != "cls":
                    raise ConfigError(
                        f"{cfg.cls_ckpt_path} is a task={self.classifier.task} checkpoint; "
                        f"a task=cls checkpoint is needed here"
                    )
                known = {n.lower() for n in names}
                self.cls_to_category = {
                    i: _category_index(n, names, "")
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

    def _sampled(self, model: TrainedModel, points: np.ndarray, source: Path) -> torch.Tensor:
        """The resampled cloud the network sees. Shapes: (N, 3) -> (1, num_points, 3)"""
        return torch.from_numpy(points[model.resample(points, self.seed, source)]).unsqueeze(0)

    def __call__(self, path: Path, out: Path) -> dict[str, Any]:
        raw = read_points(path, mesh_points=self.mesh_points, seed=self.seed)
        points = normalise_cloud(raw, path)
        xyz = self._sampled(self.model, points, path)
        names = self.model.class_names
        if self.model.task == "cls":
            probs = self.model.class_probabilities(xyz)[0]
            top = probs.topk(min(5, len(probs)))
            top5 = [
                {"class": names[int(i)], "probability": round(float(p), 6)}
                for p, i in zip(top.values, top.indices, strict=True)
            ]
            print(f"{path}: " + ", ".join(f"{t['class']} {t['probability']:.3f}" for t in top5))
            return {"file": str(path), "task": "cls", "points": len(raw), "top5": top5}
        category, how = self.category, "given"
        if category is None:
            cls_xyz = self._sampled(self.classifier, points, path)
            probs = self.classifier.class_probabilities(cls_xyz)[0]
            best = max(self.cls_to_category, key=lambda i: float(probs[i]))
            category, how = self.cls_to_category[best], f"classifier ({float(probs[best]):.3f})"
        cat = torch.tensor([category])
        parts = self.model.part_labels(torch.from_numpy(points).unsqueeze(0), xyz, cat)[0].numpy()
        colors = label_colors(parts)
        # Named after the whole file name: a.ply and a.npy must not overwrite each other.
        ply = write_labeled_ply(out / f"{path.name}.parts.ply", raw, colors, parts)
        image = render_cloud(points, colors)
        png = save_png(
            captioned_row([image], [f"{names[category]} ({how})"], title=path.name),
            out / f"{path.name}.parts.png",
        )
        counts = {
            int(p): int(c) for p, c in zip(*np.unique(parts, return_counts=True), strict=True)
        }
        print(f"{path}: {names[category]} ({how}), parts {counts} -> {ply}")
        return {"file": str(path), "task": "seg", "points": len(raw), "category": names[category],
                "category_from": how, "part_counts": counts, "ply": str(ply), "png": str(png)}  # fmt: skip


def predict(cfg: DictConfig) -> list[dict[str, Any]]:
    """Predict every input file; failures are recorded and reported, never fatal for the rest.

    ``output_dir`` holding earlier results (``predictions.json`` or ``*.parts.*`` files) is
    refused unless ``merge=true``, which keeps the earlier results and replaces those of
    files predicted again. Returns this run's results.
    """
    check_predict_values(cfg)
    out = Path(cfg.output_dir)
    earlier = _earlier_results(out)
    merge = bool(cfg.get("merge", False))
    if earlier and not merge:
        shown = ", ".join(earlier[:3]) + (
            f" and {len(earlier) - 3} more" if len(earlier) > 3 else ""
        )
        raise ConfigError(
            f"output_dir={out} holds earlier predictions ({shown}); choose another output_dir, "
            f"remove them, or pass merge=true to add this run's results to them"
        )
    inputs = _inputs(Path(cfg.input))
    predictor = Predictor(cfg)
    out.mkdir(parents=True, exist_ok=True)
    results = []
    for path, problem in inputs:
        try:
            if problem is not None:
                raise DatasetError(f"{path}: {problem}")
            result = predictor(path, out)
        except (DatasetError, OSError) as err:  # reported and recorded; the rest go on
            print(f"skipped: {err}", file=sys.stderr)
            result = {"file": str(path), "error": str(err)}
        results.append({**result, "checkpoint": str(cfg.ckpt_path)})
    record = out / RECORD
    everything = _merged(out, results) if merge else results
    write_json(record, {"checkpoint": str(cfg.ckpt_path), "results": everything})
    failed = sum("error" in r for r in results)
    merged = f", merged with {len(everything) - len(results)} earlier" if merge else ""
    print(f"{len(results) - failed} predicted, {failed} skipped{merged}; see {record}")
    return results


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="predict")
def _hydra_main(cfg: DictConfig) -> None:
    results = exit_on_user_error(lambda: predict(cfg))
    sys.exit(1 if any("error" in r for r in results) else 0)


def main() -> None:
    _hydra_main()


if __name__ == "__main__":
    main()
