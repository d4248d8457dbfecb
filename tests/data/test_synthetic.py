import json

import numpy as np
import pytest

from pointea.data import ModelNet40H5, ShapeNetPartH5, SyntheticConfig, ensure_synthetic
from pointea.data.synthetic import CLASS_NAMES, CLASS_RECIPES, PART_CATEGORIES, sample_object

SMALL = SyntheticConfig(
    num_points=256,
    cls_train_per_class=3,
    cls_test_per_class=2,
    parts_train_per_category=3,
    parts_val_per_category=1,
    parts_test_per_category=2,
)


def test_classification_release_reads_back(tmp_path):
    folder = ensure_synthetic(tmp_path, "synthetic_cls", SMALL)
    train = ModelNet40H5(tmp_path, "train", num_points=256)
    test = ModelNet40H5(folder, "test", num_points=256)
    assert len(CLASS_NAMES) >= 10 and train.class_names == list(CLASS_NAMES)
    assert len(train) == 3 * len(CLASS_NAMES) and len(test) == 2 * len(CLASS_NAMES)
    assert np.bincount(train.labels.numpy()).tolist() == [3] * len(CLASS_NAMES)
    radius = train.points.norm(dim=-1).amax(dim=1)
    np.testing.assert_allclose(radius.numpy(), 1.0, atol=1e-5)  # unit sphere, as the official data
    np.testing.assert_allclose(train.points.mean(dim=1).numpy(), 0.0, atol=1e-5)


def test_part_release_reads_back_with_every_part_present(tmp_path):
    ensure_synthetic(tmp_path, "synthetic_parts", SMALL)
    ds = ShapeNetPartH5(tmp_path, "train", num_points=256)
    assert len(ds.category_names) >= 4
    assert all(2 <= len(parts) <= 4 for parts in ds.category_parts)
    assert ds.category_names == [name for name, _, _ in PART_CATEGORIES]
    for i in range(len(ds)):
        expected = set(ds.category_parts[int(ds.categories[i])])
        assert set(ds.parts[i].unique().tolist()) == expected
    assert (
        len(ShapeNetPartH5(tmp_path, "val", 256)) == 4
        and len(ShapeNetPartH5(tmp_path, "test", 256)) == 8
    )


def test_seeded_cached_and_regenerated_on_change(tmp_path):
    a = ensure_synthetic(tmp_path / "a", "synthetic_cls", SMALL)
    b = ensure_synthetic(tmp_path / "b", "synthetic_cls", SMALL)
    assert (a / "ply_data_train0.h5").read_bytes()[-4096:] == (
        b / "ply_data_train0.h5"
    ).read_bytes()[-4096:]
    shard = a / "ply_data_train0.h5"
    stamp = shard.stat().st_mtime_ns
    ensure_synthetic(tmp_path / "a", "synthetic_cls", SMALL)
    assert shard.stat().st_mtime_ns == stamp  # cached
    other = SyntheticConfig(**{**SMALL.__dict__, "seed": 1})
    ensure_synthetic(tmp_path / "a", "synthetic_cls", other)
    assert json.loads((a / "generator.json").read_text())["seed"] == 1
    assert not np.array_equal(
        ModelNet40H5(a, "train", 256).points, ModelNet40H5(b, "train", 256).points
    )
    assert [p.name for p in (tmp_path / "a").iterdir()] == [
        "modelnet40_ply_hdf5_2048"
    ]  # no staging left


def test_refuses_to_overwrite_a_foreign_folder(tmp_path):
    (tmp_path / "hdf5_data").mkdir()
    (tmp_path / "hdf5_data" / "mine.txt").write_text("keep")
    with pytest.raises(FileExistsError, match="not made by pointea"):
        ensure_synthetic(tmp_path, "synthetic_parts", SMALL)
    assert (tmp_path / "hdf5_data" / "mine.txt").read_text() == "keep"


def test_objects_differ_in_detail_where_meant_to():
    # A mug is a cup plus a handle: the same body recipe, a second part.
    rng = np.random.default_rng(0)
    assert {p[0] for p in CLASS_RECIPES["mug"](rng)} == {0, 1}
    assert {p[0] for p in CLASS_RECIPES["cup"](rng)} == {0}
    pts, labels = sample_object(rng, CLASS_RECIPES["mug"](rng), 512)
    assert pts.shape == (512, 3) and 0.02 < labels.mean() < 0.5


def test_part_release_names_its_parts(tmp_path):
    from pointea.data.part_names import read_part_names

    folder = ensure_synthetic(tmp_path, "synthetic_parts", SMALL)
    ds = ShapeNetPartH5(tmp_path, "test", num_points=256)
    names = read_part_names(folder, ds.category_names, ds.category_parts)
    assert names[ds.category_names.index("Mug")] == ["body", "handle"]
    assert names[ds.category_names.index("Rocket")] == ["body", "nose", "fin", "nozzle"]
    # A release without the file (the official one) gets numbered parts.
    (folder / "part_names.json").unlink()
    assert read_part_names(folder, ["Mug"], [[0, 1]]) == [["part 1", "part 2"]]


def test_small_parts_get_enough_points_to_be_learnt():
    # At their bare surface share a mug's handle got ~7% of a cloud (as little as 2%) and
    # the demo's segmenter never predicted it; the recipe samples it more densely.
    from pointea.data.synthetic import _PART_RECIPES

    rng = np.random.default_rng(0)
    handle = [
        (sample_object(rng, _PART_RECIPES["Mug"](rng), 1024)[1] == 1).mean() for _ in range(60)
    ]
    assert np.mean(handle) > 0.15 and np.min(handle) > 0.05
