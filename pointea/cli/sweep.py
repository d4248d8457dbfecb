"""The runs of a sweep folder, as train.py left them: config, test metrics, per-epoch log.

A run is any folder below the sweep holding ``config.yaml`` (written by train.py when
training starts) or Hydra's ``.hydra/config.yaml`` (written when the job starts). It is
complete when its ``metrics.json`` holds test metrics; anything else (a crash, a kill, a
run still going) is incomplete and carries the reason, so that a report lists it apart
instead of averaging it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from hydra.utils import get_class
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from pointea.cli.attention_config import attention_kind
from pointea.cli.run_config import ConfigError
from pointea.vis.metrics_log import MetricsLogError, read_metrics_log

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
        choice: the ``model/attention`` option Hydra recorded for the run (its
            ``.hydra/hydra.yaml``), or None.
    """

    folder: Path
    config: dict[str, Any]
    metrics: dict[str, float] = field(default_factory=dict)
    checkpoint: str | None = None
    epochs: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    problem: str | None = None
    choice: str | None = None

    @property
    def attention(self) -> str:
        """The attention kind: the option the run was launched with (a kind from a
        ``hydra.searchpath`` folder included); else the built-in kind whose ``_target_``
        the config names; else that ``_target_`` itself."""
        if self.choice:
            return self.choice
        node = self.config.get("model", {}).get("attention")
        try:
            return attention_kind(node)
        except ConfigError:
            target = node.get("_target_") if isinstance(node, dict) else None
            return str(target) if target else "?"

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
    (per-step columns, ending in ``_step``, are left out).

    Raises:
        MetricsLogError: the file is not Lightning's CSV log.
    """
    return {
        key: [(epoch, value) for epoch, _, value in values]
        for key, values in read_metrics_log(csv_path).items()
        if not key.endswith("_step")
    }


def _one_line(err: Exception) -> str:
    return " ".join(str(err).split())


def _config_of(folder: Path) -> dict[str, Any]:
    """The run's config; ValueError naming the file when it is not a readable mapping."""
    path = folder / "config.yaml"
    if not path.is_file():
        path = folder / ".hydra" / "config.yaml"
    try:
        config = OmegaConf.to_container(OmegaConf.load(path), resolve=False)
    except (OSError, ValueError, yaml.YAMLError, OmegaConfBaseException) as err:
        raise ValueError(f"{path} unreadable: {_one_line(err)}") from None
    if not isinstance(config, dict):
        raise ValueError(f"{path} does not hold a mapping")
    return config


def _attention_choice(folder: Path) -> str | None:
    """The ``model/attention`` option in Hydra's record of the run, when there is one."""
    try:
        record = yaml.safe_load((folder / ".hydra" / "hydra.yaml").read_text())
        choice = record["hydra"]["runtime"]["choices"]["model/attention"]
    except (OSError, ValueError, yaml.YAMLError, KeyError, TypeError):
        return None
    return choice if isinstance(choice, str) else None


def read_run(folder: Path) -> Run:
    """Read one run folder; an unreadable or missing file makes the run incomplete."""
    folder = Path(folder)
    try:
        run = Run(folder=folder, config=_config_of(folder))
    except ValueError as err:
        return Run(folder=folder, config={}, problem=str(err))
    run.choice = _attention_choice(folder)
    csv_path = folder / "csv" / "metrics.csv"
    if csv_path.is_file():
        try:
            run.epochs = read_epoch_log(csv_path)
        except (OSError, MetricsLogError) as err:
            run.problem = str(err)
            return run
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
