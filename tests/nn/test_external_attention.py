import pytest
import torch

from pointea.nn import ExternalAttention


def by_hand(x, mk, mv):
    """The paper's formula with explicit exponentials and sums, one cloud at a time."""
    out = torch.empty_like(x)
    for b in range(x.shape[0]):
        logits = x[b] @ mk.T  # (N, S)
        e = torch.exp(logits - logits.max(dim=0).values)
        attn = e / e.sum(dim=0)  # softmax over the N points
        attn = attn / (1e-9 + attn.sum(dim=1, keepdim=True))  # L1 over the S slots
        out[b] = attn @ mv.T
    return out


def test_matches_formula_written_out():
    torch.manual_seed(0)
    layer = ExternalAttention(16, memory_size=8).double()
    x = torch.randn(3, 20, 16, dtype=torch.float64)
    expected = by_hand(x, layer.memory_key.weight, layer.memory_value.weight)
    torch.testing.assert_close(layer(x), expected)


def test_memories_are_two_bias_free_linear_layers():
    layer = ExternalAttention(32, memory_size=64)
    assert layer.memory_key.weight.shape == (64, 32) and layer.memory_key.bias is None
    assert layer.memory_value.weight.shape == (32, 64) and layer.memory_value.bias is None


def test_rows_are_convex_combinations_of_value_memory():
    # After double normalisation every point's weights over S sum to one, so with
    # M_v = identity the output rows sum to one.
    torch.manual_seed(1)
    layer = ExternalAttention(8, memory_size=8)
    with torch.no_grad():
        layer.memory_value.weight.copy_(torch.eye(8))
    out = layer(torch.randn(2, 30, 8))
    torch.testing.assert_close(out.sum(-1), torch.ones(2, 30))
    assert (out >= 0).all()


def test_equivariant_to_point_order():
    torch.manual_seed(2)
    layer = ExternalAttention(8, memory_size=4)
    x = torch.randn(2, 25, 8)
    perm = torch.randperm(25)
    torch.testing.assert_close(layer(x[:, perm]), layer(x)[:, perm])


def test_ragged_batch_matches_dense_layer_on_equal_clouds():
    torch.manual_seed(3)
    layer = ExternalAttention(8, memory_size=6).double()
    x = torch.randn(3, 17, 8, dtype=torch.float64)
    batch = torch.arange(3).repeat_interleave(17)
    out = layer(x.reshape(-1, 8), batch=batch)
    torch.testing.assert_close(out, layer(x).reshape(-1, 8))


def test_ragged_batch_matches_per_cloud_formula_on_clouds_of_different_sizes():
    torch.manual_seed(4)
    layer = ExternalAttention(8, memory_size=5).double()
    sizes = [3, 11, 1, 7]
    clouds = [torch.randn(n, 8, dtype=torch.float64) for n in sizes]
    # the clouds interleaved: a cloud's points need not be contiguous
    batch = torch.cat([torch.full((n,), i) for i, n in enumerate(sizes)])
    order = torch.randperm(len(batch))
    x, batch = torch.cat(clouds)[order], batch[order]
    out = layer(x, batch=batch)
    mk, mv = layer.memory_key.weight, layer.memory_value.weight
    for i, cloud in enumerate(clouds):
        expected = by_hand(cloud[None], mk, mv)[0]  # (n, C) in the cloud's own order
        mine = order[batch == i]  # where each of its points came from in torch.cat(clouds)
        start = sum(sizes[:i])
        torch.testing.assert_close(out[batch == i], expected[mine - start])


def test_ragged_batch_gradients_flow_without_nan():
    torch.manual_seed(5)
    layer = ExternalAttention(4, memory_size=3)
    x = (100 * torch.randn(9, 4)).requires_grad_()  # large logits: the max shift keeps exp finite
    out = layer(x, batch=torch.tensor([0, 0, 0, 0, 1, 1, 2, 2, 2]))
    out.square().sum().backward()
    assert torch.isfinite(out).all() and torch.isfinite(x.grad).all()
    for p in layer.parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0


def test_points_without_batch_are_one_cloud():
    torch.manual_seed(6)
    layer = ExternalAttention(4, memory_size=3)
    x = torch.randn(10, 4)
    torch.testing.assert_close(layer(x), layer(x[None])[0])


@pytest.mark.parametrize(
    ("x", "batch", "match"),
    [
        (torch.randn(2, 5, 4), torch.zeros(10, dtype=torch.long), "with batch, x must be"),
        (torch.randn(5, 4), torch.zeros(4, dtype=torch.long), r"shape \(5,\)"),
        (torch.randn(5, 4), torch.zeros(5), "integer tensor"),
        (torch.randn(5, 4), torch.tensor([0, 0, -1, 1, 1]), "negative cloud index"),
    ],
)
def test_ragged_batch_refuses_mismatched_inputs(x, batch, match):
    with pytest.raises(ValueError, match=match):
        ExternalAttention(4, memory_size=3)(x, batch=batch)


def test_segment_softmax_agrees_with_pyg():
    from torch_geometric.utils import softmax

    from pointea.nn.external_attention import segment_softmax

    torch.manual_seed(7)
    logits = torch.randn(12, 2, 3, dtype=torch.float64)
    batch = torch.tensor([2, 0, 0, 1, 2, 2, 0, 1, 1, 1, 0, 2])
    torch.testing.assert_close(segment_softmax(logits, batch), softmax(logits, batch, dim=0))
