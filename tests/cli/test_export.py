"""pointea-export on a trained checkpoint: the files run and match the checkpoint's network."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from pointea.checkpoint import load_network

ROOT = Path(__file__).resolve().parents[2]


def export(*args, cwd):
    cmd = [sys.executable, "-m", "pointea.cli.export", *args]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # this checkout's pointea, from any folder
    return subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, env=env)


def test_torchscript_and_onnx_of_a_checkpoint(trained_seg, tmp_path):
    run_dir, _ = trained_seg
    ckpt = run_dir / "checkpoints" / "last.ckpt"
    network, meta = load_network(ckpt)
    xyz = torch.rand(2, 300, 3) * 2 - 1
    category = torch.tensor([1, 3])
    with torch.no_grad():
        eager = network(xyz, category)

    done = export(f"ckpt_path={ckpt}", "format=torchscript", "output=seg.pt", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "category (B,) int64" in done.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["seg.pt"]  # no Hydra folders or logs
    traced = torch.jit.load(str(tmp_path / "seg.pt"))
    torch.testing.assert_close(traced(xyz, category), eager, rtol=0, atol=1e-4)

    ort = pytest.importorskip("onnxruntime", reason="the export extra: pip install pointea[export]")
    done = export(f"ckpt_path={ckpt}", "format=onnx", "output=out/seg.onnx", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    session = ort.InferenceSession(str(tmp_path / "out" / "seg.onnx"))
    (logits,) = session.run(None, {"xyz": xyz.numpy(), "category": category.numpy()})
    torch.testing.assert_close(torch.from_numpy(logits), eager, rtol=0, atol=1e-4)


def test_unknown_format_is_a_clean_error(trained_cls, tmp_path):
    run_dir, _ = trained_cls
    ckpt = run_dir / "checkpoints" / "last.ckpt"
    done = export(f"ckpt_path={ckpt}", "format=tflite", "output=m.tfl", cwd=tmp_path)
    assert done.returncode == 2
    assert "format must be one of onnx, torchscript, got 'tflite'" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_failed_export_keeps_the_earlier_file_and_says_where(
    trained_cls, tmp_path, monkeypatch, capsys
):
    """A full disk mid-write: one line naming the output, exit status 2, the earlier export
    byte for byte and no temporary file. A folder where the file goes: the same."""
    import errno
    from pathlib import Path

    from omegaconf import OmegaConf

    from pointea.cli.export import export as run_export
    from pointea.error_boundary import exit_on_user_error

    ckpt = trained_cls[0] / "checkpoints" / "last.ckpt"
    out = tmp_path / "model.pt"
    out.write_bytes(b"an earlier export")
    cfg = OmegaConf.create({"ckpt_path": str(ckpt), "format": "torchscript", "output": str(out),
                            "num_points": None})  # fmt: skip

    def full_disk(self, data):
        raise OSError(errno.ENOSPC, "No space left on device", str(self))

    monkeypatch.setattr(Path, "write_bytes", full_disk)
    with pytest.raises(SystemExit) as done:
        exit_on_user_error(lambda: run_export(cfg))
    monkeypatch.undo()
    assert done.value.code == 2
    assert capsys.readouterr().err == f"error: {out}: No space left on device\n"
    assert out.read_bytes() == b"an earlier export"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.pt"]

    (tmp_path / "folder.pt").mkdir()
    cfg.output = str(tmp_path / "folder.pt")
    with pytest.raises(SystemExit):
        exit_on_user_error(lambda: run_export(cfg))
    assert capsys.readouterr().err == f"error: {tmp_path / 'folder.pt'}: Is a directory\n"


def test_an_output_named_for_the_other_format_is_refused(trained_cls, tmp_path):
    from omegaconf import OmegaConf

    from pointea.cli.export import export as run_export
    from pointea.cli.run_config import ConfigError

    ckpt = trained_cls[0] / "checkpoints" / "last.ckpt"
    for fmt, name, other in (
        ("torchscript", "model.onnx", "onnx"),
        ("onnx", "model.pt", "torchscript"),
    ):
        cfg = OmegaConf.create({"ckpt_path": str(ckpt), "format": fmt,
                                "output": str(tmp_path / name), "num_points": None})  # fmt: skip
        with pytest.raises(
            ConfigError, match=rf"output=.*{name} is named for {other}, but format={fmt}"
        ):
            run_export(cfg)
    cfg = OmegaConf.create({"ckpt_path": str(ckpt), "format": "onnx",
                            "output": str(tmp_path / "m.onnx"), "num_points": 3})  # fmt: skip
    with pytest.raises(ConfigError, match=r"num_points=3 is too few: the model needs at least"):
        run_export(cfg)
    assert list(tmp_path.iterdir()) == []
