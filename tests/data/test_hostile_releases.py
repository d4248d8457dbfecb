"""Releases, archives and interrupted work that a careless or hostile user leaves behind."""

import os
import shutil
import subprocess
import sys
import zipfile

import h5py
import numpy as np
import pytest
from h5_layouts import write_h5

from pointea.data import DatasetError, ModelNet40H5, PointCloudDataModule
from pointea.data.download import safe_extract
from pointea.data.owned_temporaries import make_owned_temporary, remove_dead_temporaries
from pointea.data.synthetic import SyntheticConfig, ensure_synthetic


def _module(folder, **kwargs):
    return PointCloudDataModule(
        dataset=ModelNet40H5, root=folder, num_points=16, num_classes=3, **kwargs
    )


# --- test shapes that are training shapes ---------------------------------------------------


def test_a_byte_copied_test_shard_is_refused_naming_both_files(modelnet_release):
    folder, _ = modelnet_release
    shutil.copy(folder / "ply_data_train1.h5", folder / "ply_data_test0.h5")
    with pytest.raises(
        DatasetError,
        match=rf"^4 of the 4 test shapes of {folder / 'ply_data_test0.h5'} are train shapes "
        rf"of {folder / 'ply_data_train1.h5'}: a test shape must not be a train shape",
    ):
        _module(folder).setup("fit")


def test_one_shard_under_two_names_is_refused(modelnet_release):
    folder, _ = modelnet_release
    os.symlink(folder / "ply_data_train0.h5", folder / "ply_data_test5.h5")
    (folder / "test_files.txt").write_text("ply_data_test0.h5\nply_data_test5.h5\n")
    with pytest.raises(DatasetError, match=r"5 of the 5 test shapes of .*ply_data_test5.h5 are "):
        _module(folder).setup("fit")


def test_a_few_shared_shapes_are_one_warning_line(modelnet_release, caplog):
    folder, shards = modelnet_release
    test = dict(shards["ply_data_test0.h5"])
    test["data"] = test["data"].copy()
    test["data"][1] = shards["ply_data_train0.h5"]["data"][4]  # 1 of 3 shapes
    write_h5(folder / "ply_data_test0.h5", **test)
    _module(folder).setup("fit")
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("pointea.data")]
    assert lines == [
        f"warning: 1 of the 3 test shapes of {folder / 'ply_data_test0.h5'} are train shapes "
        f"of {folder / 'ply_data_train0.h5'}"
    ]


def test_shapes_equal_in_their_first_points_only_are_not_shared(modelnet_release, caplog):
    folder, shards = modelnet_release
    test = dict(shards["ply_data_test0.h5"])
    test["data"] = shards["ply_data_train0.h5"]["data"][:3].copy()
    test["data"][:, -1] += 0.5  # the last point differs
    write_h5(folder / "ply_data_test0.h5", **test)
    _module(folder).setup("fit")
    assert not [r for r in caplog.records if r.name.startswith("pointea.data")]


# --- malformed shards and archives: one line naming the file --------------------------------


def test_data_stored_as_a_group_is_named(modelnet_release):
    folder, _ = modelnet_release
    with h5py.File(folder / "ply_data_test0.h5", "w") as f:
        f.create_group("data").create_dataset("x", data=np.zeros(3))
        f.create_dataset("label", data=np.zeros((3, 1), np.uint8))
    message = rf"^{folder / 'ply_data_test0.h5'}: 'data' is an HDF5 group, expected a dataset"
    with pytest.raises(DatasetError, match=message):
        ModelNet40H5(folder, "test", 16)
    with pytest.raises(DatasetError, match=message):
        _module(folder).stored_points()


def test_a_password_protected_zip_is_named(tmp_path):
    archive = tmp_path / "locked.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("modelnet40_ply_hdf5_2048/shape_names.txt", "a\n")
    data = bytearray(archive.read_bytes())
    # Set the 'encrypted' bit (general purpose flag bit 0) in the local and central headers.
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = data.index(signature) + offset
        data[at] |= 0x01
    archive.write_bytes(bytes(data))
    with pytest.raises(DatasetError) as refused:
        safe_extract(archive, tmp_path / "out")
    assert str(refused.value) == (
        f"{archive}: member 'modelnet40_ply_hdf5_2048/shape_names.txt' is encrypted (a "
        f"password-protected zip); extract it by hand and give data.root=PATH"
    )
    assert not (tmp_path / "out").exists()


# --- temporaries of killed processes --------------------------------------------------------


def _dead_pid():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_temporaries_of_dead_owners_are_removed_and_others_kept(tmp_path, monkeypatch):
    mine = make_owned_temporary(tmp_path, "modelnet40_ply_hdf5_2048", "download")
    assert f"-download-{os.getpid()}@" in mine.name
    dead_pid = _dead_pid()
    monkeypatch.setattr(os, "getpid", lambda: dead_pid)
    dead = make_owned_temporary(tmp_path, "hdf5_data", "staging")
    (dead / "half.h5").write_bytes(b"\x89HDF")
    monkeypatch.undo()
    user = tmp_path / ".hdf5_data-staging-notapid"  # not an owned name: a user's folder
    user.mkdir()
    elsewhere = tmp_path / f".hdf5_data-staging-{dead_pid}@another-host-abc123"
    elsewhere.mkdir()
    assert remove_dead_temporaries(tmp_path) == [dead]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [mine.name, user.name, elsewhere.name]
    )


def test_generation_and_download_clean_up_after_killed_runs(tmp_path, monkeypatch):
    dead_pid = _dead_pid()
    monkeypatch.setattr(os, "getpid", lambda: dead_pid)
    left = [
        make_owned_temporary(tmp_path, "modelnet40_ply_hdf5_2048", "generate"),
        make_owned_temporary(tmp_path, "modelnet40_ply_hdf5_2048", "download"),
    ]
    monkeypatch.undo()
    small = SyntheticConfig(num_points=32, cls_train_per_class=1, cls_test_per_class=1)
    ensure_synthetic(tmp_path, "synthetic_cls", small)
    assert not any(path.exists() for path in left)
    assert [p.name for p in tmp_path.iterdir()] == ["modelnet40_ply_hdf5_2048"]


def test_a_killed_generation_leaves_nothing_the_next_run_keeps(tmp_path):
    """kill -9 in the middle of generating the built-in data, then start again."""
    script = (
        "import os, signal\n"
        "from pointea.data import synthetic\n"
        "def die(folder, config):\n"
        "    (folder / 'half.h5').write_bytes(b'x')\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
        "synthetic._KINDS['synthetic_cls'] = ('modelnet40_ply_hdf5_2048', die)\n"
        f"synthetic.ensure_synthetic({str(tmp_path)!r}, 'synthetic_cls')\n"
    )
    killed = subprocess.run([sys.executable, "-c", script], env={**os.environ}, check=False)
    assert killed.returncode == -9
    assert [p.name.split("-")[1] for p in tmp_path.iterdir()] == ["generate"]
    small = SyntheticConfig(num_points=32, cls_train_per_class=1, cls_test_per_class=1)
    ensure_synthetic(tmp_path, "synthetic_cls", small)
    assert [p.name for p in tmp_path.iterdir()] == ["modelnet40_ply_hdf5_2048"]
