"""A garbled test_details.json is named in one line, never a traceback or a wrong figure."""

import json

import pytest

from pointea.cli.plots import main as plots_main
from pointea.vis.details_file import DetailsFileError, read_test_details

GOOD = {"task": "cls", "class_names": ["a", "b"], "confusion": [[3, 1], [0, 4]]}

GARBLED = {
    "binary": (bytes(range(256)) * 4, r"is not text \(byte 128 is not UTF-8\)"),
    "truncated": (json.dumps(GOOD)[:30].encode(), r"is not valid JSON \(line 1, column \d+"),
    "empty": (b"", r"is not valid JSON"),
    "a list": (b"[1, 2]", r"expected a JSON object, got list"),
    "names missing": (
        json.dumps({"confusion": [[1]]}).encode(),
        r"'class_names' must be a list of names beside 'confusion'",
    ),
    "matrix not square": (
        json.dumps({"class_names": ["a", "b"], "confusion": [[1, 2], [3]]}).encode(),
        r"'confusion' must be a 2 x 2 matrix",
    ),
    "more classes than rows": (
        json.dumps({"class_names": ["a", "b", "c"], "confusion": [[1, 2], [3, 4]]}).encode(),
        r"'confusion' must be a 3 x 3 matrix",
    ),
    "negative count": (
        json.dumps({"class_names": ["a"], "confusion": [[-1]]}).encode(),
        r"'confusion' must hold finite counts >= 0",
    ),
    "text count": (
        json.dumps({"class_names": ["a"], "confusion": [["x"]]}).encode(),
        r"'confusion' must hold finite counts >= 0",
    ),
    "iou out of range": (
        json.dumps({"per_category_iou": {"Mug": 1.5}}).encode(),
        r"'per_category_iou' must map category names to IoUs in \[0, 1\]",
    ),
    "iou a list": (
        json.dumps({"per_category_iou": [0.5]}).encode(),
        r"'per_category_iou' must map",
    ),
}


@pytest.mark.parametrize("case", sorted(GARBLED))
def test_a_garbled_details_file_is_named(tmp_path, case):
    content, message = GARBLED[case]
    path = tmp_path / "test_details.json"
    path.write_bytes(content)
    with pytest.raises(DetailsFileError, match=message) as caught:
        read_test_details(path)
    assert str(caught.value).startswith(str(path))


def test_what_train_writes_is_read_back(tmp_path):
    path = tmp_path / "test_details.json"
    details = {**GOOD, "per_category_iou": {"Mug": 0.5, "Lamp": float("nan")}}
    path.write_text(json.dumps(details))
    read = read_test_details(path)
    assert read["confusion"] == [[3, 1], [0, 4]] and read["per_category_iou"]["Mug"] == 0.5


def test_plots_cli_ends_in_one_line_naming_a_binary_details_file(tmp_path, capsys):
    path = tmp_path / "test_details.json"
    path.write_bytes(bytes(range(256)) * 4)
    assert plots_main([str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(path) in err and "Traceback" not in err
    assert not list((tmp_path / "plots").glob("*.png"))
