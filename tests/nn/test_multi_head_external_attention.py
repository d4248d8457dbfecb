import pytest
import torch

from pointea.nn import MultiHeadExternalAttention


def by_hand(layer, x):
    """Expand, then loop over clouds and heads with the single-head formula."""
    heads = layer.num_heads
    e = x @ layer.expand.weight.T + layer.expand.bias
    width = e.shape[-1] // heads
    out = torch.empty_like(e)
    for b in range(x.shape[0]):
        for h in range(heads):
            xh = e[b, :, h * width : (h + 1) * width]
            attn = torch.softmax(xh @ layer.memory_key.weight.T, dim=0)
            attn = attn / (1e-9 + attn.sum(dim=1, keepdim=True))
            out[b, :, h * width : (h + 1) * width] = attn @ layer.memory_value.weight.T
    return out @ layer.project.weight.T + layer.project.bias


def test_matches_per_head_loop():
    torch.manual_seed(0)
    layer = MultiHeadExternalAttention(8, num_heads=4, memory_size=6, expansion=2).double()
    x = torch.randn(2, 15, 8, dtype=torch.float64)
    torch.testing.assert_close(layer(x), by_hand(layer, x))


def test_heads_share_memories():
    layer = MultiHeadExternalAttention(16, num_heads=8, memory_size=64, expansion=4)
    assert layer.memory_key.weight.shape == (64, 8)  # head width 16 * 4 / 8
    assert layer.memory_value.weight.shape == (8, 64)


def test_rejects_indivisible_heads():
    with pytest.raises(ValueError, match="divisible by num_heads"):
        MultiHeadExternalAttention(10, num_heads=3, expansion=1)
