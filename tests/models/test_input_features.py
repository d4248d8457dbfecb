"""in_channels: per-point features (normals) enter the embedding; xyz alone drives the rest."""

import pytest
import torch
from tiny_networks import TINY_CLS, TINY_SEG

from pointea.models import PointTransformerCls, PointTransformerSeg


def _networks():
    torch.manual_seed(0)
    return [
        (PointTransformerCls(5, in_channels=6, **TINY_CLS), ()),
        (PointTransformerSeg(6, 2, in_channels=6, **TINY_SEG), (torch.tensor([0, 1]),)),
    ]


@pytest.mark.parametrize("index", [0, 1])
def test_features_change_the_output_but_not_the_neighbourhoods(index):
    network, extra = _networks()[index]
    network.eval()
    pos = torch.randn(2, 64, 3)
    normals = torch.nn.functional.normalize(torch.randn(2, 64, 3), dim=-1)
    out = network(torch.cat([pos, normals], -1), *extra)
    assert out.shape[0] == 2 and torch.isfinite(out).all()
    flipped = network(torch.cat([pos, -normals], -1), *extra)
    assert not torch.allclose(out, flipped)  # the features are read
    # neighbourhoods come from xyz: huge features would otherwise move every neighbour set
    seen = []
    hook = torch.nn.Module.register_forward_pre_hook
    first = network.stage1 if index == 0 else network.local
    handle = hook(first, lambda module, args: seen.append(args[0].clone()))
    network(torch.cat([pos, 1e3 * normals], -1), *extra)
    handle.remove()
    torch.testing.assert_close(seen[0], pos)


def test_every_parameter_gets_a_gradient_with_six_channels():
    network, extra = _networks()[0]
    network(torch.randn(3, 64, 6)).sum().backward()
    assert all(p.grad is not None for p in network.parameters())
