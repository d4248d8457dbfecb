"""ModelNet40/10 in PointNet++'s text release: reading, hostile files, a tiny run."""

import numpy as np
import pytest
import torch
from cli_helpers import compose_train
from text_layouts import write_modelnet_normal

from pointea.cli.train import run
from pointea.data import DatasetError, ModelNet10Normal, ModelNet40Normal

CLASSES = ["airplane", "night_stand", "cup"]


@pytest.fixture
def release(tmp_path):
    """3 classes, 4 train and 2 test shapes each, 64 rows, a few shapes of other sizes."""
    sizes = {3: 50, 7: 90}
    return write_modelnet_normal(
        tmp_path, CLASSES, {"train": 4, "test": 2}, rows_of=lambda i: sizes.get(i, 64)
    )


def test_a_split_holds_the_files_points_normals_and_labels(release):
    folder, shapes = release
    data = ModelNet40Normal(folder.parent, "train", num_points=32, stored_points=64)
    arrays = data.arrays()
    assert arrays["pos"].shape == (12, 64, 3) and arrays["normals"].shape == (12, 64, 3)
    assert arrays["y"].tolist() == [label for _, label, _ in shapes["train"]]
    for i, (_, _, table) in enumerate(shapes["train"]):
        expected = torch.from_numpy(np.float32(np.round(table, 6)))
        if len(table) == 64:  # a shape of the stored count keeps its file order
            torch.testing.assert_close(arrays["pos"][i], expected[:, :3], rtol=0, atol=1e-6)
            torch.testing.assert_close(arrays["normals"][i], expected[:, 3:], rtol=0, atol=1e-6)
        else:  # resampled: every stored row is a row of the file
            gap = np.abs(arrays["pos"][i].double().numpy()[:, None] - table[None, :, :3])
            assert (gap.max(-1).min(1) < 1e-5).all()
    assert data[0]["pos"].shape == (32, 3)
    assert data.class_names == CLASSES


def test_modelnet10_reads_its_own_tables(release):
    folder, _ = release
    (folder / "modelnet10_shape_names.txt").write_text("cup\nairplane\n")
    (folder / "modelnet10_train.txt").write_text("cup_0011\nairplane_0001\n")
    data = ModelNet10Normal(folder, "train", num_points=16, stored_points=64)
    assert data.arrays()["y"].tolist() == [0, 1]
    assert ModelNet10Normal.read_tables(folder).counts["num_classes"][0] == 2


def test_the_second_load_comes_from_the_cache(release, monkeypatch):
    folder, _ = release
    first = ModelNet40Normal(folder, "test", stored_points=64, num_points=16).arrays()
    assert (folder / ".pointea_cache" / "modelnet40_test.h5").is_file()
    import pointea.data.modelnet_normal as module

    monkeypatch.setattr(module, "_parse_shape", lambda path: pytest.fail(f"parsed {path}"))
    again = ModelNet40Normal(folder, "test", stored_points=64, num_points=16).arrays()
    for key in first:
        torch.testing.assert_close(again[key], first[key])


def _ids(folder, split):
    return (folder / f"modelnet40_{split}.txt").read_text().split()


@pytest.mark.parametrize(
    "damage, match",
    [
        ("nan", r"airplane_0001.txt: row 2 holds a NaN"),
        ("columns", r"airplane_0001.txt: line 1 has 3 columns, expected 6 \(x,y,z,nx,ny,nz\)"),
        ("truncated", r"airplane_0001.txt: line \d+ has \d columns.*truncated"),
        ("empty", r"airplane_0001.txt is empty"),
        ("binary", r"airplane_0001.txt is not a text file"),
        ("missing file", r"modelnet40_train.txt names 1 shape file\(s\) missing .*airplane_0001"),
        ("duplicate id", r"modelnet40_train.txt lists shape 'airplane_0001' more than once"),
        ("in both splits", r"'airplane_0001' is in both .*modelnet40_train.txt and .*test.txt"),
        ("unknown class", r"shape 'chair_0001' is of class 'chair', which is not among the 3"),
        ("no list", r"split list .*modelnet40_train.txt is missing"),
    ],
)
def test_a_hostile_release_is_one_error_naming_the_file(release, damage, match):
    folder, _ = release
    shape = folder / "airplane" / "airplane_0001.txt"
    lines = shape.read_text().splitlines(keepends=True)
    train = folder / "modelnet40_train.txt"
    if damage == "nan":
        shape.write_text(lines[0] + "nan,0,0,1,0,0\n" + "".join(lines[2:]))
    elif damage == "columns":
        shape.write_text("1,2,3\n" + "".join(lines[1:]))
    elif damage == "truncated":
        shape.write_bytes(shape.read_bytes()[:-20])
    elif damage == "empty":
        shape.write_text("")
    elif damage == "binary":
        shape.write_bytes(b"\x00\x01\x02" * 10)
    elif damage == "missing file":
        shape.unlink()
    elif damage == "duplicate id":
        train.write_text(train.read_text() + "airplane_0001\n")
    elif damage == "in both splits":
        test = folder / "modelnet40_test.txt"
        test.write_text(test.read_text() + "airplane_0001\n")
    elif damage == "unknown class":
        train.write_text(train.read_text() + "chair_0001\n")
    else:
        train.unlink()
    with pytest.raises(DatasetError, match=match) as err:
        ModelNet40Normal(folder, "train", num_points=16, stored_points=64)
    assert "\n" not in str(err.value)
    assert not list((folder / ".pointea_cache").glob("*train*"))  # nothing cached half


def test_an_unreadable_folder_is_named(tmp_path):
    with pytest.raises(DatasetError, match=r"nowhere does not exist: expected modelnet40_norm"):
        ModelNet40Normal(tmp_path / "nowhere", "train")


TINY = [
    "model=pct_cls_tiny",
    "trainer=cpu",
    "data.num_points=32",
    "data.dataset.stored_points=64",
    "data.batch_size=4",
    "data.eval_batch_size=4",
    "model.num_samples=[16,8]",
    "model.k=4",
    "trainer.max_epochs=1",
    "trainer.limit_train_batches=2",
    "trainer.limit_val_batches=1",
    "trainer.limit_test_batches=1",
]


def test_train_and_test_from_the_readme_command(release, tmp_path):
    folder, _ = release
    cfg = compose_train(
        ["data=modelnet40_normal", f"data.root={folder.parent}", "data.num_classes=3", *TINY],
        tmp_path / "run",
    )
    assert cfg.task.name == "cls" and cfg.model.in_channels == 3
    metrics = run(cfg)
    assert 0 <= metrics["test/oa"] <= 1


def test_normals_as_features_give_the_network_six_channels(release, tmp_path):
    folder, _ = release
    overrides = ["data=modelnet10_normal", f"data.root={folder}", "data.num_classes=3", *TINY]
    overrides += ["data.features=[normals]"]
    cfg = compose_train(overrides, tmp_path / "run")
    assert cfg.model.in_channels == 6
    metrics = run(cfg)
    assert 0 <= metrics["test/oa"] <= 1
    ckpt = torch.load(tmp_path / "run" / "checkpoints" / "last.ckpt", weights_only=True)
    assert ckpt["state_dict"]["model.embed.0.linear.weight"].shape[1] == 6
    # visualize must be given the features the network was trained with
    from pointea.cli.run_config import ConfigError
    from pointea.cli.visualize import visualize

    shown = [
        f"ckpt_path={tmp_path / 'run' / 'checkpoints' / 'last.ckpt'}",
        "data=modelnet10_normal",
        f"data.root={folder}",
        "data.num_classes=3",
        "data.num_points=32",
        "data.dataset.stored_points=64",
        f"output_dir={tmp_path / 'vis'}",
        "num_shapes=2",
    ]
    plain = compose_train(shown, tmp_path / "vis", config_name="visualize")
    with pytest.raises(ConfigError, match=r"takes 6 channels per point, but data.features=\[\]"):
        visualize(plain)


def test_features_that_disagree_with_in_channels_are_refused(release, tmp_path):
    folder, _ = release
    overrides = ["data=modelnet40_normal", f"data.root={folder}", "data.num_classes=3", *TINY]
    cfg = compose_train([*overrides, "data.features=[normals]", "data.in_channels=3"], tmp_path)
    with pytest.raises(DatasetError, match=r"feeds 6 channels .*leave data.in_channels unset"):
        run(cfg)


@pytest.mark.parametrize("option", ["modelnet40", "shapenetpart", "folder", "scanobjectnn",
                                    "pyg_shapenet", "synthetic_cls", "shapenetpart_normal"])  # fmt: skip
def test_in_channels_follows_features_in_every_data_option(option, tmp_path):
    plain = compose_train([f"data={option}"], tmp_path / "plain")
    normals = compose_train([f"data={option}", "data.features=[normals]"], tmp_path / "normals")
    assert (plain.data.in_channels, plain.model.in_channels) == (3, 3)
    assert (normals.data.in_channels, normals.model.in_channels) == (6, 6)


def test_a_feature_given_as_a_word_is_refused_in_one_line(release, tmp_path):
    folder, _ = release
    overrides = ["data=modelnet40_normal", f"data.root={folder}", "data.num_classes=3", *TINY]
    cfg = compose_train([*overrides, "data.features=normals"], tmp_path)
    with pytest.raises(DatasetError, match=r"data.features must be a list .*\[normals\]"):
        run(cfg)


def test_normals_from_a_release_without_them_are_refused(modelnet_release):
    from pointea.data import ModelNet40H5, PointCloudDataModule

    folder, _ = modelnet_release
    data = PointCloudDataModule(
        dataset=ModelNet40H5, root=str(folder), num_points=16, features=["normals"]
    )
    with pytest.raises(DatasetError, match=r"data.features=\['normals'\]: the ModelNet40H5 rel"):
        data.read_tables()


@pytest.mark.vis
def test_visualize_feeds_the_normals_a_network_was_trained_with(release, tmp_path):
    from pointea.cli.visualize import visualize

    folder, _ = release
    overrides = ["data=modelnet40_normal", f"data.root={folder}", "data.num_classes=3", *TINY]
    normals = ["data.features=[normals]"]
    run(compose_train([*overrides, *normals], tmp_path / "run"))
    shown = [
        f"ckpt_path={tmp_path / 'run' / 'checkpoints' / 'last.ckpt'}",
        "data=modelnet40_normal",
        f"data.root={folder}",
        "data.num_classes=3",
        "data.num_points=32",
        "data.dataset.stored_points=64",
        f"output_dir={tmp_path / 'vis'}",
        "num_shapes=2",
        *normals,
    ]
    out = visualize(compose_train(shown, tmp_path / "vis", config_name="visualize"))
    assert len(list(out.glob("shape_*.png"))) == 2
