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


def test_ragged_batch_matches_dense_layer_on_equal_clouds():
    torch.manual_seed(1)
    layer = MultiHeadExternalAttention(8, num_heads=4, memory_size=6, expansion=2).double()
    x = torch.randn(3, 13, 8, dtype=torch.float64)
    batch = torch.arange(3).repeat_interleave(13)
    torch.testing.assert_close(layer(x.reshape(-1, 8), batch=batch), layer(x).reshape(-1, 8))


def test_ragged_batch_matches_per_cloud_loop_on_clouds_of_different_sizes():
    torch.manual_seed(2)
    layer = MultiHeadExternalAttention(8, num_heads=2, memory_size=5, expansion=2).double()
    sizes = [6, 1, 14]
    clouds = [torch.randn(n, 8, dtype=torch.float64) for n in sizes]
    batch = torch.cat([torch.full((n,), i) for i, n in enumerate(sizes)])
    out = layer(torch.cat(clouds), batch=batch)
    for i, cloud in enumerate(clouds):
        torch.testing.assert_close(out[batch == i], by_hand(layer, cloud[None])[0])


def test_ragged_batch_gradients_flow_without_nan():
    torch.manual_seed(3)
    layer = MultiHeadExternalAttention(4, num_heads=2, memory_size=3, expansion=2)
    x = (50 * torch.randn(7, 4)).requires_grad_()
    out = layer(x, batch=torch.tensor([0, 0, 1, 1, 1, 1, 2]))
    out.square().sum().backward()
    assert torch.isfinite(out).all() and torch.isfinite(x.grad).all()
    for p in layer.parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0
