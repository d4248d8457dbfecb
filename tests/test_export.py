"""Exported models (ONNX Runtime, TorchScript) give eager PyTorch's logits, with the point
operations inside the graph, for clouds of other sizes than the traced one."""

import pytest
import torch
from tiny_networks import TINY_ATTENTION

from pointea.export import export_onnx, export_torchscript
from pointea.models import PointTransformerCls, PointTransformerSeg

onnx = pytest.importorskip("onnx", reason="the export extra: pip install pointea[export]")
ort = pytest.importorskip("onnxruntime", reason="the export extra: pip install pointea[export]")

TINY = {"embed_channels": 16, "k": 8}


def randomised(network):
    """Non-trivial BatchNorm statistics, some negative scales (the pooled BatchNorm's
    other branch), eval mode."""
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for module in network.modules():
            if isinstance(module, torch.nn.BatchNorm1d):
                size = module.num_features
                module.running_mean.copy_(torch.randn(size, generator=generator) * 0.1)
                module.running_var.copy_(torch.rand(size, generator=generator) + 0.5)
                module.weight.copy_(torch.randn(size, generator=generator))
    return network.eval()


def classifier(attention):
    torch.manual_seed(0)
    net = PointTransformerCls(
        num_classes=5, attention=TINY_ATTENTION[attention], stage_channels=(16, 32), num_samples=(32, 16),
        fuse_channels=32, head_channels=(16, 16), **TINY,
    )  # fmt: skip
    return randomised(net)


def segmenter(attention):
    torch.manual_seed(0)
    net = PointTransformerSeg(
        num_parts=6, num_categories=3, attention=TINY_ATTENTION[attention], channels=16, fuse_channels=32,
        category_channels=8, head_channels=(16, 16), **TINY,
    )  # fmt: skip
    return randomised(net)


def clouds(batch, points, seed):
    return torch.rand(batch, points, 3, generator=torch.Generator().manual_seed(seed)) * 2 - 1


@pytest.mark.parametrize("attention", sorted(TINY_ATTENTION))
def test_classifier_exports_match_eager(attention, tmp_path):
    net = classifier(attention)
    onnx_path = export_onnx(net, tmp_path / "cls.onnx", num_points=64)
    scripted = torch.jit.load(str(export_torchscript(net, tmp_path / "cls.pt", num_points=64)))
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    for batch, points, seed in [(1, 64, 0), (3, 100, 1), (2, 40, 2)]:  # other B and N
        xyz = clouds(batch, points, seed)
        with torch.no_grad():
            eager = net(xyz)
            traced = scripted(xyz)
        (ort_logits,) = session.run(None, {"xyz": xyz.numpy()})
        assert ort_logits.shape == (batch, 5)
        torch.testing.assert_close(torch.from_numpy(ort_logits), eager, rtol=0, atol=1e-4)
        torch.testing.assert_close(traced, eager, rtol=0, atol=1e-4)
    graph = onnx.load(str(onnx_path)).graph
    ops = {node.op_type for node in graph.node}
    assert {node.domain for node in graph.node} <= {"", "ai.onnx"}  # standard operators only
    assert {"ArgMax", "TopK"} <= ops  # farthest point sampling and kNN are in the graph
    assert [d.dim_param for d in graph.input[0].type.tensor_type.shape.dim] == ["B", "N", ""]


@pytest.mark.parametrize("attention", sorted(TINY_ATTENTION))
def test_segmenter_exports_match_eager(attention, tmp_path):
    net = segmenter(attention)
    onnx_path = export_onnx(net, tmp_path / "seg.onnx", num_points=64)
    scripted = torch.jit.load(str(export_torchscript(net, tmp_path / "seg.pt", num_points=64)))
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    for batch, points, seed in [(2, 64, 0), (3, 90, 1)]:
        xyz = clouds(batch, points, seed)
        category = torch.arange(batch) % 3
        with torch.no_grad():
            eager = net(xyz, category)
            traced = scripted(xyz, category)
        (ort_logits,) = session.run(None, {"xyz": xyz.numpy(), "category": category.numpy()})
        assert ort_logits.shape == (batch, points, 6)
        torch.testing.assert_close(torch.from_numpy(ort_logits), eager, rtol=0, atol=1e-4)
        torch.testing.assert_close(traced, eager, rtol=0, atol=1e-4)
    assert {"TopK"} <= {node.op_type for node in onnx.load(str(onnx_path)).graph.node}


def test_segmenter_export_takes_clouds_larger_than_one_eager_chunk(tmp_path):
    """Eager inference bounds memory by chunking centres; the graph must not keep the
    traced chunk width."""
    net = segmenter("external")
    net.local.max_pairs = 64  # eager: chunks of 64 // (B * K) centres
    session = ort.InferenceSession(str(export_onnx(net, tmp_path / "s.onnx", num_points=32)))
    xyz, category = clouds(2, 120, 3), torch.tensor([0, 2])
    with torch.no_grad():
        eager = net(xyz, category)
    (ort_logits,) = session.run(None, {"xyz": xyz.numpy(), "category": category.numpy()})
    torch.testing.assert_close(torch.from_numpy(ort_logits), eager, rtol=0, atol=1e-4)
    assert net.local.max_pairs == 64  # restored after export


def test_a_network_with_normals_exports_six_input_channels(tmp_path):
    torch.manual_seed(0)
    net = randomised(
        PointTransformerCls(
            num_classes=5, in_channels=6, stage_channels=(16, 32), num_samples=(32, 16),
            fuse_channels=32, head_channels=(16, 16), **TINY,
        )
    )  # fmt: skip
    scripted = torch.jit.load(str(export_torchscript(net, tmp_path / "cls.pt", num_points=64)))
    session = ort.InferenceSession(
        str(export_onnx(net, tmp_path / "cls.onnx", num_points=64)),
        providers=["CPUExecutionProvider"],
    )
    xyz = clouds(2, 80, 3)
    normals = torch.nn.functional.normalize(clouds(2, 80, 4), dim=-1)
    inputs = torch.cat([xyz, normals], -1)
    with torch.no_grad():
        eager = net(inputs)
        torch.testing.assert_close(scripted(inputs), eager, rtol=0, atol=1e-4)
    (ort_logits,) = session.run(None, {"xyz": inputs.numpy()})
    torch.testing.assert_close(torch.from_numpy(ort_logits), eager, rtol=0, atol=1e-4)
