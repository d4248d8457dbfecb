"""Read a run's ``test_details.json`` (what its figures need beyond the CSV log): the one
reader of it, which checks it is what ``train.py`` writes before anything is drawn."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

__all__ = ["DetailsFileError", "read_test_details"]


class DetailsFileError(ValueError):
    """A ``test_details.json`` that is not what ``train.py`` writes (binary, truncated,
    garbled, or holding the wrong shapes); the message names the file."""


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_confusion(path: Path, details: dict[str, Any]) -> None:
    names = details.get("class_names")
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise DetailsFileError(f"{path}: 'class_names' must be a list of names beside 'confusion'")
    rows, side = details["confusion"], len(names)
    if (
        not isinstance(rows, list)
        or len(rows) != side
        or not all(isinstance(r, list) and len(r) == side for r in rows)
    ):
        raise DetailsFileError(
            f"{path}: 'confusion' must be a {side} x {side} matrix (one row and column per "
            f"class name)"
        )
    if not all(_is_number(v) and math.isfinite(v) and v >= 0 for r in rows for v in r):
        raise DetailsFileError(f"{path}: 'confusion' must hold finite counts >= 0")


def _check_ious(path: Path, ious: Any) -> None:
    if not isinstance(ious, dict) or not all(
        _is_number(v) and (math.isnan(v) or 0 <= v <= 1) for v in ious.values()
    ):
        raise DetailsFileError(
            f"{path}: 'per_category_iou' must map category names to IoUs in [0, 1] (NaN: a "
            f"category without test shapes)"
        )


def read_test_details(path: str | Path) -> dict[str, Any]:
    """The run's test details: ``class_names`` with ``confusion`` (classification) and/or
    ``per_category_iou`` (segmentation).

    Raises:
        DetailsFileError: the file is not UTF-8 JSON, not an object, or its entries have
            the wrong types or shapes; the message names the file.
    """
    path = Path(path)
    try:
        details = json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as err:
        raise DetailsFileError(
            f"{path} is not text (byte {err.start} is not UTF-8): not a test_details.json "
            f"written by train.py"
        ) from None
    except json.JSONDecodeError as err:
        raise DetailsFileError(
            f"{path} is not valid JSON (line {err.lineno}, column {err.colno}: {err.msg}): "
            f"garbled or truncated"
        ) from None
    if not isinstance(details, dict):
        raise DetailsFileError(f"{path}: expected a JSON object, got {type(details).__name__}")
    if "confusion" in details:
        _check_confusion(path, details)
    if "per_category_iou" in details:
        _check_ious(path, details["per_category_iou"])
    return details
