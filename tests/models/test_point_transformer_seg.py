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
