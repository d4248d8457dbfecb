"""Long runs: last.ckpt after every epoch, resume that continues the same run, one run per
run folder, checkpoint files, and what mode=test records."""

import csv
import json
import os
import shlex
import shutil
import stat
import subprocess
import sys
import time

import pytest
import pytorch_lightning as pl
import torch
import yaml
from cli_helpers import ROOT, compose_train, tiny_overrides
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from pointea.cli.run_config import ConfigError, check_run_config
from pointea.cli.run_folder import RunFolderError, claim_run_folder
from pointea.cli.train import run
from pointea.tasks.checkpoint_io import load_checkpoint


def _weights(path):
    return load_checkpoint(path)["state_dict"]


def _assert_same_weights(a, b):
    assert a.keys() == b.keys()
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=0, atol=0, msg=name)


def _csv_rows(folder):
    with (folder / "csv" / "metrics.csv").open(newline="") as file:
        return list(csv.DictReader(file))


def _tensorboard_curves(folder):
    """Every scalar curve as TensorBoard shows it (purges applied), in step order.

    Sorted by step: a tiny run's fit and test write two event files in the same second,
    ordered by name only by a per-process counter, and "...pid.10" sorts before
    "...pid.9". A purge that failed would still show as extra points.
    """
    events = EventAccumulator(str(folder / "tensorboard"))  # applies purges, as TensorBoard does
    events.Reload()
    return {
        tag: sorted((e.step, e.value) for e in events.Scalars(tag))
        for tag in events.Tags()["scalars"]
    }


class LastCheckpointAfterEachEpoch(pl.Callback):
    """What last.ckpt holds when each epoch after the first starts, and the weights training
    ended with."""

    def __init__(self):
        self.epochs = []

    def on_train_epoch_start(self, trainer, pl_module):
        if trainer.current_epoch > 0:
            path = trainer.checkpoint_callbacks[-1].dirpath + "/last.ckpt"
            self.epochs.append(int(load_checkpoint(path)["epoch"]))

    def on_train_end(self, trainer, pl_module):
        self.final = {k: v.detach().clone() for k, v in pl_module.state_dict().items()}


def test_last_checkpoint_holds_every_epoch_and_the_final_weights(data_root, tmp_path):
    """Three epochs whose validation metric never improves after the first (the tiny model on
    this data stays at chance), then a stop in the middle of the fourth (max_steps)."""
    probe = LastCheckpointAfterEachEpoch()
    overrides = [*tiny_overrides(data_root / "cls", epochs=4, batches=2), "trainer.max_steps=7"]
    run(compose_train(overrides, tmp_path), callbacks=[probe])
    # Only epoch 0 was ever best, so a last.ckpt written only on improvement would fail here.
    assert [p.name for p in (tmp_path / "checkpoints").glob("best-*")] == ["best-epoch000.ckpt"]
    assert probe.epochs == [0, 1, 2]
    last = load_checkpoint(tmp_path / "checkpoints" / "last.ckpt")
    assert last["global_step"] == 7
    _assert_same_weights(last["state_dict"], probe.final)


def test_interrupted_and_resumed_run_equals_the_uninterrupted_run(data_root, tmp_path):
    """A run killed (SIGKILL) while writing epoch 2's checkpoint, resumed from last.ckpt,
    ends exactly as the same run uninterrupted: metrics.json, best checkpoint, last
    checkpoint, the CSV and TensorBoard curves of every epoch; no stray temporary file."""
    overrides = [*tiny_overrides(data_root / "cls", epochs=4, batches=2), "model.dropout=0.5"]
    whole = tmp_path / "whole"
    run(compose_train(overrides, whole))

    killed = tmp_path / "killed"
    command = [
        sys.executable, "train.py", *overrides, f"hydra.run.dir={killed}",
        "+callbacks.kill._target_=resume_probe.KillDuringSave", "+callbacks.kill.epoch=2",
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT / "tests" / "cli")}
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == -9, done.stderr[-3000:]
    assert list((killed / "checkpoints").glob(".*.tmp")), "the kill left no half-written file"
    assert int(load_checkpoint(killed / "checkpoints" / "last.ckpt")["epoch"]) == 1

    # TensorBoard orders event files by name, whose time is in whole seconds: a resume in
    # the same second as the kill could sort before it (a real resume comes much later).
    time.sleep(1.1)
    resume = [*overrides, f"ckpt_path={killed / 'checkpoints' / 'last.ckpt'}"]
    resumed = run(compose_train(resume, tmp_path / "hydra_folder_of_the_resume"))

    expected = json.loads((whole / "metrics.json").read_text())
    got = json.loads((killed / "metrics.json").read_text())
    assert got["metrics"] == expected["metrics"] == resumed
    best = os.path.basename(expected["checkpoint"])
    assert os.path.basename(got["checkpoint"]) == best and best.startswith("best-epoch")
    assert sorted(os.listdir(killed / "checkpoints")) == sorted(os.listdir(whole / "checkpoints"))
    for name in (best, "last.ckpt"):
        _assert_same_weights(
            _weights(killed / "checkpoints" / name), _weights(whole / "checkpoints" / name)
        )
    assert _csv_rows(killed) == _csv_rows(whole)
    assert {row["epoch"] for row in _csv_rows(whole)} == {"0", "1", "2", "3", "4"}
    assert _tensorboard_curves(killed) == _tensorboard_curves(whole)
    # The first start's config is kept; config.yaml is the resume's.
    first = yaml.safe_load((killed / "config.1.yaml").read_text())
    assert first["ckpt_path"] is None
    assert yaml.safe_load((killed / "config.yaml").read_text())["ckpt_path"].endswith("last.ckpt")


class TestedCheckpoint(pl.Callback):
    def on_test_start(self, trainer, pl_module):
        self.path = trainer.ckpt_path


def test_best_checkpoint_tracking_survives_a_resume(data_root, tmp_path):
    """The resumed epochs compete with the best epoch before the resume: the validation
    metric of the tiny model on this data stays flat, so the first epoch stays the best
    (a later epoch replaces it only when strictly better) and is what gets tested."""
    overrides = [*tiny_overrides(data_root / "cls", epochs=3, batches=2), "optim.scheduler.T_max=3"]
    run(compose_train([*overrides, "trainer.max_epochs=1"], tmp_path / "run"))
    last = tmp_path / "run" / "checkpoints" / "last.ckpt"
    tested = TestedCheckpoint()
    # As from the command line: Hydra gives the resuming command a folder of its own.
    run(compose_train([*overrides, f"ckpt_path={last}"], tmp_path / "hydra"), callbacks=[tested])
    best = tmp_path / "run" / "checkpoints" / "best-epoch000.ckpt"
    assert tested.path == str(best)
    assert sorted(p.name for p in best.parent.iterdir()) == [best.name, "last.ckpt"]
    assert int(load_checkpoint(last)["epoch"]) == 2
    saved = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert saved["checkpoint"] == str(best)


def test_a_second_run_into_a_folder_in_use_is_refused(data_root, tmp_path):
    overrides = tiny_overrides(data_root / "cls")
    with claim_run_folder(tmp_path, resume=False):  # a run working in that folder
        with pytest.raises(RunFolderError, match=f"run folder {tmp_path} is in use"):
            run(compose_train(overrides, tmp_path))
    assert sorted(os.listdir(tmp_path)) == []  # the refused run wrote nothing; the lock is gone


def test_lock_of_a_killed_run_does_not_outlive_it(tmp_path):
    code = (
        "import os, signal, sys; from pathlib import Path;"
        "from pointea.cli.run_folder import claim_run_folder;"
        "claim = claim_run_folder(Path(sys.argv[1]), resume=False); claim.__enter__();"
        "os.kill(os.getpid(), signal.SIGKILL)"
    )
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path)], cwd=ROOT)
    assert done.returncode == -9 and (tmp_path / ".pointea.lock").exists()
    with claim_run_folder(tmp_path, resume=False):
        pass


def test_a_new_run_into_a_folder_holding_a_run_is_refused(trained_cls, data_root):
    out, _ = trained_cls
    before = {name: (out / name).read_bytes() for name in ("config.yaml", "metrics.json")}
    with pytest.raises(RunFolderError, match=f"run folder {out} already holds a run"):
        run(compose_train(tiny_overrides(data_root / "cls"), out))
    assert before == {name: (out / name).read_bytes() for name in before}


def test_resume_needs_a_checkpoint_in_a_run_folder(trained_cls, data_root, tmp_path):
    out, _ = trained_cls
    loose = tmp_path / "last.ckpt"
    shutil.copy(out / "checkpoints" / "last.ckpt", loose)
    cfg = compose_train([*tiny_overrides(data_root / "cls"), f"ckpt_path={loose}"], tmp_path)
    with pytest.raises(RunFolderError, match="must be RUN/checkpoints/NAME.ckpt"):
        run(cfg)


def test_checkpoints_get_the_permissions_of_the_other_outputs(trained_cls):
    out, _ = trained_cls
    umask = os.umask(0o022)
    os.umask(umask)
    mode = stat.S_IMODE((out / "config.yaml").stat().st_mode)
    assert mode == 0o666 & ~umask  # what any new file of the process gets (not mkstemp's 0600)
    for path in (out / "checkpoints").iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == mode, path.name


def test_mode_test_records_the_network_it_tested(trained_cls, data_root, tmp_path):
    out, _ = trained_cls
    overrides = [
        *tiny_overrides(data_root / "cls"),
        "mode=test",
        f"ckpt_path={out / 'checkpoints' / 'last.ckpt'}",
        "model/attention=offset",
        "model.k=5",
    ]
    run(compose_train(overrides, tmp_path))
    recorded = yaml.safe_load((tmp_path / "config.yaml").read_text())["model"]
    stored = load_checkpoint(out / "checkpoints" / "last.ckpt")["pointea"]["model"]
    assert recorded == stored
    assert stored["attention"]["_target_"] == "pointea.nn.ExternalAttention" and stored["k"] != 5


def test_a_moved_run_folder_resumes_with_its_best_checkpoint(data_root, tmp_path):
    """A run folder copied elsewhere (the original gone) resumes with its best-checkpoint
    record pointing into the new place."""
    overrides = [*tiny_overrides(data_root / "cls", epochs=2, batches=2), "optim.scheduler.T_max=2"]
    run(compose_train([*overrides, "trainer.max_epochs=1"], tmp_path / "there"))
    shutil.move(tmp_path / "there", tmp_path / "here")
    tested = TestedCheckpoint()
    last = tmp_path / "here" / "checkpoints" / "last.ckpt"
    run(compose_train([*overrides, f"ckpt_path={last}"], tmp_path / "hydra"), callbacks=[tested])
    assert tested.path == str(tmp_path / "here" / "checkpoints" / "best-epoch000.ckpt")
    assert not (tmp_path / "there").exists()


def test_a_run_stopped_by_sigterm_says_how_to_resume_and_the_resume_finishes_it(
    data_root, tmp_path
):
    """SIGTERM in the middle of epoch 2 (of 0..3): non-zero exit, one line with the resume
    command, no metrics.json, last.ckpt as epoch 1 ended. That command, run as printed,
    finishes the run exactly as the same run uninterrupted."""
    overrides = tiny_overrides(data_root / "cls", epochs=4, batches=2)
    whole = tmp_path / "whole"
    run(compose_train(overrides, whole))

    stopped = tmp_path / "stopped"
    marker = tmp_path / "stopped_once"
    command = [
        sys.executable, "train.py", *overrides, f"hydra.run.dir={stopped}",
        "+callbacks.stop._target_=resume_probe.TermDuringEpoch", "+callbacks.stop.epoch=2",
        f"+callbacks.stop.marker={marker}",
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT / "tests" / "cli")}
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert marker.exists(), done.stderr[-3000:]
    assert done.returncode == 128 + 15, done.stderr[-3000:]
    last = stopped / "checkpoints" / "last.ckpt"
    lines = [line for line in done.stderr.splitlines() if line.startswith("stopped: ")]
    assert len(lines) == 1, done.stderr[-3000:]
    assert "can be resumed" in lines[0]
    printed = shlex.split(lines[0].split(": ", 2)[2])
    assert printed[:2] == ["python", "train.py"]
    ran = [o for o in command[2:] if not o.startswith("hydra.")]  # Hydra's own are not the run's
    assert printed[2:] == [*ran, "mode=fit", f"ckpt_path={last}"]
    assert not (stopped / "metrics.json").exists()
    state = load_checkpoint(last)
    assert (int(state["epoch"]), int(state["global_step"])) == (1, 4)  # epoch 1's end

    time.sleep(1.1)  # TensorBoard event files sort by their second (see the SIGKILL test)
    again = [sys.executable, *printed[1:], f"hydra.run.dir={tmp_path / 'hydra_of_the_resume'}"]
    done = subprocess.run(again, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    expected = json.loads((whole / "metrics.json").read_text())["metrics"]
    assert json.loads((stopped / "metrics.json").read_text())["metrics"] == expected
    _assert_same_weights(_weights(last), _weights(whole / "checkpoints" / "last.ckpt"))
    assert _csv_rows(stopped) == _csv_rows(whole)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (["optim.optimizer.lr=0.1"], "optim.optimizer.lr=0.01 .*optim.optimizer.lr=0.1"),
        (
            ["optim.optimizer.weight_decay=0"],
            "optim.optimizer.weight_decay=0.0005 .*weight_decay=0:",
        ),
        (["optim=adamw_cosine"], "optim.optimizer._target_='torch.optim.SGD'.*AdamW"),
        (  # the cosine schedule's T_max is trainer.max_epochs: a resume keeps the stored one
            ["trainer.max_epochs=5"],
            r"optim.scheduler.T_max=2 .*optim.scheduler.T_max=5 \(from \$\{trainer.max_epochs\}\)",
        ),
        (["~optim.scheduler"], "optim.scheduler.T_max=2.*optim.scheduler.T_max='<unset>'"),
    ],
)
def test_a_resume_with_other_optimiser_settings_is_refused(
    trained_cls, data_root, change, expected
):
    """Lightning would restore the checkpoint's optimiser and scheduler state over these, so
    the new values would be recorded in config.yaml but never used."""
    out, _ = trained_cls
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    last = out / "checkpoints" / "last.ckpt"
    cfg = compose_train(
        [*tiny_overrides(data_root / "cls", epochs=2), *change, f"ckpt_path={last}"], out / "x"
    )
    with pytest.raises(ConfigError, match=f"{last} was trained with {expected}"):
        run(cfg)
    assert before == {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}


def test_a_resume_that_keeps_the_schedule_may_train_longer(trained_cls, data_root):
    """More epochs with the stored T_max written out: the schedule is the checkpoint's."""
    out, _ = trained_cls
    last = out / "checkpoints" / "last.ckpt"
    overrides = [*tiny_overrides(data_root / "cls", epochs=3), "optim.scheduler.T_max=2"]
    assert check_run_config(compose_train([*overrides, f"ckpt_path={last}"], out / "x")) is not None
