"""read_table: fast parsing checked against np.loadtxt, and each hostile file named."""

import numpy as np
import pytest

from pointea.data import DatasetError
from pointea.data.text_table import read_table


@pytest.mark.parametrize("fmt, delimiter", [("%f", ","), ("%.5f", " "), ("%.3f", ", ")])
def test_plain_decimals_parse_as_loadtxt_does(tmp_path, fmt, delimiter):
    rng = np.random.default_rng(0)
    path = tmp_path / "cloud.txt"
    table = rng.standard_normal((500, 6)) * rng.choice([1e-4, 1.0, 300.0], (500, 1))
    np.savetxt(path, table, fmt=fmt, delimiter=delimiter)
    expected = np.loadtxt(path, delimiter=delimiter.strip() or None).astype(np.float32)
    np.testing.assert_array_equal(read_table(path, 6), expected)


def test_other_number_forms_are_read(tmp_path):
    path = tmp_path / "forms.txt"
    path.write_text("1e-3,+2,.5\r\n-1.5E2,7.,-.25\n\n  3 , 4 , 5  \n")
    expected = [[1e-3, 2, 0.5], [-150, 7, -0.25], [3, 4, 5]]
    np.testing.assert_array_equal(read_table(path, 3), np.float32(expected))


def test_a_file_without_final_newline_is_whole(tmp_path):
    path = tmp_path / "last.txt"
    path.write_text("1,2,3\n4,5,6")
    np.testing.assert_array_equal(read_table(path, 3), np.float32([[1, 2, 3], [4, 5, 6]]))


@pytest.mark.parametrize(
    "content, match",
    [
        (b"", r"empty"),
        (b"\n \n", r"empty"),
        (b"1,2,3\n4,5,6\n7,8", r"line 3 has 2 columns, expected 3 .*truncated"),
        (b"1,2,3\n4,5\n6,7,8\n", r"line 2 has 2 columns, expected 3"),
        (b"1,2,3,4\n", r"line 1 has 4 columns"),
        (b"1,2,3\nnan,1,2\n", r"row 2 holds a NaN"),
        (b"1,2,3\n1,inf,2\n", r"row 2 holds a NaN or infinite"),
        (b"1,2,3\n1e39,1,2\n", r"row 2 holds .* beyond float32's range \(\[inf, 1.0, 2.0\]\)"),
        (b"1,2,x\n", r"line 1: 'x' is not a number"),
        (b"1,2-3,4\n", r"line 1: '2-3' is not a number"),
        (b"1,2,3\x00\x00\n", r"not a text file \(it holds NUL bytes\)"),
        (b"\x89PNG\r\n\x1a\n\xff\xfe", r"not a text file \(byte \d+ is not UTF-8\)"),
    ],
)
def test_a_hostile_file_is_one_error_naming_it(tmp_path, content, match):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    with pytest.raises(DatasetError, match=match) as err:
        read_table(path, 3)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_an_unreadable_file_is_named(tmp_path):
    with pytest.raises(DatasetError, match=r"missing.txt cannot be read"):
        read_table(tmp_path / "missing.txt", 3)


def _refuse(*args):
    raise AssertionError("a well-formed file fell back to the line-by-line path")


@pytest.mark.parametrize("delimiter", [",", " ", "\t"])
def test_plain_files_take_the_fast_path(tmp_path, monkeypatch, delimiter):
    import pointea.data.text_table as module

    monkeypatch.setattr(module, "_parse_lines", _refuse)
    path = tmp_path / "plain.txt"
    table = np.random.default_rng(2).standard_normal((200, 7))
    np.savetxt(path, table, fmt="%f", delimiter=delimiter)
    expected = np.loadtxt(path, delimiter=delimiter.strip() or None).astype(np.float32)
    np.testing.assert_array_equal(read_table(path, 7), expected)


@pytest.mark.parametrize(
    "fmt, separator, newline, final",
    [
        ("%.6e", ",", "\n", True),  # exponents, as numpy's savetxt default writes
        ("%.8g", ",", "\r\n", False),  # CRLF, no final line break, mixed forms
        ("%f", " ", "\n", False),  # ShapeNetPart's layout, last line unfinished
        ("%.5f", "  ", "\r\n", True),  # runs of spaces
        ("%.4e", "\t", "\n", True),
        ("%.6f", " \t ", "\n", True),  # spaces and tabs mixed
    ],
)
def test_the_fast_path_reads_what_loadtxt_reads(
    tmp_path, monkeypatch, fmt, separator, newline, final
):
    import pointea.data.text_table as module

    monkeypatch.setattr(module, "_parse_lines", _refuse)
    rng = np.random.default_rng(3)
    table = rng.standard_normal((300, 7)) * rng.choice([1e-7, 1.0, -450.0, 3e9], (300, 1))
    lines = [separator.join(fmt % v for v in row) for row in table]
    if separator.strip() == "":
        lines = [
            (" " if i % 3 else "\t ") + line + ("  " if i % 2 else "")
            for i, line in enumerate(lines)
        ]
    path = tmp_path / "cloud.txt"
    path.write_bytes((newline.join(lines) + (newline if final else "")).encode())
    expected = np.loadtxt(path, delimiter=separator.strip() or None, dtype=np.float32)
    assert expected.shape == (300, 7)
    np.testing.assert_array_equal(read_table(path, 7), expected)
