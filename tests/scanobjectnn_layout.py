"""A small ScanObjectNN release in its exact layout, written with h5py directly."""

import numpy as np
from h5_layouts import write_h5

# variant -> (sub-folder, file suffix); tiny counts (train, test) per variant
FILES = {
    "obj_bg": ("main_split", "", (30, 12)),
    "obj_only": ("main_split_nobg", "", (30, 12)),
    "pb_t50_rs": ("main_split", "_augmentedrs", (45, 15)),
}


def scan_arrays(rng, count, points=64, num_classes=15):
    """Keys as the release stores them: label (n,), mask (n, points)."""
    return {
        "data": rng.uniform(-1, 1, (count, points, 3)).astype(np.float32),
        "label": (np.arange(count) % num_classes).astype(np.int64),
        "mask": rng.integers(0, 2, (count, points)).astype(np.int64),
    }


def write_scanobjectnn(root, points=64, seed=0):
    """root/h5_files/{main_split,main_split_nobg}/{training,test}_objectdataset*.h5;
    returns {(variant, split): arrays}."""
    rng = np.random.default_rng(seed)
    written = {}
    for variant, (sub, suffix, counts) in FILES.items():
        folder = root / "h5_files" / sub
        folder.mkdir(parents=True, exist_ok=True)
        for stem, split, count in (("training", "train", counts[0]), ("test", "test", counts[1])):
            arrays = scan_arrays(rng, count, points)
            write_h5(folder / f"{stem}_objectdataset{suffix}.h5", **arrays)
            written[variant, split] = arrays
    return written
