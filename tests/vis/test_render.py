import numpy as np
import pytest

from pointea.vis import PALETTE, label_colors
from pointea.vis.render import FRONT, depth_shade, render_cloud

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
    image = render_cloud(points, label_colors(labels), size=200, shade=False)
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


def test_depth_shade_darkens_with_distance_from_the_camera():
    toward = np.array(FRONT) / np.linalg.norm(FRONT)
    points = np.stack([toward * 1.0, toward * 0.0, toward * -1.0])  # near, middle, far
    colors = np.full((3, 3), 200, dtype=np.uint8)
    shaded = depth_shade(points, colors, darkest=0.5)
    # Factor 0.5 + 0.5 * (position from far (0) to near (1)): 1, 0.75, 0.5.
    assert shaded[:, 0].tolist() == [200, 150, 100]


def test_shaded_render_keeps_hues_and_prints_no_start_up_noise(capfd):
    rng = np.random.default_rng(0)
    points = rng.uniform(-1, 1, (3000, 3))
    color = PALETTE[2]  # (0, 130, 200)
    image = render_cloud(points, np.tile(color, (len(points), 1)), size=200)
    drawn = image[~(image == 255).all(axis=-1)].astype(float)
    # Every drawn pixel is the colour scaled by one factor (blue/green ratio kept) ...
    ratio = drawn[:, 2] / np.maximum(drawn[:, 1], 1)
    assert np.median(np.abs(ratio - 200 / 130)) < 0.05
    # ... and the cloud is shaded: bright near points and dark far ones both show.
    assert drawn[:, 2].max() >= 190 and np.percentile(drawn[:, 2], 5) < 140
    out, err = capfd.readouterr()
    assert "GLFW" not in out + err and "XDG_RUNTIME_DIR" not in out + err
