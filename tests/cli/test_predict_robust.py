"""predict never loses or fakes results: bad inputs are reported and skipped, folders are
scanned visibly, and earlier results in output_dir are refused or merged explicitly."""

import errno
import json
import os

import numpy as np
import pytest
from cli_helpers import compose_predict

from pointea.cli.predict import predict
from pointea.cli.run_config import ConfigError
from pointea.data import DatasetError, ModelNet40H5, ShapeNetPartH5
from pointea.vis.point_files import read_points
from pointea.vis.render import RenderError

pytestmark = pytest.mark.vis


def _strings(path):
    np.save(path, np.array([["a", "b", "c"]] * 10))


def test_an_npy_of_strings_is_a_named_dataset_error(tmp_path):
    _strings(tmp_path / "words.npy")
    with pytest.raises(
        DatasetError, match=r"words.npy: expected numbers, got an array of dtype <U1"
    ):
        read_points(tmp_path / "words.npy")


@pytest.fixture
def messy_folder(tmp_path, data_root, trained_cls):
    """Two good clouds, a string array, a sub-folder, a link loop and a broken link."""
    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    test = ModelNet40H5(data_root / "cls" / "modelnet40_ply_hdf5_2048", "test", 256)
    np.save(folder / "a.npy", test.points[0, :256].numpy())
    np.save(folder / "c.npy", test.points[1, :256].numpy())
    np.save(folder / "sub" / "inside.npy", test.points[2, :256].numpy())
    _strings(folder / "b.npy")
    os.symlink(folder / "loop2", folder / "loop1")
    os.symlink(folder / "loop1", folder / "loop2")
    os.symlink(folder / "gone.npy", folder / "broken.npy")
    return folder


def test_unreadable_inputs_are_reported_and_the_rest_predicted(
    trained_cls, messy_folder, tmp_path, capsys
):
    run_dir, _ = trained_cls
    ckpt = run_dir / "checkpoints" / "last.ckpt"
    results = predict(compose_predict(ckpt, messy_folder, tmp_path / "out"))
    by_name = {r["file"].split("/")[-1]: r for r in results}
    assert sorted(by_name) == ["a.npy", "b.npy", "broken.npy", "c.npy", "loop1", "loop2", "sub"]
    assert "top5" in by_name["a.npy"] and "top5" in by_name["c.npy"]
    errors = {name: r["error"] for name, r in by_name.items() if "error" in r}
    assert "b.npy: expected numbers" in errors["b.npy"]
    assert errors["sub"].endswith(
        "sub: a sub-folder; predict reads only the files directly in input= (give the sub-folder as input= to predict it)"
    )
    assert errors["loop1"].endswith("loop1: a symbolic link loop")
    assert errors["loop2"].endswith("loop2: a symbolic link loop")
    assert "broken.npy: a broken symbolic link" in errors["broken.npy"]
    record = json.loads((tmp_path / "out" / "predictions.json").read_text())
    assert record["results"] == json.loads(json.dumps(results))
    err = capsys.readouterr().err
    assert err.count("skipped: ") == 5 and "Traceback" not in err


def test_an_output_dir_with_earlier_results_is_refused(trained_cls, messy_folder, tmp_path):
    run_dir, _ = trained_cls
    ckpt = run_dir / "checkpoints" / "last.ckpt"
    out = tmp_path / "out"
    predict(compose_predict(ckpt, messy_folder / "a.npy", out))
    before = (out / "predictions.json").read_bytes()
    with pytest.raises(
        ConfigError,
        match=rf"output_dir={out} holds earlier predictions \(predictions.json\); choose another "
        r"output_dir, remove them, or pass merge=true",
    ):
        predict(compose_predict(ckpt, messy_folder / "c.npy", out))
    assert (out / "predictions.json").read_bytes() == before


def test_merge_keeps_earlier_results_and_leaves_no_stale_output(trained_seg, data_root, tmp_path):
    run_dir, _ = trained_seg
    ckpt = run_dir / "checkpoints" / "last.ckpt"
    test = ShapeNetPartH5(data_root / "seg" / "hdf5_data", "test", 256)
    first, second, out = tmp_path / "first", tmp_path / "second", tmp_path / "out"
    first.mkdir()
    second.mkdir()
    np.save(first / "a.npy", test.points[0, :256].numpy())
    np.save(first / "b.npy", test.points[1, :256].numpy())
    predict(compose_predict(ckpt, first, out, "category=lamp"))

    def outputs():
        return sorted(p.name for p in out.glob("*.parts.*"))

    def recorded():
        return [
            (r["file"], "error" in r)
            for r in json.loads((out / "predictions.json").read_text())["results"]
        ]

    assert outputs() == ["a.npy.parts.ply", "a.npy.parts.png", "b.npy.parts.ply", "b.npy.parts.png"]
    # b.npy became unreadable: its new result is an error, its old outputs go.
    _strings(first / "b.npy")
    predict(compose_predict(ckpt, first / "b.npy", out, "category=lamp", "merge=true"))
    assert recorded() == [(str(first / "a.npy"), False), (str(first / "b.npy"), True)]
    assert outputs() == ["a.npy.parts.ply", "a.npy.parts.png"]
    # Another a.npy writes the same output files: the earlier a.npy result is replaced.
    np.save(second / "a.npy", test.points[2, :256].numpy())
    predict(compose_predict(ckpt, second / "a.npy", out, "category=lamp", "merge=true"))
    assert recorded() == [(str(first / "b.npy"), True), (str(second / "a.npy"), False)]
    assert outputs() == ["a.npy.parts.ply", "a.npy.parts.png"]


@pytest.mark.parametrize(
    "failure",
    [RenderError("no EGL context"), OSError(errno.ENOSPC, "No space left on device")],
    ids=["render", "full-disk"],
)
def test_a_failed_picture_keeps_the_ply_and_the_other_files(
    trained_seg, data_root, tmp_path, monkeypatch, capsys, failure
):
    """The first file's picture fails: its labelled PLY stands and is recorded with the
    error; the second file is still predicted whole; predictions.json is written."""
    import pointea.cli.file_predictions as flow

    run_dir, _ = trained_seg
    test = ShapeNetPartH5(data_root / "seg" / "hdf5_data", "test", 256)
    folder, out = tmp_path / "in", tmp_path / "out"
    folder.mkdir()
    np.save(folder / "a.npy", test.points[0, :256].numpy())
    np.save(folder / "b.npy", test.points[1, :256].numpy())
    real, calls = flow.render_cloud, []

    def render_once_failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise failure
        return real(*args, **kwargs)

    monkeypatch.setattr(flow, "render_cloud", render_once_failing)
    ckpt = run_dir / "checkpoints" / "last.ckpt"
    results = predict(compose_predict(ckpt, folder, out, "category=lamp"))
    a, b = results
    assert a["ply"] == str(out / "a.npy.parts.ply") and "png" not in a
    assert a["error"].startswith("the PLY was written, the picture was not")
    assert "error" not in b and b["png"] == str(out / "b.npy.parts.png")
    assert sorted(p.name for p in out.iterdir()) == [
        "a.npy.parts.ply", "b.npy.parts.ply", "b.npy.parts.png", "predictions.json"
    ]  # fmt: skip
    record = json.loads((out / "predictions.json").read_text())["results"]
    assert record == json.loads(json.dumps(results))
    assert "Traceback" not in capsys.readouterr().err
