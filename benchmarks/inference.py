"""Inference throughput (clouds per second): pointea against the straightforward PCT port.

    python benchmarks/inference.py [--quick] [--batch 32]

Classification at 1024 points against the port itself; part segmentation at 2048 points
against a straightforward channel-first segmenter in the port's style (the port has no
segmentation model). Same weights, same inputs, same process, eval mode, inference_mode;
equal outputs are checked before timing. Best of --repeats batches after a warm-up.
"""

from __future__ import annotations

import argparse
import copy
import json
from pathlib import Path

import torch
from _port import best_seconds, port_and_pointea, port_style_segmenter

from pointea.models import PointTransformerSeg
from pointea.ops.allocator import keep_freed_memory


def throughput(model, inputs, batch: int, repeats: int) -> float:
    with torch.inference_mode():
        model(*inputs)
        return batch / best_seconds(lambda: model(*inputs), repeats)


def max_difference(a, b, inputs) -> float:
    with torch.inference_mode():
        return (a(*inputs) - b(*inputs)).abs().max().item()


def compare(name, baseline, ours, inputs, args, result) -> None:
    # The port's FPS allocates on the CPU: on a GPU only pointea is timed.
    on_cpu = inputs[0].device.type == "cpu"
    if on_cpu:
        result[f"{name}_max_output_difference"] = max_difference(baseline, ours, inputs)
    variants = {"port": baseline, "pointea": ours} if on_cpu else {"pointea": ours}
    if not args.no_compile:
        compiled = copy.deepcopy(ours)
        compiled.compile()
        variants["pointea+compile"] = compiled
    for variant, model in variants.items():
        result[f"{name}_{variant}_clouds_per_s"] = round(
            throughput(model, inputs, args.batch, args.repeats), 2
        )
    for variant in variants:
        if variant != "port" and on_cpu:
            result[f"{name}_{variant}_speedup"] = round(
                result[f"{name}_{variant}_clouds_per_s"] / result[f"{name}_port_clouds_per_s"], 2
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
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
    cls_points, seg_points, samples = 1024, 2048, (512, 256)
    if args.quick:
        args.batch, args.repeats, args.no_compile = 2, 1, True
        cls_points, seg_points, samples = 256, 256, (64, 32)
    torch.manual_seed(0)
    port, port_cls, ours_cls = port_and_pointea(samples)
    device = torch.device(args.device)
    result = {"device": args.device, "batch": args.batch, "threads": torch.get_num_threads(), "keep_freed_memory": kept}  # fmt: skip
    cls_inputs = (torch.randn(args.batch, cls_points, 3, device=device),)
    compare("cls", port_cls.to(device).eval(), ours_cls.to(device).eval(), cls_inputs, args, result)
    ours_seg = PointTransformerSeg(50, 16).eval()
    with torch.no_grad():  # non-trivial running statistics, so that equal outputs mean something
        for module in ours_seg.modules():
            if isinstance(module, torch.nn.BatchNorm1d):
                module.running_mean.uniform_(-0.1, 0.1)
                module.running_var.uniform_(0.8, 1.2)
    seg_inputs = (
        torch.randn(args.batch, seg_points, 3, device=device),
        torch.randint(0, 16, (args.batch,), device=device),
    )
    baseline_seg = port_style_segmenter(port, ours_seg).to(device).eval()
    compare("seg", baseline_seg, ours_seg.to(device), seg_inputs, args, result)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "inference.json").write_text(json.dumps(result, indent=1))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
