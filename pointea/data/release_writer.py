"""Writing point sets in the official HDF5 release layouts (used by the built-in datasets,
the mesh converter and the tests' fixtures)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import h5py
import numpy as np

from pointea.data.modelnet40 import ModelNet40H5
from pointea.data.shapenet_part import ShapeNetPartH5

__all__ = ["SHARD_SIZE", "write_modelnet40_layout", "write_shapenetpart_layout"]

SHARD_SIZE = 2048  # shapes per shard, as in the official releases


def _write_split(
    folder: Path, split: str, arrays: Mapping[str, np.ndarray], list_prefix: str
) -> list[str]:
    """Shards ``ply_data_{split}{i}.h5``; returns the list-file lines naming them."""
    lines = []
    count = len(arrays["data"])
    for shard, start in enumerate(range(0, max(count, 1), SHARD_SIZE)):
        name = f"ply_data_{split}{shard}.h5"
        with h5py.File(folder / name, "w") as f:
            for key, value in arrays.items():
                f.create_dataset(key, data=value[start : start + SHARD_SIZE])
        lines.append(f"{list_prefix}{name}")
    return lines


def write_modelnet40_layout(
    folder: Path,
    splits: Mapping[str, tuple[np.ndarray, np.ndarray]],
    class_names: Sequence[str],
) -> None:
    """``folder`` gets shards, ``{split}_files.txt`` and ``shape_names.txt``.

    Shapes:
        splits[name] = (points (S, P, 3) float, labels (S,) int)
    """
    folder.mkdir(parents=True, exist_ok=True)
    for split, (points, labels) in splits.items():
        arrays = {
            "data": np.asarray(points, dtype=np.float32),
            "label": np.asarray(labels, dtype=np.uint8).reshape(-1, 1),
        }
        # The official lists carry the path inside the repository that made them.
        lines = _write_split(folder, split, arrays, f"data/{folder.name}/")
        (folder / ModelNet40H5.list_file.format(split=split)).write_text("\n".join(lines) + "\n")
    (folder / ModelNet40H5.marker).write_text("\n".join(class_names) + "\n")


def write_shapenetpart_layout(
    folder: Path,
    splits: Mapping[str, tuple[np.ndarray, np.ndarray, np.ndarray]],
    categories: Sequence[tuple[str, str]],
    category_parts: Sequence[Sequence[int]],
) -> None:
    """``folder`` gets shards, ``{split}_hdf5_file_list.txt`` and the category/part tables.

    Shapes:
        splits[name] = (points (S, P, 3) float, categories (S,) int, parts (S, P) int)
        categories: (name, synset id) per category; category_parts: global part ids each
    """
    folder.mkdir(parents=True, exist_ok=True)
    for split, (points, cats, parts) in splits.items():
        arrays = {
            "data": np.asarray(points, dtype=np.float32),
            "label": np.asarray(cats, dtype=np.uint8).reshape(-1, 1),
            "pid": np.asarray(parts, dtype=np.uint8),
        }
        lines = _write_split(folder, split, arrays, "")
        list_file = folder / ShapeNetPartH5.list_file.format(split=split)
        list_file.write_text("\n".join(lines) + "\n")
    (folder / ShapeNetPartH5.marker).write_text(
        "".join(f"{name}\t{synset}\n" for name, synset in categories)
    )
    # One [synset, 1-based local part] entry per global part id, in global id order.
    table = [
        [categories[c][1], local + 1]
        for c, ids in enumerate(category_parts)
        for local in range(len(ids))
    ]
    order = np.argsort([g for ids in category_parts for g in ids], kind="stable")
    (folder / ShapeNetPartH5.part_table).write_text(json.dumps([table[i] for i in order]))
