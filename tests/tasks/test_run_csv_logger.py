"""A resumed run's CSV log keeps the rows before the checkpoint's step, then appends."""

import csv

from pointea.tasks.run_csv_logger import RunCSVLogger


def rows(path):
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def test_a_resume_keeps_earlier_rows_and_appends_new_ones(tmp_path, recwarn):
    log = tmp_path / "csv" / "metrics.csv"
    log.parent.mkdir()
    log.write_text("epoch,step,train/loss\n0,0,3.0\n0,1,2.0\n1,2,1.5\n1,3,1.4\n")
    logger = RunCSVLogger(tmp_path, version="csv", resume_step=2)
    logger.log_metrics({"train/loss": 1.0, "epoch": 1}, step=2)
    logger.log_metrics({"val/oa": 0.5, "epoch": 1}, step=2)  # a new column
    logger.save()
    assert [(r["step"], r["train/loss"], r.get("val/oa")) for r in rows(log)] == [
        ("0", "3.0", ""), ("1", "2.0", ""), ("2", "1.0", ""), ("2", "", "0.5"),
    ]  # fmt: skip
    assert not list(log.parent.glob(".*"))  # no temporary file left
    assert not [w for w in recwarn if "will be deleted" in str(w.message)]


def test_a_fresh_run_starts_a_new_log(tmp_path):
    log = tmp_path / "csv" / "metrics.csv"
    log.parent.mkdir()
    log.write_text("epoch,step,train/loss\n0,0,3.0\n")
    logger = RunCSVLogger(tmp_path, version="csv")
    logger.log_metrics({"train/loss": 9.0, "epoch": 0}, step=0)
    logger.save()
    assert [(r["step"], r["train/loss"]) for r in rows(log)] == [("0", "9.0")]
