"""Every speed target in one run, side by side, against the PCT port (``pct_port.py``).

    python benchmarks/targets.py [--quick] [--skip epoch ...] [--shapes 1000]
    python benchmarks/targets.py --from-results benchmarks/results   # only the table

Runs, one after the other in fresh processes, large_cloud.py (one 100,000-point cloud),
predict_large.py (2 million points), train_step.py (with the matmul peak), inference.py
and epoch.py (a whole epoch of about --shapes shapes), each writing its JSON to --out,
then writes ``targets.md``: one row per target with the measured figure, the goal and
whether this run met it. Ratios are against the port measured in the same process as
pointea, so they hold on a loaded machine better than absolute seconds do.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = {
    "large_cloud": ["large_cloud.py", "--memory-cap-gb", "3"],
    "predict_large": ["predict_large.py"],
    "train_step": ["train_step.py"],
    "inference": ["inference.py"],
    "epoch": ["epoch.py"],
}


def _load(out: Path, name: str) -> dict | None:
    path = out / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def rows(out: Path) -> list[tuple[str, str, str, str]]:
    """(target, measured, goal, met) for every result found in ``out``."""
    table = []

    def add(target, measured, goal, met):
        table.append((target, measured, goal, "yes" if met else "**no**"))

    step = _load(out, "train_step")
    if step and "pointea_speedup" in step:
        add("training step, eager, vs port", f"{step['pointea_speedup']}x "
            f"({step['pointea_step_s']} s vs {step['port_step_s']} s)", ">= 3x",
            step["pointea_speedup"] >= 3)  # fmt: skip
        if "pointea+compile_speedup" in step:
            add("training step, compile, vs port", f"{step['pointea+compile_speedup']}x "
                f"({step['pointea+compile_step_s']} s)", ">= 4x",
                step["pointea+compile_speedup"] >= 4)  # fmt: skip
        add("training step, achieved matmul GFLOP/s (eager)",
            f"{step['pointea_achieved_gflops']} of {step['matmul_peak_gflops']} peak "
            f"({100 * step['pointea_fraction_of_peak']:.0f}%; floor {step['pointea_matmul_floor_s']} s)",
            "reported", True)  # fmt: skip
    epoch = _load(out, "epoch")
    if epoch:
        ours, port = epoch["pointea"], epoch["port"]
        scaled = " (scaled from part of the epoch)" if ours.get("scaled") else ""
        add(f"epoch through train.py, {epoch['training_clouds']} clouds, vs port{scaled}",
            f"{epoch['speedup']}x ({ours['epoch_seconds']} s vs {port['epoch_seconds']} s)",
            ">= 3x", epoch["speedup"] >= 3)  # fmt: skip
        if not ours.get("scaled"):
            add("epoch minus step times (data, validation, checkpoints, logging)",
                f"{100 * ours['outside_steps_fraction']:.1f}% (steps {ours['step_seconds']} s, data "
                f"{ours['data_between_steps_seconds']} s, validation {ours['validation_seconds']} s, "
                f"other {ours['other_seconds']} s)", "< 5%", ours["outside_steps_fraction"] < 0.05)  # fmt: skip
    inference = _load(out, "inference")
    if inference:
        for name, label in (("cls", "classification"), ("seg", "segmentation")):
            speedup = inference.get(f"{name}_pointea_speedup")
            if speedup is not None:
                add(f"inference batch {inference.get('batch', 32)}, {label}, eager, vs port",
                    f"{speedup}x", ">= 3.5x", speedup >= 3.5)  # fmt: skip
    large = _load(out, "large_cloud")
    if large and "seconds" in large["external"]:
        ext = large["external"]
        add(f"segmenter, one {ext['points']:,}-point cloud", f"{ext['seconds']} s, "
            f"{ext['peak_rss_gib']} GiB peak", "< 5 s, < 3 GiB",
            ext["seconds"] < 5 and ext["peak_rss_gib"] < 3)  # fmt: skip
        knn = large.get("knn", {})
        if "grid_seconds" in knn:
            add("its kNN (k = 32): octree vs brute force", f"{knn['grid_seconds']} s vs "
                f"{knn['brute_force_seconds']} s ({knn['speedup']}x), same distances: "
                f"{knn['same_distances']}", "exact", knn["same_distances"])  # fmt: skip
    predict = _load(out, "predict_large")
    if predict:
        points = f"{predict['points']:,}"
        add(f"predict, classification, {points}-point .xyz", f"{predict['predict_cls_seconds']} s "
            f"(imports alone {predict['python_import_seconds']} s)", "< 5 s",
            predict["predict_cls_seconds"] < 5)  # fmt: skip
        add(f"predict, segmentation, {points}-point .xyz", f"{predict['predict_seg_seconds']} s",
            "< 15 s", predict["predict_seg_seconds"] < 15)  # fmt: skip
    return table


def markdown(out: Path, header: str) -> str:
    lines = [header, "", "| target | measured | goal | met |", "|---|---|---|---|"]
    lines += [f"| {' | '.join(row)} |" for row in rows(out)]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--skip", nargs="*", default=[], choices=sorted(SCRIPTS))
    parser.add_argument("--shapes", type=int, default=1000, help="epoch.py --shapes")
    parser.add_argument("--from-results", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=HERE / "results")
    args = parser.parse_args()
    out = args.from_results or args.out
    out.mkdir(parents=True, exist_ok=True)
    seconds = {}
    if args.from_results is None:
        for name, command in SCRIPTS.items():
            if name in args.skip:
                continue
            extra = ["--quick"] if args.quick else []
            if name == "epoch" and not args.quick:
                extra += ["--shapes", str(args.shapes)]
            start = time.perf_counter()
            cmd = [sys.executable, str(HERE / command[0]), *command[1:], *extra, "--out", str(out)]
            done = subprocess.run(cmd, cwd=HERE.parent, capture_output=True, text=True)
            seconds[name] = round(time.perf_counter() - start, 1)
            if done.returncode != 0:
                raise SystemExit(f"{command[0]} failed:\n{done.stderr[-3000:]}")
            print(done.stdout.strip().splitlines()[-1], flush=True)
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    header = (
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, load average at the end "
        f"{load[0]:.1f}"
        if load
        else f"Machine: {platform.machine()}, {os.cpu_count()} CPUs"
    )
    if seconds:
        header += f"; seconds per script: {seconds}"
    text = markdown(out, header)
    (out / "targets.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
