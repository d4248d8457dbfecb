"""single_threaded: one intra-op thread inside, the caller's setting restored after."""

import pytest
import torch

from pointea.ops import farthest_point_sample, knn
from pointea.ops.threads import single_threaded


@pytest.fixture
def two_threads():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


def test_one_thread_inside_and_restored_after(two_threads):
    with single_threaded():
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == 2
    with pytest.raises(RuntimeError, match="boom"), single_threaded():
        raise RuntimeError("boom")
    assert torch.get_num_threads() == 2


def test_fps_and_grid_knn_leave_the_thread_count_and_match_one_thread(two_threads):
    xyz = torch.rand(2, 300, 3, generator=torch.Generator().manual_seed(0))
    fps, grid = farthest_point_sample(xyz, 40), knn(xyz, xyz, 6, backend="grid")
    assert torch.get_num_threads() == 2
    torch.set_num_threads(1)
    assert torch.equal(fps, farthest_point_sample(xyz, 40))
    assert torch.equal(grid, knn(xyz, xyz, 6, backend="grid"))
