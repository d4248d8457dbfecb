"""Outputs are written atomically and checked: a failed or lying writer leaves the earlier
file (or none) and no temporary file, and says which file it was."""

import errno
import json
import pathlib

import numpy as np
import open3d as o3d
import pytest
from PIL import Image

from pointea.cli.outputs import write_json
from pointea.cli.run_config import exit_on_user_error
from pointea.vis.atomic import WriteError
from pointea.vis.figures import save_png
from pointea.vis.plots import plot_iou_bars
from pointea.vis.point_files import read_labeled_ply, write_labeled_ply

pytestmark = pytest.mark.vis

N = 50


@pytest.fixture
def cloud():
    rng = np.random.default_rng(0)
    return (
        rng.uniform(-1, 1, (N, 3)),
        rng.integers(0, 255, (N, 3)).astype(np.uint8),
        np.arange(N) % 4,
    )


def _names(folder):
    return sorted(p.name for p in folder.iterdir())


def test_a_truncated_ply_never_replaces_the_output(tmp_path, cloud, monkeypatch):
    path = tmp_path / "shape.parts.ply"
    write_labeled_ply(path, *cloud)
    before = path.read_bytes()

    def lying_writer(filename, pointcloud, *args, **kwargs):
        # A full disk mid-write: the header promises 2,000,000 vertices, the body stops.
        header = (
            "ply\nformat binary_little_endian 1.0\nelement vertex 2000000\n"
            "property float x\nproperty float y\nproperty float z\n"
            "property uchar red\nproperty uchar green\nproperty uchar blue\n"
            "property int label\nend_header\n"
        )
        pathlib.Path(filename).write_bytes(header.encode() + b"\0" * 1000)
        return True  # and Open3D reports success

    monkeypatch.setattr(o3d.t.io, "write_point_cloud", lying_writer)
    with pytest.raises(OSError, match=rf"{path}: the written file is incomplete"):
        write_labeled_ply(path, *cloud)
    assert path.read_bytes() == before
    assert _names(tmp_path) == ["shape.parts.ply"]


def test_a_failed_ply_write_leaves_nothing(tmp_path, cloud, monkeypatch):
    monkeypatch.setattr(o3d.t.io, "write_point_cloud", lambda *a, **k: False)
    with pytest.raises(OSError, match="Open3D could not write it"):
        write_labeled_ply(tmp_path / "a.ply", *cloud)
    assert _names(tmp_path) == []


def test_a_good_ply_passes_the_check_and_reads_back(tmp_path, cloud):
    points, colors, labels = read_labeled_ply(write_labeled_ply(tmp_path / "a.ply", *cloud))
    np.testing.assert_allclose(points, cloud[0], atol=1e-6)
    assert np.array_equal(colors, cloud[1]) and np.array_equal(labels, cloud[2])
    assert _names(tmp_path) == ["a.ply"]


def _image():
    return np.full((20, 30, 3), 200, np.uint8)


def test_a_full_disk_during_a_png_save_keeps_the_earlier_png(tmp_path, monkeypatch):
    path = tmp_path / "shape_000.png"
    save_png(_image(), path)
    before = path.read_bytes()

    def full(self, fp, *args, **kwargs):
        pathlib.Path(fp).write_bytes(b"\x89PNG\r\n")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Image.Image, "save", full)
    with pytest.raises(OSError) as raised:
        save_png(_image(), path)
    assert raised.value.errno == errno.ENOSPC and raised.value.filename == str(path)
    assert path.read_bytes() == before
    assert _names(tmp_path) == ["shape_000.png"]


def test_a_zero_byte_png_is_caught(tmp_path, monkeypatch):
    monkeypatch.setattr(Image.Image, "save", lambda self, fp, *a, **k: pathlib.Path(fp).touch())
    with pytest.raises(OSError, match=r"shape.png: the written PNG is unreadable"):
        save_png(_image(), tmp_path / "shape.png")
    assert _names(tmp_path) == []


def test_a_png_reads_back_as_written(tmp_path):
    image = np.random.default_rng(1).integers(0, 255, (20, 30, 3)).astype(np.uint8)
    path = save_png(image, tmp_path / "a.png")
    assert np.array_equal(np.asarray(Image.open(path).convert("RGB")), image)


def test_a_full_disk_during_a_json_write_keeps_the_earlier_record(tmp_path, monkeypatch):
    path = tmp_path / "metrics.json"
    write_json(path, {"oa": 0.5})
    real = pathlib.Path.write_text

    def full(self, text, *args, **kwargs):
        real(self, text[:5])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pathlib.Path, "write_text", full)
    with pytest.raises(OSError) as raised:
        write_json(path, {"oa": 0.9})
    monkeypatch.undo()
    assert raised.value.filename == str(path)
    assert json.loads(path.read_text()) == {"oa": 0.5}
    assert _names(tmp_path) == ["metrics.json"]


def test_outputs_get_the_permissions_of_any_new_file(tmp_path, cloud):
    reference = tmp_path / "reference"
    reference.write_text("x")  # created the ordinary way, under the process umask
    mode = reference.stat().st_mode & 0o777
    for path in (
        write_labeled_ply(tmp_path / "a.ply", *cloud),
        save_png(_image(), tmp_path / "a.png"),
    ):
        assert path.stat().st_mode & 0o777 == mode
    write_json(tmp_path / "a.json", {})
    assert (tmp_path / "a.json").stat().st_mode & 0o777 == mode


def test_a_full_disk_during_a_plot_keeps_the_earlier_plot(tmp_path, monkeypatch):
    from matplotlib.figure import Figure

    path = plot_iou_bars({"Mug": 0.5, "Lamp": 0.9}, tmp_path / "per_category_iou.png")
    before = path.read_bytes()

    def full(self, fname, *args, **kwargs):
        pathlib.Path(fname).write_bytes(b"\x89PNG\r\n")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Figure, "savefig", full)
    with pytest.raises(OSError) as raised:
        plot_iou_bars({"Mug": 0.6, "Lamp": 0.9}, path)
    assert raised.value.errno == errno.ENOSPC and raised.value.filename == str(path)
    assert path.read_bytes() == before
    assert _names(tmp_path) == ["per_category_iou.png"]


def test_an_empty_plot_is_caught(tmp_path, monkeypatch):
    from matplotlib.figure import Figure

    monkeypatch.setattr(Figure, "savefig", lambda self, fname, *a, **k: pathlib.Path(fname).touch())
    with pytest.raises(WriteError, match=r"per_category_iou.png: the written PNG is unreadable"):
        plot_iou_bars({"Mug": 0.5}, tmp_path / "per_category_iou.png")
    assert _names(tmp_path) == []


def test_a_wrong_written_file_ends_a_cli_in_one_line(capsys):
    def write():
        raise WriteError("out/shape_000.png: the written PNG is unreadable (truncated)")

    with pytest.raises(SystemExit) as stopped:
        exit_on_user_error(write)
    assert stopped.value.code == 2
    assert capsys.readouterr().err == (
        "error: out/shape_000.png: the written PNG is unreadable (truncated)\n"
    )
