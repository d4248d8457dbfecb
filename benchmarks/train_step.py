"""Training-step time: pointea (eager and torch.compile) against the straightforward PCT port.

    python benchmarks/train_step.py [--quick] [--batch 16] [--points 1024]

Same weights (the port's, converted), same inputs, same process. Before timing it checks
that both give the same logits in eval mode. A step is forward, cross-entropy, backward
and an SGD update; the figure is the best of --repeats steps after two warm-up steps
(compilation happens there). The machine's fp32 matmul peak is measured in the same run
(best of a few square matmuls), and each step's matmul FLOPs are counted
(``torch.utils.flop_counter``, forward and backward), so the achieved GFLOP/s of a step
and its distance to the matmul floor are printed beside the times.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
from pathlib import Path

import torch
import torch.nn.functional as F
from _port import best_seconds, port_and_pointea
from torch.utils.flop_counter import FlopCounterMode

from pointea.ops.allocator import keep_freed_memory


def matmul_peak_gflops(size: int, repeats: int = 5, device: str = "cpu") -> float:
    """Best fp32 GFLOP/s of a (size x size) @ (size x size) matmul on this machine."""
    a = torch.randn(size, size, device=device)
    b = torch.randn(size, size, device=device)
    a @ b  # warm-up
    return 2 * size**3 / best_seconds(lambda: a @ b, repeats) / 1e9


def step_flops(step) -> int:
    """Matmul FLOPs (forward and backward) of one call of ``step``."""
    counter = FlopCounterMode(display=False)
    with counter:
        step()
    return counter.get_total_flops()


def step_fn(model, xyz, target):
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def step():
        optimizer.zero_grad(set_to_none=True)
        F.cross_entropy(model(xyz), target).backward()
        optimizer.step()

    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--points", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-compile", action="store_true")
    parser.add_argument(
        "--keep-freed-memory",
        action="store_true",
        help="glibc keeps freed memory for reuse (pointea.ops.allocator), for the whole "
        "process: the port and pointea alike",
    )
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    kept = keep_freed_memory() if args.keep_freed_memory else False
    samples = (512, 256)
    if args.quick:
        args.batch, args.points, args.repeats, args.no_compile, samples = 2, 256, 1, True, (64, 32)
    torch.manual_seed(0)
    _, port, ours = port_and_pointea(samples)
    port, ours = port.to(args.device), ours.to(args.device)
    xyz = torch.randn(args.batch, args.points, 3, device=args.device)
    target = torch.randint(0, 40, (args.batch,), device=args.device)
    difference = None
    if args.device == "cpu":
        port.eval(), ours.eval()
        with torch.no_grad():
            difference = (port(xyz) - ours(xyz)).abs().max().item()
        port.train(), ours.train()
    # The port's FPS allocates on the CPU: on a GPU only pointea is timed.
    variants = {"port": port, "pointea": ours} if args.device == "cpu" else {"pointea": ours}
    if not args.no_compile:
        compiled = copy.deepcopy(ours)
        compiled.compile()
        variants["pointea+compile"] = compiled
    result = {"device": args.device, "batch": args.batch, "points": args.points, "threads": torch.get_num_threads(),
              "cpus": os.cpu_count(), "max_logit_difference_eval": difference, "keep_freed_memory": kept}  # fmt: skip
    peak = matmul_peak_gflops(256 if args.quick else 2048, device=args.device)
    result["matmul_peak_gflops"] = round(peak, 1)
    for name, model in variants.items():
        step = step_fn(model, xyz, target)
        step(), step()  # warm-up (and compilation)
        result[f"{name}_step_s"] = round(best_seconds(step, args.repeats), 4)
        if name != "pointea+compile":  # the counter sees eager ops; compiled maths is the same
            result[f"{name}_gflop_per_step"] = round(step_flops(step) / 1e9, 1)
    for name in variants:
        flops = result.get(f"{name}_gflop_per_step", result.get("pointea_gflop_per_step"))
        achieved = flops / result[f"{name}_step_s"]
        result[f"{name}_achieved_gflops"] = round(achieved, 1)
        result[f"{name}_fraction_of_peak"] = round(achieved / peak, 3)
        # The step's time if every matmul ran at the measured peak and nothing else cost.
        result[f"{name}_matmul_floor_s"] = round(flops / peak, 4)
        if name != "port" and "port" in variants:
            result[f"{name}_speedup"] = round(result["port_step_s"] / result[f"{name}_step_s"], 2)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "train_step.json").write_text(json.dumps(result, indent=1))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
