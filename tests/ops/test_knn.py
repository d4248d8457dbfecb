import importlib
import sys
import types

import pytest
import torch

from pointea.ops import knn
from pointea.ops.backends import HAS_TORCH_CLUSTER
from pointea.ops.grid_knn import knn_grid


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


def _documented_torch_cluster_knn(x, y, k, batch_x, batch_y):
    """torch_cluster.knn as documented: for each point of ``y``, its ``k`` nearest points
    of ``x`` in the same batch, as (2, E) edges [y index, x index] in no promised order
    (returned shuffled here, so the adapter's re-sorting is exercised)."""
    dist = torch.cdist(y, x).masked_fill(batch_y[:, None] != batch_x[None, :], float("inf"))
    nearest = dist.topk(k, largest=False).indices  # (len(y), k) into x
    edges = torch.stack([torch.arange(len(y)).repeat_interleave(k), nearest.reshape(-1)])
    return edges[:, torch.randperm(edges.shape[1], generator=torch.Generator().manual_seed(0))]


def test_torch_cluster_backend_agrees_with_torch(monkeypatch):
    """The installed package when there is one, else a stand-in with its documented API,
    so pointea's adapter (flattened batches, edge order, nearest first) is always tested."""
    if not HAS_TORCH_CLUSTER:
        fake = types.ModuleType("torch_cluster")
        fake.knn = _documented_torch_cluster_knn
        monkeypatch.setitem(sys.modules, "torch_cluster", fake)
    torch.manual_seed(4)
    query, ref = torch.randn(3, 64, 3), torch.randn(3, 128, 3)
    assert torch.equal(
        knn(query, ref, 6, backend="torch_cluster"), knn(query, ref, 6, backend="torch")
    )


def lattice_with_duplicates(side=6, copies=40):
    """Integer lattice points (every distance is tied with many others) plus exact copies."""
    axis = torch.arange(side, dtype=torch.float32)
    grid = torch.stack(torch.meshgrid(axis, axis, axis, indexing="ij"), -1).reshape(-1, 3)
    return torch.cat([grid, grid[:copies]])  # (side^3 + copies, 3)


def assert_exact_neighbours(query, ref, idx, k):
    """``idx`` holds k different points per row at the k smallest float32 distances of a
    full sort, and the same indices as the (stable) full sort wherever the k + 1 smallest
    distances are all different."""
    dist = torch.cdist(query, ref, compute_mode="donot_use_mm_for_euclid_dist")  # (B, M, N)
    ordered, order = dist.sort(dim=-1, stable=True)
    assert torch.equal(dist.gather(-1, idx), ordered[..., :k])
    assert (idx.sort(-1).values.diff(dim=-1) > 0).all()
    untied = (ordered[..., : k + 1].diff(dim=-1) > 0).all(-1)  # (B, M)
    assert torch.equal(idx[untied], order[..., :k][untied])


@pytest.mark.parametrize(
    ("num_query", "num_ref", "k", "leaf_size"),
    [(300, 500, 8, 16), (2000, 1500, 32, 64), (3000, 40, 1, 128), (50, 2000, 5, 8)],
)
def test_grid_matches_brute_force_on_random_clouds(num_query, num_ref, k, leaf_size):
    torch.manual_seed(5)
    query, ref = torch.rand(2, num_query, 3), torch.randn(2, num_ref, 3)
    idx = knn_grid(query, ref, k, leaf_size=leaf_size)
    assert torch.equal(idx, brute_force(query, ref, k))


def test_grid_on_ties_and_duplicates():
    torch.manual_seed(6)
    pts = lattice_with_duplicates()[torch.randperm(256)].unsqueeze(0)
    for k in (1, 7, 27):
        grid = knn_grid(pts, pts, k, leaf_size=8)
        assert_exact_neighbours(pts, pts, grid, k)
        # Against brute force: same distances (tie order may differ).
        reference = knn(pts, pts, k, backend="torch")
        assert torch.equal(
            (pts[0][grid[0]] - pts[0, :, None]).norm(dim=-1),
            (pts[0][reference[0]] - pts[0, :, None]).norm(dim=-1),
        )


def test_grid_on_clusters_far_apart_and_far_queries():
    """Dense clusters, empty space and query points far outside the references."""
    torch.manual_seed(7)
    ref = torch.cat([torch.rand(400, 3) * 1e-3, torch.rand(400, 3) * 1e-3 + 5, torch.rand(5, 3)])
    query = torch.cat([ref[::3], torch.rand(100, 3) * 40 - 20])
    assert_exact_neighbours(
        query[None], ref[None], knn_grid(query[None], ref[None], 9, leaf_size=32), 9
    )


def test_grid_all_points_identical():
    pts = torch.ones(1, 300, 3)
    idx = knn_grid(pts, pts, 4, leaf_size=16)
    assert (idx.sort(-1).values.diff(dim=-1) > 0).all() and idx.max() < 300


def test_auto_backend_uses_grid_for_large_clouds(monkeypatch):
    """Above GRID_MIN_PAIRS the dispatcher routes to the grid search, and agrees."""
    knn_module = importlib.import_module("pointea.ops.knn")
    calls = []
    real = knn_module.knn_grid
    monkeypatch.setattr(knn_module, "GRID_MIN_PAIRS", 1000)
    monkeypatch.setattr(knn_module, "HAS_TORCH_CLUSTER", False)
    monkeypatch.setattr(knn_module, "knn_grid", lambda *a, **kw: calls.append(1) or real(*a, **kw))
    torch.manual_seed(8)
    pts = torch.rand(1, 400, 3)
    assert torch.equal(knn(pts, pts, 6), brute_force(pts, pts, 6))
    assert calls == [1]
    assert torch.equal(knn(pts[:, :20], pts[:, :20], 3), brute_force(pts[:, :20], pts[:, :20], 3))
    assert calls == [1]  # 400 pairs: brute force


def test_grid_many_queries_few_references():
    """The label carry-back shape of predict: M >> N, k = 1."""
    torch.manual_seed(9)
    ref, query = torch.rand(1, 64, 3), torch.rand(1, 20_000, 3)
    assert_exact_neighbours(query, ref, knn(query, ref, 1, backend="grid"), 1)
