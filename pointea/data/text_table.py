"""Reading a text file of numeric rows (``x,y,z,nx,ny,nz`` ...) fast, with faults named.

R rows, C columns. Fields are separated by commas and/or whitespace. Plain decimals
(``-0.0123``, ``7``, ``.5``) are parsed by vectorised passes over the file's bytes: the
digits of each field are accumulated as an exact integer and divided by a power of ten,
which rounds once, like a C ``strtod`` (about twice the speed of ``np.loadtxt``; see
BENCHMARKS.md). A file holding anything else (exponents, ``nan``) is read by
``np.fromstring``; a file neither accepts is read line by line to name its fault.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pointea.data.errors import DatasetError

__all__ = ["read_table"]

_LINE_SPACE = np.zeros(32, dtype=bool)
_LINE_SPACE[list(b"\t\r\n")] = True
_MAX_WIDTH = 24  # longest field the vectorised pass reads
_POW10 = 10.0 ** np.arange(23)
_MAX_DIGITS = 15  # a sum of up to 15 decimal digits is an exact float64 integer
_COMMA_TO_SPACE_STR = str.maketrans(",", " ")


def _parse_plain(data: bytes, columns: int) -> np.ndarray | None:
    """The rows of ``data`` as float64 (R, columns), or ``None`` when a field is not a
    plain decimal of at most 15 digits or a non-empty line does not hold ``columns``
    fields (the caller then parses another way, or names the fault).

    One pass finds the fields (runs of bytes between separators); then a loop over the
    character position within a field, vectorised over all fields, accumulates the digits.
    """
    raw = np.frombuffer(data + b"\n" * _MAX_WIDTH, dtype=np.uint8)
    control = raw < 32
    if np.count_nonzero(control) != np.count_nonzero(_LINE_SPACE[raw[control]]):
        return None  # control bytes other than tab, CR, LF
    sep = control | (raw == 32) | (raw == 44)
    edge = np.flatnonzero(sep[1:] != sep[:-1]) + 1
    if not sep[0]:
        edge = np.concatenate([[0], edge])
    starts, ends = edge[0::2], edge[1::2]  # (F,) each: fields alternate with separator runs
    fields = len(starts)
    if fields == 0 or fields % columns or len(ends) != fields:
        return None
    # each group of ``columns`` fields on one line, and each group on a line of its own
    line = np.searchsorted(np.flatnonzero(raw == 10), starts)
    first, last = line[0::columns], line[columns - 1 :: columns]
    if not ((first == last).all() and (np.diff(first) > 0).all()):
        return None
    if int((ends - starts).max()) > _MAX_WIDTH:
        return None
    lead = raw[starts]
    negative = lead == 45
    pos = starts + (negative | (lead == 43))  # skip one sign
    mantissa = np.zeros(fields)
    digits = np.zeros(fields, dtype=np.int64)
    dot_at = np.full(fields, -1, dtype=np.int64)  # digits seen before the dot
    for k in range(int((ends - pos).max())):
        live = pos + k < ends
        char = raw[pos + k]
        value = char - np.uint8(48)  # wraps below '0': only digits are < 10
        is_digit = (value < 10) & live
        is_dot = (char == 46) & live
        if not (is_digit | is_dot | ~live).all():
            return None  # an exponent, "nan", a second sign ...
        if is_dot.any():
            if (is_dot & (dot_at >= 0)).any():
                return None
            dot_at[is_dot] = digits[is_dot]
        mantissa = np.where(is_digit, mantissa * 10 + value, mantissa)
        digits += is_digit
    if digits.min() == 0 or digits.max() > _MAX_DIGITS:
        return None
    # an exact integer over an exact power of ten: rounded once, as strtod rounds
    values = mantissa / _POW10[np.where(dot_at >= 0, digits - dot_at, 0)]
    values[negative] *= -1
    return values.reshape(-1, columns)


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
    table = _parse_plain(data, columns)
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
