"""What ``visualize`` draws for a part segmenter: predicted parts beside the ground truth."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from pointea.data.part_names import read_part_names
from pointea.tasks.part_iou import category_part_mask, restrict_to_category, shape_ious
from pointea.tasks.point_task import PointTask
from pointea.vis import label_colors
from pointea.vis.figures import captioned_row, save_png
from pointea.vis.point_files import write_labeled_ply
from pointea.vis.render import render_cloud

__all__ = ["PartFigures"]


class PartFigures:
    """Each shape's predicted parts beside its ground truth in the fixed part palette,
    captioned with its category and shape IoU; coloured PLYs of both.

    S shapes, N points, P global parts. ``arrays`` are a split's first S shapes, as the
    data module loads them: ``pos`` (S, N, 3), ``y`` (S, N), ``category`` (S,).
    """

    def __init__(self, meta: Mapping[str, Any], release: Path | None = None) -> None:
        """``release``: the data's release folder, whose ``part_names.json`` (if any) names
        the parts in the legend."""
        self.names: Sequence[str] = meta["categories"]
        self.category_parts: Sequence[Sequence[int]] = meta["category_parts"]
        self.part_names = read_part_names(release or Path(), self.names, self.category_parts)
        self.mask = category_part_mask(meta["category_parts"], meta["num_parts"])  # (C, P)

    def predict(self, network, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """Part ids (B, N), restricted to each shape's category."""
        category = batch["category"]
        return restrict_to_category(
            network(PointTask.network_input(batch), category), category, self.mask
        )

    def draw(self, arrays: Mapping[str, torch.Tensor], predicted: torch.Tensor, out: Path):
        """Per shape: (its PNG, the clouds to show). Prints the mean shape IoU."""
        truth, categories = arrays["y"], arrays["category"]
        ious = shape_ious(predicted, truth, categories, self.mask)
        for i in range(len(categories)):
            pos = arrays["pos"][i].numpy()
            pred_colors = label_colors(predicted[i].numpy())
            true_colors = label_colors(truth[i].numpy())
            category = int(categories[i])
            parts = self.category_parts[category]
            panel = captioned_row(
                [render_cloud(pos, pred_colors), render_cloud(pos, true_colors)],
                ["prediction", "ground truth"],
                title=f"#{i} {self.names[category]}  shape IoU {float(ious[i]):.3f}",
                legend=list(
                    zip(self.part_names[category], label_colors(np.array(parts)), strict=True)
                ),
            )
            write_labeled_ply(
                out / f"shape_{i:03d}_pred.ply", pos, pred_colors, predicted[i].numpy()
            )
            write_labeled_ply(out / f"shape_{i:03d}_true.ply", pos, true_colors, truth[i].numpy())
            shown = [(pos, pred_colors), (pos + [0, 0, 2.2], true_colors)]
            yield save_png(panel, out / f"shape_{i:03d}.png"), shown
        print(f"{len(categories)} shapes, mean shape IoU {float(ious.mean()):.4f}")
