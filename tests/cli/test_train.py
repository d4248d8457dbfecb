"""train.py end to end on tiny configs: outputs, checkpoints, resume, refusals."""

import errno
import json
import os
import shutil
import subprocess
import sys

import pytest
import pytorch_lightning as pl
import torch
from cli_helpers import ROOT, compose_train, tiny_overrides

from pointea.cli.run_config import ConfigError, exit_on_user_error
from pointea.cli.train import run
from pointea.tasks.checkpoint_io import AtomicCheckpointIO, load_checkpoint


def test_fit_writes_every_output_and_tests_the_best_checkpoint(trained_cls):
    out, metrics = trained_cls
    assert set(metrics) == {"test/oa", "test/macc"} and 0 <= metrics["test/oa"] <= 1
    saved = json.loads((out / "metrics.json").read_text())
    assert saved["metrics"] == metrics and "best-epoch" in saved["checkpoint"]
    assert (out / "config.yaml").is_file() and (out / "checkpoints" / "last.ckpt").is_file()
    assert len(list((out / "checkpoints").glob("best-epoch*.ckpt"))) == 1
    header = (out / "csv" / "metrics.csv").read_text().splitlines()[0]
    assert {"train/loss_step", "val/oa", "val/macc", "val/loss", "test/oa"} <= set(
        header.split(",")
    )
    assert list((out / "tensorboard").glob("events.out.tfevents.*"))


def test_checkpoints_are_plain_data(trained_cls):
    out, _ = trained_cls
    checkpoint = load_checkpoint(out / "checkpoints" / "last.ckpt")  # weights_only=True
    meta = checkpoint["pointea"]
    assert (
        meta["task"] == "cls"
        and meta["num_classes"] == 13
        and meta["model"]["_target_"].endswith("PointTransformerCls")
    )


def test_mode_test_reproduces_the_fit_metrics(trained_cls, data_root, tmp_path):
    out, metrics = trained_cls
    best = json.loads((out / "metrics.json").read_text())["checkpoint"]
    again = run(
        compose_train(
            [*tiny_overrides(data_root / "cls"), "mode=test", f"ckpt_path={best}"], tmp_path
        )
    )
    assert again == pytest.approx(metrics)


def test_segmentation_fit_and_test(data_root, tmp_path):
    metrics = run(
        compose_train([*tiny_overrides(data_root / "seg", task="seg"), "task.votes=2"], tmp_path)
    )
    expected = {
        "test/instance_miou",
        "test/class_miou",
        "test/instance_miou_vote",
        "test/class_miou_vote",
    }
    assert expected <= set(metrics)
    assert {f"test/iou/{name}" for name in ("Mug", "Table", "Lamp", "Rocket")} & set(metrics)
    for name, count in (("Mug", 2), ("Table", 2), ("Lamp", 3), ("Rocket", 4)):
        if f"test/iou/{name}" in metrics:  # a category's IoU is the mean of its parts' IoUs
            parts = [metrics[f"test/part_iou/{name}/{k}"] for k in range(1, count + 1)]
            assert sum(parts) / count == pytest.approx(metrics[f"test/iou/{name}"], abs=1e-6)
    assert 0 < metrics["test/instance_miou"] <= 1


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            ["task=cls", "data=shapenetpart"],
            "task=cls cannot use this data: its dataset pointea.data.ShapeNetPartH5 serves task=seg",
        ),
        (["task=seg", "data=synthetic_cls"], "task=seg cannot use this data"),
        (
            ["model=pct_seg_tiny"],
            "model= builds pointea.models.PointTransformerSeg, but task=cls trains "
            "pointea.models.PointTransformerCls",
        ),
        (["model.num_classes=7"], r"model.num_classes=7 does not match data.num_classes=13"),
        (["mode=test"], "mode=test needs ckpt_path"),
    ],
)
def test_mismatches_are_refused_before_work_starts(tmp_path, data_root, overrides, message):
    base = [o for o in tiny_overrides(data_root / "cls") if not o.startswith(("task=", "data="))]
    cfg = compose_train(["task=cls", "data=synthetic_cls", *base, *overrides], tmp_path / "run")
    with pytest.raises(ConfigError, match=message):
        run(cfg)
    assert not (tmp_path / "run").exists()


def test_checkpoint_of_the_other_task_is_refused(trained_cls, data_root, tmp_path):
    out, _ = trained_cls
    cfg = compose_train(
        [
            *tiny_overrides(data_root / "seg", task="seg"),
            "mode=test",
            f"ckpt_path={out / 'checkpoints' / 'last.ckpt'}",
        ],
        tmp_path,
    )
    with pytest.raises(ConfigError, match="is a task=cls checkpoint, but this run is task=seg"):
        run(cfg)


def test_checkpoint_with_other_classes_is_refused(trained_cls, data_root, tmp_path):
    out, _ = trained_cls
    root = tmp_path / "renamed"
    shutil.copytree(data_root / "cls", root)
    names = root / "modelnet40_ply_hdf5_2048" / "shape_names.txt"
    names.write_text(names.read_text().replace("sphere", "ball"))
    cfg = compose_train(
        [*tiny_overrides(root), "mode=test", f"ckpt_path={out / 'checkpoints' / 'last.ckpt'}"],
        tmp_path / "run",
    )
    with pytest.raises(ConfigError, match=r"trained with class_names=\['sphere'"):
        run(cfg)


class StopAfterFirstEpoch(pl.Callback):
    def on_train_epoch_end(self, trainer, pl_module):
        trainer.should_stop = True


class RecordLosses(pl.Callback):
    def __init__(self):
        self.losses = []

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self.losses.append(float(outputs["loss"]))


def test_resume_gives_the_same_losses_as_an_uninterrupted_run(data_root, tmp_path):
    overrides = [*tiny_overrides(data_root / "cls", epochs=2, batches=3), "model.dropout=0.5"]
    whole = RecordLosses()
    run(compose_train(overrides, tmp_path / "whole"), callbacks=[whole])
    first = RecordLosses()
    run(compose_train(overrides, tmp_path / "first"), callbacks=[first, StopAfterFirstEpoch()])
    resumed = RecordLosses()
    last = tmp_path / "first" / "checkpoints" / "last.ckpt"
    run(compose_train([*overrides, f"ckpt_path={last}"], tmp_path / "resumed"), callbacks=[resumed])
    assert len(whole.losses) == 6 and len(first.losses) == 3 and len(resumed.losses) == 3
    assert first.losses + resumed.losses == pytest.approx(whole.losses, rel=1e-5)


class Payload:
    def __reduce__(self):
        return (os.system, (f"touch {os.environ['POINTEA_PWNED']}",))


def test_pickled_code_in_a_checkpoint_is_never_executed(tmp_path, monkeypatch):
    marker = tmp_path / "pwned"
    monkeypatch.setenv("POINTEA_PWNED", str(marker))
    path = tmp_path / "evil.ckpt"
    torch.save({"state_dict": {}, "pointea": Payload()}, path)
    with pytest.raises(ValueError, match="weights_only=True refused it"):
        load_checkpoint(path)
    assert not marker.exists()


def test_interrupted_save_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    io = AtomicCheckpointIO()
    path = tmp_path / "last.ckpt"
    io.save_checkpoint({"step": torch.tensor(1)}, path)

    def broken_save(obj, f):
        f.write(b"partial bytes")
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(KeyboardInterrupt):
        io.save_checkpoint({"step": torch.tensor(2)}, path)
    monkeypatch.undo()
    assert int(load_checkpoint(path)["step"]) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["last.ckpt"]


def test_a_full_disk_during_a_save_names_the_checkpoint(tmp_path, monkeypatch, capsys):
    io = AtomicCheckpointIO()
    path = tmp_path / "last.ckpt"
    io.save_checkpoint({"step": torch.tensor(1)}, path)

    def full_disk(obj, f):
        f.write(b"partial bytes")
        raise OSError(errno.ENOSPC, "No space left on device")  # as a file object reports it

    monkeypatch.setattr(torch, "save", full_disk)
    with pytest.raises(SystemExit):
        exit_on_user_error(lambda: io.save_checkpoint({"step": torch.tensor(2)}, path))
    monkeypatch.undo()
    assert capsys.readouterr().err == f"error: {path}: No space left on device\n"
    assert int(load_checkpoint(path)["step"]) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["last.ckpt"]


def test_cli_reports_config_errors_cleanly(tmp_path):
    done = subprocess.run(
        [sys.executable, "train.py", "task=cls", "data=shapenetpart", f"hydra.run.dir={tmp_path}"],
        cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 2
    assert "error: task=cls cannot use this data" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.slow
def test_compile_and_bf16_autocast_train_on_cpu(data_root, tmp_path):
    """compile=true with bf16-mixed must not break a CPU run (about a minute of compiling)."""
    overrides = [*tiny_overrides(data_root / "cls"), "compile=true", "trainer.precision=bf16-mixed"]
    metrics = run(compose_train(overrides, tmp_path / "compiled"))
    assert 0 <= metrics["test/oa"] <= 1


def test_test_runs_draw_their_figures(trained_cls, trained_seg):
    cls_out, _ = trained_cls
    seg_out, _ = trained_seg
    assert sorted(p.name for p in (cls_out / "plots").iterdir()) == [
        "confusion_matrix.png",
        "training_curves.png",
    ]
    assert sorted(p.name for p in (seg_out / "plots").iterdir()) == [
        "per_category_iou.png",
        "training_curves.png",
    ]
    details = json.loads((cls_out / "test_details.json").read_text())
    confusion = torch.tensor(details["confusion"])
    metrics = json.loads((cls_out / "metrics.json").read_text())["metrics"]
    assert confusion.trace() / confusion.sum() == pytest.approx(metrics["test/oa"])


def test_a_run_into_a_finished_run_folder_leaves_its_launch_record(tmp_path):
    """Refused before Hydra writes anything there: the finished run's ``.hydra`` record and
    outputs stay byte for byte, and nothing is added."""
    folder = tmp_path / "finished"
    (folder / ".hydra").mkdir(parents=True)
    record = {".hydra/config.yaml": "seed: 7\n", ".hydra/overrides.yaml": "- seed=7\n",
              ".hydra/hydra.yaml": "hydra: {}\n", "config.yaml": "seed: 7\n",
              "metrics.json": "{}\n"}  # fmt: skip
    for name, text in record.items():
        (folder / name).write_text(text)
    done = subprocess.run(
        [sys.executable, "train.py", "task=cls", "data=synthetic_cls", f"hydra.run.dir={folder}"],
        cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr[-2000:]
    assert done.stderr == (
        f"error: run folder {folder} already holds a run (config.yaml, metrics.json); a new run "
        f"needs a new folder, and mode=fit ckpt_path={folder / 'checkpoints' / 'last.ckpt'} "
        f"resumes that one\n"
    )
    found = {str(p.relative_to(folder)): p.read_text() for p in folder.rglob("*") if p.is_file()}
    assert found == record


def test_a_refused_value_leaves_nothing_on_disk(tmp_path):
    """A value check refuses the run before Hydra makes its folder; into a folder that holds
    only a launch record (.hydra/ of a run that never started), that record stays as it was."""
    command = [sys.executable, "train.py", "task=cls", "data=synthetic_cls",
               "model=pct_cls_tiny", f"data.root={tmp_path / 'data'}", "model.k=0"]  # fmt: skip
    new = tmp_path / "new"
    done = subprocess.run(
        [*command, f"hydra.run.dir={new}"], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 2, done.stderr[-2000:]
    assert done.stderr.startswith("error: model.k=0") and done.stderr.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no run folder, no data generated

    folder = tmp_path / "launched"
    (folder / ".hydra").mkdir(parents=True)
    record = {".hydra/config.yaml": "seed: 7\n", ".hydra/overrides.yaml": "- seed=7\n",
              ".hydra/hydra.yaml": "hydra: {}\n"}  # fmt: skip
    for name, text in record.items():
        (folder / name).write_text(text)
    done = subprocess.run(
        [*command, f"hydra.run.dir={folder}"], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 2, done.stderr[-2000:]
    found = {str(p.relative_to(folder)): p.read_text() for p in folder.rglob("*") if p.is_file()}
    assert found == record


def test_a_refused_resume_makes_no_folder(trained_cls, data_root, tmp_path):
    """A resume works in its checkpoint's run folder: refused (another learning rate), it
    leaves no folder of Hydra's and the run folder as it was."""
    out, _ = trained_cls
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    last = out / "checkpoints" / "last.ckpt"
    command = [sys.executable, "train.py", *tiny_overrides(data_root / "cls", epochs=2),
               "optim.optimizer.lr=0.5", f"ckpt_path={last}", f"hydra.run.dir={tmp_path / 'h'}"]  # fmt: skip
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 2, done.stderr[-2000:]
    assert done.stderr.startswith(f"error: {last} was trained with optim.optimizer.lr=0.01")
    assert list(tmp_path.iterdir()) == []
    assert before == {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
