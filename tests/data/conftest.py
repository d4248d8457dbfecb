"""Fixtures: small releases in the official HDF5 layouts under tmp_path."""

import json

import numpy as np
import pytest
from h5_layouts import PART_TABLE, modelnet_arrays, parts_arrays, write_h5


@pytest.fixture
def modelnet_release(tmp_path):
    """modelnet40_ply_hdf5_2048/ with 2 train shards (5 + 4 shapes), 1 test shard (3)."""
    rng = np.random.default_rng(0)
    folder = tmp_path / "modelnet40_ply_hdf5_2048"
    folder.mkdir()
    shards = {
        "ply_data_train0.h5": modelnet_arrays(rng, 5),
        "ply_data_train1.h5": modelnet_arrays(rng, 4),
        "ply_data_test0.h5": modelnet_arrays(rng, 3),
    }
    for name, arrays in shards.items():
        write_h5(folder / name, **arrays)
    prefix = "data/modelnet40_ply_hdf5_2048/"
    (folder / "train_files.txt").write_text(
        f"{prefix}ply_data_train0.h5\n{prefix}ply_data_train1.h5\n"
    )
    (folder / "test_files.txt").write_text(f"{prefix}ply_data_test0.h5\n")
    (folder / "shape_names.txt").write_text("airplane\nbathtub\nbed\n")
    return folder, shards


@pytest.fixture
def parts_release(tmp_path):
    """hdf5_data/ with categories A (parts 0-1) and B (parts 2-4); 6 train, 3 val, 4 test."""
    rng = np.random.default_rng(1)
    folder = tmp_path / "hdf5_data"
    folder.mkdir()
    shards = {
        "ply_data_train0.h5": parts_arrays(rng, 6),
        "ply_data_val0.h5": parts_arrays(rng, 3),
        "ply_data_test0.h5": parts_arrays(rng, 4),
    }
    for name, arrays in shards.items():
        write_h5(folder / name, **arrays)
    for split in ("train", "val", "test"):
        (folder / f"{split}_hdf5_file_list.txt").write_text(f"hdf5_data/ply_data_{split}0.h5\n")
    (folder / "all_object_categories.txt").write_text("A\t100\nB\t200\n")
    (folder / "overallid_to_catid_partid.json").write_text(json.dumps(PART_TABLE))
    return folder, shards
