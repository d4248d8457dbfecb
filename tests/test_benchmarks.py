"""Every benchmark script keeps working: run its --quick mode and read what it wrote."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_quick(script: str, out: Path) -> None:
    cmd = [sys.executable, str(ROOT / "benchmarks" / script), "--quick", "--out", str(out)]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
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
