import torch

from pointea.nn import NeighborEmbedding
from pointea.ops import farthest_point_sample, gather_points, knn


def concatenated_form(layer, pos, x):
    """PCT as written: build [f_j - f_i, f_i] for every pair, then the MLP, then max."""
    idx = farthest_point_sample(pos, layer.num_samples)
    centre_pos, centre_x = gather_points(pos, idx), gather_points(x, idx)
    nbr = gather_points(x, knn(centre_pos, pos, layer.k))  # (B, M, K, C)
    centre = centre_x.unsqueeze(2).expand_as(nbr)
    h = layer.second(layer.first(torch.cat([nbr - centre, centre], dim=-1)))
    return centre_pos, h.amax(dim=2)


def test_pre_grouping_trick_equals_concatenation():
    torch.manual_seed(0)
    layer = NeighborEmbedding(6, 10, num_samples=16, k=5).double()
    pos = torch.rand(2, 40, 3, dtype=torch.float64)
    x = torch.randn(2, 40, 6, dtype=torch.float64)
    for mode in (layer.train, layer.eval):
        mode()
        got_pos, got = layer(pos, x)
        want_pos, want = concatenated_form(layer, pos, x)
        torch.testing.assert_close(got_pos, want_pos)
        torch.testing.assert_close(got, want)


def test_full_resolution_keeps_every_point():
    layer = NeighborEmbedding(4, 8, num_samples=None, k=3).eval()
    pos = torch.rand(1, 20, 3)
    out_pos, out = layer(pos, torch.randn(1, 20, 4))
    assert torch.equal(out_pos, pos) and out.shape == (1, 20, 8)


def test_eval_folding_and_chunking_change_nothing():
    torch.manual_seed(1)
    layer = NeighborEmbedding(6, 10, num_samples=None, k=5).double()
    pos = torch.rand(2, 60, 3, dtype=torch.float64)
    x = torch.randn(2, 60, 6, dtype=torch.float64)
    layer(pos, x)  # one training step of statistics
    layer.eval()
    _, whole = layer(pos, x)
    layer.max_pairs = 2 * 5 * 7  # 7 centres per chunk: uneven chunks
    _, chunked = layer(pos, x)
    nbr = gather_points(x, knn(pos, pos, 5))
    centre = x.unsqueeze(2).expand_as(nbr)
    expected = layer.second(layer.first(torch.cat([nbr - centre, centre], dim=-1))).amax(dim=2)
    torch.testing.assert_close(whole, expected)
    torch.testing.assert_close(chunked, expected)


def test_eval_blocks_bounded_by_grouped_values_change_nothing(monkeypatch):
    """Blocks cut by BLOCK_ELEMENTS (pairs x channels), not only by max_pairs: uneven
    blocks of 3 centres give the concatenated form's output exactly (float64)."""
    import pointea.nn.neighbor_embedding as module

    torch.manual_seed(2)
    layer = NeighborEmbedding(6, 10, num_samples=16, k=5).double()
    pos = torch.rand(2, 40, 3, dtype=torch.float64)
    x = torch.randn(2, 40, 6, dtype=torch.float64)
    layer(pos, x)  # one training step of statistics
    layer.eval()
    monkeypatch.setattr(module, "BLOCK_ELEMENTS", 2 * 5 * 3 * 10)  # 3 centres per block
    centre_pos, got = layer(pos, x)
    centre_x = gather_points(x, farthest_point_sample(pos, 16))
    nbr = gather_points(x, knn(centre_pos, pos, 5))
    centre = centre_x.unsqueeze(2).expand_as(nbr)
    expected = layer.second(layer.first(torch.cat([nbr - centre, centre], dim=-1))).amax(dim=2)
    torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-12)
