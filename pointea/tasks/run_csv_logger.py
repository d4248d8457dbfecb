"""A CSV logger that, when a run is resumed, keeps the rows its earlier epochs wrote."""

from __future__ import annotations

import csv
import os
import warnings
from pathlib import Path

from pytorch_lightning.loggers import CSVLogger
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

    Only public API: the kept rows are written to a temporary file beside the log before
    Lightning's writer starts (and deletes the log), moved into place after it, and the
    writer's ``metrics_keys`` set to their columns so that it appends below them.
    """

    def __init__(self, save_dir, *, version: str, resume_step: int | None = None) -> None:
        super().__init__(save_dir, name="", version=version)
        self.resume_step = resume_step
        self._history_restored = resume_step is None

    @property
    @rank_zero_experiment
    def experiment(self):
        if self._history_restored:
            return super().experiment
        self._history_restored = True
        log = Path(self.log_dir) / "metrics.csv"
        kept = log.with_name(f".{log.name}.kept")
        if not log.is_file() and kept.is_file():  # killed between writer start and the move
            os.replace(kept, log)
        if not log.is_file():
            return super().experiment
        with log.open(newline="") as file:
            reader = csv.DictReader(file)
            keys = list(reader.fieldnames or [])
            rows = [row for row in reader if int(row["step"]) < self.resume_step]
        with kept.open("w", newline="") as file:
            writer = csv.DictWriter(file, fieldnames=keys)
            writer.writeheader()
            writer.writerows(rows)
        with warnings.catch_warnings():  # "will be deleted": the history is in `kept`
            warnings.filterwarnings("ignore", message="Experiment logs directory")
            experiment = super().experiment
        os.replace(kept, log)
        experiment.metrics_keys = keys
        return experiment
