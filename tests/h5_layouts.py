"""Writers of small releases in the official HDF5 layouts, with h5py directly (independent
of pointea's own writer)."""

import json

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


# Written out independently of pointea's facts block: (name, synset, first part, parts,
# shapes in train / val / test) of the 16 categories.
OFFICIAL = [
    ("Airplane", "02691156", 0, 4, 1958, 391, 341),
    ("Bag", "02773838", 4, 2, 54, 8, 14),
    ("Cap", "02954340", 6, 2, 39, 5, 11),
    ("Car", "02958343", 8, 4, 659, 81, 158),
    ("Chair", "03001627", 12, 4, 2658, 396, 704),
    ("Earphone", "03261776", 16, 3, 49, 6, 14),
    ("Guitar", "03467517", 19, 3, 550, 78, 159),
    ("Knife", "03624134", 22, 2, 277, 35, 80),
    ("Lamp", "03636649", 24, 4, 1118, 143, 286),
    ("Laptop", "03642806", 28, 2, 324, 44, 83),
    ("Motorbike", "03790512", 30, 6, 125, 26, 51),
    ("Mug", "03797390", 36, 2, 130, 16, 38),
    ("Pistol", "03948459", 38, 3, 209, 30, 44),
    ("Rocket", "04099429", 41, 3, 46, 8, 12),
    ("Skateboard", "04225987", 44, 3, 106, 15, 31),
    ("Table", "04379243", 47, 3, 3835, 588, 848),
]
SPLITS = ("train", "val", "test")


def write_official_shapenetpart(folder, counts=None, points=8, value=None):
    """hdf5_data/ in the official layout listing the 16 official categories, with the official
    per-category counts or ``counts`` ({split: 16 counts}); ``points`` per shape, random in
    [-1, 1] or all ``value``. Each shape's points carry the first part of its category."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for s, split in enumerate(SPLITS):
        per_category = counts[split] if counts else [row[4 + s] for row in OFFICIAL]
        labels = rng.permutation(np.repeat(np.arange(16), per_category))
        first = np.array([row[2] for row in OFFICIAL])
        data = rng.uniform(-1, 1, (len(labels), points, 3)).astype(np.float32)
        if value is not None:
            data[:] = value
        pid = np.repeat(first[labels][:, None], points, axis=1)
        names = []
        for i, start in enumerate(range(0, len(labels), 2048)):
            name = f"ply_data_{split}{i}.h5"
            rows = slice(start, start + 2048)
            write_h5(
                folder / name,
                data=data[rows],
                label=labels[rows].astype(np.uint8)[:, None],
                pid=pid[rows].astype(np.uint8),
            )
            names.append(f"hdf5_data/{name}")
        (folder / f"{split}_hdf5_file_list.txt").write_text("\n".join(names) + "\n")
    (folder / "all_object_categories.txt").write_text(
        "".join(f"{row[0]}\t{row[1]}\n" for row in OFFICIAL)
    )
    table = [[row[1], local + 1] for row in OFFICIAL for local in range(row[3])]
    (folder / "overallid_to_catid_partid.json").write_text(json.dumps(table))
    return folder
