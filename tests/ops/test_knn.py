import pytest
import torch

from pointea.ops import knn
from pointea.ops.backends import HAS_TORCH_CLUSTER


def brute_force(query, ref, k):
    """Sort the explicit pairwise differences, one cloud at a time."""
    out = []
    for q, r in zip(query.double(), ref.double(), strict=True):
        dist = ((q[:, None, :] - r[None, :, :]) ** 2).sum(-1)
        out.append(dist.argsort(dim=-1, stable=True)[:, :k])
    return torch.stack(out)


def test_matches_brute_force_sort():
    torch.manual_seed(0)
    query, ref = torch.randn(2, 40, 3), torch.randn(2, 70, 3)
    assert torch.equal(knn(query, ref, 5), brute_force(query, ref, 5))


def test_nearest_first_and_self_is_first():
    torch.manual_seed(1)
    pts = torch.rand(3, 50, 3)
    idx = knn(pts, pts, 4)
    assert torch.equal(idx[..., 0], torch.arange(50).expand(3, 50))
    neighbours = torch.gather(pts, 1, idx.reshape(3, -1, 1).expand(-1, -1, 3)).reshape(3, 50, 4, 3)
    dist = (neighbours - pts.unsqueeze(2)).norm(dim=-1)
    assert (dist.diff(dim=-1) >= 0).all()


def test_chunked_equals_unchunked():
    torch.manual_seed(2)
    query, ref = torch.randn(2, 300, 3), torch.randn(2, 500, 3)
    whole = knn(query, ref, 8, backend="torch")
    # A budget of 7 query rows per block forces many uneven chunks.
    chunked = knn(query, ref, 8, memory_budget=7 * 4 * 2 * 500, backend="torch")
    assert torch.equal(whole, chunked)


def test_large_cloud_stays_within_budget():
    torch.manual_seed(3)
    pts = torch.rand(1, 100_000, 3)
    idx = knn(pts[:, :2000], pts, 4, memory_budget=64 * 2**20)
    assert idx.shape == (1, 2000, 4)
    assert torch.equal(idx[0, :, 0], torch.arange(2000))


def test_rejects_bad_shapes_and_k():
    with pytest.raises(ValueError, match=r"query \(B, M, 3\)"):
        knn(torch.rand(1, 4, 2), torch.rand(1, 4, 2), 1)
    with pytest.raises(ValueError, match=r"k must be in \[1, 4\]"):
        knn(torch.rand(1, 4, 3), torch.rand(1, 4, 3), 5)


@pytest.mark.skipif(not HAS_TORCH_CLUSTER, reason="torch-cluster not installed")
def test_torch_cluster_agrees_with_torch():
    torch.manual_seed(4)
    query, ref = torch.randn(3, 64, 3), torch.randn(3, 128, 3)
    assert torch.equal(
        knn(query, ref, 6, backend="torch_cluster"), knn(query, ref, 6, backend="torch")
    )
