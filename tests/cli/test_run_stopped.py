"""The command a run stopped by SIGTERM prints (the stop itself: tests/cli/test_resume.py)."""

import shlex
from pathlib import Path

from pointea.cli.run_stopped import resume_command


def test_the_resume_command_replaces_the_runs_mode_and_checkpoint():
    """A resume of a resume: its own ``ckpt_path`` and ``mode`` give way to the new ones;
    a value with spaces survives the shell."""
    overrides = ["task=cls", "ckpt_path=/old/last.ckpt", "+data.builtin_options={seed: 1}",
                 "mode=fit", "seed=3"]  # fmt: skip
    line = resume_command(overrides, Path("/runs/a b/checkpoints/last.ckpt"))
    assert shlex.split(line) == [
        "python", "train.py", "task=cls", "+data.builtin_options={seed: 1}", "seed=3",
        "mode=fit", "ckpt_path=/runs/a b/checkpoints/last.ckpt",
    ]  # fmt: skip


def test_without_a_checkpoint_it_is_the_same_command():
    overrides = ["mode=test", "ckpt_path=/x.ckpt"]
    line = resume_command(overrides, None, ("pointea-train",))
    assert shlex.split(line) == ["pointea-train", "mode=test", "ckpt_path=/x.ckpt"]
