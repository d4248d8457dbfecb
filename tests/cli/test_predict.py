import json

import numpy as np
import open3d as o3d
import pytest
import torch
from cli_helpers import compose_predict

from pointea.checkpoint import load_model, load_network
from pointea.cli.predict import predict
from pointea.cli.run_config import ConfigError
from pointea.data import ModelNet40H5, ShapeNetPartH5
from pointea.data.user_clouds import normalise_cloud, resample_cloud
from pointea.ops import knn
from pointea.tasks.part_iou import category_part_mask, restrict_to_category
from pointea.vis.point_files import read_labeled_ply

pytestmark = pytest.mark.vis


@pytest.fixture
def user_files(tmp_path, data_root, trained_seg):
    """A folder of good files in several formats, and bad ones."""
    folder = tmp_path / "in"
    folder.mkdir()
    test = ShapeNetPartH5(data_root / "seg" / "hdf5_data", "test", 256)
    lamp = int((test.categories == 2).nonzero()[0])
    shape = test.points[lamp, :256].numpy() * 3 + 1  # other scale and offset than training
    np.save(folder / "lamp.npy", shape)
    np.savetxt(folder / "lamp.txt", shape[:200])  # fewer points than the model's 256: repeats
    o3d.io.write_point_cloud(
        str(folder / "lamp.ply"), o3d.geometry.PointCloud(o3d.utility.Vector3dVector(shape))
    )
    mesh = o3d.geometry.TriangleMesh.create_cylinder(0.3, 2.0)
    o3d.io.write_triangle_mesh(str(folder / "tube.off"), mesh)
    (folder / "empty.xyz").write_text("")
    (folder / "broken.npy").write_bytes(b"not numpy")
    np.savetxt(folder / "nan.txt", np.array([[0, 0, 0], [np.nan, 1, 1]]))
    np.savetxt(folder / "tiny.txt", np.random.default_rng(0).random((4, 3)))
    (folder / "notes.md").write_text("hello")
    return folder


def test_segmenter_labels_every_input_point_and_skips_bad_files(trained_seg, user_files, tmp_path):
    run_dir, _ = trained_seg
    ckpt = run_dir / "checkpoints" / "last.ckpt"
    results = predict(compose_predict(ckpt, user_files, tmp_path / "out", "category=lamp"))
    by_name = {r["file"].split("/")[-1]: r for r in results}
    assert sorted(by_name) == sorted(p.name for p in user_files.iterdir())
    errors = {name: r["error"] for name, r in by_name.items() if "error" in r}
    assert set(errors) == {"empty.xyz", "broken.npy", "nan.txt", "tiny.txt", "notes.md"}
    assert "empty.xyz: the cloud is empty" in errors["empty.xyz"]
    assert "nan.txt: 1 point(s) have NaN" in errors["nan.txt"]
    assert "tiny.txt: 4 points, fewer than the 12 the model needs" in errors["tiny.txt"]
    assert "unsupported format .md" in errors["notes.md"]
    recorded = json.loads((tmp_path / "out" / "predictions.json").read_text())["results"]
    assert recorded == json.loads(json.dumps(results))
    # Independent check of the mapping for lamp.npy: the model on the resampled points,
    # then the nearest resampled point's part for every input point.
    network, meta = load_network(ckpt)
    raw = np.load(user_files / "lamp.npy")
    points = normalise_cloud(raw)
    sample = torch.from_numpy(points[resample_cloud(points, 256, 0)]).unsqueeze(0)
    category = torch.tensor([2])
    mask = category_part_mask(meta["category_parts"], meta["num_parts"])
    with torch.no_grad():
        sampled = restrict_to_category(network(sample, category), category, mask)[0]
    expected = sampled[knn(torch.from_numpy(points).unsqueeze(0), sample, 1)[0, :, 0]].numpy()
    ply_points, _, labels = read_labeled_ply(tmp_path / "out" / "lamp.npy.parts.ply")
    np.testing.assert_allclose(ply_points, raw, atol=1e-5)  # the user's own coordinates
    assert np.array_equal(labels, expected) and set(labels) <= {4, 5, 6}
    assert (
        len(read_labeled_ply(tmp_path / "out" / "tube.off.parts.ply")[2]) == 10_000
    )  # mesh samples
    assert (tmp_path / "out" / "lamp.npy.parts.png").is_file()
    outputs = sorted(p.name for p in (tmp_path / "out").glob("*.parts.ply"))
    assert outputs == [
        "lamp.npy.parts.ply",
        "lamp.ply.parts.ply",
        "lamp.txt.parts.ply",
        "tube.off.parts.ply",
    ]


def test_classifier_reports_top5(trained_cls, data_root, tmp_path):
    run_dir, _ = trained_cls
    test = ModelNet40H5(data_root / "cls" / "modelnet40_ply_hdf5_2048", "test", 256)
    np.save(tmp_path / "shape.npy", test.points[0, :256].numpy())
    (result,) = predict(
        compose_predict(
            run_dir / "checkpoints" / "last.ckpt", tmp_path / "shape.npy", tmp_path / "out"
        )
    )
    probs = [t["probability"] for t in result["top5"]]
    assert len(probs) == 5 and probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1 + 1e-6
    network, meta = load_network(run_dir / "checkpoints" / "last.ckpt")
    points = normalise_cloud(test.points[0, :256].numpy().astype(np.float64))
    with torch.no_grad():
        expected = network(
            torch.from_numpy(points[resample_cloud(points, 256, 0)]).unsqueeze(0)
        ).softmax(-1)[0]
    assert result["top5"][0]["class"] == meta["class_names"][int(expected.argmax())]


def test_category_from_a_classifier_checkpoint(trained_seg, trained_cls, user_files, tmp_path):
    seg_dir, _ = trained_seg
    cls_dir, _ = trained_cls
    results = predict(
        compose_predict(
            seg_dir / "checkpoints" / "last.ckpt",
            user_files / "lamp.npy",
            tmp_path / "out",
            f"cls_ckpt_path={cls_dir / 'checkpoints' / 'last.ckpt'}",
        )
    )
    assert results[0]["category"] in ("Mug", "Table", "Lamp", "Rocket")
    assert results[0]["category_from"].startswith("classifier")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["category=Teapot"], "unknown category 'Teapot'.*Mug, Table, Lamp, Rocket"),
        ([], "is a part segmenter: give category=NAME or cls_ckpt_path=CKPT"),
        (
            ["cls_ckpt_path=SEG"],
            "is a task=seg checkpoint; a classifier's checkpoint is needed here",
        ),
    ],
)
def test_configuration_errors(trained_seg, user_files, tmp_path, extra, message):
    run_dir, _ = trained_seg
    ckpt = run_dir / "checkpoints" / "last.ckpt"
    extra = [e.replace("SEG", str(ckpt)) for e in extra]
    with pytest.raises(ConfigError, match=message):
        predict(compose_predict(ckpt, user_files / "lamp.npy", tmp_path / "out", *extra))


def test_a_classifier_refuses_category_as_the_api_does(trained_cls, tmp_path):
    ckpt = trained_cls[0] / "checkpoints" / "last.ckpt"
    cloud = tmp_path / "cloud.xyz"
    np.savetxt(cloud, np.random.default_rng(0).normal(size=(300, 3)))
    with pytest.raises(ConfigError, match=r"category= is for part segmenters; .* is a classifier"):
        predict(compose_predict(ckpt, cloud, tmp_path / "out", "category=Mug"))
    assert not (tmp_path / "out").exists()
    with pytest.raises(ValueError, match="category= is for part segmenters"):
        load_model(ckpt).predict(np.loadtxt(cloud), category="Mug")
