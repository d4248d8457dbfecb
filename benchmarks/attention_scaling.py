"""Forward+backward time and peak memory of each attention block against the number of points.

    python benchmarks/attention_scaling.py [--quick] [--channels 256] [--memory-cap-gb 8]

Every kind of ``pointea/configs/model/attention/`` at its configured options. Each
(attention, N) runs in a fresh subprocess so that its peak resident memory is its own.
Configurations whose estimated footprint exceeds the cap are skipped with a note instead
of exhausting the machine. Writes a markdown table and a log-log plot to --out.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

PROBE_SIZES = (64, 128, 256)  # small N at which each kind's footprint is measured
HEADROOM = 3  # peak memory over saved bytes: gradients and the forward's temporaries


def estimate_bytes(kind: str, n: int, channels: int, batch: int) -> int:
    """Rough upper bound of the block's activations (forward + backward), in bytes: the
    bytes it saves for backward, measured at three small N and extrapolated by the
    quadratic through them (linear in N for most kinds, quadratic for all-pairs ones)."""
    xs = PROBE_SIZES
    ys = [_probe_saved_bytes(kind, m, channels, batch) for m in xs]
    lagrange = 0.0
    for i, (xi, yi) in enumerate(zip(xs, ys, strict=True)):
        term = yi
        for j, xj in enumerate(xs):
            if j != i:
                term *= (n - xj) / (xi - xj)
        lagrange += term
    return int(HEADROOM * max(lagrange, max(ys)))


def _probe_saved_bytes(kind: str, n: int, channels: int, batch: int) -> int:
    key = (kind, n, channels, batch)
    if key not in _PROBED:
        import torch

        from pointea.cli.attention_config import attention_factory
        from pointea.nn import OffsetBlock

        torch.manual_seed(0)
        block = OffsetBlock(attention_factory(kind)(channels), channels)
        x = torch.randn(batch, n, channels, requires_grad=True)
        _PROBED[key] = saved_for_backward_bytes(block, x, torch.rand(batch, n, 3))
    return _PROBED[key]


_PROBED: dict[tuple, int] = {}


def saved_for_backward_bytes(block, x, pos) -> int:
    """Bytes of the distinct storages autograd keeps for the backward pass: the activation
    memory that grows with N, counted exactly rather than read off the process size."""
    import torch

    storages: dict[int, int] = {}

    def pack(tensor):
        storage = tensor.untyped_storage()
        storages[storage.data_ptr()] = storage.nbytes()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        out = block(x, pos)
    out.sum().backward()
    return sum(storages.values())


def measure(kind: str, n: int, channels: int, batch: int, repeats: int) -> dict:
    """Run in the child process: time forward+backward, report peak RSS above the start."""
    import torch

    from pointea.cli.attention_config import attention_factory
    from pointea.nn import OffsetBlock

    torch.manual_seed(0)
    block = OffsetBlock(attention_factory(kind)(channels), channels)
    x = torch.randn(batch, n, channels, requires_grad=True)
    pos = torch.rand(batch, n, 3)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    times = []
    for _ in range(repeats + 1):  # the first run warms up
        start = time.perf_counter()
        block(x, pos).sum().backward()
        times.append(time.perf_counter() - start)
        x.grad = None
        block.zero_grad(set_to_none=True)
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    saved = saved_for_backward_bytes(block, x, pos)
    return {
        "seconds": min(times[1:]),
        "peak_mb": (rss_after - rss_before) / 1024,
        "saved_mb": saved / 2**20,
    }


def run_child(kind: str, n: int, args: argparse.Namespace) -> dict:
    cmd = [
        sys.executable,
        __file__,
        "--child",
        kind,
        str(n),
        "--channels",
        str(args.channels),
        "--batch",
        str(args.batch),
        "--repeats",
        str(args.repeats),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr else "failed"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def torch_version() -> str:
    from importlib.metadata import version

    return version("torch")


def loglog_slope(points: list[tuple[int, float]]) -> float:
    """Least-squares slope of log(cost) against log(N): 1 is linear, 2 quadratic."""
    xs = [math.log(n) for n, _ in points]
    ys = [math.log(v) for _, v in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum(
        (x - mx) ** 2 for x in xs
    )


def write_report(results: dict, sizes: list[int], args: argparse.Namespace) -> str:
    kinds = list(results)
    lines = [
        f"C={args.channels}, batch {args.batch}, best of {args.repeats} forward+backward passes,"
        f" peak RSS above the inputs, and tensors saved for backward; cap {args.memory_cap_gb} GiB;"
        f" {platform.machine()}, {os.cpu_count()} cores, torch {torch_version()}",
        "",
        "| N | " + " | ".join(f"{k} ms | {k} MiB | {k} saved MiB" for k in kinds) + " |",
        "|---" * (3 * len(kinds) + 1) + "|",
    ]
    for n in sizes:
        row = [str(n)]
        for kind in kinds:
            r = results[kind].get(n, {})
            if "seconds" in r:
                row += [f"{1000 * r['seconds']:.1f}", f"{r['peak_mb']:.0f}", f"{r['saved_mb']:.1f}"]
            else:
                row += [r.get("note", r.get("error", "-")), "", ""]
        lines.append("| " + " | ".join(row) + " |")
    lines.append("")
    for kind in kinds:
        pts = [(n, r["seconds"]) for n, r in results[kind].items() if "seconds" in r and n >= 1024]
        if len(pts) >= 2:
            lines.append(f"- {kind}: time grows as N^{loglog_slope(pts):.2f} for N >= 1024")
    return "\n".join(lines)


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for kind in results:
        pts = sorted((n, r) for n, r in results[kind].items() if "seconds" in r)
        if not pts:
            continue
        ns = [n for n, _ in pts]
        axes[0].loglog(ns, [r["seconds"] * 1000 for _, r in pts], "o-", label=kind)
        axes[1].loglog(ns, [max(r["peak_mb"], 1) for _, r in pts], "o-", label=kind)
    for ax, label in zip(axes, ("forward+backward (ms)", "peak memory (MiB)"), strict=True):
        ax.set_xlabel("points N")
        ax.set_ylabel(label)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="two small sizes, one repeat")
    parser.add_argument("--channels", type=int, default=256)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--memory-cap-gb", type=float, default=8.0)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    parser.add_argument("--child", nargs=2, metavar=("KIND", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(
            json.dumps(
                measure(args.child[0], int(args.child[1]), args.channels, args.batch, args.repeats)
            )
        )
        return
    sizes = [256, 512] if args.quick else [256, 512, 1024, 2048, 4096, 8192, 16384]
    if args.quick:
        args.repeats = 1
    from pointea.cli.attention_config import attention_kinds

    results: dict = {kind: {} for kind in attention_kinds()}
    for kind in results:
        for n in sizes:
            need = estimate_bytes(kind, n, args.channels, args.batch)
            if need > args.memory_cap_gb * 2**30:
                results[kind][n] = {"note": f"skipped (~{need / 2**30:.0f} GiB)"}
            else:
                results[kind][n] = run_child(kind, n, args)
            print(kind, n, results[kind][n], flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    report = write_report(results, sizes, args)
    (args.out / "attention_scaling.md").write_text(report + "\n")
    (args.out / "attention_scaling.json").write_text(json.dumps(results, indent=1))
    plot(results, args.out / "attention_scaling.png")
    print(report)


if __name__ == "__main__":
    main()
