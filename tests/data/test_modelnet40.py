import h5py
import numpy as np
import pytest
import torch
from h5_layouts import write_h5

from pointea.data import DatasetError, ModelNet40H5


def test_reads_shards_in_list_order(modelnet_release):
    folder, shards = modelnet_release
    ds = ModelNet40H5(folder.parent, "train", num_points=32)  # root = the parent folder
    expected = np.concatenate(
        [shards["ply_data_train0.h5"]["data"], shards["ply_data_train1.h5"]["data"]]
    )
    labels = np.concatenate(
        [shards["ply_data_train0.h5"]["label"], shards["ply_data_train1.h5"]["label"]]
    )
    assert len(ds) == 9 and ds.class_names == ["airplane", "bathtub", "bed"]
    item = ds[6]
    assert item["pos"].shape == (32, 3) and item["pos"].dtype == torch.float32
    assert np.array_equal(item["pos"].numpy(), expected[6, :32])
    assert int(item["y"]) == int(labels[6, 0]) and item["y"].dtype == torch.int64
    assert len(ModelNet40H5(folder, "test", num_points=64)) == 3  # root = the release itself


def test_no_file_handle_survives_init(modelnet_release):
    folder, _ = modelnet_release

    def open_files():
        return h5py.h5f.get_obj_ids(types=h5py.h5f.OBJ_FILE)

    with h5py.File(folder / "ply_data_test0.h5", "r"):
        assert len(open_files()) == 1  # the probe sees an open file
    ModelNet40H5(folder, "train", num_points=16)
    assert open_files() == []


def _break(folder, shard, **arrays):
    write_h5(folder / shard, **arrays)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda f, a: (f / "ply_data_train1.h5").unlink(),
            r"missing from .*: \['ply_data_train1.h5'\]",
        ),
        (
            lambda f, a: _break(f, "ply_data_train0.h5", data=a["data"]),
            r"ply_data_train0.h5: key 'label' is missing",
        ),
        (
            lambda f, a: _break(
                f, "ply_data_train0.h5", data=a["data"][:, :, :2], label=a["label"]
            ),
            r"'data' must have shape \(n, points, 3\), got \(5, 64, 2\)",
        ),
        (
            lambda f, a: _break(
                f, "ply_data_train0.h5", data=a["data"].astype(np.int32), label=a["label"]
            ),
            "'data' must be floating point, got dtype int32",
        ),
        (
            lambda f, a: _break(
                f, "ply_data_train0.h5", data=a["data"], label=a["label"].astype(np.float32)
            ),
            "'label' must be integer",
        ),
        (
            lambda f, a: _break(f, "ply_data_train0.h5", data=a["data"], label=a["label"][:3]),
            r"'label' must have shape \(5, 1\)",
        ),
        (
            lambda f, a: _break(
                f,
                "ply_data_train0.h5",
                data=np.where(np.arange(5)[:, None, None] == 2, np.nan, a["data"]),
                label=a["label"],
            ),
            r"1 shape\(s\) have NaN or infinite coordinates \(first at row 2\)",
        ),
        (
            lambda f, a: _break(
                f, "ply_data_train0.h5", data=a["data"], label=np.full((5, 1), 7, np.uint8)
            ),
            r"label 7 \(row 0\) is outside the 3 classes",
        ),
        (
            lambda f, a: (f / "ply_data_train0.h5").write_bytes(b"not hdf5"),
            "not a readable HDF5 file",
        ),
    ],
)
def test_bad_release_names_file_and_fault(modelnet_release, change, message):
    folder, shards = modelnet_release
    change(folder, shards["ply_data_train0.h5"])
    with pytest.raises(DatasetError, match=message):
        ModelNet40H5(folder, "train", num_points=16)


def test_too_few_points(modelnet_release):
    folder, _ = modelnet_release
    with pytest.raises(DatasetError, match="store 64 points, fewer than num_points=1024"):
        ModelNet40H5(folder, "train", num_points=1024)


@pytest.mark.parametrize("make", [lambda p: None, lambda p: p.mkdir()])
def test_absent_or_empty_root_says_how_to_download(tmp_path, make):
    root = tmp_path / "nothing"
    make(root)
    with pytest.raises(DatasetError, match=r"python -m pointea.data.download modelnet40 --root"):
        ModelNet40H5(root)


def test_unknown_split():
    with pytest.raises(DatasetError, match="split must be one of"):
        ModelNet40H5("/nowhere", "val")
