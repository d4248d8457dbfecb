"""Exporting a trained network to ONNX or TorchScript, point operations included.

B clouds, N points, C classes, P parts.

The exported graph holds the whole network: farthest point sampling (its loop unrolled,
one step per sampled point) and kNN are plain ONNX operators (``ArgMax``, ``TopK``,
``ScatterND``, ...), no custom ops, so the model runs in ONNX Runtime without PyTorch.

Inputs: ``xyz`` (B, N, 3) float32, normalised as the training data were (see
``TrainedModel``), or (B, N, 6) with unit normals after the coordinates for a network
trained with ``data.features=[normals]``; a segmenter also takes ``category`` (B,) int64. Output: ``logits``,
(B, C) or (B, N, P). B and N are dynamic (N at least the network's ``min_points``). The
graph takes each cloud whole: the chunking that bounds pointea's eager memory on very large
clouds is fixed at trace time, so it is traced as a single chunk.

Each file is written whole or not at all: the graph is serialised in memory, then written
to a temporary file beside the output and renamed over it, so a failed export (a full
disk) leaves no truncated file and an earlier export of that name as it was.

ONNX goes through ``torch.onnx.export(dynamo=False)`` (the TorchScript-based exporter): the
``torch.export`` path translates the unrolled sampling loop in time that grows
quadratically with the sample count and has no translation for the exact ``cdist`` the
kNN uses.
"""

from __future__ import annotations

import io
import warnings
from contextlib import contextmanager
from pathlib import Path

import torch
from torch import nn

from pointea.vis.atomic import atomic_output

__all__ = [
    "FORMATS",
    "FORMAT_SUFFIXES",
    "check_export",
    "example_inputs",
    "export_onnx",
    "export_torchscript",
    "input_names",
]

FORMATS = ("onnx", "torchscript")
# The file names each format is known by: an output named for the other format is refused.
FORMAT_SUFFIXES = {"onnx": (".onnx",), "torchscript": (".pt", ".pth", ".ts", ".jit")}
OPSET = 17


def example_inputs(
    network: nn.Module, num_points: int, batch: int = 2, seed: int = 0
) -> tuple[torch.Tensor, ...]:
    """Random clouds in [-1, 1]^3 the network takes (with categories for a segmenter), in the
    order of :func:`input_names`: to trace with, or to measure the network on.

    Shapes:
        -> xyz (batch, num_points, in_channels) float32 [, category (batch,) int64]
    """
    generator = torch.Generator().manual_seed(seed)
    channels = getattr(network, "in_channels", 3)  # xyz, then any per-point features
    make = {
        "xyz": lambda: torch.rand(batch, num_points, channels, generator=generator) * 2 - 1,
        "category": lambda: torch.randint(0, network.num_categories, (batch,), generator=generator),
    }
    return tuple(make[name]() for name in input_names(network))


INPUTS = {"xyz": "(B, N, 3) float32", "category": "(B,) int64"}  # every input's shape and type
INPUT_AXES = {"xyz": {0: "B", 1: "N"}, "category": {0: "B"}}  # the dynamic ones


def input_names(network: nn.Module) -> list[str]:
    """The network's inputs (its ``inputs``; a network without them takes one cloud), as the
    exported graph names them (keys of ``INPUTS``)."""
    return list(getattr(network, "inputs", ("xyz",)))


@contextmanager
def _unchunked(network: nn.Module):
    """Tracing fixes loop counts: the neighbour embeddings' memory-bounding chunk loop is
    traced as one chunk wide enough for any N, so the graph takes clouds of every size."""
    saved = {m: m.max_pairs for m in network.modules() if hasattr(m, "max_pairs")}
    for module in saved:
        module.max_pairs = 2**62
    try:
        yield network
    finally:
        for module, value in saved.items():
            module.max_pairs = value


def _names(network: nn.Module) -> tuple[list[str], dict[str, dict[int, str]]]:
    inputs = input_names(network)
    axes = {name: INPUT_AXES[name] for name in inputs}
    axes["logits"] = {0: "B", 1: "N"} if getattr(network, "per_point", False) else {0: "B"}
    return inputs, axes


def check_export(network: nn.Module, path: str | Path, fmt: str, num_points: int) -> None:
    """Refuse an export that cannot work, saying what was expected (a ValueError): an
    unknown format, an output named for the other format, too few points to trace with."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    suffix = Path(path).suffix.lower()
    for other, suffixes in FORMAT_SUFFIXES.items():
        if other != fmt and suffix in suffixes:
            raise ValueError(
                f"output={path} is named for {other}, but format={fmt}: name it "
                f"*{FORMAT_SUFFIXES[fmt][0]} or pass format={other}"
            )
    needed = getattr(network, "min_points", 1)
    if isinstance(num_points, bool) or not isinstance(num_points, int) or num_points < needed:
        raise ValueError(
            f"num_points={num_points!r} is too few: the model needs at least {needed} points "
            f"for its neighbourhoods"
        )


def _write(data: bytes, path: Path) -> Path:
    with atomic_output(path) as tmp:
        tmp.write_bytes(data)
    return path


def _minimum(g, a, b, out=None):
    # FPS keeps its running distances with ``torch.minimum(..., out=)``, which the legacy
    # exporter's own translation does not accept; the value is an element-wise Min.
    return g.op("Min", a, b)


def export_onnx(network: nn.Module, path: str | Path, *, num_points: int) -> Path:
    """Write ``network`` (eval mode) as an ONNX model; ``num_points`` sizes the trace only."""
    path = Path(path)
    check_export(network, path, "onnx", num_points)
    network = network.eval()
    buffer = io.BytesIO()
    inputs, axes = _names(network)
    torch.onnx.register_custom_op_symbolic("aten::minimum", _minimum, OPSET)
    try:
        with warnings.catch_warnings(), torch.no_grad(), _unchunked(network):
            warnings.simplefilter("ignore")  # tracer and deprecation notes, not faults
            torch.onnx.export(
                network,
                example_inputs(network, num_points),
                buffer,
                input_names=inputs,
                output_names=["logits"],
                dynamic_axes=axes,
                opset_version=OPSET,
                dynamo=False,
            )
    finally:
        torch.onnx.unregister_custom_op_symbolic("aten::minimum", OPSET)
    return _write(buffer.getvalue(), path)


def export_torchscript(network: nn.Module, path: str | Path, *, num_points: int) -> Path:
    """Write ``network`` (eval mode) as a traced TorchScript module (``torch.jit.load``)."""
    path = Path(path)
    check_export(network, path, "torchscript", num_points)
    network = network.eval()
    with warnings.catch_warnings(), torch.no_grad(), _unchunked(network):
        warnings.simplefilter("ignore")
        # torch.jit.trace's own check re-traces and compares graphs, which differ in
        # constants of the unrolled loops; the parity tests compare outputs instead.
        traced = torch.jit.trace(network, example_inputs(network, num_points), check_trace=False)
    buffer = io.BytesIO()
    torch.jit.save(traced, buffer)  # in memory: a failed file write is an OSError, not an abort
    return _write(buffer.getvalue(), path)
