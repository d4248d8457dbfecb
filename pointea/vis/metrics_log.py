"""Read Lightning's CSV log (a run's ``csv/metrics.csv``): the one parser of it, used by
the run's figures (``pointea-plots``) and by the study report (``pointea-report``).

Lightning writes one row per logging call: ``epoch``, ``step`` and one column per logged
name, empty where that call did not log the name.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

__all__ = ["MetricsLogError", "read_metrics_log"]


class MetricsLogError(ValueError):
    """A metrics log that is not Lightning's CSV (binary, truncated, garbled)."""


def _number(text: str, csv_path: Path, line: int, column: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise MetricsLogError(
            f"{csv_path}, line {line}: {column}={text!r} is not a number "
            "(not Lightning's CSV log, or garbled)"
        ) from None


def read_metrics_log(csv_path: Path) -> dict[str, list[tuple[int, int, float]]]:
    """``{name: [(epoch, step, value)]}``, in the order logged, for every logged name.

    Raises:
        MetricsLogError: the file is not text, has no ``epoch`` and ``step`` columns, or a
            row holds something other than numbers; the message names the file and line.
    """
    csv_path = Path(csv_path)
    series: dict[str, list[tuple[int, int, float]]] = {}
    try:
        with csv_path.open(newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            columns = reader.fieldnames or []
            if "epoch" not in columns or "step" not in columns:
                raise MetricsLogError(
                    f"{csv_path} is not Lightning's CSV log: its header {columns[:6]} lacks "
                    "the 'epoch' and 'step' columns"
                )
            for row in reader:
                line = reader.line_num
                if None in row or any(v is None for v in row.values()):
                    raise MetricsLogError(
                        f"{csv_path}, line {line}: {len(columns)} columns expected, "
                        "the row has another count (garbled or truncated)"
                    )
                epoch = _number(row["epoch"], csv_path, line, "epoch")
                step = _number(row["step"], csv_path, line, "step")
                if not (math.isfinite(epoch) and math.isfinite(step)):
                    raise MetricsLogError(f"{csv_path}, line {line}: epoch or step not finite")
                for key, value in row.items():
                    if key in ("epoch", "step") or not value:
                        continue
                    value = _number(value, csv_path, line, key)
                    series.setdefault(key, []).append((int(epoch), int(step), value))
    except UnicodeDecodeError as err:
        raise MetricsLogError(
            f"{csv_path} is not text (byte {err.start} is not UTF-8): not Lightning's CSV log"
        ) from None
    except csv.Error as err:
        raise MetricsLogError(f"{csv_path} is not a readable CSV file: {err}") from None
    return series
