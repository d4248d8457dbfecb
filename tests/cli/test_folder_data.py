"""data=folder and data=folder_seg train and test end to end; the checkpoint knows the
folder's classes, categories and parts, and predict's labelled PLY trains the next model."""

import json

import numpy as np
import pytest
from cli_helpers import compose_train
from folder_layouts import write_class_folder, write_part_folder

import pointea
from pointea.cli.run_config import ConfigError
from pointea.cli.train import run
from pointea.cli.visualize import visualize
from pointea.data import DatasetError
from pointea.tasks.checkpoint_io import load_checkpoint

TINY = [
    "trainer=cpu",
    "data.dataset.stored_points=128",
    "data.num_points=128",
    "data.batch_size=4",
    "data.eval_batch_size=4",
    "trainer.max_epochs=1",
    "trainer.limit_train_batches=2",
    "trainer.limit_val_batches=1",
    "trainer.limit_test_batches=1",
]


def test_a_class_folder_trains_and_tests(tmp_path):
    root = tmp_path / "mine"
    write_class_folder(root, np.random.default_rng(0), per_class=6)
    out = tmp_path / "run"
    cfg = compose_train(
        ["task=cls", "data=folder", f"data.root={root}", "model=pct_cls_tiny", *TINY], out
    )
    metrics = run(cfg)
    assert 0 <= metrics["test/oa"] <= 1
    meta = load_checkpoint(out / "checkpoints" / "last.ckpt")["pointea"]
    assert meta["class_names"] == ["bowl", "mug", "vase"] and meta["num_classes"] == 3
    assert meta["model"]["num_classes"] == 3  # read from the folder, not configured
    assert json.loads((root / "splits.json").read_text())["test"]


def test_a_part_folder_with_a_predicted_ply_trains_and_tests(tmp_path):
    from pointea.vis.point_files import write_labeled_ply

    root = tmp_path / "parts"
    write_part_folder(root, np.random.default_rng(1), per_category=6)
    rng = np.random.default_rng(2)
    write_labeled_ply(root / "lamp" / "fixed.parts.ply", rng.normal(size=(90, 3)),
                      np.zeros((90, 3), np.uint8), np.repeat([3, 4], 45))  # fmt: skip
    (root / "parts.json").write_text(
        json.dumps({"chair": ["back", "seat", "leg"], "lamp": ["base", "shade"]})
    )
    out = tmp_path / "run"
    cfg = compose_train(
        ["task=seg", "data=folder_seg", f"data.root={root}", "model=pct_seg_tiny", *TINY], out
    )
    metrics = run(cfg)
    assert 0 < metrics["test/instance_miou"] <= 1
    meta = load_checkpoint(out / "checkpoints" / "last.ckpt")["pointea"]
    assert meta["categories"] == ["chair", "lamp"]
    assert meta["category_parts"] == [[0, 1, 2], [3, 4]] and meta["num_parts"] == 5
    assert "lamp/fixed.parts.ply" in sum(
        json.loads((root / "splits.json").read_text()).values(), []
    )
    # the result works where a release's does: load_model, predict, visualize
    model = pointea.load_model(out / "checkpoints" / "last.ckpt")
    assert model.class_names == ["chair", "lamp"]
    parts = model.predict(rng.normal(size=(300, 3)), category="lamp")["parts"]
    assert parts.shape[-1] == 300 and set(np.unique(parts)) <= {3, 4}
    vis = visualize(compose_train(
        [f"ckpt_path={out / 'checkpoints' / 'last.ckpt'}", "data=folder_seg", f"data.root={root}",
         "data.dataset.stored_points=128", "data.num_points=128", f"output_dir={tmp_path / 'vis'}",
         "num_shapes=2"],
        tmp_path / "vis", config_name="visualize",
    ))  # fmt: skip
    assert (vis / "contact_sheet.png").is_file()


def test_refusals_come_before_training(tmp_path):
    root = tmp_path / "one"
    write_class_folder(root, np.random.default_rng(3), classes=("mug",))
    cfg = compose_train(
        ["data=folder", f"data.root={root}", "model=pct_cls_tiny", *TINY], tmp_path / "r1"
    )
    with pytest.raises(DatasetError, match=r"holds one class folder \(mug\)"):
        run(cfg)
    write_class_folder(tmp_path / "two", np.random.default_rng(4), classes=("a", "b"))
    more = [o if o != "data.num_points=128" else "data.num_points=256" for o in TINY]
    cfg = compose_train(
        ["data=folder", f"data.root={tmp_path / 'two'}", "model=pct_cls_tiny", *more],
        tmp_path / "r2",
    )
    with pytest.raises(
        ConfigError, match=r"data.num_points=256 is not allowed: the shapes in .* store 128"
    ):
        run(cfg)
