"""Small raw folders in the layouts PyG's own ModelNet and ShapeNet classes read (no download).

ModelNet: ``root/raw/<class>/{train,test}/<class>_NNNN.off``, one folder per ModelNet10 class
(PyG looks for all ten before it processes instead of downloading). ShapeNet: ``root/raw`` is
``shapenetcore_partanno_segmentation_benchmark_v0_normal``: a folder per synset (all sixteen
present), ``<synset>/<id>.txt`` rows ``x y z nx ny nz part`` (global part id, as a float) and
``train_test_split/shuffled_{train,val,test}_file_list.json`` naming ``shape_data/<synset>/<id>``.
"""

import json

import numpy as np

MODELNET10 = [
    "bathtub", "bed", "chair", "desk", "dresser", "monitor", "night_stand", "sofa", "table",
    "toilet",
]  # fmt: skip
SHAPENET_SYNSETS = {
    "Airplane": "02691156", "Bag": "02773838", "Cap": "02954340", "Car": "02958343",
    "Chair": "03001627", "Earphone": "03261776", "Guitar": "03467517", "Knife": "03624134",
    "Lamp": "03636649", "Laptop": "03642806", "Motorbike": "03790512", "Mug": "03797390",
    "Pistol": "03948459", "Rocket": "04099429", "Skateboard": "04225987", "Table": "04379243",
}  # fmt: skip
# the two categories the fixture fills, with their global part ids
SHAPENET_FILLED = {"Airplane": [0, 1, 2, 3], "Cap": [6, 7]}


def box_off(half: float) -> str:
    """A closed box of half-size ``half`` (8 vertices, 12 triangles) in OFF."""
    corners = [(x, y, z) for x in (-half, half) for y in (-half, half) for z in (-half, half)]
    faces = [
        (0, 1, 3), (0, 3, 2), (4, 6, 7), (4, 7, 5), (0, 4, 5), (0, 5, 1),
        (2, 3, 7), (2, 7, 6), (0, 2, 6), (0, 6, 4), (1, 5, 7), (1, 7, 3),
    ]  # fmt: skip
    lines = ["OFF", f"{len(corners)} {len(faces)} 0"]
    lines += [f"{x} {y} {z}" for x, y, z in corners]
    lines += [f"3 {a} {b} {c}" for a, b, c in faces]
    return "\n".join(lines) + "\n"


def write_modelnet_raw(root, train_per_class=3, test_per_class=1):
    """Boxes whose half-size is 0.1 * (1 + label), so a cloud's extent gives its class.

    Returns {split: [label per written file]}.
    """
    written = {"train": [], "test": []}
    for label, name in enumerate(sorted(MODELNET10)):
        for split, count in (("train", train_per_class), ("test", test_per_class)):
            folder = root / "raw" / name / split
            folder.mkdir(parents=True)
            for i in range(count):
                (folder / f"{name}_{i + 1:04d}.off").write_text(box_off(0.1 * (1 + label)))
                written[split].append(label)
    return written


def write_shapenet_raw(root, sizes=None, seed=0):
    """Airplane and Cap shapes of different sizes in train, val and test; the other fourteen
    synset folders exist and are empty.

    Returns {split: [(category name, rows (n, 7) float)]} in file-list order.
    """
    rng = np.random.default_rng(seed)
    raw = root / "raw"
    for synset in SHAPENET_SYNSETS.values():
        (raw / synset).mkdir(parents=True)
    sizes = sizes or {"train": [40, 90, 70, 55], "val": [48, 80], "test": [66, 30]}
    written = {}
    (raw / "train_test_split").mkdir()
    for split, counts in sizes.items():
        entries, shapes = [], []
        for i, count in enumerate(counts):
            name = ("Airplane", "Cap")[i % 2]
            rows = np.zeros((count, 7))
            rows[:, :3] = rng.uniform(-1, 1, (count, 3))
            normals = rng.normal(size=(count, 3))
            rows[:, 3:6] = normals / np.linalg.norm(normals, axis=1, keepdims=True)
            rows[:, 6] = rng.choice(SHAPENET_FILLED[name], count)
            shape_id = f"{split}{i:03d}"
            np.savetxt(raw / SHAPENET_SYNSETS[name] / f"{shape_id}.txt", rows, fmt="%.6f")
            entries.append(f"shape_data/{SHAPENET_SYNSETS[name]}/{shape_id}")
            shapes.append((name, np.loadtxt(raw / SHAPENET_SYNSETS[name] / f"{shape_id}.txt")))
        path = raw / "train_test_split" / f"shuffled_{split}_file_list.json"
        path.write_text(json.dumps(entries))
        written[split] = shapes
    return written
