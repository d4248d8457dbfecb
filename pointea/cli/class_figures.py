"""What ``visualize`` draws for a classifier: each cloud with its true and predicted class."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from pointea.tasks.point_task import PointTask
from pointea.vis import PALETTE
from pointea.vis.figures import captioned_row, save_png
from pointea.vis.point_files import write_labeled_ply
from pointea.vis.render import render_cloud

__all__ = ["ClassFigures"]

RIGHT, WRONG = PALETTE[1], PALETTE[0]


class ClassFigures:
    """The cloud in green when the predicted class is right, red when wrong, captioned with
    the true and predicted class and the prediction's probability.

    S shapes, N points. ``arrays`` are a split's first S shapes, as the data module loads
    them: ``pos`` (S, N, 3), ``y`` (S,).
    """

    def __init__(self, meta: Mapping[str, Any], release: Path | None = None) -> None:
        """``release``: the data's release folder (unused: class names come with ``meta``)."""
        self.names: Sequence[str] = meta["class_names"]

    def predict(self, network, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """Class probabilities (B, num_classes)."""
        return network(PointTask.network_input(batch)).softmax(-1)

    def draw(self, arrays: Mapping[str, torch.Tensor], probs: torch.Tensor, out: Path):
        """Per shape: (its PNG, the clouds to show). Prints a one-line summary."""
        confidence, predicted = probs.max(-1)
        labels = arrays["y"]
        for i in range(len(labels)):
            pos = arrays["pos"][i].numpy()
            colors = np.tile(RIGHT if predicted[i] == labels[i] else WRONG, (len(pos), 1))
            caption = (
                f"true {self.names[int(labels[i])]} / predicted "
                f"{self.names[int(predicted[i])]} ({float(confidence[i]):.2f})"
            )
            panel = captioned_row([render_cloud(pos, colors)], [caption], title=f"#{i}")
            label = np.full(len(pos), int(predicted[i]))
            write_labeled_ply(out / f"shape_{i:03d}_pred.ply", pos, colors, label)
            yield save_png(panel, out / f"shape_{i:03d}.png"), [(pos, colors)]
        print(f"{len(labels)} shapes, {int((predicted == labels).sum())} classified correctly")
