import importlib.util
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from pointea.models import PointTransformerCls

PORT = Path(__file__).resolve().parents[3] / "shared" / "baselines" / "pct_port.py"


@pytest.fixture
def tiny(tiny_cls):
    def build(attention):
        torch.manual_seed(0)
        return PointTransformerCls(5, attention=attention, **tiny_cls)

    return build


def test_shapes_finite_and_every_parameter_learns(tiny, attention):
    model = tiny(attention)
    xyz = torch.randn(3, 64, 3)
    logits = model(xyz)
    assert logits.shape == (3, 5) and torch.isfinite(logits).all()
    F.cross_entropy(logits, torch.tensor([0, 1, 2])).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_invariant_to_order_of_all_but_first_point(tiny, attention):
    model = tiny(attention).eval()
    xyz = torch.randn(2, 64, 3)
    perm = torch.cat([torch.zeros(1, dtype=torch.long), 1 + torch.randperm(63)])
    with torch.no_grad():
        torch.testing.assert_close(model(xyz[:, perm]), model(xyz), atol=1e-5, rtol=1e-4)


def test_samples_do_not_influence_each_other(tiny, attention):
    model = tiny(attention).eval()
    xyz = torch.randn(3, 64, 3)
    with torch.no_grad():
        together = model(xyz)
        alone = torch.cat([model(xyz[i : i + 1]) for i in range(3)])
    torch.testing.assert_close(together, alone, atol=1e-5, rtol=1e-4)


def test_bad_attention_kind_is_named():
    with pytest.raises(ValueError, match="'softmax'"):
        PointTransformerCls(4, attention="softmax")


def _load_port():
    spec = importlib.util.spec_from_file_location("pct_port", PORT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _copy_lbr(dst, conv, bn):
    dst.linear.weight.copy_(conv.weight.reshape(dst.linear.weight.shape))
    if conv.bias is not None:
        dst.linear.bias.copy_(conv.bias)
    dst.norm.load_state_dict(bn.state_dict())


@pytest.mark.skipif(not PORT.exists(), reason="shared/baselines/pct_port.py not beside the repo")
@pytest.mark.parametrize(("ours", "theirs"), [("external", "ea"), ("offset", "oa")])
def test_same_maths_as_baseline_port(ours, theirs):
    """Copy the port's weights into pointea's model: equal logits in eval mode."""
    port = _load_port()
    torch.manual_seed(0)
    ref = port.PCT(theirs, m1=64, m2=32, ncls=7)
    for m in ref.modules():  # non-trivial running statistics
        if isinstance(m, torch.nn.BatchNorm1d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 1.5)
    ref.eval()
    model = PointTransformerCls(7, attention=ours, num_samples=(64, 32)).eval()
    with torch.no_grad():
        _copy_lbr(model.embed[0], ref.emb[0], ref.emb[1])
        _copy_lbr(model.embed[1], ref.emb[3], ref.emb[4])
        for stage, sg in ((model.stage1, ref.sg1), (model.stage2, ref.sg2)):
            _copy_lbr(stage.first, sg.c1, sg.b1)
            _copy_lbr(stage.second, sg.c2, sg.b2)
        _copy_lbr(model.pre_attention, ref.conv[0], ref.conv[1])
        for block, theirs_block in zip(model.attention.blocks, ref.attn, strict=True):
            _copy_lbr(block.offset, theirs_block.t, theirs_block.bn)
            if ours == "external":
                block.mixer.memory_key.weight.copy_(theirs_block.mk.weight)
                block.mixer.memory_value.weight.copy_(theirs_block.mv.weight)
            else:
                block.query_key.weight.copy_(theirs_block.q.weight.squeeze(-1))
                block.value.weight.copy_(theirs_block.v.weight.squeeze(-1))
                block.value.bias.copy_(theirs_block.v.bias)
        _copy_lbr(model.fuse, ref.fuse[0], ref.fuse[1])
        _copy_lbr(model.head[0], ref.head[0], ref.head[1])
        _copy_lbr(model.head[2], ref.head[4], ref.head[5])
        model.head[4].load_state_dict(ref.head[8].state_dict())
        xyz = torch.randn(2, 256, 3)
        torch.testing.assert_close(model(xyz), ref(xyz), atol=1e-4, rtol=1e-4)


def test_compiled_forward_matches_eager(tiny):
    """compile=true compiles the network in place; FPS and kNN stay eager inside it."""
    eager = tiny("external").eval()
    compiled = tiny("external").eval()
    compiled.compile()
    xyz = torch.randn(2, 64, 3)
    with torch.no_grad():
        torch.testing.assert_close(compiled(xyz), eager(xyz), atol=1e-4, rtol=1e-4)
