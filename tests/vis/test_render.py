import numpy as np
import pytest

from pointea.vis import PALETTE, label_colors
from pointea.vis.render import render_cloud

pytestmark = pytest.mark.vis


def distinct_colors(image, min_pixels=20):
    """Colours covering at least ``min_pixels`` pixels (anti-aliased edges are rarer)."""
    colors, counts = np.unique(image.reshape(-1, 3), axis=0, return_counts=True)
    return [tuple(c) for c, n in zip(colors, counts, strict=True) if n >= min_pixels]


def close_to(color, palette, tol=2):
    return any(np.abs(np.array(color, int) - np.array(p, int)).max() <= tol for p in palette)


def test_rendered_colours_are_the_palette_colours_of_the_labels():
    rng = np.random.default_rng(0)
    points = rng.uniform(-1, 1, (3000, 3))
    labels = np.where(points[:, 1] > 0, 7, 12)  # two parts: upper and lower half
    image = render_cloud(points, label_colors(labels), size=200)
    assert image.shape == (200, 200, 3) and image.dtype == np.uint8
    background = (image == 255).all(axis=-1)
    assert 0.05 < (~background).mean() < 0.95  # something drawn, not everything
    found = [c for c in distinct_colors(image) if c != (255, 255, 255)]
    expected = [tuple(PALETTE[7]), tuple(PALETTE[12])]
    assert all(close_to(c, expected) for c in found), found
    assert all(close_to(e, found) for e in expected)  # each part is visible
    # The upper part is drawn above the lower one (y is up in the view).
    rows_of = {
        e: np.nonzero((np.abs(image.astype(int) - e).max(-1) <= 2).any(axis=1))[0].mean()
        for e in expected
    }
    assert rows_of[expected[0]] < rows_of[expected[1]]
