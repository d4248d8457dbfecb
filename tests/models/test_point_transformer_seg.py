import copy

import pytest
import torch
import torch.nn.functional as F
from tiny_networks import TINY_ATTENTION

from pointea.models import PointTransformerSeg


@pytest.fixture
def tiny(tiny_seg):
    def build(attention):
        torch.manual_seed(0)
        return PointTransformerSeg(7, 3, attention=attention, **tiny_seg)

    return build


def test_shapes_finite_and_every_parameter_learns(tiny, attention):
    model = tiny(attention)
    xyz, category = torch.randn(3, 48, 3), torch.tensor([0, 2, 1])
    logits = model(xyz, category)
    assert logits.shape == (3, 48, 7) and torch.isfinite(logits).all()
    F.cross_entropy(logits.reshape(-1, 7), torch.randint(0, 7, (3 * 48,))).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_per_point_logits_follow_a_permutation(tiny, attention):
    model = tiny(attention).eval()
    xyz, category = torch.randn(2, 48, 3), torch.tensor([1, 2])
    perm = torch.cat([torch.zeros(1, dtype=torch.long), 1 + torch.randperm(47)])
    with torch.no_grad():
        torch.testing.assert_close(
            model(xyz[:, perm], category), model(xyz, category)[:, perm], atol=1e-5, rtol=1e-4
        )


def test_samples_do_not_influence_each_other(tiny, attention):
    model = tiny(attention).eval()
    xyz, category = torch.randn(3, 48, 3), torch.tensor([0, 1, 2])
    with torch.no_grad():
        together = model(xyz, category)
        alone = torch.cat([model(xyz[i : i + 1], category[i : i + 1]) for i in range(3)])
    torch.testing.assert_close(together, alone, atol=1e-5, rtol=1e-4)


def test_category_changes_the_prediction(tiny):
    model = tiny(TINY_ATTENTION["external"]).eval()
    xyz = torch.randn(1, 48, 3)
    with torch.no_grad():
        assert not torch.allclose(model(xyz, torch.tensor([0])), model(xyz, torch.tensor([1])))


def _concatenated_head(model, xyz, category):
    """The straightforward form: the shape code repeated over N, concatenated, head."""
    _, x = model.local(xyz, model.embed(xyz))
    x = model.fuse(model.attention(x, xyz))
    one_hot = F.one_hot(category, model.num_categories).to(x.dtype)
    code = torch.cat([x.amax(dim=1), x.mean(dim=1), model.category_embed(one_hot)], dim=-1)
    return model.head(torch.cat([x, code.unsqueeze(1).expand(-1, xyz.shape[1], -1)], dim=-1))


@pytest.mark.parametrize("training", [True, False])
def test_split_head_matches_the_concatenated_head(tiny_seg, training):
    torch.manual_seed(0)
    model = PointTransformerSeg(7, 3, dropout=0.0, **tiny_seg).double()  # exact-ish sums
    with torch.no_grad():  # running statistics away from (0, 1), so the eval fold matters
        model.head[0].norm.running_mean.uniform_(-1, 1)
        model.head[0].norm.running_var.uniform_(0.5, 2)
    reference = copy.deepcopy(model)
    model.train(training)
    reference.train(training)
    xyz, category = torch.randn(3, 40, 3, dtype=torch.float64), torch.tensor([2, 0, 1])
    xyz_ref = xyz.clone().requires_grad_()
    xyz.requires_grad_()
    logits, expected = model(xyz, category), _concatenated_head(reference, xyz_ref, category)
    torch.testing.assert_close(logits, expected, atol=1e-10, rtol=1e-10)
    weights = torch.randn_like(logits)
    (logits * weights).sum().backward()
    (expected * weights).sum().backward()
    torch.testing.assert_close(xyz.grad, xyz_ref.grad, atol=1e-10, rtol=1e-8)
    params = dict(reference.named_parameters())
    for name, p in model.named_parameters():
        torch.testing.assert_close(p.grad, params[name].grad, atol=1e-10, rtol=1e-8, msg=name)
    buffers = dict(reference.named_buffers())  # BatchNorm's running statistics, updated alike
    for name, b in model.named_buffers():
        torch.testing.assert_close(b, buffers[name], msg=name)


def test_head_keeps_the_concatenated_layer_shapes(tiny_seg):
    # Checkpoints of the concatenating head load unchanged: one (out, 3 * fuse + cat) layer.
    model = PointTransformerSeg(7, 3, **tiny_seg)
    state = model.state_dict()
    assert state["head.0.linear.weight"].shape == (24, 3 * 32 + 8)
    assert "head.0.norm.running_mean" in state and state["head.3.weight"].shape == (7, 16)
    PointTransformerSeg(7, 3, **tiny_seg).load_state_dict(state, strict=True)
