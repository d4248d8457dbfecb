"""pointea-predict with networks that take normals, networks whose outputs are NaN, and
coordinates near the limits of floating point: checkpoints forged from a tiny trained run."""

import json

import numpy as np
import open3d as o3d
import pytest
import torch
from cli_helpers import compose_predict

from pointea.checkpoint import EMA_KEY, build_network, load_checkpoint, load_network
from pointea.cli.predict import predict
from pointea.data.user_clouds import resample_cloud

pytestmark = pytest.mark.vis


def forge(real, path, *, normals=False, nan=False):
    """``real``'s checkpoint with a network taking x y z and normals (fresh seeded weights),
    or with every weight NaN."""
    checkpoint = load_checkpoint(real)
    checkpoint.pop(EMA_KEY, None)
    meta = checkpoint["pointea"]
    if normals:
        meta["model"]["in_channels"] = 6
        torch.manual_seed(0)
        network = build_network(meta, str(path))
        checkpoint["state_dict"] = {f"model.{k}": v for k, v in network.state_dict().items()}
    if nan:
        checkpoint["state_dict"] = {
            k: v.clone().fill_(float("nan")) if v.is_floating_point() else v
            for k, v in checkpoint["state_dict"].items()
        }
    torch.save(checkpoint, path)
    return path


def sphere(count=300, radius=2.0, centre=(1.0, -1.0, 0.5)):
    i = np.arange(count) + 0.5
    polar, azimuth = np.arccos(1 - 2 * i / count), np.pi * (1 + 5**0.5) * i
    radial = np.stack(
        [np.cos(azimuth) * np.sin(polar), np.sin(azimuth) * np.sin(polar), np.cos(polar)], 1
    )
    return np.asarray(centre) + radius * radial, radial


def test_a_normals_network_gets_each_files_normals_or_estimates_them(trained_cls, tmp_path, capsys):
    ckpt = forge(trained_cls[0] / "checkpoints" / "last.ckpt", tmp_path / "n.ckpt", normals=True)
    points, radial = sphere()
    folder = tmp_path / "in"
    folder.mkdir()
    stored = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(points))
    stored.normals = o3d.utility.Vector3dVector(radial)
    o3d.io.write_point_cloud(str(folder / "a.ply"), stored)
    np.savetxt(folder / "b.xyz", np.hstack([points, radial]))
    np.save(folder / "c.npy", points)
    o3d.io.write_triangle_mesh(str(folder / "d.off"), o3d.geometry.TriangleMesh.create_box())
    results = predict(compose_predict(ckpt, folder, tmp_path / "out"))
    assert [r["normals"] for r in results] == ["given", "given", "estimated", "given"]
    out = capsys.readouterr().out
    assert out.count("takes normals") == 1 and "(normals estimated)" in out
    record = json.loads((tmp_path / "out" / "predictions.json").read_text())["results"]
    assert [r["normals"] for r in record] == ["given", "given", "estimated", "given"]
    # b.xyz by hand: normalised coordinates, the same resampled rows, their normals beside.
    network, meta = load_network(ckpt)
    unit = (points - points.mean(0)) / np.linalg.norm(points - points.mean(0), axis=1).max()
    pick = resample_cloud(unit.astype(np.float32), meta["num_points"], 0)
    rows = torch.tensor(np.hstack([unit[pick], radial[pick]])[None], dtype=torch.float32)
    with torch.no_grad():
        expected = network(rows).softmax(-1)[0]
    top = expected.topk(5)
    assert [t["class"] for t in results[1]["top5"]] == [
        meta["class_names"][int(i)] for i in top.indices
    ]
    np.testing.assert_allclose(
        [t["probability"] for t in results[1]["top5"]], top.values.numpy(), atol=1e-5
    )


def test_an_xyz_network_says_it_uses_no_normals(trained_cls, tmp_path):
    points, radial = sphere()
    np.savetxt(tmp_path / "b.txt", np.hstack([points, radial]))
    ckpt = trained_cls[0] / "checkpoints" / "last.ckpt"
    (result,) = predict(compose_predict(ckpt, tmp_path / "b.txt", tmp_path / "out"))
    assert result["normals"] == "unused" and "error" not in result


@pytest.mark.parametrize("task", ["cls", "seg"])
def test_nan_outputs_fail_each_file_and_write_no_labels(
    trained_cls, trained_seg, tmp_path, capsys, task
):
    real = (trained_cls if task == "cls" else trained_seg)[0] / "checkpoints" / "last.ckpt"
    ckpt = forge(real, tmp_path / "nan.ckpt", nan=True)
    folder, out = tmp_path / "in", tmp_path / "out"
    folder.mkdir()
    np.save(folder / "a.npy", sphere()[0])
    np.save(folder / "b.npy", sphere(centre=(5, 5, 5))[0])
    extra = ["category=lamp"] if task == "seg" else []
    results = predict(compose_predict(ckpt, folder, out, *extra))
    for result, name in zip(results, ("a.npy", "b.npy"), strict=True):
        assert result["error"] == (
            f"{folder / name}: the network's outputs are NaN or infinite (its weights hold NaN "
            f"or infinite values); no labels are given"
        )
        assert set(result) == {"file", "error", "checkpoint"}
    assert sorted(p.name for p in out.iterdir()) == ["predictions.json"]
    record = json.loads((out / "predictions.json").read_text())["results"]
    assert record == json.loads(json.dumps(results))
    assert capsys.readouterr().err.count("skipped: ") == 2


def test_coordinates_near_the_float_limits_are_predicted_as_at_unit_scale(trained_cls, tmp_path):
    cloud = np.random.default_rng(0).uniform(-1, 1, size=(300, 3))
    folder = tmp_path / "in"
    folder.mkdir()
    np.save(folder / "a_unit.npy", cloud)
    np.save(folder / "b_float32.npy", cloud.astype(np.float32) * np.float32(3e38))
    np.savetxt(folder / "c_float64.txt", cloud * 1e300)
    ckpt = trained_cls[0] / "checkpoints" / "last.ckpt"
    unit, huge32, huge64 = predict(compose_predict(ckpt, folder, tmp_path / "out"))
    for huge in (huge32, huge64):
        assert [t["class"] for t in huge["top5"]] == [t["class"] for t in unit["top5"]]
        np.testing.assert_allclose(
            [t["probability"] for t in huge["top5"]],
            [t["probability"] for t in unit["top5"]],
            atol=1e-5,
        )
