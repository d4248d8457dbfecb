"""Reading a text file of numeric rows (``x,y,z,nx,ny,nz`` ...) fast, with faults named.

R rows, C columns. Fields are separated by commas and/or whitespace. Plain decimals
(``-0.0123``, ``7``, ``.5``) are parsed by a vectorised pass over the file's bytes: the
digits of each field are summed as an exact integer and divided by a power of ten, which
rounds once, like a C ``strtod``. A file holding anything else (exponents, ``nan``) is
read by ``np.fromstring``; a file neither accepts is read line by line to name its fault.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pointea.data.errors import DatasetError

__all__ = ["read_table"]

_SEPARATOR = np.zeros(256, dtype=bool)
_SEPARATOR[list(b" \t\r\n,")] = True
_PLAIN = _SEPARATOR.copy()
_PLAIN[list(b"0123456789.-+")] = True
_POW10 = 10.0 ** np.arange(23)
_MAX_DIGITS = 15  # a sum of up to 15 decimal digits is an exact float64 integer
_COMMA_TO_SPACE_STR = str.maketrans(",", " ")


def _parse_plain(raw: np.ndarray, columns: int) -> np.ndarray | None:
    """The rows of ``raw`` (the file's uint8 bytes) as float64 (R, columns), or ``None``
    when a field is not a plain decimal of at most 15 digits or a non-empty line does not
    hold ``columns`` fields (the caller then parses another way, or names the fault)."""
    if not _PLAIN[raw].all():
        return None
    sep = _SEPARATOR[raw]
    start = ~sep
    start[1:] &= sep[:-1]
    starts = np.flatnonzero(start)
    fields = len(starts)
    if fields == 0 or fields % columns:
        return None
    per_line = np.bincount(np.searchsorted(np.flatnonzero(raw == 10), starts))
    if not (per_line[per_line > 0] == columns).all():
        return None
    digit = raw - np.uint8(48)  # wraps below '0': only digits are < 10
    digits = np.flatnonzero(digit < 10)
    field_of = np.searchsorted(starts, digits, side="right") - 1  # (D,) sorted
    count = np.bincount(field_of, minlength=fields)  # digits per field
    if count.min() == 0 or count.max() > _MAX_DIGITS:
        return None
    first = np.cumsum(count) - count  # index into ``digits`` of each field's first digit
    power = count[field_of] - 1 - (np.arange(len(digits)) - first[field_of])
    mantissa = np.bincount(field_of, weights=digit[digits] * _POW10[power], minlength=fields)
    dots = np.flatnonzero(raw == 46)
    if len(dots):
        dot_field = np.searchsorted(starts, dots, side="right") - 1
        if np.bincount(dot_field, minlength=fields).max() > 1:
            return None
        after = first[dot_field] + count[dot_field] - np.searchsorted(digits, dots)
        scale = np.ones(fields)
        scale[dot_field] = _POW10[after]
        mantissa /= scale  # exact integer / exact power of ten: rounded once
    signs = np.flatnonzero((raw == 45) | (raw == 43))
    if len(signs):
        if not start[signs].all():  # a sign inside a field ("1-2", "1e-3") is not plain
            return None
        minus = signs[raw[signs] == 45]
        mantissa[np.searchsorted(starts, minus)] *= -1
    return mantissa.reshape(-1, columns)


def _parse_lines(path: Path, text: str, columns: int, what: str) -> np.ndarray:
    """The rows of ``text`` (exponents, ``nan`` ...) by ``np.fromstring``, each line
    checked; the first line that is not ``columns`` numbers raises naming it."""
    lines = text.splitlines()
    counts = [len(line.replace(",", " ").split()) for line in lines]
    if all(c in (0, columns) for c in counts):
        try:
            values = np.fromstring(text.translate(_COMMA_TO_SPACE_STR), dtype=np.float64, sep=" ")
            if len(values) == columns * sum(1 for c in counts if c):
                return values.reshape(-1, columns)
        except ValueError:
            pass
    raise _diagnose(path, text, columns, what)


def _diagnose(path: Path, text: str, columns: int, what: str) -> DatasetError:
    """The first line of ``text`` that is not ``columns`` numbers, as an error naming it."""
    lines = text.splitlines()
    last = max((i for i, line in enumerate(lines) if line.strip()), default=-1)
    for number, line in enumerate(lines, 1):
        fields = line.replace(",", " ").split()
        if not fields:
            continue
        if len(fields) != columns:
            cut = number - 1 == last and len(fields) < columns and not text.endswith("\n")
            why = " (the file is truncated)" if cut else ""
            return DatasetError(
                f"{path}: line {number} has {len(fields)} columns, expected {columns} "
                f"({what}){why}"
            )
        for field in fields:
            try:
                float(field)
            except ValueError:
                return DatasetError(f"{path}: line {number}: {field!r} is not a number")
    return DatasetError(f"{path}: cannot be read as rows of {columns} numbers ({what})")


def read_table(path: str | Path, columns: int, what: str = "") -> np.ndarray:
    """The rows of a text file of ``columns`` numbers per line, as float32.

    Args:
        path: the file.
        columns: the numbers each non-empty line must hold.
        what: the columns' meaning for error messages, e.g. ``"x,y,z,nx,ny,nz"``.

    Raises:
        DatasetError: one line naming the file and its fault: unreadable, empty, binary,
            a line with another column count (truncated when it is the last, unfinished
            line), a field that is not a number, a NaN or infinite value.

    Shapes:
        -> (R, columns) float32
    """
    path = Path(path)
    what = what or f"{columns} numbers per line"
    try:
        data = path.read_bytes()
    except OSError as err:
        raise DatasetError(f"{path} cannot be read: {err.strerror or err}") from err
    if not data.strip():
        raise DatasetError(f"{path} is empty; expected rows of {what}")
    if b"\x00" in data:
        raise DatasetError(f"{path} is not a text file (it holds NUL bytes); expected rows of {what}")
    table = _parse_plain(np.frombuffer(data, dtype=np.uint8), columns)
    if table is None:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as err:
            raise DatasetError(
                f"{path} is not a text file (byte {err.start} is not UTF-8); expected rows "
                f"of {what}"
            ) from err
        table = _parse_lines(path, text, columns, what)
    finite = np.isfinite(table).all(axis=1)
    if not finite.all():
        row = int(np.argmax(~finite))
        raise DatasetError(
            f"{path}: row {row + 1} holds a NaN or infinite value ({table[row].tolist()})"
        )
    return table.astype(np.float32)
