"""Captioned panels, part legends and contact sheets from rendered images (Pillow)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from pointea.vis.atomic import WriteError, atomic_output

__all__ = ["captioned_row", "check_png", "contact_sheet", "legend_strip", "save_png"]

CAPTION_HEIGHT = 30
TITLE_SIZE, CAPTION_SIZE, LEGEND_SIZE = 18, 16, 15
SWATCH = 14


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    """Pillow's bundled scalable font at ``size`` pixels (Pillow >= 10.1), else its bitmap font."""
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # old Pillow, or no FreeType
        return ImageFont.load_default()


def legend_strip(entries: Sequence[tuple[str, Sequence[int]]], width: int) -> np.ndarray:
    """A white strip ``width`` wide: a colour swatch and a name per entry, wrapped onto as
    many lines as needed.

    Shapes:
        entries: [(name, (r, g, b) uint8)] -> image (H, width, 3) uint8
    """
    font = _font(LEGEND_SIZE)
    measure = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    line_height = max(SWATCH, LEGEND_SIZE) + 8
    placed, x, y = [], 8, 6
    for name, color in entries:
        item = SWATCH + 6 + int(measure.textlength(name, font=font)) + 18
        if x + item > width and x > 8:
            x, y = 8, y + line_height
        placed.append((x, y, name, tuple(int(c) for c in color)))
        x += item
    canvas = Image.new("RGB", (width, y + line_height), "white")
    draw = ImageDraw.Draw(canvas)
    for x, y, name, color in placed:
        draw.rectangle((x, y + 2, x + SWATCH, y + 2 + SWATCH), fill=color, outline="black")
        draw.text((x + SWATCH + 6, y), name, fill="black", font=font)
    return np.asarray(canvas)


def captioned_row(
    images: Sequence[np.ndarray],
    captions: Sequence[str],
    title: str = "",
    legend: Sequence[tuple[str, Sequence[int]]] = (),
) -> np.ndarray:
    """Images side by side, each with a caption below; an optional title above them all and
    an optional legend (``legend_strip`` entries) below."""
    height, width = images[0].shape[:2]
    top = CAPTION_HEIGHT if title else 0
    strip = legend_strip(legend, width * len(images)) if legend else None
    bottom = 0 if strip is None else strip.shape[0]
    size = (width * len(images), height + CAPTION_HEIGHT + top + bottom)
    canvas = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(canvas)
    if title:
        draw.text((8, 5), title, fill="black", font=_font(TITLE_SIZE))
    caption_font = _font(CAPTION_SIZE)
    for i, (image, caption) in enumerate(zip(images, captions, strict=True)):
        canvas.paste(Image.fromarray(image), (i * width, top))
        draw.text((i * width + 8, top + height + 6), caption, fill="black", font=caption_font)
    if strip is not None:
        canvas.paste(Image.fromarray(strip), (0, top + height + CAPTION_HEIGHT))
    return np.asarray(canvas)


def contact_sheet(images: Sequence[np.ndarray], columns: int = 4) -> np.ndarray:
    """A grid of equally sized images (the first image's size), left to right, top to bottom."""
    height, width = images[0].shape[:2]
    rows = -(-len(images) // columns)
    sheet = Image.new("RGB", (width * min(columns, len(images)), height * rows), "white")
    for i, image in enumerate(images):
        tile = Image.fromarray(image).resize((width, height))
        sheet.paste(tile, ((i % columns) * width, (i // columns) * height))
    return np.asarray(sheet)


def check_png(written: Path, name: Path, size: tuple[int, int] | None = None) -> None:
    """``written`` must be a complete PNG (of ``size`` (W, H) when given); errors name ``name``."""
    try:
        with Image.open(written) as image:
            image.load()
            found = image.size
    except (OSError, SyntaxError) as err:
        raise WriteError(f"{name}: the written PNG is unreadable ({err})") from err
    if size is not None and found != size:
        raise WriteError(f"{name}: the written PNG is {found}, expected {size}")


def save_png(image: np.ndarray, path: Path) -> Path:
    """Write ``image`` (H, W, 3) uint8 as a PNG, atomically; the written file is read back
    (complete, same size) before it replaces ``path``."""
    path = Path(path)
    picture = Image.fromarray(image)
    with atomic_output(path) as tmp:
        picture.save(tmp, format="PNG")
        check_png(tmp, path, picture.size)
    return path
