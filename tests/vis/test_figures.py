import numpy as np

from pointea.vis import PALETTE
from pointea.vis.figures import CAPTION_HEIGHT, captioned_row, legend_strip


def pixels_of(image, color):
    return int((image == np.array(color, dtype=np.uint8)).all(axis=-1).sum())


def test_legend_shows_each_colour_and_wraps_when_narrow():
    entries = [("body", PALETTE[0]), ("handle", PALETTE[1])]
    wide = legend_strip(entries, 600)
    assert wide.shape[1] == 600 and wide.dtype == np.uint8
    for _, color in entries:
        assert pixels_of(wide, color) >= 12 * 12  # a filled swatch (inside its outline)
    narrow = legend_strip(entries, 60)
    assert narrow.shape[0] > wide.shape[0]  # one entry per line
    assert all(pixels_of(narrow, c) >= 12 * 12 for _, c in entries)


def test_captioned_row_stacks_title_images_captions_and_legend():
    image = np.full((50, 40, 3), 200, dtype=np.uint8)
    legend = [("leg", PALETTE[2])]
    row = captioned_row([image, image], ["a", "b"], title="t", legend=legend)
    strip = legend_strip(legend, 80)
    assert row.shape == (CAPTION_HEIGHT + 50 + CAPTION_HEIGHT + strip.shape[0], 80, 3)
    assert (row[CAPTION_HEIGHT : CAPTION_HEIGHT + 50] == 200).all()  # both images, uncovered
    assert pixels_of(row, PALETTE[2]) == pixels_of(strip, PALETTE[2])
    plain = captioned_row([image], ["a"])
    assert plain.shape == (50 + CAPTION_HEIGHT, 40, 3)
