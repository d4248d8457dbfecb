"""Captioned panels and contact sheets from rendered images (Pillow)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from pointea.vis.atomic import atomic_output

__all__ = ["captioned_row", "contact_sheet", "save_png"]

CAPTION_HEIGHT = 28


def captioned_row(
    images: Sequence[np.ndarray], captions: Sequence[str], title: str = ""
) -> np.ndarray:
    """Images side by side, each with a caption below; an optional title above them all."""
    height, width = images[0].shape[:2]
    top = CAPTION_HEIGHT if title else 0
    canvas = Image.new("RGB", (width * len(images), height + CAPTION_HEIGHT + top), "white")
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default()
    if title:
        draw.text((6, 6), title, fill="black", font=font)
    for i, (image, caption) in enumerate(zip(images, captions, strict=True)):
        canvas.paste(Image.fromarray(image), (i * width, top))
        draw.text((i * width + 6, top + height + 6), caption, fill="black", font=font)
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


def save_png(image: np.ndarray, path: Path) -> Path:
    """Write ``image`` (H, W, 3) uint8 as a PNG, atomically; the written file is read back
    (complete, same size) before it replaces ``path``."""
    path = Path(path)
    picture = Image.fromarray(image)
    with atomic_output(path) as tmp:
        picture.save(tmp, format="PNG")
        try:
            with Image.open(tmp) as written:
                written.load()
                size = written.size
        except (OSError, SyntaxError) as err:
            raise OSError(f"{path}: the written PNG is unreadable ({err})") from err
        if size != picture.size:
            raise OSError(f"{path}: the written PNG is {size}, expected {picture.size}")
    return path
