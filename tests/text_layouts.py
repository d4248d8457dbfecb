"""Tiny releases in PointNet++'s text layouts, written as the official archives lay them out.

``modelnet40_normal_resampled/``: ``modelnet{40,10}_shape_names.txt``,
``modelnet{40,10}_{train,test}.txt`` (shape ids), ``<class>/<class>_NNNN.txt`` with rows
``x,y,z,nx,ny,nz`` ("%f", comma-separated). ``shapenetcore_partanno_segmentation_benchmark_
v0_normal/``: ``synsetoffset2category.txt``, ``train_test_split/shuffled_{split}_file_list.json``
and ``<synset>/<id>.txt`` with rows ``x y z nx ny nz part`` (space-separated, part a float).
"""

import json

import numpy as np

from pointea.data.shapenet_part import OFFICIAL_CATEGORIES


def cloud(rng, rows):
    """Points on a random ellipsoid with unit normals. Shapes: -> (rows, 6) float64."""
    normal = rng.standard_normal((rows, 3))
    normal /= np.linalg.norm(normal, axis=1, keepdims=True)
    return np.concatenate([normal * rng.uniform(0.5, 1.0, 3), normal], axis=1)


def write_modelnet_normal(root, classes, counts, rows=64, seed=0, rows_of=None):
    """``root/modelnet40_normal_resampled`` with ``counts[split]`` shapes per class, the same
    classes in the modelnet40 and modelnet10 tables. Returns the folder and
    ``{split: [(shape id, label, table (rows, 6))]}``. ``rows_of(i)`` sizes shape i."""
    rng = np.random.default_rng(seed)
    folder = root / "modelnet40_normal_resampled"
    folder.mkdir(parents=True)
    shapes = {}
    number = 0
    for split, count in counts.items():
        shapes[split] = []
        for label, name in enumerate(classes):
            for _ in range(count):
                number += 1
                shape = f"{name}_{number:04d}"
                table = cloud(rng, rows_of(number) if rows_of else rows)
                (folder / name).mkdir(exist_ok=True)
                np.savetxt(folder / name / f"{shape}.txt", table, fmt="%f", delimiter=",")
                shapes[split].append((shape, label, table))
    for variant in ("modelnet40", "modelnet10"):
        (folder / f"{variant}_shape_names.txt").write_text("\n".join(classes) + "\n")
        for split, items in shapes.items():
            (folder / f"{variant}_{split}.txt").write_text("".join(f"{s}\n" for s, *_ in items))
    return folder, shapes


def write_shapenetpart_normal(root, counts, sizes=(40, 70, 55), seed=0, categories=(0, 4)):
    """``root/shapenetcore_partanno_segmentation_benchmark_v0_normal`` listing the 16 official
    categories, with ``counts[split]`` shapes of each category index in ``categories``;
    cloud sizes cycle through ``sizes``. Returns the folder and
    ``{split: [(synset, id, category, table (rows, 7))]}``."""
    rng = np.random.default_rng(seed)
    folder = root / "shapenetcore_partanno_segmentation_benchmark_v0_normal"
    (folder / "train_test_split").mkdir(parents=True)
    (folder / "synsetoffset2category.txt").write_text(
        "".join(f"{name}\t{synset}\n" for name, synset, *_ in OFFICIAL_CATEGORIES)
    )
    shapes = {}
    number = 0
    for split, count in counts.items():
        shapes[split] = []
        for category in categories:
            _, synset, parts, _ = OFFICIAL_CATEGORIES[category]
            for _ in range(count):
                rows = sizes[number % len(sizes)]
                number += 1
                shape = f"{number:08x}"
                part = rng.choice(parts, rows).astype(np.float64)
                table = np.concatenate([cloud(rng, rows), part[:, None]], axis=1)
                (folder / synset).mkdir(exist_ok=True)
                np.savetxt(folder / synset / f"{shape}.txt", table, fmt="%.5f")
                shapes[split].append((synset, shape, category, table))
        entries = [f"shape_data/{synset}/{shape}" for synset, shape, *_ in shapes[split]]
        (folder / "train_test_split" / f"shuffled_{split}_file_list.json").write_text(
            json.dumps(entries)
        )
    return folder, shapes
