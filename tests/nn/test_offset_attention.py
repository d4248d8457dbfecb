import torch

from pointea.nn import OffsetAttention


def pct_channel_first(layer, x):
    """The attention of PCT's SA layer as published, (B, C, N) layout, explicit index loops."""
    xc = x.transpose(1, 2)  # (B, C, N)
    w_qk, w_v, b_v = layer.query_key.weight, layer.value.weight, layer.value.bias
    q = torch.einsum("dc,bcn->bdn", w_qk, xc)
    v = torch.einsum("dc,bcn->bdn", w_v, xc) + b_v[None, :, None]
    batch, _, n = xc.shape
    out = torch.empty_like(xc)
    for b in range(batch):
        energy = torch.stack(
            [torch.stack([q[b, :, i] @ q[b, :, j] for j in range(n)]) for i in range(n)]
        )
        attn = energy.softmax(dim=-1)
        attn = attn / (1e-9 + attn.sum(dim=0, keepdim=True))
        out[b] = v[b] @ attn
    return out.transpose(1, 2)


def test_matches_pct_formulation():
    torch.manual_seed(0)
    layer = OffsetAttention(8).double()
    x = torch.randn(2, 12, 8, dtype=torch.float64)
    torch.testing.assert_close(layer(x), pct_channel_first(layer, x))


def test_equivariant_to_point_order():
    torch.manual_seed(1)
    layer = OffsetAttention(16).eval()
    x = torch.randn(2, 30, 16)
    perm = torch.randperm(30)
    torch.testing.assert_close(layer(x[:, perm]), layer(x)[:, perm], atol=1e-5, rtol=1e-5)
