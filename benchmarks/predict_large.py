"""`predict` on one large .xyz cloud: the whole command's wall time, and where it goes.

    python benchmarks/predict_large.py [--quick] [--points 2000000]

Two checkpoints of the default networks (classifier: 1,024 points; part segmenter: 2,048)
are made by ``train.py`` itself (one training batch on the built-in data: the weights do
not matter for speed). A cloud of --points points (a noisy sphere, written as text) is
then predicted by ``python -m pointea.cli.predict`` in a fresh process, as a user would
run it: the wall time includes Python start-up, imports and the checkpoint load. The same
stages are then timed one by one in this process (reading, normalising, the network,
carrying the parts back to every point by kNN, the PLY and the PNG), and the carry-back
kNN is timed with brute force too (on a tenth of the points, scaled, when there are more
than 200,000) to show what the octree search saves. ``python_import_seconds`` is a fresh
process that only imports the predict command: the floor under both commands.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]


def train_checkpoint(task: str, workdir: Path, quick: bool) -> Path:
    """A checkpoint of the default (or, quick, tiny) network from one training batch."""
    data = "synthetic_cls" if task == "cls" else "synthetic_parts"
    options = (
        "{cls_train_per_class: 4, cls_test_per_class: 1}"
        if task == "cls"
        else "{parts_train_per_category: 8, parts_val_per_category: 1, parts_test_per_category: 1}"
    )
    run_dir = workdir / f"run_{task}"
    command = [
        sys.executable, "train.py", f"task={task}", f"data={data}", f"data.root={workdir / data}",
        f"+data.builtin_options={options}", "trainer=cpu", "trainer.max_epochs=1",
        "trainer.limit_train_batches=1", "trainer.limit_val_batches=1", "trainer.limit_test_batches=1",
        "trainer.num_sanity_val_steps=0", "data.batch_size=4", f"hydra.run.dir={run_dir}",
    ]  # fmt: skip
    if quick:
        command += [f"model=pct_{task}_tiny", "data.num_points=256"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(done.stderr[-3000:])
    return run_dir / "checkpoints" / "last.ckpt"


def write_cloud(path: Path, points: int) -> None:
    rng = np.random.default_rng(0)
    xyz = rng.normal(size=(points, 3))
    xyz /= np.linalg.norm(xyz, axis=1, keepdims=True)
    xyz += rng.normal(scale=0.01, size=xyz.shape)
    np.savetxt(path, xyz, fmt="%.6f")


def run_predict(ckpt: Path, cloud: Path, out: Path, extra: list[str]) -> float:
    command = [sys.executable, "-m", "pointea.cli.predict", f"ckpt_path={ckpt}", f"input={cloud}",
               f"output_dir={out}", *extra]  # fmt: skip
    start = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(done.stderr[-3000:])
    return seconds


def stages(cls_ckpt: Path, seg_ckpt: Path, cloud: Path, out: Path) -> dict:
    """The predict path's stages, each timed once in this process (modules imported first)."""
    import open3d  # noqa: F401 - imported inside read_points: keep its import out of the read

    from pointea.checkpoint import load_network
    from pointea.data.user_clouds import normalise_cloud, resample_cloud
    from pointea.ops import knn
    from pointea.vis import label_colors
    from pointea.vis.point_files import read_points, write_labeled_ply
    from pointea.vis.render import render_cloud

    timed: dict[str, float] = {}

    def clock(name, fn):
        start = time.perf_counter()
        value = fn()
        timed[name] = round(time.perf_counter() - start, 3)
        return value

    classifier, cls_meta = clock("load_classifier", lambda: load_network(cls_ckpt))
    segmenter, seg_meta = clock("load_segmenter", lambda: load_network(seg_ckpt))
    raw = clock("read_xyz", lambda: read_points(cloud))
    points = clock("normalise", lambda: normalise_cloud(raw, cloud))
    with torch.inference_mode():
        for name, net, meta in (("cls", classifier, cls_meta), ("seg", segmenter, seg_meta)):
            idx = resample_cloud(points, meta["num_points"], 0)
            xyz = torch.from_numpy(points[idx]).unsqueeze(0)
            if name == "cls":
                clock("cls_network", lambda net=net, xyz=xyz: net(xyz))
                continue
            logits = clock("seg_network", lambda net=net, xyz=xyz: net(xyz, torch.tensor([0])))
            query = torch.from_numpy(points).unsqueeze(0)
            nearest = clock("carry_back_knn", lambda q=query, r=xyz: knn(q, r, 1)[0, :, 0])
            rows = query.shape[1] if query.shape[1] <= 200_000 else query.shape[1] // 10
            brute = clock(
                "carry_back_knn_brute_force",
                lambda q=query[:, :rows], r=xyz: knn(q, r, 1, backend="torch"),
            )
            timed["carry_back_knn_brute_force"] *= query.shape[1] / rows
            timed["carry_back_knn_brute_force_scaled"] = rows < query.shape[1]
            timed["carry_back_agrees"] = bool(torch.equal(brute[0, :, 0], nearest[:rows]))
            parts = logits[0].argmax(-1)[nearest].numpy()
    colors = clock("colors", lambda: label_colors(parts))
    clock("write_ply", lambda: write_labeled_ply(out / "stage.ply", raw, colors, parts))
    clock("render_png", lambda: render_cloud(points, colors))
    return timed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--points", type=int, default=2_000_000)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    if args.quick:
        args.points = 20_000
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        cls_ckpt = train_checkpoint("cls", workdir, args.quick)
        seg_ckpt = train_checkpoint("seg", workdir, args.quick)
        cloud = workdir / "cloud.xyz"
        write_cloud(cloud, args.points)
        result = {
            "points": args.points, "threads": torch.get_num_threads(), "cpus": os.cpu_count(),
            "predict_cls_seconds": round(run_predict(cls_ckpt, cloud, workdir / "p_cls", []), 2),
            "predict_seg_seconds": round(
                run_predict(seg_ckpt, cloud, workdir / "p_seg", ["category=Mug"]), 2
            ),
            "python_import_seconds": round(run_predict_imports(), 2),
            "stages_seconds": stages(cls_ckpt, seg_ckpt, cloud, workdir),
        }  # fmt: skip
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "predict_large.json").write_text(json.dumps(result, indent=1))
    print(json.dumps(result))


def run_predict_imports() -> float:
    """Wall time of a fresh process that only imports the predict command's modules."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import pointea.cli.predict"], cwd=ROOT, check=True)
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
