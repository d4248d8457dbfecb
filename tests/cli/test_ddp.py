"""Two processes on the gloo backend through train.py: sharded data, synced metrics."""

import json
import os
import subprocess
import sys

from cli_helpers import ROOT, tiny_overrides


def test_two_cpu_processes_shard_the_data_and_agree_on_metrics(tmp_path):
    probe = tmp_path / "probe"
    overrides = [o for o in tiny_overrides(tmp_path / "data", epochs=1, batches=3)]
    command = [
        sys.executable, "train.py", *overrides,
        "trainer=ddp", "trainer.accelerator=cpu", "trainer.devices=2", "trainer.sync_batchnorm=false",
        "+callbacks.probe._target_=ddp_probe.SeenSamples", f"+callbacks.probe.path={probe}",
        f"hydra.run.dir={tmp_path / 'run'}",
    ]  # fmt: skip
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "tests" / "cli"),
        "PL_TORCH_DISTRIBUTED_BACKEND": "gloo",
    }
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    ranks = [json.loads((probe / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert [r["world_size"] for r in ranks] == [2, 2]
    seen = [set(r["seen"]) for r in ranks]
    assert len(ranks[0]["seen"]) == len(ranks[1]["seen"]) == 3 * 8  # 3 batches of 8 each
    assert not seen[0] & seen[1]  # each rank trained on its own shard
    assert ranks[0]["metrics"] == ranks[1]["metrics"] and "test/oa" in ranks[0]["metrics"]
    assert (
        json.loads((tmp_path / "run" / "metrics.json").read_text())["metrics"]
        == ranks[0]["metrics"]
    )
