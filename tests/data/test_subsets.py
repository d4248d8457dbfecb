"""Some classes or categories of a release, and partial copies of an official release."""

import json
import logging

import numpy as np
import pytest
from cli_helpers import compose_train
from h5_layouts import OFFICIAL, write_h5, write_official_shapenetpart

from pointea.data import DatasetError, ModelNet40H5, PointCloudDataModule, ShapeNetPartH5
from pointea.data.download import verify_release

CAP = [row[0] for row in OFFICIAL].index("Cap")


def _cap_only(folder, points=64):
    """An hdf5_data/ release listing the 16 official categories, holding only the Cap shapes."""
    counts = {
        split: [OFFICIAL[CAP][4 + s] if c == CAP else 0 for c in range(16)]
        for s, split in enumerate(("train", "val", "test"))
    }
    return write_official_shapenetpart(folder, counts=counts, points=points)


def _raw(shards, names):
    data = np.concatenate([shards[n]["data"] for n in names])
    label = np.concatenate([shards[n]["label"][:, 0] for n in names]).astype(int)
    pid = np.concatenate([shards[n]["pid"] for n in names]) if "pid" in shards[names[0]] else None
    return data, label, pid


def test_classes_select_and_renumber_in_the_release_order(modelnet_release):
    folder, shards = modelnet_release
    module = PointCloudDataModule(
        dataset=ModelNet40H5, root=folder, num_points=16, num_classes=2,
        classes=["BED", "airplane"], select_on_test=True,
    )  # fmt: skip
    assert module.read_tables().class_names == ["airplane", "bed"]
    assert module.read_tables().num_labels == 2
    module.setup("fit")
    for split, names in (("train", ["ply_data_train0.h5", "ply_data_train1.h5"]),
                         ("test", ["ply_data_test0.h5"])):  # fmt: skip
        data, label, _ = _raw(shards, names)
        expected_rows = [i for i in range(len(label)) if label[i] in (0, 2)]
        expected_y = [{0: 0, 2: 1}[label[i]] for i in expected_rows]
        got = module.arrays[split]
        assert got["y"].tolist() == expected_y
        assert np.array_equal(got["pos"].numpy(), data[expected_rows])


def test_an_unknown_class_is_refused_listing_the_known_ones(modelnet_release):
    folder, _ = modelnet_release
    module = PointCloudDataModule(
        dataset=ModelNet40H5, root=folder, num_points=16, classes=["airplane", "chairs"]
    )
    with pytest.raises(
        DatasetError,
        match=r"^data.classes: unknown classes \['chairs'\]; the release's classes: "
        r"airplane, bathtub, bed$",
    ):
        module.read_tables()


def test_a_count_that_does_not_follow_the_subset_says_what_to_set(modelnet_release):
    folder, _ = modelnet_release
    module = PointCloudDataModule(
        dataset=ModelNet40H5, root=folder, num_points=16, num_classes=3, classes=["bed"]
    )
    with pytest.raises(
        DatasetError,
        match=r"data.num_classes=3 but data.classes=\['bed'\] defines 1.*"
        r"set data.num_classes=1 as well",
    ):
        module.read_tables()


def test_categories_on_a_classification_release_point_to_classes(modelnet_release):
    folder, _ = modelnet_release
    module = PointCloudDataModule(
        dataset=ModelNet40H5, root=folder, num_points=16, categories=["bed"]
    )
    with pytest.raises(DatasetError, match=r"has classes: use data.classes=\[...\]"):
        module.read_tables()


def test_categories_keep_their_parts_in_order_renumbered(parts_release):
    folder, shards = parts_release
    module = PointCloudDataModule(
        dataset=ShapeNetPartH5, root=folder, num_points=16, num_parts=3, num_categories=1,
        categories=["b"],
    )  # fmt: skip
    tables = module.read_tables()
    assert tables.class_names == ["B"] and tables.category_parts == [[0, 1, 2]]
    module.setup("fit")
    for split in ("train", "val", "test"):
        data, label, pid = _raw(shards, [f"ply_data_{split}0.h5"])
        rows = [i for i in range(len(label)) if label[i] == 1]  # B: global parts 2, 3, 4
        got = module.arrays[split]
        assert got["category"].tolist() == [0] * len(rows)
        assert np.array_equal(got["y"].numpy(), pid[rows] - 2)
        assert np.array_equal(got["pos"].numpy(), data[rows])


def test_a_subset_that_leaves_a_split_empty_is_named(parts_release):
    folder, shards = parts_release
    arrays = shards["ply_data_test0.h5"]
    only_b = arrays["label"][:, 0] == 1
    write_h5(folder / "ply_data_test0.h5", **{k: v[only_b] for k, v in arrays.items()})
    module = PointCloudDataModule(
        dataset=ShapeNetPartH5, root=folder, num_points=16, categories=["A"]
    )
    with pytest.raises(
        DatasetError, match=r"the test split of .* holds no shapes of data.categories=\['A'\]"
    ):
        module.setup("fit")


def test_a_partial_official_release_is_refused_naming_the_option(tmp_path):
    folder = _cap_only(tmp_path / "hdf5_data")
    with pytest.raises(
        DatasetError,
        match=r"does not hold the official shapes per category: Airplane 0 \(official 1958\).*"
        r"say so with data.partial=true$",
    ):
        ShapeNetPartH5(folder, "train", 16)


def test_a_partial_release_is_accepted_with_one_warning_line(tmp_path, caplog):
    folder = _cap_only(tmp_path / "hdf5_data")
    module = PointCloudDataModule(
        dataset=ShapeNetPartH5, root=folder, num_points=16, num_parts=50, num_categories=16,
        partial=True,
    )  # fmt: skip
    with caplog.at_level(logging.WARNING, logger="pointea.data"):
        module.setup("fit")
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("pointea.data")]
    assert len(lines) == 1 and "\n" not in lines[0]
    assert lines[0].endswith(
        "(data.partial=true): train 39 of 12137, val 5 of 1870, test 11 of 2874 shapes"
    )
    assert [len(module.arrays[s]["pos"]) for s in ("train", "val", "test")] == [39, 5, 11]


def test_categories_imply_partial(tmp_path):
    folder = _cap_only(tmp_path / "hdf5_data")
    module = PointCloudDataModule(
        dataset=ShapeNetPartH5, root=folder, num_points=16, num_parts=2, num_categories=1,
        categories=["cap"],
    )  # fmt: skip
    module.setup("fit")
    assert module.tables.class_names == ["Cap"] and module.tables.category_parts == [[0, 1]]
    assert set(module.arrays["test"]["y"].unique().tolist()) == {0}  # Cap's first part, 6


def test_an_install_is_still_checked_against_the_official_counts(tmp_path):
    folder = _cap_only(tmp_path / "hdf5_data")
    with pytest.raises(DatasetError, match="does not hold the official shapes per category"):
        verify_release(folder, ShapeNetPartH5)


def test_train_and_test_on_a_category_of_a_partial_release(tmp_path):
    """README-style: python train.py task=seg data=shapenetpart data.root=...
    data.categories=[Cap,Airplane] (Airplane has no shape in this copy)."""
    from pointea.cli.train import run
    from pointea.tasks.checkpoint_io import load_checkpoint

    _cap_only(tmp_path / "data" / "hdf5_data", points=256)
    overrides = [
        "task=seg",
        "data=shapenetpart",
        f"data.root={tmp_path / 'data'}",
        "data.categories=[cap,AIRPLANE]",
        "data.num_parts=6",
        "data.num_categories=2",
        "model=pct_seg_tiny",
        "trainer=cpu",
        "data.num_points=256",
        "data.batch_size=8",
        "data.eval_batch_size=8",
        "trainer.max_epochs=1",
        "trainer.limit_train_batches=2",
        "trainer.limit_val_batches=1",
        "trainer.limit_test_batches=1",
    ]
    run_dir = tmp_path / "run"
    metrics = run(compose_train(overrides, run_dir))
    assert 0 <= metrics["test/instance_miou"] <= 1
    details = json.loads((run_dir / "test_details.json").read_text())
    assert list(details["per_category_iou"]) == ["Airplane", "Cap"]
    meta = load_checkpoint(run_dir / "checkpoints" / "last.ckpt")["pointea"]
    assert meta.get("categories", meta.get("class_names")) == ["Airplane", "Cap"]
    assert meta["category_parts"] == [[0, 1, 2, 3], [4, 5]]


def test_train_and_test_on_one_category(tmp_path):
    """data.categories=[Cap] alone: the test epoch logs and records the one category's IoU."""
    from pointea.cli.train import run

    _cap_only(tmp_path / "data" / "hdf5_data", points=128)
    overrides = [
        "task=seg", "data=shapenetpart", f"data.root={tmp_path / 'data'}",
        "data.categories=[cap]", "data.num_parts=2", "data.num_categories=1",
        "model=pct_seg_tiny", "trainer=cpu", "data.num_points=128", "data.batch_size=8",
        "data.eval_batch_size=8", "trainer.max_epochs=1", "trainer.limit_train_batches=1",
        "trainer.limit_val_batches=1", "trainer.limit_test_batches=1",
    ]  # fmt: skip
    run_dir = tmp_path / "run"
    metrics = run(compose_train(overrides, run_dir))
    assert 0 <= metrics["test/iou/Cap"] <= 1
    details = json.loads((run_dir / "test_details.json").read_text())
    assert list(details["per_category_iou"]) == ["Cap"]
