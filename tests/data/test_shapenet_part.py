import numpy as np
import pytest
from h5_layouts import write_h5

from pointea.data import DatasetError, ShapeNetPartH5


def test_reads_items_and_part_table(parts_release):
    folder, shards = parts_release
    ds = ShapeNetPartH5(folder.parent, "train", num_points=48)
    src = shards["ply_data_train0.h5"]
    assert ds.category_names == ["A", "B"]
    assert ds.category_parts == [[0, 1], [2, 3, 4]] and ds.num_parts == 5
    item = ds[3]
    assert np.array_equal(item["pos"].numpy(), src["data"][3, :48])
    assert np.array_equal(item["y"].numpy(), src["pid"][3, :48])
    assert int(item["category"]) == int(src["label"][3, 0])


def test_trainval_joins_train_and_val(parts_release):
    folder, _ = parts_release
    assert len(ShapeNetPartH5(folder, "trainval", num_points=8)) == 6 + 3
    assert len(ShapeNetPartH5(folder, "test", num_points=8)) == 4


def test_part_outside_its_category_is_named(parts_release):
    folder, shards = parts_release
    arrays = dict(shards["ply_data_val0.h5"])
    arrays["label"] = arrays["label"].copy()
    arrays["label"][1] = 0  # category A: parts 0-1 only
    arrays["pid"] = arrays["pid"].copy()
    arrays["pid"][1] = 0
    arrays["pid"][1, 5] = 3
    write_h5(folder / "ply_data_val0.h5", **arrays)
    with pytest.raises(
        DatasetError, match=r"part id 3 in row 1 is not a part of its category A \(parts \[0, 1\]\)"
    ):
        ShapeNetPartH5(folder, "val", num_points=8)


def test_missing_pid_and_bad_category(parts_release):
    folder, shards = parts_release
    src = shards["ply_data_test0.h5"]
    write_h5(folder / "ply_data_test0.h5", data=src["data"], label=src["label"])
    with pytest.raises(DatasetError, match="ply_data_test0.h5: key 'pid' is missing"):
        ShapeNetPartH5(folder, "test", num_points=8)
    write_h5(
        folder / "ply_data_test0.h5",
        data=src["data"],
        label=np.full((4, 1), 9, np.uint8),
        pid=src["pid"],
    )
    with pytest.raises(DatasetError, match=r"category 9 \(row 0\) is outside the 2 categories"):
        ShapeNetPartH5(folder, "test", num_points=8)


def test_missing_part_table(parts_release):
    folder, _ = parts_release
    (folder / "overallid_to_catid_partid.json").unlink()
    with pytest.raises(
        DatasetError, match="part table .*overallid_to_catid_partid.json is missing"
    ):
        ShapeNetPartH5(folder, "train", num_points=8)


def test_absent_root_says_how_to_download(tmp_path):
    with pytest.raises(DatasetError, match="python -m pointea.data.download shapenetpart"):
        ShapeNetPartH5(tmp_path)
