import shutil

import numpy as np
import pytest
import torch
from cli_helpers import compose_train, tiny_overrides
from PIL import Image

from pointea.checkpoint import load_network
from pointea.cli.run_config import ConfigError
from pointea.cli.visualize import visualize
from pointea.data import ShapeNetPartH5
from pointea.tasks.part_iou import category_part_mask, restrict_to_category
from pointea.vis import PALETTE
from pointea.vis.point_files import read_labeled_ply
from pointea.vis.window import NoDisplayError

pytestmark = pytest.mark.vis


def visualize_cfg(run_dir, data, root, out, *extra):
    """The visualize config over the tiny test data (same generator options, so it is reused)."""
    options = next(o for o in tiny_overrides(root) if o.startswith("+data.builtin_options"))
    return compose_train(
        [
            options,
            f"ckpt_path={run_dir / 'checkpoints' / 'last.ckpt'}",
            f"data={data}",
            f"data.root={root}",
            "data.num_points=256",
            f"output_dir={out}",
            "num_shapes=3",
            *extra,
        ],
        out,
        config_name="visualize",
    )


def test_segmentation_pictures_and_plys_show_the_models_parts(trained_seg, data_root, tmp_path):
    run_dir, _ = trained_seg
    out = visualize(visualize_cfg(run_dir, "synthetic_parts", data_root / "seg", tmp_path / "vis"))
    assert sorted(p.name for p in out.glob("*.png")) == [
        "contact_sheet.png",
        "shape_000.png",
        "shape_001.png",
        "shape_002.png",
    ]
    network, meta = load_network(run_dir / "checkpoints" / "last.ckpt")
    test = ShapeNetPartH5(data_root / "seg" / "hdf5_data", "test", 256)
    mask = category_part_mask(meta["category_parts"], meta["num_parts"])
    with torch.no_grad():
        expected = restrict_to_category(
            network(test.points[:3, :256], test.categories[:3]), test.categories[:3], mask
        )
    categories = test.categories[:3].tolist()
    for i in range(3):
        points, colors, labels = read_labeled_ply(out / f"shape_{i:03d}_pred.ply")
        assert np.array_equal(labels, expected[i].numpy())  # the model's own output
        assert np.array_equal(colors, PALETTE[labels % len(PALETTE)])
        _, _, truth = read_labeled_ply(out / f"shape_{i:03d}_true.ply")
        assert np.array_equal(truth, test.parts[i, :256].numpy())
        # The prediction panel (left half, below the title) shows only the predicted parts'
        # colours, depth-shaded: each pixel is one of them scaled by a factor in [0.45, 1].
        panel = np.asarray(Image.open(out / f"shape_{i:03d}.png").convert("RGB"))
        left = panel[30:430, :400].reshape(-1, 3).astype(float)
        drawn = left[(left != 255).any(axis=1) & ((left > 2).any(axis=1))]
        palette = PALETTE[np.unique(labels) % len(PALETTE)].astype(float)
        factor = (drawn @ palette.T / (palette**2).sum(1)).clip(0.45, 1)  # (pixels, colours)
        residual = np.abs(drawn[:, None, :] - factor[..., None] * palette[None]).max(-1).min(-1)
        assert len(drawn) > 500 and np.mean(residual <= 3) > 0.97
        # Below the panels, a legend shows the colour of each part of the shape's category.
        legend = panel[460:]
        for part in meta["category_parts"][categories[i]]:
            assert (legend == PALETTE[part % len(PALETTE)]).all(-1).sum() >= 100


def test_classification_pictures(trained_cls, data_root, tmp_path):
    run_dir, _ = trained_cls
    out = visualize(visualize_cfg(run_dir, "synthetic_cls", data_root / "cls", tmp_path / "vis"))
    assert len(list(out.glob("shape_*.png"))) == 3 and len(list(out.glob("shape_*_pred.ply"))) == 3
    sheet = np.asarray(Image.open(out / "contact_sheet.png").convert("RGB"))
    assert (sheet != 255).any(axis=-1).mean() > 0.01


def test_a_smaller_redraw_leaves_only_its_own_shapes(trained_cls, data_root, tmp_path):
    run_dir, _ = trained_cls
    out = tmp_path / "vis"
    visualize(visualize_cfg(run_dir, "synthetic_cls", data_root / "cls", out))
    (out / "notes.txt").write_text("the user's own file")
    (out / "shape_050_photo.jpg").write_text("the user's own picture")
    visualize(visualize_cfg(run_dir, "synthetic_cls", data_root / "cls", out, "num_shapes=2"))
    assert sorted(p.name for p in out.iterdir()) == [
        ".visualize.json", "contact_sheet.png", "notes.txt", "shape_000.png",
        "shape_000_pred.ply", "shape_001.png", "shape_001_pred.ply", "shape_050_photo.jpg",
    ]  # fmt: skip


def test_show_without_a_display_says_so(trained_cls, data_root, tmp_path, monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    run_dir, _ = trained_cls
    with pytest.raises(NoDisplayError, match="show=true needs a display"):
        visualize(
            visualize_cfg(
                run_dir, "synthetic_cls", data_root / "cls", tmp_path / "vis", "show=true"
            )
        )
    assert (tmp_path / "vis" / "contact_sheet.png").is_file()  # the files were still written


def test_checkpoint_of_the_other_task(trained_cls, data_root, tmp_path):
    run_dir, _ = trained_cls
    with pytest.raises(
        ConfigError,
        match=r"is a task=cls checkpoint, but this data \(dataset pointea.data.ShapeNetPartH5\) is for task=seg",
    ):
        visualize(visualize_cfg(run_dir, "synthetic_parts", data_root / "seg", tmp_path / "vis"))


def _release_files(root):
    return {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize("loose", [False, True])
def test_other_builtin_options_never_regenerate_the_trained_on_release(
    trained_cls, data_root, tmp_path, loose
):
    """The run trained on cls_train_per_class=8 (tiny_overrides). From its run folder the
    recorded options are compared; a checkpoint outside a run folder meets the release's
    own record (generator.json). Either way the release stays as it was."""
    run_dir, _ = trained_cls
    ckpt = run_dir / "checkpoints" / "last.ckpt"
    if loose:
        ckpt = tmp_path / "loose.ckpt"
        shutil.copy(run_dir / "checkpoints" / "last.ckpt", ckpt)
    before = _release_files(data_root / "cls")
    options = (
        "+data.builtin_options={num_points: 256, cls_train_per_class: 9, cls_test_per_class: 2, "
        "parts_train_per_category: 6, parts_val_per_category: 2, parts_test_per_category: 2}"
    )
    cfg = compose_train(
        [options, f"ckpt_path={ckpt}", "data=synthetic_cls", f"data.root={data_root / 'cls'}",
         "data.num_points=256", f"output_dir={tmp_path / 'vis'}", "num_shapes=3"],
        tmp_path, config_name="visualize",
    )  # fmt: skip
    if loose:
        expected = (
            f"{data_root / 'cls' / 'modelnet40_ply_hdf5_2048'} holds data.builtin=synthetic_cls "
            f"generated with data.builtin_options {{cls_train_per_class: 8}}, but this visualize "
            f"gives {{cls_train_per_class: 9}}"
        )
    else:
        expected = (
            f"{ckpt} was trained on data.builtin=synthetic_cls generated with "
            f"data.builtin_options {{cls_train_per_class: 8}} (recorded in {run_dir / 'config.yaml'}), "
            f"but this visualize gives {{cls_train_per_class: 9}}"
        )
    with pytest.raises(ConfigError) as refused:
        visualize(cfg)
    assert str(refused.value).startswith(expected)
    assert _release_files(data_root / "cls") == before
    assert not (tmp_path / "vis").exists()
