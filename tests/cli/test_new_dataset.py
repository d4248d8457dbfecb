"""A new dataset in an existing layout is one config file: no code changes."""

import shutil

import numpy as np
import pytest
from cli_helpers import CONFIGS, compose_train
from h5_layouts import modelnet_arrays, write_h5

from pointea.cli.train import run
from pointea.data import DatasetError

NEW_DATA = """# A release in the ModelNet40 layout under another name, with 4 classes.
defaults:
  - modelnet40
  - _self_
root: {root}
num_classes: 4
download: false
"""


@pytest.fixture
def configs_with_new_data(tmp_path):
    """A copy of configs/ plus data/shelf.yaml, and a 4-class release written by hand (no
    release folder: the files sit directly in the root, named after nothing pointea knows)."""
    configs = tmp_path / "configs"
    shutil.copytree(CONFIGS, configs)
    root = tmp_path / "shelf"
    root.mkdir()
    rng = np.random.default_rng(0)
    for split, count in (("train", 20), ("test", 8)):
        write_h5(
            root / f"ply_data_{split}0.h5", **modelnet_arrays(rng, count, num_classes=4, points=128)
        )
        (root / f"{split}_files.txt").write_text(f"shelf/ply_data_{split}0.h5\n")
    (root / "shape_names.txt").write_text("cup\nbowl\nplate\njar\n")
    (configs / "data" / "shelf.yaml").write_text(NEW_DATA.format(root=root))
    return configs


def test_a_new_data_option_trains_without_code_changes(configs_with_new_data, tmp_path):
    tiny = [
        "data=shelf",
        "model=pct_cls_tiny",
        "trainer=cpu",
        "data.num_points=128",
        "data.batch_size=4",
        "data.eval_batch_size=4",
        "trainer.max_epochs=1",
        "trainer.limit_train_batches=1",
        "trainer.limit_val_batches=1",
        "trainer.limit_test_batches=1",
    ]
    cfg = compose_train(tiny, tmp_path / "run", config_dir=configs_with_new_data)
    assert cfg.task.name == "cls"  # picked by the data option, through the modelnet40 defaults
    metrics = run(cfg)
    assert 0 <= metrics["test/oa"] <= 1
    assert (tmp_path / "run" / "checkpoints" / "last.ckpt").is_file()


def test_a_new_data_option_with_a_wrong_count_is_refused(configs_with_new_data, tmp_path):
    cfg = compose_train(
        ["data=shelf", "data.num_classes=40", "model=pct_cls_tiny"],
        tmp_path / "run",
        config_dir=configs_with_new_data,
    )
    with pytest.raises(DatasetError, match=r"data.num_classes=40 but .*shape_names.txt defines 4"):
        run(cfg)
