"""Lightning's CSV log: parsed once, checked against hand-read rows; garbled files named."""

import pytest

from pointea.cli.plots import main as plots_main
from pointea.vis.metrics_log import MetricsLogError, read_metrics_log

LOG = (
    "epoch,step,train/loss_step,train/loss_epoch,val/oa\n"
    "0,0,2.0,,\n0,1,1.5,,\n0,1,,,0.5\n0,1,,1.7,\n1,3,1.0,,\n1,3,,,0.7\n1,3,,1.1,\n"
)


def test_every_value_with_its_epoch_and_step(tmp_path):
    path = tmp_path / "metrics.csv"
    path.write_text(LOG)
    assert read_metrics_log(path) == {  # read off the rows above by hand
        "train/loss_step": [(0, 0, 2.0), (0, 1, 1.5), (1, 3, 1.0)],
        "val/oa": [(0, 1, 0.5), (1, 3, 0.7)],
        "train/loss_epoch": [(0, 1, 1.7), (1, 3, 1.1)],
    }


GARBLED = {
    "binary": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe", "is not text"),
    "no epoch column": (b"a,b\n1,2\n", "lacks the 'epoch' and 'step' columns"),
    "a word for a value": (b"epoch,step,val/oa\n0,1,high\n", "line 2: val/oa='high'"),
    "a short row": (b"epoch,step,val/oa\n0,1,0.5\n1\n", "line 3: 3 columns expected"),
    "a NUL byte": (b"epoch,step,val/oa\n0,1,0.\x005\n", "line 2: val/oa=.* is not a number"),
}


@pytest.mark.parametrize("case", sorted(GARBLED))
def test_a_garbled_log_is_named_in_one_line(tmp_path, case):
    content, message = GARBLED[case]
    path = tmp_path / "metrics.csv"
    path.write_bytes(content)
    with pytest.raises(MetricsLogError, match=message) as caught:
        read_metrics_log(path)
    assert str(path) in str(caught.value)


def test_plots_cli_ends_in_one_line_naming_a_binary_log(tmp_path, capsys):
    (tmp_path / "csv").mkdir()
    path = tmp_path / "csv" / "metrics.csv"
    path.write_bytes(bytes(range(256)) * 4)
    assert plots_main([str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(path) in err and "Traceback" not in err
