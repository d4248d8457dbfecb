"""train.py on PyG datasets (data=pyg_modelnet, data=pyg_shapenet, data=pyg), as the README runs it."""

import pytest
from cli_helpers import compose_train
from pyg_layouts import MODELNET10, write_modelnet_raw, write_shapenet_raw

from pointea.cli.run_config import ConfigError
from pointea.cli.train import run
from pointea.data import DatasetError
from pointea.tasks.checkpoint_io import load_checkpoint

TINY = [
    "trainer=cpu",
    "data.batch_size=4",
    "data.eval_batch_size=4",
    "trainer.max_epochs=1",
    "trainer.limit_train_batches=2",
    "trainer.limit_val_batches=1",
    "trainer.limit_test_batches=1",
]


def test_pyg_modelnet_trains_and_tests(tmp_path):
    root = tmp_path / "ModelNet10"
    write_modelnet_raw(root)
    out = tmp_path / "run"
    cfg = compose_train(
        ["data=pyg_modelnet", f"data.root={root}", "model=pct_cls_tiny", "data.num_points=256",
         *TINY],
        out,
    )  # fmt: skip
    assert cfg.task.name == "cls"
    metrics = run(cfg)
    assert 0 <= metrics["test/oa"] <= 1
    checkpoint = load_checkpoint(out / "checkpoints" / "last.ckpt")
    meta = checkpoint["pointea"]
    assert meta["class_names"] == sorted(MODELNET10) and meta["num_classes"] == 10
    # the PyG class comes from the user's config, never from a checkpoint
    assert "torch_geometric" not in repr({k: v for k, v in checkpoint.items() if k != "state_dict"})


def test_pyg_shapenet_category_subset_trains_and_tests(tmp_path):
    root = tmp_path / "ShapeNet"
    write_shapenet_raw(root)
    out = tmp_path / "run"
    cfg = compose_train(
        ["data=pyg_shapenet", f"data.root={root}", "model=pct_seg_tiny",
         "data.dataset.pyg.categories=[Cap,Airplane]", "data.num_parts=6",
         "data.num_categories=2", "data.dataset.stored_points=128", "data.num_points=128", *TINY],
        out,
    )  # fmt: skip
    assert cfg.task.name == "seg"
    metrics = run(cfg)
    assert 0 <= metrics["test/instance_miou"] <= 1
    meta = load_checkpoint(out / "checkpoints" / "last.ckpt")["pointea"]
    assert meta["categories"] == ["Cap", "Airplane"]
    assert meta["category_parts"] == [[0, 1], [2, 3, 4, 5]]


def test_pyg_shapenet_counts_that_do_not_match_the_categories_are_refused(tmp_path):
    root = tmp_path / "ShapeNet"
    write_shapenet_raw(root)
    cfg = compose_train(
        ["data=pyg_shapenet", f"data.root={root}", "model=pct_seg_tiny",
         "data.dataset.pyg.categories=[Cap]", *TINY],
        tmp_path / "run",
    )  # fmt: skip
    with pytest.raises(DatasetError, match=r"data.num_parts=50 but .*raw defines 2"):
        run(cfg)


def test_the_generic_option_names_any_pyg_class(tmp_path):
    root = tmp_path / "ModelNet10"
    write_modelnet_raw(root)
    cfg = compose_train(
        ["data=pyg", "data.dataset.pyg._target_=torch_geometric.datasets.ModelNet",
         "+data.dataset.pyg.pre_transform={_target_: torch_geometric.transforms.SamplePoints, num: 256}",
         f"data.root={root}", "data.num_classes=10", "data.num_points=256",
         "model=pct_cls_tiny", *TINY],
        tmp_path / "run",
    )  # fmt: skip
    assert 0 <= run(cfg)["test/oa"] <= 1


def test_the_generic_option_refuses_the_wrong_task(tmp_path):
    root = tmp_path / "ShapeNet"
    write_shapenet_raw(root)
    cfg = compose_train(
        ["data=pyg", "data.dataset.pyg._target_=torch_geometric.datasets.ShapeNet",
         f"data.root={root}", "data.num_classes=50", "model=pct_cls_tiny", *TINY],
        tmp_path / "run",
    )  # fmt: skip
    with pytest.raises(DatasetError, match="use task=seg"):
        run(cfg)
    cfg = compose_train(
        ["data=pyg", "data.dataset.pyg._target_=torch_geometric.datasets.ShapeNet",
         "+data.dataset.pyg.split=val", f"data.root={root}", "data.num_classes=50",
         "model=pct_cls_tiny", *TINY],
        tmp_path / "run2",
    )  # fmt: skip
    with pytest.raises((ConfigError, DatasetError), match="split= is given"):
        run(cfg)
