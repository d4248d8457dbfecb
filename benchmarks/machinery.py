"""What each piece of speed machinery buys on a figure a user sees, against the plain version.

    PYTHONPATH=. python benchmarks/machinery.py [--quick] [--repeats 5] [--knn-points 50000]
        [--seg-batch 16] [--parts pooled,allocator,knn,startup]

One run, each piece against its plain replacement, the two alternated (A, B, A, B, ...)
so that a change in the machine's load hits both alike; the figure is the median of the
repeats and the ratio plain / machinery (above 1: the machinery is faster). Torch runs
on one thread. ``uptime``'s load average is recorded before and after.

- ``pooled_batch_norm``: a training step (forward, cross-entropy, backward, SGD) of the
  full classifier and segmenter, batch 16 x 1024 points, with
  :func:`pointea.nn.pooled_batch_norm.pooled_batch_norm_act` against
  ``act(BatchNorm(h)).amax(dim)``; both variants alternate inside one process.
- ``allocator``: the classifier's training step in fresh processes with and without
  :func:`pointea.ops.allocator.keep_freed_memory` (process-wide, so one process each).
- ``grid_knn``: kNN (k = 32) of a ``--knn-points`` cloud with itself, the octree search
  against brute force in chunks (:func:`pointea.ops.brute_knn.knn_torch`).
- ``eager_only`` and ``lazy_exports``: ``python -m pointea.cli.predict`` on a small
  ``.xyz`` file with a tiny classifier checkpoint, and ``import pointea``, each in a fresh
  process: as shipped; with ``torch.compiler.disable`` in place of ``eager_only``; with
  every lazily exported module imported up front (what plain imports in the package
  ``__init__`` files would do).

``--quick`` runs everything once on tiny sizes (for the test suite: the script keeps
working); its timings mean nothing.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _trees import tiny_checkpoint, tree_env

ROOT = Path(__file__).resolve().parents[1]

# Modules that the lazy ``__getattr__`` of the package ``__init__`` files import on first
# use; plain imports would import them with the package.
LAZY_MODULES = {
    "pointea": ["pointea.checkpoint", "pointea.trained_model"],
    "pointea.data": [
        "pointea.data.errors", "pointea.data.modelnet40", "pointea.data.datamodule",
        "pointea.data.release_tables", "pointea.data.shapenet_part", "pointea.data.synthetic",
    ],
    "pointea.tasks": [
        "pointea.tasks.class_accuracy", "pointea.tasks.classification",
        "pointea.tasks.epoch_log", "pointea.tasks.part_iou", "pointea.tasks.segmentation",
        "pointea.tasks.atomic_checkpoint_io",
    ],
}  # fmt: skip

PRELUDES = {
    "shipped": "",
    "plain_disable": (
        "import sys, types, torch\n"
        "stub = types.ModuleType('pointea.ops.eager_only')\n"
        "stub.eager_only = torch.compiler.disable\n"
        "sys.modules['pointea.ops.eager_only'] = stub\n"
    ),
    "plain_imports": "".join(
        f"import {module}\n" for modules in LAZY_MODULES.values() for module in modules
    ),
}


def uptime() -> str:
    return Path("/proc/loadavg").read_text().strip() if Path("/proc/loadavg").exists() else "?"


# --------------------------------------------------------------------------------------
# Children: each measurement that must start fresh runs in its own process.


def _step(model_name: str, batch: int, points: int, quick: bool):
    """A closure running one training step of the full (or, quick, tiny) network."""
    import torch
    import torch.nn.functional as F

    from pointea.models import PointTransformerCls, PointTransformerSeg

    torch.manual_seed(0)
    xyz = torch.randn(batch, points, 3)
    if model_name == "cls":
        options = {"num_samples": (64, 32), "fuse_channels": 64} if quick else {}
        model = PointTransformerCls(40, **options)
        target = torch.randint(40, (batch,))
        inputs = (xyz,)
    else:
        options = {"fuse_channels": 64, "k": 8} if quick else {}
        model = PointTransformerSeg(50, 16, **options)
        target = torch.randint(50, (batch, points))
        inputs = (xyz, torch.randint(16, (batch,)))
    model.train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def step() -> float:
        start = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        logits = model(*inputs)
        F.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1)).backward()
        optimizer.step()
        return time.perf_counter() - start

    return step


def _plain_normalise_max(self, h, dim, *, overwrite=False):
    """``act(BN(h)).amax(dim)`` written out: BatchNorm1d on every element, then the max."""
    del overwrite
    return self.normalise(h).amax(dim)


def child_pooled(args) -> dict:
    """Alternate the shipped and the plain pooled BatchNorm in one process."""
    from pointea.nn.mlp import LinearBNAct

    shipped = LinearBNAct.normalise_max
    step = _step(args.model, args.batch, args.points, args.quick)
    times = {"shipped": [], "plain": []}
    for index in range(2 * args.repeats + 2):  # one warm-up step of each first
        variant = ("shipped", "plain")[index % 2]
        LinearBNAct.normalise_max = shipped if variant == "shipped" else _plain_normalise_max
        seconds = step()
        if index >= 2:
            times[variant].append(seconds)
    LinearBNAct.normalise_max = shipped
    return times


def child_step(args) -> dict:
    """Steps of one network in this process, after one warm-up, with or without mallopt."""
    kept = False
    if args.alloc == "on":
        from pointea.ops.allocator import keep_freed_memory

        kept = keep_freed_memory()
    step = _step(args.model, args.batch, args.points, args.quick)
    step()
    return {"kept": kept, "seconds": [step() for _ in range(args.steps)]}


def child_knn(args) -> dict:
    """Alternate the octree kNN and brute force on one cloud; check equal distances."""
    import torch

    from pointea.ops.brute_knn import knn_torch
    from pointea.ops.grid_knn import knn_grid

    generator = torch.Generator().manual_seed(0)
    cloud = torch.randn(1, args.knn_points, 3, generator=generator)
    cloud /= cloud.norm(dim=-1, keepdim=True)  # a surface, as scanned clouds are
    cloud += 0.01 * torch.randn(cloud.shape, generator=generator)
    times = {"grid": [], "brute": []}
    answers = {}
    for index in range(2 * args.repeats):
        variant = ("grid", "brute")[index % 2]
        fn = knn_grid if variant == "grid" else knn_torch
        start = time.perf_counter()
        answers[variant] = fn(cloud, cloud, 32)
        times[variant].append(time.perf_counter() - start)

    def distances(idx):
        return (cloud[0, idx[0]] - cloud[0].unsqueeze(1)).norm(dim=-1)

    same = torch.allclose(distances(answers["grid"]), distances(answers["brute"]), atol=1e-6)
    return {**times, "same_distances": bool(same)}


CHILDREN = {"pooled": child_pooled, "step": child_step, "knn": child_knn}


def run_child(kind: str, args, **options) -> dict:
    command = [sys.executable, __file__, "--child", kind, "--repeats", str(args.repeats),
               "--knn-points", str(args.knn_points)]  # fmt: skip
    for name, value in options.items():
        command += [f"--{name}", str(value)]
    if args.quick:
        command.append("--quick")
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=tree_env(ROOT))
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------------------
# Fresh-process start-up.


def timed_process(prelude: str, body: str) -> float:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", prelude + body],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=tree_env(ROOT),
    )
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(done.stderr[-3000:])
    return seconds


def startup(args, workdir: Path) -> dict:
    ckpt = tiny_checkpoint(ROOT, workdir)
    cloud = workdir / "cloud.xyz"
    rows = [f"{math.cos(i):.4f} {math.sin(i):.4f} {math.sin(0.37 * i):.4f}" for i in range(300)]
    cloud.write_text("\n".join(rows) + "\n")
    predict_argv = ["predict", f"ckpt_path={ckpt}", f"input={cloud}"]
    bodies = {
        "import_pointea": "import pointea\n",
        "predict": (
            "import runpy, sys\n"
            f"sys.argv = {predict_argv!r} + ['output_dir=' + {str(workdir)!r} + '/out' + str(__import__('os').getpid())]\n"
            "runpy.run_module('pointea.cli.predict', run_name='__main__')\n"
        ),
    }  # fmt: skip
    times: dict[str, dict[str, list[float]]] = {
        "import_pointea": {"shipped": [], "plain_imports": []},
        "predict": {"shipped": [], "plain_disable": [], "plain_imports": []},
    }
    for _ in range(args.repeats):
        for figure, variants in times.items():
            for variant, seconds in variants.items():
                seconds.append(timed_process(PRELUDES[variant], bodies[figure]))
    return times


# --------------------------------------------------------------------------------------


def summary(times: dict[str, list[float]], machinery: str, plain: str) -> dict:
    a, b = statistics.median(times[machinery]), statistics.median(times[plain])
    return {
        f"{machinery}_median_s": round(a, 3),
        f"{plain}_median_s": round(b, 3),
        "plain_over_machinery": round(b / a, 3),
        "all_s": {name: [round(t, 3) for t in values] for name, values in times.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--knn-points", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--seg-batch", type=int, default=16)
    parser.add_argument("--parts", default="pooled,allocator,knn,startup")
    parser.add_argument("--points", type=int, default=1024)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    parser.add_argument("--child", choices=sorted(CHILDREN))
    parser.add_argument("--model", default="cls")
    parser.add_argument("--alloc", default="off")
    parser.add_argument("--steps", type=int, default=2)
    args = parser.parse_args()
    if args.quick:
        args.repeats, args.knn_points, args.points = 1, 3000, 128
        args.batch = args.seg_batch = 2
    if args.child:
        import torch

        torch.set_num_threads(1)
        print(json.dumps(CHILDREN[args.child](args)))
        return

    started = time.perf_counter()
    result: dict = {"load_before": uptime(), "repeats": args.repeats, "threads": 1,
                    "batch": args.batch, "seg_batch": args.seg_batch, "points": args.points,
                    "knn_points": args.knn_points}  # fmt: skip
    args.out.mkdir(parents=True, exist_ok=True)

    def record(name: str, figure: dict) -> None:
        """Keep each part's figure as soon as it is measured (a long run may be cut short)."""
        result[name] = {**figure, "load": uptime()}
        (args.out / "machinery.json").write_text(json.dumps(result, indent=1))
        print(name, json.dumps(result[name]), flush=True)

    parts = set(args.parts.split(","))
    if "pooled" in parts:
        for model, batch in (("cls", args.batch), ("seg", args.seg_batch)):
            times = run_child("pooled", args, model=model, batch=batch, points=args.points)
            record(f"pooled_batch_norm_{model}_step", summary(times, "shipped", "plain"))
    if "allocator" in parts:
        alloc: dict[str, list[float]] = {"on": [], "off": []}
        for _ in range(args.repeats):
            for variant in ("on", "off"):
                out = run_child(
                    "step", args, model="cls", alloc=variant, batch=args.batch, points=args.points
                )
                alloc[variant].append(statistics.median(out["seconds"]))
        record("allocator_cls_step", summary(alloc, "on", "off"))
    if "knn" in parts:
        knn = run_child("knn", args)
        same = knn.pop("same_distances")
        record("grid_knn", {**summary(knn, "grid", "brute"), "same_distances": same})
    if "startup" in parts:
        with tempfile.TemporaryDirectory() as tmp:
            starts = startup(args, Path(tmp))
        record("eager_only_predict", summary(starts["predict"], "shipped", "plain_disable"))
        record("lazy_exports_predict", summary(starts["predict"], "shipped", "plain_imports"))
        record(
            "lazy_exports_import_pointea",
            summary(starts["import_pointea"], "shipped", "plain_imports"),
        )
    result["load_after"] = uptime()
    result["wall_s"] = round(time.perf_counter() - started, 1)
    (args.out / "machinery.json").write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
