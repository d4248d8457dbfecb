import torch

from pointea.ops import gather_points


def test_gather_matches_indexing_loop():
    torch.manual_seed(0)
    x = torch.randn(2, 10, 4)
    idx = torch.randint(0, 10, (2, 3, 5))
    out = gather_points(x, idx)
    assert out.shape == (2, 3, 5, 4)
    for b in range(2):
        for m in range(3):
            for j in range(5):
                assert torch.equal(out[b, m, j], x[b, idx[b, m, j]])
