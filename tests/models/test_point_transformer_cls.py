import importlib.util
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from pointea.models import PointTransformerCls
from pointea.models.pct_port_conversion import convert_pct_port_state_dict

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


@pytest.mark.skipif(not PORT.exists(), reason="shared/baselines/pct_port.py not beside the repo")
@pytest.mark.parametrize(("ours", "theirs"), [("external", "ea"), ("offset", "oa")])
def test_same_maths_as_baseline_port(ours, theirs):
    """The port's weights, converted, give pointea's model equal logits (eval mode)."""
    port = _load_port()
    torch.manual_seed(0)
    ref = port.PCT(theirs, m1=64, m2=32, ncls=7)
    for m in ref.modules():  # non-trivial running statistics
        if isinstance(m, torch.nn.BatchNorm1d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 1.5)
    ref.eval()
    model = PointTransformerCls(7, attention=ours, num_samples=(64, 32)).eval()
    model.load_state_dict(convert_pct_port_state_dict(ref.state_dict()), strict=True)
    with torch.no_grad():
        xyz = torch.randn(2, 256, 3)
        torch.testing.assert_close(model(xyz), ref(xyz), atol=1e-4, rtol=1e-4)


def test_compiled_network_matches_eager(tiny):
    """compile=true compiles the network in place (FPS and kNN stay eager inside it): the
    compiled training step gives the eager logits, gradients and running statistics."""
    eager, compiled = tiny("external"), tiny("external")
    for model in (eager, compiled):
        for layer in model.head:
            if isinstance(layer, torch.nn.Dropout):
                layer.p = 0.0  # compiled and eager dropout draw different masks
        with torch.no_grad():  # one negative BatchNorm weight exercises the min branch
            model.stage2.second.norm.weight[0] = -0.5
    compiled.compile()
    xyz, target = torch.randn(3, 64, 3), torch.tensor([0, 1, 4])
    losses = [F.cross_entropy(m(xyz), target) for m in (eager, compiled)]
    torch.testing.assert_close(losses[1], losses[0], atol=1e-5, rtol=1e-5)
    losses[0].backward(), losses[1].backward()
    for (name, p), q in zip(eager.named_parameters(), compiled.parameters(), strict=True):
        torch.testing.assert_close(q.grad, p.grad, atol=1e-4, rtol=1e-3, msg=name)
    for (name, b), c in zip(eager.named_buffers(), compiled.buffers(), strict=True):
        torch.testing.assert_close(c, b, atol=1e-5, rtol=1e-5, msg=name)
    eager.eval(), compiled.eval()
    with torch.no_grad():
        torch.testing.assert_close(compiled(xyz), eager(xyz), atol=1e-4, rtol=1e-4)


def test_conversion_names_unknown_keys():
    with pytest.raises(KeyError, match="'extra.weight' is not a parameter"):
        convert_pct_port_state_dict({"extra.weight": torch.zeros(1)})


@pytest.mark.skipif(not PORT.exists(), reason="shared/baselines/pct_port.py not beside the repo")
def test_training_step_matches_baseline_port_gradient_for_gradient():
    """Train mode (batch statistics), dropout off: equal loss and equal gradients, so the
    fast paths (pre-grouping linear, pooled BatchNorm) change nothing but speed."""
    port = _load_port()
    torch.manual_seed(0)
    ref = port.PCT("ea", m1=64, m2=32, ncls=7).double()
    for layer in ref.head:
        if isinstance(layer, torch.nn.Dropout):
            layer.p = 0.0
    model = PointTransformerCls(7, num_samples=(64, 32), dropout=0.0).double()
    model.load_state_dict(convert_pct_port_state_dict(ref.state_dict()), strict=True)
    xyz, target = torch.randn(4, 256, 3, dtype=torch.float64), torch.tensor([0, 3, 6, 1])
    loss_ref = torch.nn.functional.cross_entropy(ref(xyz), target)
    loss = torch.nn.functional.cross_entropy(model(xyz), target)
    torch.testing.assert_close(loss, loss_ref)
    loss_ref.backward()
    loss.backward()
    ref_grads = convert_pct_port_state_dict({k: p.grad for k, p in ref.named_parameters()})
    for name, p in model.named_parameters():
        torch.testing.assert_close(p.grad, ref_grads[name], msg=name)
    ref_stats = convert_pct_port_state_dict(ref.state_dict())
    for name, buffer in model.named_buffers():
        torch.testing.assert_close(buffer, ref_stats[name], msg=name)
