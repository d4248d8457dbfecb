import pytest
import torch
import torch.nn.functional as F
from reference_pct import ReferencePCT
from tiny_networks import TINY_ATTENTION

from pointea.models import PointTransformerCls
from pointea.models.pct_port_conversion import convert_pct_port_state_dict
from pointea.nn import ExternalAttention, OffsetAttention


# A small PCT: equal logits and gradients need only the same layout, not PCT's widths.
def peaked(ref):
    """Larger query/key and memory weights: attention maps far from uniform, so that
    each normalisation changes the result."""
    with torch.no_grad():
        for block in ref.attn:
            for layer in (getattr(block, "q", None), getattr(block, "mk", None)):
                if layer is not None:
                    layer.weight.mul_(6.0)
    return ref


REFERENCE_SIZES = dict(
    embed=8, stages=(16, 24), samples=(24, 12), k=6, fuse=32, head=(16, 12), memory=8
)
POINTEA_SIZES = dict(
    embed_channels=8,
    stage_channels=(16, 24),
    num_samples=(24, 12),
    k=6,
    fuse_channels=32,
    head_channels=(16, 12),
)
MIXERS = {"ea": lambda c: ExternalAttention(c, memory_size=8), "oa": OffsetAttention}


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


@pytest.mark.parametrize("kind", ["ea", "oa"])
def test_same_maths_as_a_straightforward_pct(kind):
    """The reference PCT's weights, converted, give pointea's model equal logits (eval mode)."""
    torch.manual_seed(0)
    ref = peaked(ReferencePCT(kind, 7, **REFERENCE_SIZES).double())
    for m in ref.modules():  # non-trivial running statistics and affine parameters
        if isinstance(m, torch.nn.BatchNorm1d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 1.5)
            m.weight.data.uniform_(-1.0, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
    ref.eval()
    model = PointTransformerCls(7, attention=MIXERS[kind], **POINTEA_SIZES).double().eval()
    model.load_state_dict(convert_pct_port_state_dict(ref.state_dict()), strict=True)
    with torch.no_grad():
        xyz = torch.randn(2, 64, 3, dtype=torch.float64)
        torch.testing.assert_close(model(xyz), ref(xyz))


def test_compiled_network_matches_eager(tiny):
    """compile=true compiles the network in place (FPS and kNN stay eager inside it): the
    compiled training step gives the eager logits, gradients and running statistics."""
    eager, compiled = tiny(TINY_ATTENTION["external"]), tiny(TINY_ATTENTION["external"])
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


@pytest.mark.parametrize("kind", ["ea", "oa"])
def test_training_step_matches_a_straightforward_pct_gradient_for_gradient(kind):
    """Train mode (batch statistics), dropout off: equal loss and equal gradients, so the
    fast paths (pre-grouping linear, pooled BatchNorm) change nothing but speed."""
    torch.manual_seed(0)
    ref = peaked(ReferencePCT(kind, 7, dropout=0.0, **REFERENCE_SIZES).double())
    for m in ref.modules():  # one negative BatchNorm scale per layer: pooled BN's min branch
        if isinstance(m, torch.nn.BatchNorm1d):
            m.weight.data[0] = -0.5
    model = PointTransformerCls(7, attention=MIXERS[kind], dropout=0.0, **POINTEA_SIZES)
    model = model.double()
    model.load_state_dict(convert_pct_port_state_dict(ref.state_dict()), strict=True)
    xyz, target = torch.randn(4, 64, 3, dtype=torch.float64), torch.tensor([0, 3, 6, 1])
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
