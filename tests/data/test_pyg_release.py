"""PyG datasets as pointea releases: PyG's own ModelNet and ShapeNet on raw fixtures (no download)."""

import functools

import numpy as np
import pytest
import torch
from pyg_layouts import (
    MODELNET10,
    SHAPENET_FILLED,
    SHAPENET_SYNSETS,
    write_modelnet_raw,
    write_shapenet_raw,
)
from torch_geometric.datasets import ModelNet, ShapeNet
from torch_geometric.transforms import SamplePoints

from pointea.data import DatasetError, PyGRelease, from_pyg

SHAPENET_SPLITS = ["train", "val", "trainval", "test"]


@pytest.fixture
def modelnet_root(tmp_path):
    root = tmp_path / "ModelNet10"
    return root, write_modelnet_raw(root)


@pytest.fixture
def shapenet_root(tmp_path):
    root = tmp_path / "ShapeNet"
    return root, write_shapenet_raw(root)


def modelnet_release(**options):
    pyg = functools.partial(ModelNet, pre_transform=SamplePoints(96))
    options = {"task": "cls", "stored_points": 64, **options}
    return from_pyg(pyg, **options)


def test_modelnet_classes_are_its_raw_folders_and_labels_match_the_meshes(modelnet_root):
    root, written = modelnet_root
    release = modelnet_release()
    assert issubclass(release, PyGRelease)
    assert release.splits == ("train", "test") and release.stratify_by == "y"
    train = release(root, "train", 64)
    assert train.class_names == sorted(MODELNET10)
    arrays = train.arrays()
    assert arrays["pos"].shape == (30, 64, 3) and arrays["pos"].dtype == torch.float32
    assert sorted(arrays["y"].tolist()) == sorted(written["train"])
    # each class is a box of half-size 0.1 * (1 + label): the points say which mesh they are from
    extent = arrays["pos"].abs().amax(dim=(1, 2))  # (S,)
    torch.testing.assert_close(extent, 0.1 * (1 + arrays["y"].float()), atol=1e-5, rtol=0)
    test = release(root, "test", 64).arrays()
    assert sorted(test["y"].tolist()) == sorted(written["test"])


def test_modelnet_tables_give_the_counts_before_loading(modelnet_root):
    root, _ = modelnet_root
    tables = modelnet_release().read_tables(root)
    assert tables.class_names == sorted(MODELNET10) and tables.num_labels == 10
    assert tables.counts["num_classes"][0] == 10
    assert modelnet_release(stored_points=80).stored_count(root)[0] == 80


def shapenet_release(**options):
    options = {"task": "seg", "splits": SHAPENET_SPLITS, "stored_points": 64, **options}
    return from_pyg(ShapeNet, **options)


def source_rows(points, rows):
    """The written row each resampled point is (by position): (P,) indices into rows."""
    distance = np.linalg.norm(np.asarray(points)[:, None] - rows[None, :, :3], axis=2)  # (P, n)
    assert distance.min(axis=1).max() < 1e-5  # every point is one of the file's points
    return distance.argmin(axis=1)


def test_shapenet_all_categories_keep_global_part_ids(shapenet_root):
    root, written = shapenet_root
    release = shapenet_release()
    assert release.stratify_by == "category"
    tables = release.read_tables(root)
    assert tables.class_names == list(SHAPENET_SYNSETS)
    assert tables.num_labels == 50 and tables.counts["num_parts"][0] == 50
    assert tables.category_parts[0] == [0, 1, 2, 3] and tables.category_parts[-1] == [47, 48, 49]
    arrays = release(root, "train", 64).arrays()
    assert arrays["pos"].shape == (4, 64, 3) and arrays["y"].shape == (4, 64)
    names = list(SHAPENET_SYNSETS)
    for row, (name, rows) in enumerate(written["train"]):
        assert names[int(arrays["category"][row])] == name
        source = source_rows(arrays["pos"][row], rows)
        assert arrays["y"][row].tolist() == rows[source, 6].astype(int).tolist()
        if len(rows) <= 64:  # a small cloud keeps every one of its points, then repeats some
            assert set(source.tolist()) == set(range(len(rows)))
        else:
            assert len(set(source.tolist())) == 64  # a random 64 of them, none twice


def test_shapenet_category_subset_renumbers_parts_in_category_order(shapenet_root):
    root, written = shapenet_root
    release = shapenet_release(categories=["cap", "AIRPLANE"])  # names match ignoring case
    tables = release.read_tables(root)
    assert tables.class_names == ["Cap", "Airplane"]
    assert tables.category_parts == [[0, 1], [2, 3, 4, 5]] and tables.num_labels == 6
    renumber = {6: 0, 7: 1, 0: 2, 1: 3, 2: 4, 3: 5}  # by hand: Cap's 6, 7 first, then Airplane's
    arrays = release(root, "test", 64).arrays()
    for row, (name, rows) in enumerate(written["test"]):
        assert tables.class_names[int(arrays["category"][row])] == name
        source = source_rows(arrays["pos"][row], rows)
        assert arrays["y"][row].tolist() == [renumber[int(p)] for p in rows[source, 6]]
    assert set(SHAPENET_FILLED) == {"Airplane", "Cap"}


def test_shapenet_splits_and_normals(shapenet_root):
    root, written = shapenet_root
    release = shapenet_release(normals=True)
    counts = {split: len(release(root, split, 64)) for split in SHAPENET_SPLITS}
    assert counts == {"train": 4, "val": 2, "trainval": 6, "test": 2}
    arrays = release(root, "val", 64).arrays()
    assert arrays["normals"].shape == (2, 64, 3)
    for row, (_, rows) in enumerate(written["val"]):
        source = source_rows(arrays["pos"][row], rows)
        np.testing.assert_allclose(arrays["normals"][row], rows[source, 3:6], atol=1e-5)


def test_resampling_is_seeded(shapenet_root):
    root, _ = shapenet_root
    first = shapenet_release(seed=3)(root, "train", 64).arrays()["pos"]
    again = shapenet_release(seed=3)(root, "train", 64).arrays()["pos"]
    other = shapenet_release(seed=4)(root, "train", 64).arrays()["pos"]
    assert torch.equal(first, again) and not torch.equal(first, other)


def test_instances_with_their_task_detected(shapenet_root, modelnet_root):
    root, _ = shapenet_root
    release = from_pyg(ShapeNet(root, split="train"), test=ShapeNet(root, split="test"))
    assert release.task == "seg" and release.splits == ("train", "test")
    assert len(release(root, "test", 16)) == 2
    mroot, _ = modelnet_root
    pre = SamplePoints(32)
    train, test = (
        ModelNet(mroot, pre_transform=pre),
        ModelNet(mroot, train=False, pre_transform=pre),
    )
    assert from_pyg(train, test=test, stored_points=32).task == "cls"


def test_wrong_task_is_named(shapenet_root, modelnet_root):
    root, _ = shapenet_root
    with pytest.raises(DatasetError, match=r"cloud 0: y has \d+ values.*use task=seg"):
        from_pyg(ShapeNet, task="cls", splits=SHAPENET_SPLITS)(root, "train", 16)
    mroot, _ = modelnet_root
    with pytest.raises(DatasetError, match=r"cloud 0: y has shape \(1,\).*use task=cls"):
        modelnet_release(task="seg")(mroot, "train", 16)


def test_hostile_clouds_are_refused_naming_the_cloud(tmp_path):
    root = tmp_path / "ShapeNet"
    written = write_shapenet_raw(root)
    name, rows = written["train"][1]
    rows[5, 1] = np.nan
    path = root / "raw" / SHAPENET_SYNSETS[name] / "train001.txt"
    np.savetxt(path, rows, fmt="%.6f")
    with pytest.raises(DatasetError, match=r"ShapeNet \(train split.*cloud 1: pos holds NaN"):
        shapenet_release()(root, "train", 16)


def test_a_part_outside_its_category_is_refused(tmp_path):
    root = tmp_path / "ShapeNet"
    written = write_shapenet_raw(root)
    name, rows = written["test"][0]  # an Airplane of 66 points: parts 0 to 3
    rows[3, 6] = 12  # a Chair part, on one point that a resampling to 8 points may leave out
    np.savetxt(root / "raw" / SHAPENET_SYNSETS[name] / "test000.txt", rows, fmt="%.6f")
    with pytest.raises(DatasetError, match="cloud 0 labels a point with part 12, not a part of"):
        shapenet_release(stored_points=8)(root, "test", 8)
    with pytest.raises(DatasetError, match="part 12 belongs to none of the chosen categories"):
        shapenet_release(categories=["Airplane", "Cap"])(root, "test", 16)


def test_more_points_than_resampled_is_refused(shapenet_root):
    root, _ = shapenet_root
    with pytest.raises(DatasetError, match="store 64 points, fewer than num_points=128"):
        shapenet_release()(root, "train", 128)


class NoSplits(torch.utils.data.Dataset):
    def __init__(self, root):
        self.root = root


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: from_pyg(NoSplits, task="cls"), "neither a split nor a train argument"),
        (lambda: from_pyg(functools.partial(ShapeNet, split="val"), task="seg"), "split= is given"),
        (lambda: from_pyg(functools.partial(ModelNet, root="x"), task="cls"), "root= is given"),
        (
            lambda: from_pyg(ModelNet, task="cls", splits=["train", "val", "test"]),
            "train=True/False",
        ),
        (lambda: from_pyg(ShapeNet), "give task='cls' or task='seg'"),
        (lambda: from_pyg(ShapeNet, task="parts"), "task must be one of"),
        (lambda: from_pyg(NoSplits("x")), "give the test split too"),
        (
            lambda: from_pyg(ShapeNet, task="seg", stored_points=0),
            "data.dataset.stored_points must be a positive integer",
        ),
        (
            lambda: from_pyg(ShapeNet, task="seg", categories=["cap", "Boat"]),
            r"categories \['cap', 'Boat'\]: unknown \['Boat'\]; the categories are \['Airplane', 'Bag'",
        ),
        (lambda: PyGRelease("x", "train"), "build the class with from_pyg"),
    ],
)
def test_misuse_is_refused_with_the_fix(call, match):
    with pytest.raises(DatasetError, match=match):
        call()


def test_pyg_failure_is_a_dataset_error_naming_the_call(tmp_path):
    (tmp_path / "raw" / "train_test_split").mkdir(parents=True)  # synset folders missing too
    for synset in SHAPENET_SYNSETS.values():
        (tmp_path / "raw" / synset).mkdir()
    with pytest.raises(DatasetError, match=r"ShapeNet\(root=.*split='train'\) failed"):
        shapenet_release().read_tables(tmp_path)
