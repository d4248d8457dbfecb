"""Part segmentation of one large cloud on CPU: time and peak memory.

    python benchmarks/large_cloud.py [--quick] [--points 100000] [--memory-cap-gb 8]

The default segmenter (external attention) runs on a single cloud of --points points in
inference mode: chunked kNN and a chunked neighbour embedding, no N x N matrix anywhere.
For contrast, offset attention is run at growing N until its estimated footprint (its
N x N attention maps) would pass the cap: the largest N that fits is reported. Each
measurement runs in its own process so that its peak resident memory is its own.
The cloud's kNN (k = 32, every point a query) is also timed alone, through the octree
search the model uses and through brute force (on --brute-rows query points, scaled to
the whole cloud), with the two answers compared on those rows.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path


def measure(attention: str, points: int) -> dict:
    import torch

    from pointea.cli.attention_config import attention_factory
    from pointea.models import PointTransformerSeg

    torch.manual_seed(0)
    model = PointTransformerSeg(50, 16, attention=attention_factory(attention)).eval()
    xyz = torch.rand(1, points, 3) * 2 - 1
    category = torch.tensor([3])
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    with torch.inference_mode():
        logits = model(xyz, category)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"attention": attention, "points": points, "seconds": round(seconds, 2),
            "peak_rss_gib": round(peak / 2**20, 2), "peak_above_start_gib": round((peak - before) / 2**20, 2),
            "finite": bool(torch.isfinite(logits).all()), "parts_predicted": int(logits.argmax(-1).unique().numel())}  # fmt: skip


def measure_knn(points: int, brute_rows: int) -> dict:
    import torch

    from pointea.ops import knn

    torch.manual_seed(0)
    xyz = torch.rand(1, points, 3) * 2 - 1
    start = time.perf_counter()
    grid = knn(xyz, xyz, 32, backend="grid")
    grid_seconds = time.perf_counter() - start
    rows = min(brute_rows, points)
    start = time.perf_counter()
    brute = knn(xyz[:, :rows], xyz, 32, backend="torch")
    brute_seconds = (time.perf_counter() - start) * points / rows
    dist = lambda idx: (xyz[0][idx[0]] - xyz[0, :rows, None]).norm(dim=-1)  # noqa: E731
    return {"attention": "knn", "points": points, "grid_seconds": round(grid_seconds, 2),
            "brute_force_seconds": round(brute_seconds, 2), "brute_force_rows": rows,
            "speedup": round(brute_seconds / grid_seconds, 1),
            "same_distances": bool(torch.equal(dist(grid[:, :rows]), dist(brute))),
            "same_indices_fraction": float((grid[:, :rows] == brute).all(-1).float().mean())}  # fmt: skip


def offset_estimate_gib(points: int) -> float:
    """Three live N x N float32 maps (energy, softmax, normalised) plus the rest, in GiB."""
    return (3 * 4 * points**2 + 40_000 * points) / 2**30


def run_child(attention: str, points: int, brute_rows: int = 0) -> dict:
    cmd = [sys.executable, __file__, "--child", attention, str(points), str(brute_rows)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return {
            "attention": attention,
            "points": points,
            "error": (done.stderr.strip().splitlines() or ["failed"])[-1],
        }
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--memory-cap-gb", type=float, default=8.0)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    parser.add_argument("--brute-rows", type=int, default=10_000)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, points, rows = args.child[0], int(args.child[1]), int(args.child[2])
        print(json.dumps(measure_knn(points, rows) if kind == "knn" else measure(kind, points)))
        return
    ladder = [4096, 8192, 16384, 24576, 32768, 49152]
    if args.quick:
        args.points, ladder, args.brute_rows = 2048, [512, 1024], 512
    external = run_child("external", args.points)
    print(json.dumps(external), flush=True)
    knn_run = run_child("knn", args.points, args.brute_rows)
    print(json.dumps(knn_run), flush=True)
    offset_runs = []
    for points in ladder:
        if offset_estimate_gib(points) > args.memory_cap_gb:
            offset_runs.append(
                {
                    "attention": "offset",
                    "points": points,
                    "skipped": f"estimated {offset_estimate_gib(points):.1f} GiB > cap",
                }
            )
            break
        offset_runs.append(run_child("offset", points))
        print(json.dumps(offset_runs[-1]), flush=True)
    fitting = [
        r["points"]
        for r in offset_runs
        if "seconds" in r and r["peak_rss_gib"] <= args.memory_cap_gb
    ]
    result = {"external": external, "knn": knn_run, "offset": offset_runs, "offset_largest_points_under_cap": max(fitting, default=None),
              "memory_cap_gib": args.memory_cap_gb}  # fmt: skip
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "large_cloud.json").write_text(json.dumps(result, indent=1))
    print(json.dumps({k: v for k, v in result.items() if k != "offset"}))


if __name__ == "__main__":
    main()
