"""ScanObjectNN's h5_files/ layout: variants, validation, the archive install, a tiny run."""

import functools
import zipfile

import h5py
import numpy as np
import pytest
import torch
from scanobjectnn_layout import FILES, write_scanobjectnn

from pointea.data import DatasetError, PointCloudDataModule, ScanObjectNN
from pointea.data.download import fetch, main
from pointea.data.release_spec import ReleaseSpec


@pytest.fixture
def scan_root(tmp_path):
    root = tmp_path / "scanobjectnn"
    return root, write_scanobjectnn(root)


@pytest.mark.parametrize("variant", sorted(FILES))
@pytest.mark.parametrize("split", ["train", "test"])
def test_each_variant_reads_its_own_files(scan_root, variant, split):
    root, written = scan_root
    dataset = ScanObjectNN(root, split, num_points=32, variant=variant)
    expected = written[variant, split]
    assert torch.equal(dataset.arrays()["pos"], torch.from_numpy(expected["data"]))
    assert dataset.arrays()["y"].tolist() == expected["label"].tolist()
    assert set(dataset.arrays()) == {"pos", "y"}  # the mask is checked, not served
    assert dataset[3]["pos"].shape == (32, 3) and dataset[3]["y"] == 3


def test_tables_are_the_fifteen_classes_in_label_order(scan_root):
    root, _ = scan_root
    tables = ScanObjectNN.read_tables(ScanObjectNN.find(root))
    assert tables.class_names[:3] == ["bag", "bin", "box"] and tables.class_names[-1] == "toilet"
    assert tables.num_labels == 15 and tables.counts["num_classes"][0] == 15
    assert ScanObjectNN.stored_count(ScanObjectNN.find(root))[0] == 64


def test_an_absent_release_says_it_is_handed_out_on_request(tmp_path):
    with pytest.raises(DatasetError, match=r"on request.*--archive h5_files.zip.*data.root"):
        ScanObjectNN(tmp_path / "nothing", "train")


def test_a_missing_variant_names_its_file_and_what_is_there(scan_root):
    root, _ = scan_root
    (root / "h5_files" / "main_split" / "test_objectdataset_augmentedrs.h5").unlink()
    with pytest.raises(DatasetError, match=r"test_objectdataset_augmentedrs.h5 is missing.*holds"):
        ScanObjectNN(root, "test", variant="pb_t50_rs")
    with pytest.raises(DatasetError, match=r"variant must be one of .*'obj_bg'"):
        ScanObjectNN(root, "test", variant="OBJ-BG")


def _rewrite(path, **changes):
    with h5py.File(path, "r") as f:
        arrays = {k: f[k][()] for k in f}
    arrays.update(changes)
    for key in [k for k, v in changes.items() if v is None]:
        del arrays[key]
    with h5py.File(path, "w") as f:
        for key, value in arrays.items():
            f.create_dataset(key, data=value)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"label": np.full(30, 15)}, r"label 15 \(row 0\) is outside the 15 classes"),
        ({"label": np.full(30, -1)}, r"label -1 \(row 0\) is outside"),
        ({"mask": None}, r"key 'mask' is missing"),
        ({"mask": np.zeros((30, 63))}, r"'mask' must have shape \(30, 64\)"),
        ({"data": np.full((30, 64, 3), np.nan, np.float32)}, r"NaN or infinite"),
        ({"label": np.zeros(29, np.int64)}, r"'label' must have shape \(30, 1\)"),
        ({"label": np.zeros(30, np.float32)}, r"'label' must be integer"),
    ],
)
def test_malformed_files_are_refused_naming_the_file(scan_root, change, message):
    root, _ = scan_root
    path = root / "h5_files" / "main_split_nobg" / "training_objectdataset.h5"
    _rewrite(path, **change)
    with pytest.raises(DatasetError, match=message) as err:
        ScanObjectNN(root, "train", num_points=16, variant="obj_only")
    assert str(path) in str(err.value)


def test_a_truncated_file_is_refused_naming_it(scan_root):
    root, _ = scan_root
    path = root / "h5_files" / "main_split" / "training_objectdataset.h5"
    path.write_bytes(path.read_bytes()[:500])
    with pytest.raises(DatasetError, match=r"training_objectdataset.h5 is not a readable HDF5"):
        ScanObjectNN(root, "train", variant="obj_bg")


def test_validation_is_carved_from_train_stratified_and_test_untouched(scan_root):
    root, written = scan_root
    module = PointCloudDataModule(
        dataset=functools.partial(ScanObjectNN, variant="pb_t50_rs"),  # as Hydra builds it
        root=str(root),
        num_points=32,
        num_classes=15,
        val_fraction=0.34,
    )
    module.setup("fit")
    train, val = module.arrays["train"]["y"], module.arrays["val"]["y"]
    assert torch.bincount(val, minlength=15).tolist() == [1] * 15  # 45 = 3 per class
    assert torch.bincount(train, minlength=15).tolist() == [2] * 15
    assert module.arrays["test"]["y"].tolist() == written["pb_t50_rs", "test"]["label"].tolist()
    assert module.stored_points()[0] == 64


def _zip(root, archive):
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted((root / "h5_files").rglob("*.h5")):
            zf.write(path, str(path.relative_to(root)))
    return archive


def test_the_users_archive_installs_verified(scan_root, tmp_path):
    root, written = scan_root
    archive = _zip(root, tmp_path / "h5_files.zip")

    class SmallScanObjectNN(ScanObjectNN):  # the fixture's counts instead of the official
        download = ReleaseSpec(archive="h5_files.zip", counts={"train": 45, "test": 15}, points=64)

    folder = fetch(SmallScanObjectNN, tmp_path / "installed", archive=archive)
    assert folder == tmp_path / "installed" / "h5_files"
    again = ScanObjectNN(tmp_path / "installed", "test", num_points=32, variant="obj_only")
    assert again.arrays()["y"].tolist() == written["obj_only", "test"]["label"].tolist()


def test_the_cli_verifies_the_official_counts_and_leaves_nothing(scan_root, tmp_path, capsys):
    root, _ = scan_root
    archive = _zip(root, tmp_path / "h5_files.zip")
    target = tmp_path / "installed"
    assert main(["scanobjectnn", "--archive", str(archive), "--root", str(target)]) == 2
    assert "holds 45 shapes, expected 11416" in capsys.readouterr().err
    assert not (target / "h5_files").exists() and list(target.iterdir()) == []


def test_the_cli_without_an_archive_says_how_to_get_one(tmp_path, capsys):
    assert main(["scanobjectnn", "--root", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "on request" in err and "--archive h5_files.zip" in err
