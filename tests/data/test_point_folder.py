"""data=folder: a folder of the user's own files, one sub-folder per class."""

import json
import logging
import os
import struct

import numpy as np
import pytest
from folder_layouts import normalised, write_class_folder

from pointea.data import DatasetError, PointFolder, folder_files

STORED = 64


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "mine"
    return root, write_class_folder(root, np.random.default_rng(0))


def _rows(dataset, root):
    """Relative path of each row of a split, in the reader's order (sorted within the split)."""
    table = json.loads((root / "splits.json").read_text())[dataset.split]
    return sorted(table)


def test_mixed_formats_and_sizes_are_normalised_and_resampled(folder):
    root, written = folder
    reader = PointFolder(stored_points=STORED)
    train, test = reader(root, "train", 32), reader(root, "test", 32)
    assert train.class_names == ["bowl", "mug", "vase"]  # the sub-folders, sorted
    for dataset in (train, test):
        for rel, pos, y in zip(
            _rows(dataset, root), dataset.arrays()["pos"], dataset.arrays()["y"], strict=True
        ):
            assert int(y) == ["bowl", "mug", "vase"].index(rel.split("/")[0])
            assert pos.shape == (STORED, 3)
            if rel.endswith(".off"):  # surface samples of a cube: each on a face
                p = pos.numpy()
                on_face = np.isclose(p, p.min(axis=0), atol=1e-5) | np.isclose(
                    p, p.max(axis=0), atol=1e-5
                )
                assert on_face.any(axis=1).all()
                assert np.isclose(np.linalg.norm(p, axis=1).max(), 1, atol=0.1)
                continue
            expected = normalised(written[rel])
            if len(expected) <= STORED:  # every point in file order, then repeats
                assert np.allclose(pos[: len(expected)].numpy(), expected, atol=1e-4)
            else:  # a subset of the file's points without repeats
                dist = np.linalg.norm(pos.numpy()[:, None] - expected[None], axis=2)
                assert (dist.min(axis=1) < 1e-4).all() and len(set(dist.argmin(axis=1))) == STORED


def test_the_split_is_stratified_written_and_read_back(folder):
    root, _ = folder
    reader = PointFolder(stored_points=STORED, test_fraction=0.4)
    reader(root, "train", 32)
    table = json.loads((root / "splits.json").read_text())
    for name in ("bowl", "mug", "vase"):  # 6 files per class: round(0.4 * 6) = 2 to test
        assert sum(f.startswith(f"{name}/") for f in table["test"]) == 2
        assert sum(f.startswith(f"{name}/") for f in table["train"]) == 4
    # edited by hand: a file moves to test, and the reader follows the file
    moved = table["train"].pop(0)
    table["test"].append(moved)
    (root / "splits.json").write_text(json.dumps(table))
    assert len(reader(root, "test", 32)) == 7 and len(reader(root, "train", 32)) == 11
    # another seed does not overwrite a split that exists
    PointFolder(stored_points=STORED, seed=5)(root, "train", 32)
    assert json.loads((root / "splits.json").read_text()) == table


def test_a_splits_file_naming_a_missing_file_is_refused_and_unlisted_files_warned(folder, caplog):
    root, _ = folder
    (root / "splits.json").write_text(json.dumps({"train": ["mug/gone.npy"], "test": []}))
    with pytest.raises(DatasetError, match=r"splits.json lists 1 file\(s\) .*mug/gone.npy"):
        PointFolder(stored_points=STORED)(root, "train", 32)
    (root / "splits.json").write_text(
        json.dumps({"train": ["mug/mug_0.npy", "bowl/bowl_0.npy", "vase/vase_0.npy"], "test": []})
    )
    with caplog.at_level(logging.WARNING):
        assert len(PointFolder(stored_points=STORED)(root, "train", 32)) == 3
    assert "15 file(s) of" in caplog.text and "are left out" in caplog.text
    (root / "splits.json").write_text("[1, 2]")
    with pytest.raises(DatasetError, match=r'splits.json: expected \{"train"'):
        PointFolder(stored_points=STORED)(root, "train", 32)


@pytest.mark.parametrize("layout", ["split_first", "modelnet"])
def test_train_and_test_folders_give_the_split(tmp_path, layout, caplog):
    root, rng = tmp_path / "m", np.random.default_rng(1)
    counts = {"train": 3, "test": 2}
    for name in ("chair", "desk"):
        for split, count in counts.items():
            folder = root / split / name if layout == "split_first" else root / name / split
            folder.mkdir(parents=True)
            for i in range(count):
                np.save(folder / f"{i}.npy", rng.normal(size=(70, 3)))
    (root / "README.txt").write_text("my scans\n")  # not data: named, not read
    reader = PointFolder(stored_points=STORED)
    with caplog.at_level(logging.WARNING):
        assert len(reader(root, "train", 32)) == 6 and len(reader(root, "test", 32)) == 4
    assert "skipped 1 bad file(s)" in caplog.text and "README.txt" in caplog.text
    assert reader.read_tables(root).class_names == ["chair", "desk"]
    assert not (root / "splits.json").exists()


def _truncated_ply(path, points):
    header = (f"ply\nformat binary_little_endian 1.0\nelement vertex {len(points)}\n"
              "property float x\nproperty float y\nproperty float z\nend_header\n").encode()  # fmt: skip
    body = b"".join(struct.pack("<3f", *p) for p in points)
    path.write_bytes(header + body[: len(body) // 2])


def test_bad_files_are_skipped_and_named_in_one_warning_line(folder, caplog):
    root, _ = folder
    bad = {
        "mug/empty.txt": b"",
        "mug/binary.txt": bytes(range(256)) * 4,
        "mug/nan.txt": b"0 0 0\n1 nan 1\n2 2 2\n",
        "mug/two_columns.txt": b"1 2\n3 4\n",
        "bowl/notes.md": b"# not a cloud\n",
        "bowl/coincide.npy": None,
    }
    for rel, data in bad.items():
        if data is not None:
            (root / rel).write_bytes(data)
    np.save(root / "bowl" / "coincide.npy", np.ones((10, 3)))
    _truncated_ply(root / "vase" / "cut.ply", np.random.default_rng(2).normal(size=(50, 3)))
    (root / "splits.json").write_text(json.dumps({"train": sorted(
        str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and p.suffix != ".md"
    ), "test": []}))  # fmt: skip
    with caplog.at_level(logging.WARNING):
        dataset = PointFolder(stored_points=STORED)(root, "train", 32)
    lines = [r.getMessage() for r in caplog.records if "skipped" in r.getMessage()]
    assert len(lines) == 1 and "skipped 7 bad file(s)" in lines[0]
    for rel in [*bad, "vase/cut.ply"]:
        assert str(root / rel) in lines[0]
    assert len(dataset) == 18  # the 18 good files, none of the bad


def test_a_class_of_only_bad_files_a_single_class_and_an_empty_folder_are_refused(tmp_path):
    root = tmp_path / "one"
    write_class_folder(root, np.random.default_rng(3), classes=("mug",))
    with pytest.raises(DatasetError, match=r"holds one class folder \(mug\); classification needs"):
        PointFolder(stored_points=STORED)(root, "train", 32)
    (root / "junk").mkdir()
    (root / "junk" / "a.txt").write_text("not numbers\n")
    with pytest.raises(DatasetError, match=r"junk has no usable training file"):
        PointFolder(stored_points=STORED)(root, "train", 32)
    (root / "junk" / "a.txt").unlink()
    (root / "junk" / "notes.md").write_text("no data here\n")
    with pytest.raises(DatasetError, match=r"the class folder\(s\) \['junk'\] hold no data file"):
        PointFolder(stored_points=STORED)(root, "train", 32)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match=r"holds no class folder with files"):
        PointFolder(stored_points=STORED)(tmp_path / "empty", "train", 32)
    with pytest.raises(DatasetError, match=r"does not exist: data.root must be a folder"):
        PointFolder(stored_points=STORED)(tmp_path / "nowhere", "train", 32)


def test_an_unreadable_folder_is_refused_naming_it(folder, monkeypatch):
    root, _ = folder
    real = os.scandir

    def scandir(path):
        if str(path).endswith("vase"):
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(folder_files.os, "scandir", scandir)
    monkeypatch.setattr(os, "scandir", scandir)  # os.walk lists folders with it
    with pytest.raises(DatasetError, match=r"vase cannot be read: Permission denied"):
        PointFolder(stored_points=STORED)(root, "train", 32)


def test_the_ingest_is_cached_and_rebuilt_when_a_file_changes(folder, monkeypatch):
    root, written = folder
    first = PointFolder(stored_points=STORED)(root, "train", 32).arrays()["pos"]

    def refuse(*args, **kwargs):
        raise AssertionError("parsed again")

    import pointea.vis.point_files as point_files

    monkeypatch.setattr(point_files, "read_points", refuse)
    again = PointFolder(stored_points=STORED)(root, "train", 32).arrays()["pos"]
    assert np.array_equal(first.numpy(), again.numpy())
    monkeypatch.undo()
    train = json.loads((root / "splits.json").read_text())["train"]
    rel = next(f for f in sorted(train) if f.endswith(".npy"))
    np.save(root / rel, np.eye(3) * 5)
    changed = PointFolder(stored_points=STORED)(root, "train", 32).arrays()["pos"]
    assert not np.array_equal(first.numpy(), changed.numpy())


def test_farthest_point_sampling_is_an_option(tmp_path):
    root, rng = tmp_path / "f", np.random.default_rng(4)
    for name in ("a", "b"):
        (root / name).mkdir(parents=True)
        for i in range(3):
            np.save(root / name / f"{i}.npy", rng.normal(size=(200, 3)))
    (root / "splits.json").write_text(
        json.dumps({"train": ["a/0.npy", "b/0.npy"], "test": ["a/1.npy"]})
    )
    stored = (
        PointFolder(stored_points=16, sampling="fps")(root, "train", 8).arrays()["pos"][0].numpy()
    )
    points = normalised(np.load(root / "a" / "0.npy"))
    picked, dist = [0], np.linalg.norm(points - points[0], axis=1)  # naive FPS from point 0
    for _ in range(15):
        picked.append(int(dist.argmax()))
        dist = np.minimum(dist, np.linalg.norm(points - points[picked[-1]], axis=1))
    assert np.allclose(stored, points[picked], atol=1e-5)


def test_options_are_checked_when_the_folder_is_asked_for(folder):
    root, _ = folder
    for options, message in (
        ({"sampling": "grid"}, r"sampling must be one of \['random', 'fps'\], got 'grid'"),
        ({"points": 3}, r"has no option\(s\) \['points'\]"),
        ({"test_fraction": 1.0}, r"test_fraction must be in \(0, 1\)"),
        (
            {"stored_points": 0},
            r"stored_points must be a positive integer \(points kept per cloud\), got 0",
        ),
    ):
        reader = PointFolder(**options)  # as Hydra builds it: nothing checked yet
        with pytest.raises(DatasetError, match=message):
            reader.read_tables(root)
    assert PointFolder(stored_points=128).stored_count(root)[0] == 128


def test_a_read_only_folder_keeps_its_seeded_split_in_memory(folder, monkeypatch, caplog):
    import contextlib

    import pointea.vis.atomic as atomic

    root, _ = folder

    @contextlib.contextmanager
    def read_only(path):
        raise PermissionError(13, "Permission denied", str(path))
        yield  # pragma: no cover

    monkeypatch.setattr(atomic, "atomic_output", read_only)
    with caplog.at_level(logging.WARNING):
        first = PointFolder(stored_points=STORED)(root, "test", 32).arrays()["pos"]
    assert "splits.json not written (" in caplog.text and not (root / "splits.json").exists()
    again = PointFolder(stored_points=STORED)(root, "test", 32).arrays()["pos"]
    assert np.array_equal(first.numpy(), again.numpy())  # the same seed, the same split
