import pytest
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


@pytest.mark.parametrize("in_place_after", [False, True])
def test_gather_gradient_matches_indexing_loop(in_place_after):
    """Backward, alone and under an in-place op on the result (as NeighborEmbedding does):
    each gathered row's gradient lands on its source row, summed over repeats."""
    torch.manual_seed(1)
    x = torch.randn(2, 6, 3, dtype=torch.float64, requires_grad=True)
    idx = torch.randint(0, 6, (2, 4, 5))
    grad_out = torch.randn(2, 4, 5, 3, dtype=torch.float64)
    out = gather_points(x, idx)
    if in_place_after:
        out = out.mul_(2.0)
    out.backward(grad_out)
    expected = torch.zeros_like(x)
    for b in range(2):
        for m in range(4):
            for j in range(5):
                expected[b, idx[b, m, j]] += grad_out[b, m, j] * (2.0 if in_place_after else 1.0)
    torch.testing.assert_close(x.grad, expected, rtol=0, atol=1e-12)
