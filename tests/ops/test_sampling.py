import pytest
import torch

from pointea.ops import farthest_point_sample


def naive_fps(cloud: torch.Tensor, num_samples: int, start: int = 0) -> list[int]:
    """Textbook FPS on one cloud, in float64 with Python loops."""
    cloud = cloud.double()
    chosen = [start]
    min_dist = [float("inf")] * cloud.shape[0]
    for _ in range(num_samples - 1):
        last = cloud[chosen[-1]]
        for i in range(cloud.shape[0]):
            min_dist[i] = min(min_dist[i], float(((cloud[i] - last) ** 2).sum()))
        chosen.append(max(range(cloud.shape[0]), key=lambda i: (min_dist[i], -i)))
    return chosen


def test_matches_naive_per_cloud_loop():
    torch.manual_seed(0)
    xyz = torch.randn(3, 60, 3)
    idx = farthest_point_sample(xyz, 12)
    assert idx.shape == (3, 12) and idx.dtype == torch.int64
    for b in range(3):
        assert idx[b].tolist() == naive_fps(xyz[b], 12)


def test_hand_checked_line():
    # Points on a line: start at 0, farthest is 10, then the middle 5.
    xyz = torch.tensor([[[0.0, 0, 0], [1, 0, 0], [5, 0, 0], [10, 0, 0]]])
    assert farthest_point_sample(xyz, 3).tolist() == [[0, 3, 2]]


def test_random_start_is_seeded_and_matches_naive():
    torch.manual_seed(1)
    xyz = torch.randn(4, 50, 3)
    gen = torch.Generator().manual_seed(7)
    idx = farthest_point_sample(xyz, 9, random_start=True, generator=gen)
    again = farthest_point_sample(
        xyz, 9, random_start=True, generator=torch.Generator().manual_seed(7)
    )
    assert torch.equal(idx, again)
    assert idx[:, 0].unique().numel() > 1  # the start differs across clouds
    for b in range(4):
        assert idx[b].tolist() == naive_fps(xyz[b], 9, start=int(idx[b, 0]))


def test_samples_are_distinct_when_points_are():
    xyz = torch.rand(2, 100, 3)
    idx = farthest_point_sample(xyz, 100)
    assert all(row.unique().numel() == 100 for row in idx)


@pytest.mark.parametrize("bad", [0, 11])
def test_rejects_sample_counts_out_of_range(bad):
    with pytest.raises(ValueError, match=r"num_samples must be in \[1, 10\]"):
        farthest_point_sample(torch.rand(1, 10, 3), bad)
