"""Render a checkpoint's predictions on a test set: PNGs, a contact sheet, coloured PLYs.

    python -m pointea.cli.visualize ckpt_path=CKPT data=shapenetpart [split=test]
        [num_shapes=16] [output_dir=DIR] [show=false]

Segmentation: each shape's predicted parts beside its ground truth, in the fixed part
palette, with the shape IoU in the caption. Classification: the cloud with its true and
predicted class (green when right, red when wrong).
"""

from __future__ import annotations

import sys
from pathlib import Path

import hydra
import numpy as np
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig

from pointea.cli.checkpoint import load_network, run_folder
from pointea.cli.config_checks import check_visualize_values
from pointea.cli.run_config import ConfigError, check_checkpoint, exit_on_user_error
from pointea.data import ModelNet40H5, ShapeNetPartH5
from pointea.tasks.part_iou import category_part_mask, restrict_to_category, shape_ious
from pointea.vis import PALETTE, label_colors
from pointea.vis.figures import captioned_row, contact_sheet, save_png
from pointea.vis.point_files import write_labeled_ply
from pointea.vis.render import render_cloud
from pointea.vis.window import NoDisplayError, show_clouds

__all__ = ["main", "visualize"]

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
RIGHT, WRONG = PALETTE[1], PALETTE[0]


@torch.no_grad()
def _predict(
    network, points: torch.Tensor, categories: torch.Tensor | None, mask, batch_size: int = 8
):
    """Per shape: class probabilities (cls) or category-restricted part ids (seg)."""
    outputs = []
    for start in range(0, len(points), batch_size):
        xyz = points[start : start + batch_size]
        if categories is None:
            outputs.append(network(xyz).softmax(-1))
        else:
            category = categories[start : start + batch_size]
            outputs.append(restrict_to_category(network(xyz, category), category, mask))
    return torch.cat(outputs)


def visualize(cfg: DictConfig) -> Path:
    """Write the pictures and PLY files; returns the output folder."""
    check_visualize_values(cfg)
    network, meta = load_network(cfg.ckpt_path)
    if meta["layout"] != cfg.data.layout:
        raise ConfigError(
            f"{cfg.ckpt_path} is a task={meta['task']} checkpoint; data={cfg.data.layout} does not fit it"
        )
    datamodule = instantiate(cfg.data)
    datamodule.prepare_data()
    datamodule.read_tables()
    here = {"task": meta["task"], "num_classes": int(cfg.data.num_classes), "class_names": datamodule.class_names,
            "category_parts": [list(p) for p in datamodule.category_parts]}  # fmt: skip
    check_checkpoint(cfg.ckpt_path, {"pointea": meta}, here, mode="test")
    out = (
        Path(cfg.output_dir)
        if cfg.output_dir
        else run_folder(cfg.ckpt_path) / "visualize" / cfg.split
    )
    num_points = meta["num_points"]
    segmentation = meta["task"] == "seg"
    if segmentation:
        dataset = ShapeNetPartH5(datamodule.root, cfg.split, num_points)
    else:
        dataset = ModelNet40H5(datamodule.root, cfg.split, num_points)
    count = min(cfg.num_shapes, len(dataset))
    points = dataset.points[:count, :num_points]
    pictures, shown = [], []
    if segmentation:
        mask = category_part_mask(meta["category_parts"], meta["num_classes"])
        truth = dataset.parts[:count, :num_points]
        categories = dataset.categories[:count]
        predicted = _predict(network, points, categories, mask)
        ious = shape_ious(predicted, truth, categories, mask)
        for i in range(count):
            pos = points[i].numpy()
            pred_colors, true_colors = (
                label_colors(predicted[i].numpy()),
                label_colors(truth[i].numpy()),
            )
            name = meta["class_names"][int(categories[i])]
            panel = captioned_row(
                [render_cloud(pos, pred_colors), render_cloud(pos, true_colors)],
                ["prediction", "ground truth"],
                title=f"#{i} {name}  shape IoU {float(ious[i]):.3f}",
            )
            pictures.append(save_png(panel, out / f"shape_{i:03d}.png"))
            write_labeled_ply(
                out / f"shape_{i:03d}_pred.ply", pos, pred_colors, predicted[i].numpy()
            )
            write_labeled_ply(out / f"shape_{i:03d}_true.ply", pos, true_colors, truth[i].numpy())
            shown += [(pos, pred_colors), (pos + [0, 0, 2.2], true_colors)]
        print(f"{count} shapes, mean shape IoU {float(ious.mean()):.4f}")
    else:
        probs = _predict(network, points, None, None)
        confidence, predicted = probs.max(-1)
        labels = dataset.labels[:count]
        names = meta["class_names"]
        for i in range(count):
            pos = points[i].numpy()
            correct = bool(predicted[i] == labels[i])
            colors = np.tile(RIGHT if correct else WRONG, (len(pos), 1))
            caption = f"true {names[int(labels[i])]} / predicted {names[int(predicted[i])]} ({float(confidence[i]):.2f})"
            panel = captioned_row([render_cloud(pos, colors)], [caption], title=f"#{i}")
            pictures.append(save_png(panel, out / f"shape_{i:03d}.png"))
            write_labeled_ply(
                out / f"shape_{i:03d}_pred.ply", pos, colors, np.full(len(pos), int(predicted[i]))
            )
            shown.append((pos, colors))
        print(f"{count} shapes, {int((predicted == labels).sum())} classified correctly")
    from PIL import Image

    sheet = contact_sheet([np.asarray(Image.open(p).convert("RGB")) for p in pictures], columns=4)
    save_png(sheet, out / "contact_sheet.png")
    print(f"wrote {len(pictures)} pictures, PLY files and contact_sheet.png to {out}")
    if cfg.show:
        show_clouds(shown, title=f"pointea: {Path(cfg.ckpt_path).name}")
    return out


@hydra.main(version_base="1.3", config_path=str(CONFIGS), config_name="visualize")
def _hydra_main(cfg: DictConfig) -> None:
    try:
        exit_on_user_error(lambda: visualize(cfg))
    except NoDisplayError as err:
        print(f"note: {err}", file=sys.stderr)


def main() -> None:
    _hydra_main()


if __name__ == "__main__":
    main()
