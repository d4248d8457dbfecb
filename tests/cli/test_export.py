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
