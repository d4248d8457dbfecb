"""data=folder_seg: a folder of the user's own part-labelled files."""

import json
import logging

import numpy as np
import pytest
from folder_layouts import cloud, normalised, write_part_folder

from pointea.data import DatasetError, PartFolder

STORED = 96  # above every file's size: each file's points are kept in order, then repeated


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "parts"
    return root, write_part_folder(root, np.random.default_rng(0))


def _check_split(dataset, root, written):
    names = json.loads((root / "splits.json").read_text())[dataset.split]
    arrays = dataset.arrays()
    for i, rel in enumerate(sorted(names)):
        points, labels = written[rel]
        assert int(arrays["category"][i]) == ["chair", "lamp"].index(rel.split("/")[0])
        assert np.allclose(arrays["pos"][i, : len(points)].numpy(), normalised(points), atol=1e-4)
        assert arrays["y"][i, : len(labels)].tolist() == list(labels)


def test_label_columns_and_ply_properties_are_read(folder):
    root, written = folder
    reader = PartFolder(stored_points=STORED)
    tables = reader.read_tables(root)
    assert tables.class_names == ["chair", "lamp"] and tables.category_parts == [[0, 1, 2], [3, 4]]
    assert tables.counts["num_parts"][0] == 5 and tables.counts["num_categories"][0] == 2
    for split in ("train", "test"):
        _check_split(reader(root, split, 32), root, written)


def test_parts_json_names_categories_and_global_ids(folder):
    root, _ = folder
    (root / "parts.json").write_text(json.dumps(
        {"lamp": ["base", "shade"], "chair": ["back", "seat", "leg"]}
    ))  # fmt: skip
    with pytest.raises(
        DatasetError, match=r"(chair|lamp)_\d\.\w+: label \d is not a part of its category"
    ):
        PartFolder(stored_points=STORED)(root, "train", 32)
    (root / "parts.json").write_text(json.dumps(
        {"chair": ["back", "seat", "leg"], "lamp": ["base", "shade"], "sofa": ["arm"]}
    ))  # fmt: skip
    with pytest.raises(DatasetError, match=r"lists categories without files in .*\['sofa'\]"):
        PartFolder.read_tables(root)
    (root / "parts.json").write_text(json.dumps({"chair": ["back", "seat", "leg"]}))
    with pytest.raises(DatasetError, match=r"does not list the category folder\(s\) \['lamp'\]"):
        PartFolder.read_tables(root)
    (root / "parts.json").write_text(
        json.dumps({"chair": ["back", "seat", "leg"], "lamp": ["base", "shade"]})
    )
    tables = PartFolder.read_tables(root)
    assert tables.category_parts == [[0, 1, 2], [3, 4]]


def test_labels_disagreeing_with_parts_json_are_refused_naming_the_file(folder):
    root, _ = folder
    (root / "parts.json").write_text(
        json.dumps({"chair": ["back", "seat"], "lamp": ["a", "b", "c"]})
    )
    # chair's label 2 is lamp's first part under this table
    with pytest.raises(DatasetError, match=r"chair/chair_\d\.\w+: label 2 is not a part of its category chair \(global part ids 0..1, from .*parts.json\)"):  # fmt: skip
        PartFolder(stored_points=STORED)(root, "train", 32)


def test_labels_without_parts_json_must_be_apart_and_without_gaps(tmp_path):
    rng = np.random.default_rng(1)
    shared = tmp_path / "shared"
    write_part_folder(shared, rng, table=(("a", (0, 1)), ("b", (1, 2))))
    with pytest.raises(DatasetError, match=r"label 1 is used by categories a and b"):
        PartFolder.read_tables(shared)
    gaps = tmp_path / "gaps"
    write_part_folder(gaps, rng, table=(("a", (0, 1)), ("b", (3, 4))))
    with pytest.raises(DatasetError, match=r"no file uses label\(s\) \[2\]"):
        PartFolder.read_tables(gaps)


def test_one_category_may_lie_directly_in_the_folder(tmp_path):
    root, rng = tmp_path / "scans", np.random.default_rng(2)
    root.mkdir()
    for i in range(5):
        np.savetxt(root / f"{i}.txt", np.c_[cloud(rng, 60), rng.integers(0, 3, 60)])
    tables = PartFolder.read_tables(root)
    assert tables.class_names == ["scans"] and tables.category_parts == [[0, 1, 2]]
    assert len(PartFolder(stored_points=STORED)(root, "train", 32)) == 4  # round(0.2 * 5) to test


def test_a_ply_written_by_pointea_predict_is_training_data(folder):
    from pointea.vis.point_files import write_labeled_ply

    root, written = folder
    points, labels = cloud(np.random.default_rng(3), 70), np.repeat([3, 4], 35)
    write_labeled_ply(root / "lamp" / "corrected.ply", points, np.zeros((70, 3), np.uint8), labels)
    (root / "splits.json").write_text(json.dumps({
        "train": ["chair/chair_0.txt", "lamp/corrected.ply"], "test": ["lamp/lamp_1.npy"]
    }))  # fmt: skip
    dataset = PartFolder(stored_points=STORED)(root, "train", 32)
    assert np.allclose(dataset.arrays()["pos"][1, :70].numpy(), normalised(points), atol=1e-5)
    assert dataset.arrays()["y"][1, :70].tolist() == labels.tolist()


def test_hostile_files_are_skipped_and_named_in_one_line(folder, caplog):
    root, _ = folder
    rng = np.random.default_rng(4)
    bad = {
        "chair/half_label.txt": np.c_[cloud(rng, 10), np.full(10, 1.5)],
        "chair/negative.txt": np.c_[cloud(rng, 10), np.full(10, -1)],
        "chair/five_columns.txt": np.c_[cloud(rng, 10), np.ones((10, 2))],
        "chair/three_columns.npy": cloud(rng, 10),
    }
    for rel, table in bad.items():
        (np.save if rel.endswith(".npy") else np.savetxt)(root / rel, table)
    (root / "chair" / "nan.pts").write_text("0 0 0 1\n1 1 nan 1\n2 0 1 1\n")
    (root / "chair" / "nan_label.txt").write_text("0 0 0 1\n1 1 1 nan\n2 0 1 1\n")
    (root / "chair" / "binary.txt").write_bytes(bytes(range(1, 256)) * 3)
    (root / "chair" / "empty.pts").write_text("")
    (root / "lamp" / "cut.txt").write_text("0 0 0 3\n1 1 1 4\n2 2")
    (root / "lamp" / "nolabel.ply").write_text(
        "ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\nproperty float y\n"
        "property float z\nend_header\n0 0 0\n1 0 0\n0 1 1\n"
    )
    (root / "lamp" / "scan.pcd").write_text("not a labelled format\n")
    names = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    (root / "splits.json").write_text(
        json.dumps({"train": [n for n in names if n != "lamp/scan.pcd"], "test": []})
    )
    with caplog.at_level(logging.WARNING):
        dataset = PartFolder(stored_points=STORED)(root, "train", 32)
    (line,) = [r.getMessage() for r in caplog.records if "skipped" in r.getMessage()]
    assert "skipped 11 bad file(s)" in line
    for rel in [*bad, "chair/nan.pts", "chair/nan_label.txt", "chair/binary.txt",
                "chair/empty.pts", "lamp/cut.txt", "lamp/nolabel.ply", "lamp/scan.pcd"]:  # fmt: skip
        assert str(root / rel) in line
    assert len(dataset) == 8  # the written files only
