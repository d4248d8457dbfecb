"""Releases are checked for sense: shards, lists, tables and, for the official ShapeNetPart
release, its known facts. Every refusal names the real file."""

import dataclasses
import errno
import json
import pathlib
import shutil
import zipfile

import numpy as np
import pytest
from h5_layouts import OFFICIAL, modelnet_arrays, write_h5
from h5_layouts import write_official_shapenetpart as _official_writer

from pointea.cli.run_config import exit_on_user_error
from pointea.data import DatasetError, ModelNet40H5, PointCloudDataModule, ShapeNetPartH5, download
from pointea.data.download import fetch, main
from pointea.data.shapenet_part import OFFICIAL_CATEGORIES

# --- ModelNet40 layout: lists, shards, class table -----------------------------------------


def _lines(*names):
    return "".join(f"data/modelnet40_ply_hdf5_2048/{n}\n" for n in names)


def test_a_shard_named_twice_is_refused(modelnet_release):
    folder, _ = modelnet_release
    (folder / "train_files.txt").write_text(_lines("ply_data_train0.h5", "ply_data_train0.h5"))
    with pytest.raises(
        DatasetError,
        match=r"train_files.txt names shard\(s\) more than once: \['ply_data_train0.h5'\]",
    ):
        ModelNet40H5(folder, "train", 16)


def test_a_test_shard_in_the_train_list_is_refused(modelnet_release):
    folder, _ = modelnet_release
    (folder / "train_files.txt").write_text(_lines("ply_data_train0.h5", "ply_data_test0.h5"))
    with pytest.raises(
        DatasetError, match=r"train_files.txt names ply_data_test0.h5, a test shard, in the train"
    ):
        ModelNet40H5(folder, "test", 16)  # reading either split finds it


def test_a_shard_in_two_lists_is_refused(modelnet_release):
    folder, _ = modelnet_release
    shutil.copy(folder / "ply_data_test0.h5", folder / "extra.h5")
    (folder / "train_files.txt").write_text(_lines("ply_data_train0.h5", "extra.h5"))
    (folder / "test_files.txt").write_text(_lines("extra.h5"))
    with pytest.raises(DatasetError, match=r"shard extra.h5 is named by both .*train_files.txt"):
        ModelNet40H5(folder, "train", 16)


def test_duplicate_class_names_are_refused(modelnet_release):
    folder, _ = modelnet_release
    (folder / "shape_names.txt").write_text("airplane\nbathtub\nairplane\n")
    message = r"shape_names.txt lists class name\(s\) more than once: \['airplane'\]"
    with pytest.raises(DatasetError, match=message):
        ModelNet40H5(folder, "train", 16)
    with pytest.raises(DatasetError, match=message):
        ModelNet40H5.read_tables(folder)


def test_shards_with_different_point_counts_are_refused(modelnet_release):
    folder, _ = modelnet_release
    write_h5(
        folder / "ply_data_train1.h5", **modelnet_arrays(np.random.default_rng(3), 4, points=32)
    )
    message = r"ply_data_train1.h5 stores 32 points per shape but .*ply_data_train0.h5 stores 64"
    with pytest.raises(DatasetError, match=message):
        ModelNet40H5(folder, "train", 16)
    datamodule = PointCloudDataModule(
        dataset=ModelNet40H5, root=folder, num_points=16, num_classes=3
    )
    with pytest.raises(DatasetError, match=r"stores 32 points per shape but"):
        datamodule.stored_points()


def test_stored_points_reads_the_headers(modelnet_release):
    folder, _ = modelnet_release
    datamodule = PointCloudDataModule(
        dataset=ModelNet40H5, root=folder.parent, num_points=16, num_classes=3
    )
    assert datamodule.stored_points() == (64, folder / "ply_data_test0.h5")


def test_stored_points_ignores_other_hdf5_files(modelnet_release):
    folder, _ = modelnet_release
    write_h5(folder / "aaa_extra.h5", normals=np.zeros((2, 3), np.float32))  # no 'data'
    datamodule = PointCloudDataModule(
        dataset=ModelNet40H5, root=folder, num_points=16, num_classes=3
    )
    assert datamodule.stored_points() == (64, folder / "ply_data_test0.h5")


def test_a_shape_whose_points_coincide_is_refused(modelnet_release):
    folder, shards = modelnet_release
    arrays = dict(shards["ply_data_train1.h5"])
    data = arrays["data"].copy()
    data[2] = 0.0  # all points of shape 2 at the origin
    data[3] = data[3, :1]  # all points of shape 3 at one (non-zero) place
    write_h5(folder / "ply_data_train1.h5", data=data, label=arrays["label"])
    with pytest.raises(
        DatasetError,
        match=r"ply_data_train1.h5: 2 shape\(s\) have all their points at one place \(first at row 2\)",
    ):
        ModelNet40H5(folder, "train", 16)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe", r"shape_names.txt is not a text file"),
        (b"airplane\x00\x00bed\n", r"shape_names.txt is not a text file \(it holds NUL bytes\)"),
    ],
)
def test_binary_class_table_is_named(modelnet_release, content, message):
    folder, _ = modelnet_release
    (folder / "shape_names.txt").write_bytes(content)
    with pytest.raises(DatasetError, match=message):
        ModelNet40H5(folder, "train", 16)


def test_unreadable_class_table_is_named(modelnet_release, monkeypatch):
    folder, _ = modelnet_release
    names = folder / "shape_names.txt"
    real = pathlib.Path.read_text

    def read_text(self, *args, **kwargs):
        if self == names:
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(pathlib.Path, "read_text", read_text)
    with pytest.raises(DatasetError, match=rf"{names} cannot be read: Permission denied"):
        ModelNet40H5(folder, "train", 16)


def test_class_count_mismatch_names_the_file_inside_the_release(modelnet_release):
    folder, _ = modelnet_release
    datamodule = PointCloudDataModule(
        dataset=ModelNet40H5, root=folder.parent, num_points=16, num_classes=5
    )
    with pytest.raises(
        DatasetError, match=rf"data.num_classes=5 but {folder / 'shape_names.txt'} defines 3"
    ):
        datamodule.read_tables()


# --- empty splits are found before training ------------------------------------------------


def _empty_shard(path, points=64):
    write_h5(path, data=np.zeros((0, points, 3), np.float32), label=np.zeros((0, 1), np.uint8))


def test_a_shard_holding_no_shape_is_named(modelnet_release):
    folder, _ = modelnet_release
    _empty_shard(folder / "ply_data_test0.h5")
    datamodule = PointCloudDataModule(
        dataset=ModelNet40H5, root=folder, num_points=16, num_classes=3
    )
    message = rf"^{folder / 'ply_data_test0.h5'} holds no shapes \('data' has shape \(0, 64, 3\)\)$"
    with pytest.raises(DatasetError, match=message):
        datamodule.setup("fit")


def test_a_validation_fraction_that_carves_nothing_is_named(tmp_path):
    folder = tmp_path / "modelnet40_ply_hdf5_2048"
    folder.mkdir()
    arrays = modelnet_arrays(np.random.default_rng(0), 3)
    arrays["label"] = np.array([[0], [1], [2]], np.uint8)  # one shape per class
    write_h5(folder / "ply_data_train0.h5", **arrays)
    write_h5(folder / "ply_data_test0.h5", **modelnet_arrays(np.random.default_rng(1), 2))
    (folder / "train_files.txt").write_text("ply_data_train0.h5\n")
    (folder / "test_files.txt").write_text("ply_data_test0.h5\n")
    (folder / "shape_names.txt").write_text("a\nb\nc\n")
    datamodule = PointCloudDataModule(
        dataset=ModelNet40H5, root=folder, num_points=16, num_classes=3, val_fraction=0.1
    )
    with pytest.raises(
        DatasetError,
        match=r"the val split .* holds no shapes \(data.val_fraction=0.1 carves none\)",
    ):
        datamodule.setup("fit")


def test_an_empty_validation_shard_of_shapenetpart_is_named(parts_release):
    folder, _ = parts_release
    write_h5(
        folder / "ply_data_val0.h5",
        data=np.zeros((0, 64, 3), np.float32),
        label=np.zeros((0, 1), np.uint8),
        pid=np.zeros((0, 64), np.uint8),
    )
    datamodule = PointCloudDataModule(
        dataset=ShapeNetPartH5, root=folder, num_points=16, num_parts=5, num_categories=2
    )
    with pytest.raises(DatasetError, match=r"hdf5_data/ply_data_val0.h5 holds no shapes"):
        datamodule.setup("fit")


# --- ShapeNetPart tables ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('[["100", 1], ["100", 2', r"is not valid JSON \(Expecting .* at line 1, column \d+\)"),
        ('{"100": 1}', r"expected a list of \[synset, part\] entries, got dict"),
    ],
)
def test_malformed_part_table_is_named(parts_release, content, message):
    folder, _ = parts_release
    table = folder / "overallid_to_catid_partid.json"
    table.write_text(content)
    with pytest.raises(DatasetError, match=rf"{table}:? {message}"):
        ShapeNetPartH5.read_part_table(folder)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("A\t100\nA\t200\n", r"lists category name\(s\) more than once: \['A'\]"),
        ("A\t100\nB\t100\n", r"lists synset id\(s\) more than once: \['100'\]"),
    ],
)
def test_duplicate_categories_are_refused(parts_release, content, message):
    folder, _ = parts_release
    (folder / "all_object_categories.txt").write_text(content)
    with pytest.raises(DatasetError, match=message):
        ShapeNetPartH5(folder, "train", 16)


# --- the official ShapeNetPart release -------------------------------------------------------

SPLITS = ("train", "val", "test")
POINTS = 8  # enough to be a cloud, small enough for 16,881 shapes in a test


def test_the_written_facts_sum_to_the_published_split_sizes():
    sums = [sum(row[4 + i] for row in OFFICIAL) for i in range(3)]
    assert sums == [12137, 1870, 2874]
    assert sum(row[3] for row in OFFICIAL) == 50
    # pointea's facts block says the same as the table written out here.
    assert [
        (name, synset, parts[0], len(parts), *counts)
        for name, synset, parts, counts in OFFICIAL_CATEGORIES
    ] == [tuple(row) for row in OFFICIAL]
    assert all(
        parts == tuple(range(parts[0], parts[0] + len(parts)))
        for _, _, parts, _ in OFFICIAL_CATEGORIES
    )


def _write_official(folder, counts=None, points=None):
    return _official_writer(folder, counts=counts, points=POINTS, value=points)


@pytest.fixture(scope="module")
def official(tmp_path_factory):
    return _write_official(tmp_path_factory.mktemp("official") / "hdf5_data")


@pytest.fixture
def official_copy(official, tmp_path):
    return pathlib.Path(shutil.copytree(official, tmp_path / "hdf5_data"))


def test_an_official_release_reads_with_its_facts(official):
    for s, split in enumerate(SPLITS):
        ds = ShapeNetPartH5(official, split, POINTS)
        assert np.bincount(ds.categories.numpy()).tolist() == [row[4 + s] for row in OFFICIAL]
    assert len(ShapeNetPartH5(official, "trainval", POINTS)) == 12137 + 1870


def test_without_the_part_table_the_known_table_is_used(official_copy):
    (official_copy / "overallid_to_catid_partid.json").unlink()
    names, parts = ShapeNetPartH5.read_part_table(official_copy)
    assert names == [row[0] for row in OFFICIAL]
    assert parts == [list(range(row[2], row[2] + row[3])) for row in OFFICIAL]
    # the part count is then defined by the official categories the marker file lists
    counts = ShapeNetPartH5.read_tables(official_copy).counts
    assert counts["num_parts"] == (50, official_copy / "all_object_categories.txt")
    assert len(ShapeNetPartH5(official_copy, "val", POINTS)) == 1870


def test_a_part_table_that_contradicts_the_known_one_is_refused(official_copy):
    table_file = official_copy / "overallid_to_catid_partid.json"
    table = json.loads(table_file.read_text())
    table[3], table[4] = table[4], table[3]  # part 3 to Bag, part 4 to Airplane
    table_file.write_text(json.dumps(table))
    with pytest.raises(
        DatasetError,
        match=r"gives Airplane the global parts \[0, 1, 2, 4\], but the official ShapeNetPart "
        r"table gives it \[0, 1, 2, 3\]",
    ):
        ShapeNetPartH5.read_part_table(official_copy)


def test_one_category_for_every_shape_is_refused(tmp_path):
    forged = {
        split: [sum(row[4 + s] for row in OFFICIAL)] + [0] * 15 for s, split in enumerate(SPLITS)
    }
    folder = _write_official(tmp_path / "hdf5_data", counts=forged)
    with pytest.raises(
        DatasetError,
        match=r"does not hold the official shapes per category: Airplane 12137 \(official 1958\), "
        r"Bag 0 \(official 54\)",
    ):
        ShapeNetPartH5(folder, "train", POINTS)


def _zip(folder, archive):
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(folder.iterdir()):
            zf.write(path, f"hdf5_data/{path.name}")
    return archive


class SmallOfficial(ShapeNetPartH5):
    """The official release's download facts, at the fixtures' points per shape."""

    download = dataclasses.replace(ShapeNetPartH5.download, urls=("http://unused",), points=POINTS)


def test_the_download_counts_are_the_sums_of_the_written_facts():
    assert dict(ShapeNetPartH5.download.counts) == {"train": 12137, "val": 1870, "test": 2874}


def _install(archive, root, monkeypatch):
    monkeypatch.setattr(download, "download_options", lambda: {"shapenetpart": SmallOfficial})
    return main(["shapenetpart", "--root", str(root), "--archive", str(archive)])


def test_a_forged_archive_with_zero_points_is_not_ready(tmp_path, monkeypatch, capsys):
    folder = _write_official(tmp_path / "forged" / "hdf5_data", points=0.0)
    archive = _zip(folder, tmp_path / "forged.zip")
    assert _install(archive, tmp_path / "data", monkeypatch) == 2
    out, err = capsys.readouterr()
    assert "ready" not in out
    # The message names the file inside the archive, not the deleted staging copy.
    assert err.startswith(f"error: {archive}: hdf5_data/ply_data_train0.h5: 2048 shape(s) have all")
    assert "staging" not in err
    assert list((tmp_path / "data").iterdir()) == []


def test_a_genuine_looking_archive_is_ready(official, tmp_path, monkeypatch, capsys):
    archive = _zip(official, tmp_path / "good.zip")
    assert _install(archive, tmp_path / "data", monkeypatch) == 0
    assert "shapenetpart is ready" in capsys.readouterr().out


# --- full disks and permissions: one line naming the file ------------------------------------


def test_a_full_disk_during_extraction_names_the_archive(official, tmp_path, monkeypatch, capsys):
    archive = _zip(official, tmp_path / "good.zip")

    def full(self, member, path=None, pwd=None):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(zipfile.ZipFile, "extract", full)
    assert _install(archive, tmp_path / "data", monkeypatch) == 2
    err = capsys.readouterr().err
    assert err.splitlines() == [
        f"error: {archive}: extracting hdf5_data/all_object_categories.txt into "
        f"{tmp_path / 'data'} failed: No space left on device"
    ]
    assert list((tmp_path / "data").iterdir()) == []


def test_a_full_disk_during_a_run_is_one_line(capsys):
    def training():
        raise OSError(errno.ENOSPC, "No space left on device", "/runs/x/checkpoints/last.ckpt")

    with pytest.raises(SystemExit) as stop:
        exit_on_user_error(training)
    assert stop.value.code == 2
    assert capsys.readouterr().err == (
        "error: /runs/x/checkpoints/last.ckpt: No space left on device\n"
    )


def test_other_os_errors_are_not_swallowed():
    def broken():
        raise OSError(errno.EIO, "Input/output error")

    with pytest.raises(OSError, match="Input/output error"):
        exit_on_user_error(broken)


def test_fetch_from_a_present_release_checks_it(official_copy):
    assert fetch(SmallOfficial, official_copy.parent) == official_copy
