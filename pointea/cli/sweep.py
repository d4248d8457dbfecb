"""The runs of a sweep folder, as train.py left them: config, test metrics, per-epoch log.

A run is any folder below the sweep holding ``config.yaml`` (written by train.py when
training starts) or Hydra's ``.hydra/config.yaml`` (written when the job starts). It is
complete when its ``metrics.json`` holds test metrics; anything else (a crash, a kill, a
run still going) is incomplete and carries the reason, so that a report lists it apart
instead of averaging it.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hydra.utils import get_class
from omegaconf import OmegaConf

from pointea.cli.attention_config import attention_kind
from pointea.cli.run_config import ConfigError

__all__ = ["Run", "read_epoch_log", "read_run", "read_sweep"]


@dataclass
class Run:
    """One run of a sweep.

    Attributes:
        folder: the run folder.
        config: its resolved config (a plain dict).
        metrics: final test metrics from ``metrics.json`` (empty when incomplete).
        checkpoint: the checkpoint the test metrics come from.
        epochs: per-epoch values from ``csv/metrics.csv``: ``{name: [(epoch, value)]}``.
        problem: why the run is incomplete, or None when complete.
    """

    folder: Path
    config: dict[str, Any]
    metrics: dict[str, float] = field(default_factory=dict)
    checkpoint: str | None = None
    epochs: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    problem: str | None = None

    @property
    def attention(self) -> str:
        node = self.config.get("model", {}).get("attention")
        try:
            return attention_kind(node)
        except ConfigError:
            return "?"

    @property
    def seed(self) -> int | None:
        return self.config.get("seed")

    @property
    def task(self) -> str:
        return str(self.config.get("task", {}).get("name", "?"))

    @property
    def monitor(self) -> str | None:
        """The validation metric its best checkpoint was chosen by: its task's ``monitor``."""
        target = self.config.get("task", {}).get("module", {}).get("_target_")
        try:
            return get_class(target).monitor if target else None
        except (ImportError, AttributeError):
            return None

    @property
    def selection(self) -> str:
        """The split the tested checkpoint was chosen on: ``validation``, ``test`` or ``last``
        (no selection: the last epoch's weights)."""
        if self.config.get("data", {}).get("select_on_test"):
            return "test"
        if self.checkpoint and Path(self.checkpoint).name.startswith("last"):
            return "last"
        return "validation"


def read_epoch_log(csv_path: Path) -> dict[str, list[tuple[int, float]]]:
    """``{name: [(epoch, value)]}`` of the epoch-level values in Lightning's CSV log
    (per-step columns, ending in ``_step``, are left out)."""
    series: dict[str, list[tuple[int, float]]] = {}
    with csv_path.open(newline="") as f:
        for row in csv.DictReader(f):
            for key, value in row.items():
                if key in ("epoch", "step") or key.endswith("_step") or not value:
                    continue
                series.setdefault(key, []).append((int(float(row["epoch"])), float(value)))
    return series


def _config_of(folder: Path) -> dict[str, Any]:
    path = folder / "config.yaml"
    if not path.is_file():
        path = folder / ".hydra" / "config.yaml"
    config = OmegaConf.to_container(OmegaConf.load(path), resolve=False)
    if not isinstance(config, dict):
        raise ValueError(f"{path} does not hold a mapping")
    return config


def read_run(folder: Path) -> Run:
    """Read one run folder; an unreadable or missing file makes the run incomplete."""
    folder = Path(folder)
    run = Run(folder=folder, config=_config_of(folder))
    csv_path = folder / "csv" / "metrics.csv"
    if csv_path.is_file():
        run.epochs = read_epoch_log(csv_path)
    metrics_path = folder / "metrics.json"
    if not metrics_path.is_file():
        last = max((e for values in run.epochs.values() for e, _ in values), default=None)
        reached = "no epoch logged" if last is None else f"last logged epoch {last}"
        run.problem = f"no metrics.json (failed, killed or still running; {reached})"
        return run
    try:
        saved = json.loads(metrics_path.read_text())
        run.metrics = {k: float(v) for k, v in saved["metrics"].items()}
        run.checkpoint = saved.get("checkpoint")
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        run.problem = f"metrics.json unreadable: {err!r}"
        return run
    if not any(k.startswith("test/") for k in run.metrics):
        run.problem = "metrics.json holds no test metrics"
    return run


def read_sweep(sweep: Path) -> list[Run]:
    """Every run below ``sweep``, in folder order.

    Raises:
        FileNotFoundError: ``sweep`` is not a folder, or holds no run.
    """
    sweep = Path(sweep)
    if not sweep.is_dir():
        raise FileNotFoundError(f"sweep folder {sweep} does not exist")
    folders = {p.parent for p in sweep.rglob("config.yaml") if p.parent.name != ".hydra"}
    folders |= {p.parent.parent for p in sweep.rglob(".hydra/config.yaml")}
    if not folders:
        raise FileNotFoundError(
            f"{sweep} holds no run (no config.yaml or .hydra/config.yaml below it): "
            "pass the folder a `python train.py -m ...` sweep wrote"
        )
    return [read_run(folder) for folder in sorted(folders)]
