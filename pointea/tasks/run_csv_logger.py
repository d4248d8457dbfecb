"""A CSV logger that, when a run is resumed, keeps the rows its earlier epochs wrote."""

from __future__ import annotations

import csv
import os
from pathlib import Path

from pytorch_lightning.loggers import CSVLogger
from pytorch_lightning.loggers.csv_logs import ExperimentWriter
from pytorch_lightning.loggers.logger import rank_zero_experiment

__all__ = ["RunCSVLogger"]


class RunCSVLogger(CSVLogger):
    """Lightning's ``CSVLogger``, except that a resumed run keeps its history.

    Lightning's writer deletes an existing ``metrics.csv`` when it starts. With
    ``resume_step`` (the ``global_step`` of the checkpoint the run resumes from) the rows
    logged before that step are kept and the new rows appended after them; rows at or
    after it were written by the interrupted attempt after its last checkpoint, and the
    resumed run writes them again, so they are dropped. Lightning logs an epoch's
    validation and epoch-end metrics at the step of its last batch, so they stay with
    their epoch.
    """

    def __init__(self, save_dir, *, version: str, resume_step: int | None = None) -> None:
        super().__init__(save_dir, name="", version=version)
        self.resume_step = resume_step

    @property
    @rank_zero_experiment
    def experiment(self) -> ExperimentWriter:
        if self._experiment is None:
            os.makedirs(self.root_dir, exist_ok=True)
            self._experiment = _HistoryWriter(self.log_dir, self.resume_step)
        return self._experiment


class _HistoryWriter(ExperimentWriter):
    def __init__(self, log_dir: str, resume_step: int | None) -> None:
        self.resume_step = resume_step
        super().__init__(log_dir)  # calls _check_log_dir_exists

    def _check_log_dir_exists(self) -> None:
        path = Path(self.metrics_file_path)
        if self.resume_step is None or not path.is_file():
            super()._check_log_dir_exists()
            return
        with path.open(newline="") as file:
            reader = csv.DictReader(file)
            keys = list(reader.fieldnames or [])
            rows = [row for row in reader if int(row["step"]) < self.resume_step]
        tmp = path.with_name(f".{path.name}.tmp")
        with tmp.open("w", newline="") as file:
            writer = csv.DictWriter(file, fieldnames=keys)
            writer.writeheader()
            writer.writerows(rows)
        os.replace(tmp, path)
        self.metrics_keys = keys
