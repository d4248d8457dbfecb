"""The study report: aggregates checked against hand computations from the runs' files."""

import csv
import json
import math

import pytest
import yaml

from pointea.cli.attention_config import attention_node
from pointea.cli.report import ReportError, main, summarise
from pointea.cli.sweep import read_sweep

MODULES = {"cls": "pointea.tasks.ClassificationTask", "seg": "pointea.tasks.SegmentationTask"}


def fake_run(folder, attention, seed, metrics=None, *, task="cls", select_on_test=False,
             epochs=None, checkpoint="checkpoints/best-epoch003.ckpt"):  # fmt: skip
    """A run folder as train.py leaves it: config.yaml, csv/metrics.csv, metrics.json."""
    folder.mkdir(parents=True)
    config = {
        "seed": seed,
        "task": {"name": task, "module": {"_target_": MODULES[task]}},
        "model": {"attention": attention_node(attention)},
        "data": {"root": "/data/synthetic_cls", "select_on_test": select_on_test},
    }
    (folder / "config.yaml").write_text(yaml.safe_dump(config))
    if epochs:
        (folder / "csv").mkdir()
        names = sorted({k for row in epochs for k in row})
        with (folder / "csv" / "metrics.csv").open("w", newline="") as f:
            writer = csv.DictWriter(f, ["epoch", "step", *names])
            writer.writeheader()
            for epoch, row in enumerate(epochs):
                writer.writerow({"epoch": epoch, "step": 10 * epoch, **row})
    if metrics is not None:
        (folder / "metrics.json").write_text(
            json.dumps({"checkpoint": str(folder / checkpoint), "metrics": metrics})
        )
    return folder


def hand_std(values):
    mean = sum(values) / len(values)
    return math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))


@pytest.fixture
def sweep(tmp_path):
    """external: 3 seeds; offset: 2 seeds (one test-selected); one crashed local run."""
    oa = {0: 0.80, 1: 0.84, 2: 0.90}
    for seed, value in oa.items():
        fake_run(
            tmp_path / f"external-seed{seed}", "external", seed,
            {"test/oa": value, "test/macc": value - 0.1},
            epochs=[{"resources/train_seconds": 9.0 + seed, "resources/peak_memory_mib": 100.0,
                     "val/oa": 0.5, "train/loss_epoch": 2.0},
                    {"resources/train_seconds": 3.0 + seed, "resources/peak_memory_mib": 120.0,
                     "val/oa": 0.6, "train/loss_epoch": 1.5},
                    {"resources/train_seconds": 5.0 + seed, "resources/peak_memory_mib": 130.0,
                     "val/oa": 0.7, "train/loss_epoch": 1.2}],
        )  # fmt: skip
    fake_run(tmp_path / "offset-seed0", "offset", 0, {"test/oa": 0.70, "test/macc": 0.6})
    fake_run(tmp_path / "offset-seed1", "offset", 1, {"test/oa": 0.75, "test/macc": 0.65},
             select_on_test=True)  # fmt: skip
    fake_run(tmp_path / "local-seed0", "local", 0, None, epochs=[{"val/oa": 0.1}])
    return tmp_path


def test_means_and_stds_match_a_hand_computation(sweep):
    summary = summarise(read_sweep(sweep))
    external = summary["groups"]["external"]
    assert external["seeds"] == [0, 1, 2]
    oa = external["metrics"]["test/oa"]
    assert oa["n"] == 3
    assert oa["mean"] == pytest.approx((0.80 + 0.84 + 0.90) / 3)
    assert oa["std"] == pytest.approx(hand_std([0.80, 0.84, 0.90]))
    assert oa["std"] == pytest.approx(0.0503322, abs=1e-6)  # worked out on paper
    macc = external["metrics"]["test/macc"]
    assert macc["mean"] == pytest.approx(0.7466667, abs=1e-6)
    offset = summary["groups"]["offset"]["metrics"]["test/oa"]
    assert offset["mean"] == pytest.approx(0.725) and offset["std"] == pytest.approx(
        0.05 / math.sqrt(2)
    )
    # Seconds: median of epochs after the first per run (seed s: (3+s, 5+s) -> 4+s), then
    # the mean over runs: (4 + 5 + 6) / 3. Memory: the highest epoch's peak (130), mean 130.
    assert external["train_seconds_per_epoch"] == pytest.approx(5.0)
    assert external["peak_memory_mib"] == pytest.approx(130.0)
    assert summary["groups"]["offset"]["train_seconds_per_epoch"] is None


def test_incomplete_runs_are_listed_and_never_averaged(sweep):
    summary = summarise(read_sweep(sweep))
    assert "local" not in summary["groups"]
    (crashed,) = summary["incomplete"]
    assert crashed["attention"] == "local" and crashed["seed"] == 0
    assert "no metrics.json" in crashed["problem"] and "last logged epoch 0" in crashed["problem"]


def test_runs_selected_on_test_are_flagged(sweep):
    summary = summarise(read_sweep(sweep))
    offset = summary["groups"]["offset"]
    assert offset["selection"] == ["test", "validation"]
    assert offset["test_selected_runs"] == [str(sweep / "offset-seed1")]
    assert summary["groups"]["external"]["test_selected_runs"] == []


def test_report_files(sweep, capsys):
    assert main([str(sweep), "--no-measure"]) == 0
    report = (sweep / "report.md").read_text()
    assert "| `external` | 0,1,2 | 0.8467 ± 0.0503 | 0.7467 ± 0.0503 | validation |" in report
    assert "TEST-SELECTED" in report and "local-seed0" in report
    saved = json.loads((sweep / "report.json").read_text())
    assert saved["groups"]["external"]["metrics"]["test/oa"]["values"] == [0.80, 0.84, 0.90]
    for name in ("accuracy_vs_cost.png", "training_curves.png"):
        assert (sweep / "plots" / name).stat().st_size > 1000
    assert str(sweep / "report.md") in capsys.readouterr().out


def test_a_report_refuses_to_mix_tasks(sweep):
    fake_run(sweep / "seg-run", "external", 0, {"test/instance_miou": 0.8}, task="seg")
    with pytest.raises(ReportError, match="mix tasks or datasets"):
        summarise(read_sweep(sweep))


def test_a_folder_without_runs_is_an_error(tmp_path, capsys):
    assert main([str(tmp_path)]) == 2  # the exit status of a user error in every CLI
    assert "holds no run" in capsys.readouterr().err


def test_two_runs_of_one_kind_and_seed_are_refused(sweep, capsys):
    fake_run(sweep / "again" / "external-seed1", "external", 1, {"test/oa": 0.5, "test/macc": 0.4})
    with pytest.raises(ReportError, match=r"both attention 'external' seed 1"):
        summarise(read_sweep(sweep))
    assert main([str(sweep), "--no-measure"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(sweep / "again" / "external-seed1") in err
    assert not (sweep / "report.md").exists()


@pytest.mark.parametrize(
    "content",
    [b"seed: [0\nmodel: {", b"\x89PNG\r\n\x1a\n\x00\xff\xfe", b"- just\n- a list\n"],
    ids=["broken yaml", "binary", "not a mapping"],
)
def test_a_run_with_a_corrupt_config_is_listed_apart(sweep, content):
    broken = fake_run(sweep / "offset-seed2", "offset", 2, {"test/oa": 0.1, "test/macc": 0.1})
    (broken / "config.yaml").write_bytes(content)
    summary = summarise(read_sweep(sweep))
    assert summary["groups"]["offset"]["seeds"] == [0, 1]  # the corrupt run is not averaged
    listed = {r["run"]: r["problem"] for r in summary["incomplete"]}
    assert str(broken / "config.yaml") in listed[str(broken)]
    assert main([str(sweep), "--no-measure"]) == 0
    assert "offset-seed2" in (sweep / "report.md").read_text()


def test_a_run_with_a_garbled_log_is_listed_apart(sweep):
    garbled = fake_run(sweep / "offset-seed2", "offset", 2, {"test/oa": 0.1, "test/macc": 0.1})
    (garbled / "csv").mkdir()
    (garbled / "csv" / "metrics.csv").write_bytes(b"\x00\xff" * 50)
    summary = summarise(read_sweep(sweep))
    (listed,) = [r for r in summary["incomplete"] if r["run"] == str(garbled)]
    assert "metrics.csv is not text" in listed["problem"]
    assert summary["groups"]["offset"]["seeds"] == [0, 1]


def test_the_kind_is_the_option_the_run_was_launched_with(sweep):
    """A kind from the user's own config folder: its class is none of pointea's, and Hydra's
    record of the run names the option; the table lists kinds in name order."""
    run = fake_run(sweep / "gated-seed0", "external", 0, {"test/oa": 0.6, "test/macc": 0.5})
    config = yaml.safe_load((run / "config.yaml").read_text())
    config["model"]["attention"] = {"_target_": "my_mixers.Gated", "_partial_": True}
    (run / "config.yaml").write_text(yaml.safe_dump(config))
    (run / ".hydra").mkdir()
    (run / ".hydra" / "hydra.yaml").write_text(
        yaml.safe_dump({"hydra": {"runtime": {"choices": {"model/attention": "gated"}}}})
    )
    summary = summarise(read_sweep(sweep))
    assert list(summary["groups"]) == ["external", "gated", "offset"]
    assert summary["groups"]["gated"]["seeds"] == [0]


def test_network_cost_counts_a_hand_checkable_network():
    from pointea.cli.cost import network_cost

    linear = {"_target_": "torch.nn.Linear", "in_features": 3, "out_features": 5}
    cost = network_cost(linear, num_points=7, batch_size=2, repeats=1)
    assert cost["parameters"] == 3 * 5 + 5
    assert cost["flops_per_cloud"] == 2 * 7 * 3 * 5  # one multiply-add per weight per point
    assert cost["inference_clouds_per_second"] > 0


def test_sweep_and_report_end_to_end(tmp_path):
    """`train.py -m experiment=attention_study_demo` on tiny sizes, then the report."""
    import subprocess
    import sys

    import torch
    from cli_helpers import ROOT

    sweep = tmp_path / "sweep"
    options = "{num_points: 256, cls_train_per_class: 8, cls_test_per_class: 2}"
    cmd = [
        sys.executable, "train.py", "-m", "experiment=attention_study_demo",
        "model/attention=external", "seed=0,1", f"data.root={tmp_path / 'data'}",
        f"+data.builtin_options={options}", "data.num_points=256", "data.batch_size=8",
        "trainer.max_epochs=2", "trainer.limit_train_batches=2", "trainer.limit_val_batches=1",
        "trainer.limit_test_batches=1", f"hydra.sweep.dir={sweep}",
    ]  # fmt: skip
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    assert sorted(p.name for p in sweep.iterdir() if p.is_dir()) == [
        "external-seed0",
        "external-seed1",
    ]
    assert main([str(sweep)]) == 0
    report = json.loads((sweep / "report.json").read_text())
    (group,) = report["groups"].values()
    oa = [
        json.loads((sweep / f"external-seed{s}" / "metrics.json").read_text())["metrics"]["test/oa"]
        for s in (0, 1)
    ]
    assert group["seeds"] == [0, 1]
    assert group["metrics"]["test/oa"]["mean"] == pytest.approx((oa[0] + oa[1]) / 2)
    assert group["metrics"]["test/oa"]["std"] == pytest.approx(abs(oa[0] - oa[1]) / math.sqrt(2))
    state = torch.load(sweep / "external-seed0" / "checkpoints" / "last.ckpt", weights_only=True)
    weights = [v for k, v in state["state_dict"].items() if not k.endswith(
        ("running_mean", "running_var", "num_batches_tracked"))]  # fmt: skip
    assert group["parameters"] == sum(w.numel() for w in weights)
    assert group["train_seconds_per_epoch"] > 0 and group["peak_memory_mib"] > 0
    assert group["selection"] == ["validation"] and report["incomplete"] == []


def test_a_full_disk_keeps_the_earlier_report_whole(sweep, monkeypatch):
    """report.md goes through the atomic writer: a failed write leaves the earlier report and
    no temporary file, and the error names report.md."""
    import errno
    import pathlib

    from pointea.cli.report import write_report

    write_report(sweep, measure=False)
    before = (sweep / "report.md").read_text()
    real = pathlib.Path.write_text

    def full(self, text, *args, **kwargs):
        if "report.md" not in self.name:
            return real(self, text, *args, **kwargs)
        real(self, text[:5])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pathlib.Path, "write_text", full)
    with pytest.raises(OSError) as raised:
        write_report(sweep, measure=False)
    monkeypatch.undo()
    assert raised.value.filename == str(sweep / "report.md")
    assert (sweep / "report.md").read_text() == before
    assert not [p.name for p in sweep.iterdir() if p.name.endswith(".tmp.md")]
