import math

import pytest
import torch

from pointea.nn import LocalSelfAttention


def by_hand(layer, x, pos):
    """Loop over clouds, points and heads; neighbours by an explicit distance sort."""
    batch, n, c = x.shape
    heads, d = layer.num_heads, c // layer.num_heads
    q_all = x @ layer.query.weight.T
    k_all, v_all = (x @ layer.key_value.weight.T).split(c, dim=-1)
    out = torch.empty_like(x)
    for b in range(batch):
        for i in range(n):
            nbrs = ((pos[b] - pos[b, i]) ** 2).sum(-1).argsort()[: layer.k]
            rel = layer.relative_position(pos[b, nbrs] - pos[b, i])  # (K, C)
            row = []
            for h in range(heads):
                s = slice(h * d, (h + 1) * d)
                q = q_all[b, i, s]
                logits = (k_all[b, nbrs, s] @ q + rel[:, s] @ q) / math.sqrt(d)
                row.append(logits.softmax(0) @ v_all[b, nbrs, s])
            out[b, i] = torch.cat(row)
    return out @ layer.project.weight.T + layer.project.bias


def test_matches_per_point_loop():
    torch.manual_seed(0)
    layer = LocalSelfAttention(8, k=5, num_heads=2).double()
    x = torch.randn(2, 14, 8, dtype=torch.float64)
    pos = torch.rand(2, 14, 3, dtype=torch.float64)
    torch.testing.assert_close(layer(x, pos), by_hand(layer, x, pos))


def test_rejects_indivisible_heads():
    with pytest.raises(ValueError, match="divisible by num_heads"):
        LocalSelfAttention(10, num_heads=4)
