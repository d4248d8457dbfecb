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
