"""Every benchmark script keeps working: run its --quick mode and read what it wrote."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run_quick(script: str, out: Path) -> None:
    cmd = [sys.executable, str(ROOT / "benchmarks" / script), "--quick", "--out", str(out)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # this checkout's pointea, not an install's
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env)
    assert done.returncode == 0, done.stderr[-2000:]


def test_attention_scaling_quick(tmp_path):
    run_quick("attention_scaling.py", tmp_path)
    results = json.loads((tmp_path / "attention_scaling.json").read_text())
    for kind in ("external", "multihead_external", "offset", "local"):
        for row in results[kind].values():
            assert row["seconds"] > 0 and row["peak_mb"] >= 0 and row["saved_mb"] > 0, (kind, row)
    table = (tmp_path / "attention_scaling.md").read_text()
    assert "| 256 |" in table and "| 512 |" in table
    assert (tmp_path / "attention_scaling.png").stat().st_size > 0


def test_data_pipeline_quick(tmp_path):
    run_quick("data_pipeline.py", tmp_path)
    result = json.loads((tmp_path / "data_pipeline.json").read_text())
    assert result["clouds_per_epoch"] == 256
    assert (
        result["batched_device_clouds_per_s"] > 0
        and result["conventional_workers_clouds_per_s"] > 0
    )


PORT = ROOT.parent / "shared" / "baselines" / "pct_port.py"
needs_port = pytest.mark.skipif(
    not PORT.exists(), reason="shared/baselines/pct_port.py not beside the repo"
)


@needs_port
def test_train_step_quick(tmp_path):
    run_quick("train_step.py", tmp_path)
    result = json.loads((tmp_path / "train_step.json").read_text())
    assert result["max_logit_difference_eval"] < 1e-4  # same weights, same maths
    assert result["port_step_s"] > 0 and result["pointea_speedup"] > 0


@needs_port
def test_inference_quick(tmp_path):
    run_quick("inference.py", tmp_path)
    result = json.loads((tmp_path / "inference.json").read_text())
    assert result["cls_max_output_difference"] < 1e-4 and result["seg_max_output_difference"] < 1e-4
    assert result["cls_pointea_clouds_per_s"] > 0 and result["seg_pointea_clouds_per_s"] > 0


def test_large_cloud_quick(tmp_path):
    run_quick("large_cloud.py", tmp_path)
    result = json.loads((tmp_path / "large_cloud.json").read_text())
    assert result["external"]["finite"] and result["external"]["points"] == 2048
    assert result["offset_largest_points_under_cap"] == 1024


@needs_port
def test_epoch_quick(tmp_path):
    run_quick("epoch.py", tmp_path)
    result = json.loads((tmp_path / "epoch.json").read_text())
    assert result["pointea"]["batches_run"] == 5 and result["port"]["batches_run"] == 5
    assert result["pointea"]["epoch_seconds"] > 0 and result["speedup"] > 0


def test_export_inference_quick(tmp_path):
    pytest.importorskip("onnxruntime", reason="the export extra: pip install pointea[export]")
    run_quick("export_inference.py", tmp_path)
    result = json.loads((tmp_path / "export_inference.json").read_text())
    for task in ("cls", "seg"):
        assert result[f"{task}_max_output_difference"] < 1e-4
        assert (
            result[f"{task}_onnxruntime_clouds_per_s"] > 0
            and result[f"{task}_eager_clouds_per_s"] > 0
        )
