"""CPU inference throughput of the exported model: ONNX Runtime against eager PyTorch.

    python benchmarks/export_inference.py [--quick] [--batch 16] [--attention external]

The default classifier (PCT sizes) at 1024 points and the default part segmenter at 2048
points, exported with ``pointea.export.export_onnx`` and run in ONNX Runtime (CPU, default
session options, intra-op threads = torch's) and eagerly in PyTorch (eval mode,
inference_mode), same batch, same inputs, same process. Outputs are checked equal before
timing. Best of --repeats batches after a warm-up; also reports the export time.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

from pointea.cli.attention_config import attention_factory
from pointea.export import export_onnx
from pointea.models import PointTransformerCls, PointTransformerSeg


def best_seconds(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def randomised(network: torch.nn.Module) -> torch.nn.Module:
    with torch.no_grad():  # non-trivial running statistics, so equal outputs mean something
        for module in network.modules():
            if isinstance(module, torch.nn.BatchNorm1d):
                module.running_mean.uniform_(-0.1, 0.1)
                module.running_var.uniform_(0.8, 1.2)
    return network.eval()


def measure(name, network, inputs, num_points, args, folder, result) -> None:
    start = time.perf_counter()
    path = export_onnx(network, folder / f"{name}.onnx", num_points=num_points)
    result[f"{name}_export_s"] = round(time.perf_counter() - start, 1)
    options = ort.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    feed = dict(zip(names, (t.numpy() for t in inputs), strict=True))
    with torch.inference_mode():
        eager_out = network(*inputs)
    (ort_out,) = session.run(None, feed)
    result[f"{name}_max_output_difference"] = float(np.abs(ort_out - eager_out.numpy()).max())
    with torch.inference_mode():
        eager_s = best_seconds(lambda: network(*inputs), args.repeats)
    session.run(None, feed)
    ort_s = best_seconds(lambda: session.run(None, feed), args.repeats)
    result[f"{name}_eager_clouds_per_s"] = round(args.batch / eager_s, 2)
    result[f"{name}_onnxruntime_clouds_per_s"] = round(args.batch / ort_s, 2)
    result[f"{name}_onnxruntime_speedup"] = round(eager_s / ort_s, 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--attention", default="external")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    cls_points, seg_points, sizes = 1024, 2048, {}
    if args.quick:
        args.batch, args.repeats, cls_points, seg_points = 2, 1, 128, 128
        sizes = {"embed_channels": 16, "k": 8, "fuse_channels": 32, "head_channels": (16, 16)}
    torch.manual_seed(0)
    attention = attention_factory(args.attention)
    cls_net = PointTransformerCls(
        40,
        attention=attention,
        **sizes,
        **({"stage_channels": (16, 32), "num_samples": (32, 16)} if args.quick else {}),
    )
    seg_net = PointTransformerSeg(
        50, 16, attention=attention, **sizes, **({"channels": 16} if args.quick else {})
    )
    result = {
        "attention": args.attention,
        "batch": args.batch,
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "onnxruntime": ort.__version__,
    }
    with tempfile.TemporaryDirectory() as tmp:
        cls_inputs = (torch.rand(args.batch, cls_points, 3) * 2 - 1,)
        measure("cls", randomised(cls_net), cls_inputs, cls_points, args, Path(tmp), result)
        seg_inputs = (
            torch.rand(args.batch, seg_points, 3) * 2 - 1,
            torch.randint(0, 16, (args.batch,)),
        )
        measure("seg", randomised(seg_net), seg_inputs, seg_points, args, Path(tmp), result)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "export_inference.json").write_text(json.dumps(result, indent=1))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
