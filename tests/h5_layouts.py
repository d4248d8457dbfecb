"""Writers of small releases in the official HDF5 layouts, with h5py directly (independent
of pointea's own writer)."""

import h5py
import numpy as np


def write_h5(path, **arrays):
    with h5py.File(path, "w") as f:
        for key, value in arrays.items():
            f.create_dataset(key, data=value)


def modelnet_arrays(rng, count, num_classes=3, points=64):
    return {
        "data": rng.uniform(-1, 1, (count, points, 3)).astype(np.float32),
        "label": rng.integers(0, num_classes, (count, 1)).astype(np.uint8),
    }


PART_TABLE = [["100", 1], ["100", 2], ["200", 1], ["200", 2], ["200", 3]]  # A: 0-1, B: 2-4


def parts_arrays(rng, count, points=64):
    category = rng.integers(0, 2, count)
    pid = np.where(
        category[:, None] == 0,
        rng.integers(0, 2, (count, points)),
        rng.integers(2, 5, (count, points)),
    )
    return {
        "data": rng.uniform(-1, 1, (count, points, 3)).astype(np.float32),
        "label": category.astype(np.uint8)[:, None],
        "pid": pid.astype(np.uint8),
    }
