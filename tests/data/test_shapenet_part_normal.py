"""ShapeNetPart in the text release shapenetcore_partanno_segmentation_benchmark_v0_normal."""

import json

import numpy as np
import pytest
import torch
from cli_helpers import compose_train
from text_layouts import write_shapenetpart_normal

from pointea.cli.train import run
from pointea.data import DatasetError, ShapeNetPartNormal
from pointea.data.shapenet_part import OFFICIAL_CATEGORIES


@pytest.fixture
def release(tmp_path):
    """Airplane and Earphone shapes of 40, 70 and 55 points: 3 train, 1 val, 2 test each."""
    return write_shapenetpart_normal(tmp_path, {"train": 3, "val": 1, "test": 2}, categories=(0, 5))


def test_variable_size_clouds_are_resampled_with_their_parts(release):
    folder, shapes = release
    data = ShapeNetPartNormal(folder.parent, "train", num_points=32, stored_points=64)
    arrays = data.arrays()
    assert arrays["pos"].shape == (6, 64, 3) and arrays["y"].shape == (6, 64)
    assert arrays["category"].tolist() == [0, 0, 0, 5, 5, 5]
    assert data.sizes.tolist() == [len(t) for *_, t in shapes["train"]]
    for i, (*_, table) in enumerate(shapes["train"]):
        # each stored point is a row of the file, with its normal and part
        stored = torch.cat([arrays["pos"], arrays["normals"], arrays["y"][..., None]], -1)[i]
        gap = np.abs(stored.double().numpy()[:, None] - table[None]).max(-1)  # (64, rows)
        assert (gap.min(1) < 1e-5).all()
        if len(table) < 64:  # a smaller cloud keeps every point, in order, then repeats
            np.testing.assert_allclose(stored[: len(table)].numpy(), table, atol=1e-5)
    tables = ShapeNetPartNormal.read_tables(folder)
    assert tables.class_names == [c[0] for c in OFFICIAL_CATEGORIES]
    assert tables.category_parts[5] == list(OFFICIAL_CATEGORIES[5][2])
    assert tables.counts["num_parts"][0] == 50


def test_trainval_joins_train_and_val(release):
    folder, _ = release
    data = ShapeNetPartNormal(folder, "trainval", num_points=32, stored_points=64)
    assert len(data) == 8


@pytest.mark.parametrize(
    "damage, match",
    [
        ("wrong part", r"\.txt: part 12 is not a part of its category Airplane \(parts \[0, 1,"),
        ("part outside", r"\.txt: row 1 has part 77, outside the global part ids 0..49"),
        ("fractional part", r"\.txt: row 1 has part 1.5, not a whole number"),
        ("columns", r"\.txt: line 1 has 6 columns, expected 7 \(x y z nx ny nz part\)"),
        ("bad json", r"shuffled_train_file_list.json is not a JSON list"),
        ("bad entry", r"entry 'oops' is not 'shape_data/<synset>/<shape id>'"),
        ("duplicate", r"shuffled_train_file_list.json lists '.*' more than once"),
        ("in two splits", r"is in both the train and the test split lists"),
        ("missing file", r"names 1 shape file\(s\) missing"),
        ("unknown synset", r"lists categories that are not ShapeNetPart's: \['Toaster 9999"),
    ],
)
def test_a_hostile_release_is_one_error_naming_the_file(release, damage, match):
    folder, shapes = release
    synset, shape, *_ = shapes["train"][0]
    path = folder / synset / f"{shape}.txt"
    table = np.loadtxt(path)
    lists = folder / "train_test_split"
    train = lists / "shuffled_train_file_list.json"
    entries = json.loads(train.read_text())
    if damage in ("wrong part", "part outside", "fractional part"):
        table[0, 6] = {"wrong part": 12, "part outside": 77, "fractional part": 1.5}[damage]
        np.savetxt(path, table, fmt="%.5f")
    elif damage == "columns":
        path.write_text("1 2 3 4 5 6\n" + "".join(path.read_text().splitlines(True)[1:]))
    elif damage == "bad json":
        train.write_text('["shape_data/')
    elif damage in ("bad entry", "duplicate"):
        train.write_text(json.dumps(entries + ["oops" if damage == "bad entry" else entries[0]]))
    elif damage == "in two splits":
        test = lists / "shuffled_test_file_list.json"
        test.write_text(json.dumps(json.loads(test.read_text()) + [entries[0]]))
    elif damage == "missing file":
        path.unlink()
    else:
        marker = folder / "synsetoffset2category.txt"
        marker.write_text(marker.read_text() + "Toaster\t9999\n")
    with pytest.raises(DatasetError, match=match) as err:
        ShapeNetPartNormal(folder, "train", num_points=32, stored_points=64)
    assert "\n" not in str(err.value)


TINY = [
    "model=pct_seg_tiny",
    "trainer=cpu",
    "data.num_points=32",
    "data.dataset.stored_points=64",
    "data.batch_size=4",
    "data.eval_batch_size=4",
    "model.k=4",
    "trainer.max_epochs=1",
    "trainer.limit_train_batches=1",
    "trainer.limit_val_batches=1",
    "trainer.limit_test_batches=1",
]


@pytest.mark.parametrize("features", [[], ["normals"]])
def test_train_and_test_from_the_readme_command(release, tmp_path, features):
    folder, _ = release
    overrides = ["data=shapenetpart_normal", f"data.root={folder.parent}", *TINY]
    if features:
        overrides += ["data.features=[normals]"]
    cfg = compose_train(overrides, tmp_path / "run")
    assert cfg.task.name == "seg" and cfg.model.in_channels == 3 + 3 * len(features)
    metrics = run(cfg)
    assert 0 <= metrics["test/instance_miou"] <= 1
