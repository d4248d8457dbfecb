import pytest
import torch

from pointea.data import DatasetError, ModelNet40H5, PointCloudDataModule, ShapeNetPartH5
from pointea.data.synthetic import CLASS_NAMES, PART_CATEGORIES
from pointea.data.transforms import RandomAnisotropicScale, ShufflePoints

SMALL = dict(
    num_points=128,
    cls_train_per_class=10,
    cls_test_per_class=2,
    parts_train_per_category=4,
    parts_val_per_category=2,
    parts_test_per_category=3,
)


def cls_module(root, **kwargs):
    options = dict(
        dataset=ModelNet40H5,
        root=str(root),
        num_points=64,
        num_classes=len(CLASS_NAMES),
        batch_size=8,
        builtin="synthetic_cls",
        builtin_options=SMALL,
    )
    module = PointCloudDataModule(**{**options, **kwargs})
    module.prepare_data()
    module.setup("fit")
    return module


def test_classification_splits_are_stratified_and_test_untouched(tmp_path):
    module = cls_module(tmp_path, val_fraction=0.2)
    train, val, test = (module.arrays[s]["y"] for s in ("train", "val", "test"))
    assert torch.bincount(val).tolist() == [2] * len(CLASS_NAMES)
    assert len(train) == 8 * len(CLASS_NAMES) and len(test) == 2 * len(CLASS_NAMES)
    assert module.class_names == list(CLASS_NAMES)


def test_selecting_on_test_is_explicit(tmp_path):
    module = cls_module(tmp_path, select_on_test=True)
    assert torch.equal(module.arrays["val"]["pos"], module.arrays["test"]["pos"])
    assert len(module.arrays["train"]["y"]) == 10 * len(CLASS_NAMES)


def test_batches_have_the_configured_points_and_eval_is_unaugmented(tmp_path):
    module = cls_module(tmp_path, train_transforms=[RandomAnisotropicScale(), ShufflePoints()])
    batch = next(iter(module.train_dataloader()))
    assert batch["pos"].shape == (8, 64, 3) and batch["y"].shape == (8,)
    val = next(iter(module.val_dataloader()))
    assert torch.equal(val["pos"], module.arrays["val"]["pos"][:8, :64])  # first points, in order
    assert len(module.test_dataloader()) == 4  # 26 test shapes in batches of 8, last kept


def test_worker_loader_matches_device_loader(tmp_path):
    device = cls_module(tmp_path, train_transforms=[RandomAnisotropicScale()])
    workers = cls_module(
        tmp_path, train_transforms=[RandomAnisotropicScale()], loader="workers", num_workers=0
    )
    for a, b in zip(device.train_dataloader(), workers.train_dataloader(), strict=True):
        assert torch.equal(a["y"], b["y"])
        torch.testing.assert_close(a["pos"], b["pos"])


def test_config_facts_are_checked_against_the_release(tmp_path):
    with pytest.raises(DatasetError, match=r"data.num_classes=40 but .*shape_names.txt defines 13"):
        cls_module(tmp_path, num_classes=40)


def test_segmentation_module(tmp_path):
    num_parts = sum(len(p) for _, _, p in PART_CATEGORIES)
    module = PointCloudDataModule(
        dataset=ShapeNetPartH5,
        root=str(tmp_path),
        num_points=100,
        num_parts=num_parts,
        num_categories=4,
        batch_size=4,
        builtin="synthetic_parts",
        builtin_options=SMALL,
        random_subset=True,
    )
    module.prepare_data()
    module.setup("fit")
    batch = next(iter(module.train_dataloader()))
    assert (
        batch["pos"].shape == (4, 100, 3)
        and batch["y"].shape == (4, 100)
        and batch["category"].shape == (4,)
    )
    for i in range(4):  # random subset keeps each point's own label
        parts = module.category_parts[int(batch["category"][i])]
        assert set(batch["y"][i].tolist()) <= set(parts)
    assert len(module.arrays["val"]["y"]) == 8 and len(module.arrays["test"]["y"]) == 12
    with pytest.raises(DatasetError, match="data.num_categories=16"):
        bad = PointCloudDataModule(
            dataset=ShapeNetPartH5,
            root=str(tmp_path),
            num_points=100,
            num_parts=num_parts,
            num_categories=16,
            builtin="synthetic_parts",
            builtin_options=SMALL,
        )
        bad.prepare_data()
        bad.setup("fit")


def test_a_count_the_release_does_not_define_is_named(tmp_path):
    with pytest.raises(
        DatasetError, match=r"data.num_parts=5: the ModelNet40H5 release .* defines no num_parts"
    ):
        cls_module(tmp_path, num_parts=5)


def test_bad_loader_is_named():
    with pytest.raises(ValueError, match="data.loader must be"):
        PointCloudDataModule(
            dataset=ModelNet40H5, root=".", num_points=1, num_classes=1, loader="ray"
        )


def test_prepare_data_downloads_only_an_absent_release(tmp_path, modelnet_release, monkeypatch):
    import pointea.data.download as download

    calls = []
    monkeypatch.setattr(download, "fetch", lambda *args, **kwargs: calls.append((args, kwargs)))
    present = PointCloudDataModule(
        dataset=ModelNet40H5,
        root=str(modelnet_release[0].parent),
        num_points=16,
        num_classes=3,
        download=True,
    )
    present.prepare_data()
    assert calls == []
    absent = PointCloudDataModule(
        dataset=ModelNet40H5,
        root=str(tmp_path / "empty"),
        num_points=16,
        num_classes=3,
        download=True,
        urls=["http://mirror/m.zip"],
    )
    absent.prepare_data()
    assert calls == [
        (
            (ModelNet40H5, tmp_path / "empty"),
            {"urls": ["http://mirror/m.zip"], "stall_timeout": 60.0},
        )
    ]


def _data_option(tmp_path, yaml_text, overrides=()):
    """The data module a data option in a user's config folder composes to."""
    import shutil

    from cli_helpers import CONFIGS, compose_train
    from hydra.utils import instantiate

    configs = tmp_path / "configs"
    shutil.copytree(CONFIGS, configs, dirs_exist_ok=True)
    (configs / "data" / "mine.yaml").write_text(yaml_text)
    cfg = compose_train(
        ["data=mine", f"paths.data={tmp_path / 'datasets'}", *overrides],
        tmp_path / "run",
        config_dir=configs,
    )
    return instantiate(cfg.data)


def test_an_option_inheriting_a_download_does_not_fetch_into_its_own_root(tmp_path, monkeypatch):
    import pointea.data.download as download

    calls = []
    monkeypatch.setattr(download, "fetch", lambda *args, **kwargs: calls.append(args))
    mine = f"defaults:\n  - modelnet40\n  - _self_\nroot: {tmp_path / 'mine'}\n"
    module = _data_option(tmp_path, mine)
    with pytest.raises(
        DatasetError, match=r"mine holds no ModelNet40H5 release, and data.download="
    ):
        module.prepare_data()
    assert calls == [] and not (tmp_path / "mine").exists()
    # Saying so fetches into the option's own root; the option's parent still fetches into its own.
    _data_option(tmp_path, mine, ["data.download=true"]).prepare_data()
    assert calls == [(ModelNet40H5, tmp_path / "mine")]
    _data_option(tmp_path, "defaults:\n  - modelnet40\n  - _self_\n").prepare_data()
    assert calls[1] == (ModelNet40H5, tmp_path / "datasets" / "modelnet40")


def test_builtin_data_never_downloads(tmp_path, monkeypatch):
    import pointea.data.download as download

    monkeypatch.setattr(download, "fetch", lambda *args, **kwargs: pytest.fail("fetched"))
    mine = "defaults:\n  - synthetic_cls\n  - _self_\nbuiltin: null\n"
    with pytest.raises(DatasetError, match=r"holds no ModelNet40H5 release, and data.download"):
        _data_option(tmp_path, mine, ["data.download=${paths.data}/modelnet40"]).prepare_data()
    module = _data_option(tmp_path, mine)
    module.prepare_data()  # download: false (inherited from synthetic_cls): nothing happens
    with pytest.raises(DatasetError, match="synthetic_cls does not exist: expected modelnet40_"):
        module.read_tables()


def test_a_release_without_download_facts_says_to_give_the_root(tmp_path):
    class Unpublished(ModelNet40H5):
        download = None

    module = PointCloudDataModule(
        dataset=Unpublished, root=str(tmp_path), num_points=16, num_classes=3, download=True
    )
    with pytest.raises(DatasetError, match=r"^no download for Unpublished: give data.root=PATH"):
        module.prepare_data()
