"""A new attention kind is a layer and its config, outside pointea: the study trains it, a
test run evaluates it, export writes it and the report lists it, with no edit to pointea."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import yaml
from cli_helpers import ROOT, compose_train

from pointea.cli.attention_config import attention_kinds
from pointea.cli.report import main as report_main
from pointea.cli.train import run

MIXER = '''"""A gated linear mixer: no attention at all, only the Mixer contract."""

import torch
from torch import nn


class GatedLinearMixer(nn.Module):
    """x * sigmoid(W x + b); ignores pos. Shapes: x (B, N, C), pos (B, N, 3) -> (B, N, C)."""

    def __init__(self, channels: int, *, gate_bias: float = 0.0) -> None:
        super().__init__()
        self.gate = nn.Linear(channels, channels)
        nn.init.constant_(self.gate.bias, gate_bias)

    def forward(self, x: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(self.gate(x))
'''
KIND = "gated"
CONFIG = "# A gated linear mixer from the user's own module.\n" \
    "_target_: fifth_kind_mixer.GatedLinearMixer\n_partial_: true\ngate_bias: 1.0\n"  # fmt: skip
TINY = "{num_points: 128, cls_train_per_class: 4, cls_test_per_class: 2}"


@pytest.fixture
def new_kind(tmp_path, monkeypatch):
    """The mixer's module on the path and ``model/attention/gated.yaml`` in a config folder
    of the user's own; returns (config folder, environment for the CLIs)."""
    code = tmp_path / "code"
    code.mkdir()
    (code / "fifth_kind_mixer.py").write_text(MIXER)
    configs = tmp_path / "my_configs"
    (configs / "model" / "attention").mkdir(parents=True)
    (configs / "model" / "attention" / f"{KIND}.yaml").write_text(CONFIG)
    monkeypatch.syspath_prepend(str(code))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(code)])}
    assert KIND not in attention_kinds()  # pointea's own configs know nothing of it
    return configs, env


def cli(args, env):
    done = subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True,
                          text=True)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def test_a_fifth_kind_trains_tests_exports_and_reports(tmp_path, new_kind):
    configs, env = new_kind
    searchpath = f"hydra.searchpath=[file://{configs}]"
    sweep, data = tmp_path / "sweep", tmp_path / "data"
    tiny = [f"data.root={data}", f"+data.builtin_options={TINY}", "data.num_points=128",
            "data.batch_size=8", "trainer.max_epochs=1", "trainer.limit_train_batches=2",
            "trainer.limit_val_batches=1", "trainer.limit_test_batches=1"]  # fmt: skip

    # Train: the study's sweep, naming the new kind as the user would.
    cli(["train.py", "-m", "experiment=attention_study_demo", f"model/attention={KIND}",
         "seed=0", searchpath, f"hydra.sweep.dir={sweep}", *tiny], env)  # fmt: skip
    trained = sweep / f"{KIND}-seed0"
    ckpt = trained / "checkpoints" / "last.ckpt"
    stored = yaml.safe_load((trained / "config.yaml").read_text())["model"]["attention"]
    assert stored == {"_target_": "fifth_kind_mixer.GatedLinearMixer", "_partial_": True,
                      "gate_bias": 1.0}  # fmt: skip

    # Test: mode=test on the checkpoint, in this process (the module is importable here).
    cfg = compose_train(
        ["experiment=attention_study_demo", f"model/attention={KIND}", searchpath, "mode=test",
         f"ckpt_path={ckpt}", *tiny],
        tmp_path / "test_run",
    )  # fmt: skip
    metrics = run(cfg)
    saved = json.loads((trained / "metrics.json").read_text())["metrics"]
    assert metrics["test/oa"] == pytest.approx(saved["test/oa"])  # same weights, same data

    # Export: ONNX, and the graph gives the network's logits.
    onnx_path = tmp_path / "gated.onnx"
    cli(["-m", "pointea.cli.export", f"ckpt_path={ckpt}", f"output={onnx_path}",
         "format=onnx", searchpath], env)  # fmt: skip
    ort = pytest.importorskip("onnxruntime")
    from pointea.checkpoint import load_network

    with pytest.raises(ValueError, match="fifth_kind_mixer.GatedLinearMixer"):
        load_network(ckpt)  # pointea's own allow-list does not know the kind
    network, _ = load_network(ckpt, config_dirs=[configs])  # the user's folder allows it
    mixer = network.attention.blocks[0].mixer
    assert type(mixer).__name__ == "GatedLinearMixer" and mixer.gate.out_features > 0
    xyz = np.random.default_rng(0).uniform(-1, 1, (2, 128, 3)).astype(np.float32)
    (logits,) = ort.InferenceSession(str(onnx_path)).run(None, {"xyz": xyz})
    import torch

    with torch.no_grad():
        expected = network.eval()(torch.from_numpy(xyz)).numpy()
    np.testing.assert_allclose(logits, expected, atol=1e-4)

    # Report: the sweep's table has a row for the new kind, with its cost measured.
    assert report_main([str(sweep)]) == 0
    report = json.loads((sweep / "report.json").read_text())
    assert list(report["groups"]) == [KIND] and report["incomplete"] == []
    group = report["groups"][KIND]
    assert group["seeds"] == [0] and group["metrics"]["test/oa"]["values"] == [saved["test/oa"]]
    assert group["parameters"] == sum(p.numel() for p in network.parameters())
    assert f"| `{KIND}` | 0 |" in (sweep / "report.md").read_text()
