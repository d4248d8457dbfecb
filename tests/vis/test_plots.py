import json

import numpy as np
import pytest
from PIL import Image

from pointea.vis.plots import plot_run


def test_figures_from_a_run_folder(tmp_path):
    (tmp_path / "csv").mkdir()
    (tmp_path / "csv" / "metrics.csv").write_text(
        "epoch,step,train/loss_step,train/loss_epoch,val/loss,val/oa\n"
        "0,0,2.0,,,\n0,1,1.5,,,\n0,1,,,1.2,0.5\n0,1,,1.7,,\n1,3,1.0,,,\n1,3,,,0.9,0.7\n1,3,,1.1,,\n"
    )
    confusion = [[5, 1, 0], [0, 4, 2], [1, 0, 6]]
    (tmp_path / "test_details.json").write_text(
        json.dumps(
            {
                "class_names": ["a", "b", "c"],
                "confusion": confusion,
                "per_category_iou": {"a": 0.5, "b": float("nan"), "c": 0.9},
            }
        )
    )
    made = plot_run(tmp_path)
    assert sorted(p.name for p in made) == [
        "confusion_matrix.png",
        "per_category_iou.png",
        "training_curves.png",
    ]
    for path in made:
        image = np.asarray(Image.open(path).convert("RGB"))
        assert image.shape[0] > 200 and (image < 200).any()  # drawn, not blank


def test_nothing_to_plot(tmp_path):
    with pytest.raises(FileNotFoundError, match="neither csv/metrics.csv nor test_details.json"):
        plot_run(tmp_path)
