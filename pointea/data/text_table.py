"""Reading a text file of numeric rows (``x,y,z,nx,ny,nz`` ...) fast, with faults named.

R rows, C columns. Fields are separated by commas and/or whitespace. A file is parsed by
Arrow's C CSV reader (``pyarrow.csv``; it releases the GIL, so threads parse files at
once; figures in BENCHMARKS.md) into float64, then rounded to float32, as
``np.loadtxt(..., dtype=np.float32)`` rounds. A file it refuses (separators mixed within a
line, another column count, a field that is not a number) is read by ``np.fromstring``,
and one neither accepts is read line by line to name its fault.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pyarrow as pa
from pyarrow import csv

from pointea.data.errors import DatasetError

__all__ = ["read_table"]

_COMMA_TO_SPACE_STR = str.maketrans(",", " ")
_BLOCK = csv.ReadOptions().block_size
_BLANKS = re.compile(rb"[ \t]+")
_EDGE_BLANKS = re.compile(rb"^ | (?=\r?$)", re.MULTILINE)  # after runs became one space


def _parse_fast(data: bytes, columns: int) -> np.ndarray | None:
    """The rows of ``data`` as float32 (R, columns) by Arrow's C CSV reader,
    or ``None`` when it refuses them (another column count, a field that is not a number)
    and the caller parses another way or names the fault.

    Fields are comma-separated when the first line holds a comma, else separated by
    runs of spaces and tabs, which become single spaces first because Arrow reads one
    byte as the delimiter. Quotes are not special: a quoted number is refused, as
    ``np.loadtxt`` refuses it.
    """
    head = data[: data.find(b"\n")]
    delimiter = b"," if b"," in head else b" "
    runs = (b"\t", b"  ", b"\n ", b" \n", b" \r")
    if delimiter == b" " and (data.startswith(b" ") or any(run in data for run in runs)):
        data = _EDGE_BLANKS.sub(b"", _BLANKS.sub(b" ", data))
    names = [str(i) for i in range(columns)]
    try:
        table = csv.read_csv(
            pa.BufferReader(data),
            # Arrow's threads split a file into blocks of ``block_size`` bytes: a smaller
            # file is one block, and threads would only cost their start-up
            read_options=csv.ReadOptions(column_names=names, use_threads=len(data) > _BLOCK),
            parse_options=csv.ParseOptions(delimiter=delimiter.decode(), quote_char=False),
            convert_options=csv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.float64()),
                null_values=[],
                strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid:
        return None
    if table.num_rows == 0:
        return None
    out = np.empty((table.num_rows, columns), dtype=np.float32)
    for j, column in enumerate(table.columns):
        out[:, j] = column.to_numpy()  # rounded once more, float64 to float32, as loadtxt's
    return out


def _parse_lines(path: Path, text: str, columns: int, what: str) -> np.ndarray:
    """The rows of ``text`` that Arrow refused (``1, 2 3``) by ``np.fromstring``, each line
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
                f"{path}: line {number} has {len(fields)} columns, expected {columns} ({what}){why}"
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
            line), a field that is not a number, a NaN or infinite value or one beyond
            float32's range.

    Shapes:
        -> (R, columns) float32
    """
    path = Path(path)
    what = what or f"{columns} numbers per line"
    try:
        data = path.read_bytes()
    except OSError as err:
        raise DatasetError(f"{path} cannot be read: {err.strerror or err}") from err
    table = _parse_fast(data, columns)
    if table is None:  # the fault is named here, off the fast path
        if not data.strip():
            raise DatasetError(f"{path} is empty; expected rows of {what}")
        if b"\x00" in data:
            raise DatasetError(
                f"{path} is not a text file (it holds NUL bytes); expected rows of {what}"
            )
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as err:
            raise DatasetError(
                f"{path} is not a text file (byte {err.start} is not UTF-8); expected rows "
                f"of {what}"
            ) from err
        table = _parse_lines(path, text, columns, what).astype(np.float32)
    if not np.isfinite(table.sum(dtype=np.float64)):  # one pass; finite rows sum finite
        finite = np.isfinite(table).all(axis=1)
        if not finite.all():
            row = int(np.argmax(~finite))
            raise DatasetError(
                f"{path}: row {row + 1} holds a NaN or infinite value, or one beyond float32's "
                f"range ({table[row].tolist()})"
            )
    return table
