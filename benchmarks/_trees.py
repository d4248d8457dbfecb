"""Running a pointea source tree in a fresh process: its environment and a tiny checkpoint
made by its ``train.py``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def tree_env(tree: Path) -> dict:
    """The environment of a process whose pointea is ``tree``'s, on one thread."""
    return {**os.environ, "PYTHONPATH": str(tree), "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def tiny_checkpoint(tree: Path, workdir: Path) -> Path:
    """A tiny classifier checkpoint from the tree's ``train.py`` (one batch of built-in data)."""
    run_dir = workdir / "run"
    command = [
        sys.executable, "train.py", "task=cls", "data=synthetic_cls", f"data.root={workdir / 'data'}",
        "+data.builtin_options={cls_train_per_class: 2, cls_test_per_class: 1}", "trainer=cpu",
        "trainer.max_epochs=1", "trainer.limit_train_batches=1", "trainer.limit_val_batches=1",
        "trainer.limit_test_batches=1", "trainer.num_sanity_val_steps=0", "data.batch_size=4",
        "model=pct_cls_tiny", "data.num_points=256", f"hydra.run.dir={run_dir}",
    ]  # fmt: skip
    done = subprocess.run(command, cwd=tree, capture_output=True, text=True, env=tree_env(tree))
    if done.returncode != 0:
        raise SystemExit(f"train.py in {tree} failed:\n{done.stderr[-3000:]}")
    return run_dir / "checkpoints" / "last.ckpt"
