"""Two source trees of pointea side by side: a training step and `predict` start-up.

    python benchmarks/before_after.py BEFORE_TREE AFTER_TREE [--repeats 5] [--quick]

e.g. ``git worktree add /tmp/base COMMIT`` and ``python benchmarks/before_after.py
/tmp/base .``. Every figure comes from a fresh process whose ``PYTHONPATH`` is one tree,
the two trees alternated (before, after, before, ...) so that a change in the machine's
load hits both alike; the figure per tree is the median over ``--repeats`` and the ratio
is before / after (above 1: the after tree is faster). ``uptime``'s load average is
recorded before and after.

- ``train_step``: one training step (forward, cross-entropy, backward, SGD) of the full
  PCT classifier (``PointTransformerCls(40)``, the defaults of ``model=pct_cls``), batch
  16 x 1,024 points, one thread; the median of two steps after a warm-up step. The tree's
  ``train.yaml`` decides the allocator, as its ``train.py`` would: with
  ``keep_freed_memory: true`` the process calls the tree's ``keep_freed_memory()`` first.
- ``predict``: ``python -m pointea.cli.predict`` on a 300-point ``.xyz`` file with a tiny
  classifier checkpoint that each tree's ``train.py`` made beforehand (not timed): the
  start-up, the checkpoint load and one small file, as a user runs it.

``--quick`` runs each once on tiny sizes (for the test suite); its timings mean nothing.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _trees import tiny_checkpoint, tree_env

TREES = ("before", "after")


def uptime() -> str:
    return Path("/proc/loadavg").read_text().strip() if Path("/proc/loadavg").exists() else "?"


def child_step(args) -> None:
    """In a process whose pointea is the tree's: the classifier's training step."""
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(1)
    train_yaml = (args.tree / "pointea" / "configs" / "train.yaml").read_text()
    kept = False
    if re.search(r"^keep_freed_memory:\s*true", train_yaml, re.MULTILINE):
        from pointea.ops.allocator import keep_freed_memory

        kept = keep_freed_memory()
    from pointea.models import PointTransformerCls

    torch.manual_seed(0)
    options = {"num_samples": (64, 32), "fuse_channels": 64} if args.quick else {}
    model = PointTransformerCls(40, **options).train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    xyz, target = torch.randn(args.batch, args.points, 3), torch.randint(40, (args.batch,))

    def step() -> float:
        start = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        F.cross_entropy(model(xyz), target).backward()
        optimizer.step()
        return time.perf_counter() - start

    step()
    print(json.dumps({"kept": kept, "seconds": statistics.median(step() for _ in range(2))}))


def run_step(tree: Path, args) -> dict:
    command = [sys.executable, __file__, "--child-step", str(tree), "--batch", str(args.batch),
               "--points", str(args.points)] + (["--quick"] if args.quick else [])  # fmt: skip
    done = subprocess.run(command, cwd=tree, capture_output=True, text=True, env=tree_env(tree))
    if done.returncode != 0:
        raise SystemExit(f"training step in {tree} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_predict(tree: Path, ckpt: Path, cloud: Path, out: Path) -> float:
    command = [sys.executable, "-m", "pointea.cli.predict", f"ckpt_path={ckpt}", f"input={cloud}",
               f"output_dir={out}"]  # fmt: skip
    start = time.perf_counter()
    done = subprocess.run(command, cwd=tree, capture_output=True, text=True, env=tree_env(tree))
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"predict in {tree} failed:\n{done.stderr[-3000:]}")
    return seconds


def summary(times: dict[str, list[float]]) -> dict:
    before, after = (statistics.median(times[tree]) for tree in TREES)
    return {
        "before_median_s": round(before, 3),
        "after_median_s": round(after, 3),
        "before_over_after": round(before / after, 3),
        "all_s": {tree: [round(t, 3) for t in times[tree]] for tree in TREES},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path, nargs="?")
    parser.add_argument("after", type=Path, nargs="?")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--points", type=int, default=1024)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    parser.add_argument("--child-step", type=Path, dest="tree")
    args = parser.parse_args()
    if args.quick:
        args.repeats, args.batch, args.points = 1, 2, 128
    if args.tree is not None:
        child_step(args)
        return
    if args.before is None or args.after is None:
        parser.error("give the BEFORE and AFTER source trees")
    trees = {"before": args.before.resolve(), "after": args.after.resolve()}
    for name, tree in trees.items():
        if not (tree / "pointea" / "__init__.py").is_file():
            parser.error(f"{name} tree {tree} holds no pointea/__init__.py")

    started = time.perf_counter()
    result: dict = {"trees": {name: str(tree) for name, tree in trees.items()},
                    "load_before": uptime(), "repeats": args.repeats, "threads": 1,
                    "batch": args.batch, "points": args.points}  # fmt: skip
    steps: dict[str, list[float]] = {tree: [] for tree in TREES}
    for _ in range(args.repeats):
        for name in TREES:
            out = run_step(trees[name], args)
            steps[name].append(out["seconds"])
            result[f"{name}_keeps_freed_memory"] = out["kept"]
    result["train_step"] = summary(steps)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        cloud = workdir / "cloud.xyz"
        rows = [f"{math.cos(i):.4f} {math.sin(i):.4f} {math.sin(0.37 * i):.4f}" for i in range(300)]
        cloud.write_text("\n".join(rows) + "\n")
        ckpts = {name: tiny_checkpoint(tree, workdir / name) for name, tree in trees.items()}
        starts: dict[str, list[float]] = {tree: [] for tree in TREES}
        for repeat in range(args.repeats):
            for name in TREES:
                out = workdir / f"predictions_{name}_{repeat}"
                starts[name].append(run_predict(trees[name], ckpts[name], cloud, out))
    result["predict"] = summary(starts)
    result["load_after"] = uptime()
    result["wall_s"] = round(time.perf_counter() - started, 1)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "before_after.json").write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
