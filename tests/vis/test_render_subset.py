"""Huge clouds are rendered from a seeded subset of points; small ones in full."""

import numpy as np
import pytest

from pointea.vis import label_colors
from pointea.vis.render import render_cloud, render_subset


def test_subset_is_every_point_up_to_the_limit():
    assert render_subset(5, 5).tolist() == [0, 1, 2, 3, 4]
    assert render_subset(7, None).tolist() == list(range(7))


def test_subset_is_seeded_distinct_ordered_and_spread():
    keep = render_subset(100_000, 1_000, seed=3)
    assert len(keep) == 1_000 and len(np.unique(keep)) == 1_000
    assert (np.diff(keep) > 0).all() and keep.min() >= 0 and keep.max() < 100_000
    assert np.array_equal(keep, render_subset(100_000, 1_000, seed=3))
    assert not np.array_equal(keep, render_subset(100_000, 1_000, seed=4))
    # Uniform over the cloud, not its first points: each tenth holds about 100 of them.
    counts = np.bincount(keep // 10_000, minlength=10)
    assert counts.min() > 60 and counts.max() < 140, counts


def test_subset_rejects_a_zero_limit():
    with pytest.raises(ValueError, match="max_points"):
        render_subset(10, 0)


@pytest.mark.vis
def test_a_large_cloud_renders_as_its_subset():
    rng = np.random.default_rng(0)
    points = rng.uniform(-1, 1, (5_000, 3))
    colors = label_colors(np.where(points[:, 1] > 0, 3, 9))
    keep = render_subset(len(points), 1_000, seed=1)
    image = render_cloud(points, colors, size=120, max_points=1_000, seed=1)
    expected = render_cloud(points[keep], colors[keep], size=120, max_points=None)
    full = render_cloud(points, colors, size=120, max_points=None)
    assert np.array_equal(image, expected)
    assert not np.array_equal(image, full)  # the limit did drop points
