"""Train and test: ``python train.py task=cls data=modelnet40`` (Hydra overrides follow).

``mode=fit`` (default) trains, then tests the best checkpoint; ``mode=test ckpt_path=PATH``
only tests. Every run writes into its own output folder: the resolved config,
checkpoints (best and last), CSV and TensorBoard logs, ``metrics.json``,
``test_details.json`` and figures under ``plots/``.

A scheduler's stop (SIGTERM, e.g. SLURM preemption) ends the run with exit status
``EXIT_STOPPED`` (143) and one line giving the command that resumes it. Lightning stops at
the end of the running batch; the run resumes from ``last.ckpt`` as the last complete epoch
wrote it (a state a resume reproduces exactly), and the stopped epoch is trained again.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import hydra
import pytorch_lightning as pl
from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from omegaconf import DictConfig, open_dict
from pytorch_lightning.utilities.exceptions import SIGTERMException

from pointea.checkpoint import build_network, load_weights
from pointea.cli.config_checks import check_stored_points
from pointea.cli.outputs import write_json
from pointea.cli.run_config import check_run_config, check_same_tables, config_dirs, run_metadata
from pointea.cli.run_folder import (
    claim_run_folder,
    is_primary_process,
    resumed_run_folder,
    save_run_config,
)
from pointea.cli.run_stopped import EXIT_STOPPED, RunStopped, resume_command
from pointea.configs import CONFIG_DIR
from pointea.error_boundary import exit_on_user_error
from pointea.ops.allocator import keep_freed_memory
from pointea.tasks import EpochLog
from pointea.tasks.checkpoint_io import AtomicCheckpointIO
from pointea.tasks.last_checkpoint import LastCheckpoint
from pointea.tasks.run_csv_logger import RunCSVLogger
from pointea.vis.plots import plot_run

__all__ = ["main", "run"]

Checkpoint = dict[str, Any]


def run(cfg: DictConfig, callbacks: Sequence[pl.Callback] = ()) -> dict[str, float]:
    """Fit and/or test as the config says; returns the final test metrics.

    A resume (``mode=fit ckpt_path=RUN/checkpoints/last.ckpt``) continues in ``RUN``; any
    other run writes into Hydra's output folder, which must not hold a run already.

    Raises:
        RunStopped: SIGTERM stopped the run; the message gives the command that resumes it.
    """
    stored = check_run_config(cfg)  # task, data, stored checkpoint, values: nothing made yet
    if cfg.get("keep_freed_memory", True):
        keep_freed_memory()  # process-wide, before the first big tensor
    resume = cfg.mode == "fit" and stored is not None
    output = (
        resumed_run_folder(cfg.ckpt_path) if resume else Path(HydraConfig.get().runtime.output_dir)
    )
    with claim_run_folder(output, resume=resume):
        pl.seed_everything(cfg.seed, workers=True)
        datamodule, metadata = _data(cfg, stored)
        task = _task(cfg, metadata, stored)
        trainer, checkpoints = _trainer(cfg, output, task.monitor, stored, callbacks)
        if trainer.is_global_zero:
            save_run_config(cfg, output, network=metadata["model"])
        try:
            test_ckpt = _fit(cfg, trainer, task, datamodule, checkpoints)
            results = trainer.test(
                task, datamodule=datamodule, ckpt_path=test_ckpt, weights_only=True, verbose=False
            )
        except SIGTERMException:  # a SystemExit of status 0: it would end the program as a success
            raise RunStopped(_stopped_line(cfg, output)) from None
        metrics = {k: float(v) for k, v in results[0].items()}
        if trainer.is_global_zero:
            _write_outputs(cfg, output, task, metadata, test_ckpt, metrics)
        return metrics


def _data(cfg: DictConfig, stored: Checkpoint | None) -> tuple[pl.LightningDataModule, dict]:
    """The data module, ready, and the run's metadata (a stored checkpoint's must match)."""
    datamodule = instantiate(cfg.data)
    datamodule.prepare_data()
    tables = datamodule.read_tables()
    with open_dict(cfg.data):  # counts left to the data (data=folder) are read from it
        for key, (count, _) in tables.counts.items():
            if key in cfg.data and cfg.data[key] is None:
                cfg.data[key] = count
    check_stored_points(cfg, *datamodule.stored_points())
    metadata = run_metadata(cfg, tables)
    if stored is not None:
        check_same_tables(cfg.ckpt_path, stored["pointea"], metadata)
    return datamodule, metadata


def _task(cfg: DictConfig, metadata: dict, stored: Checkpoint | None) -> pl.LightningModule:
    """The task around its network: a stored network is built from the checkpoint's own
    metadata through the allow-list, a new one from ``model=``. The task reads its label
    tables (classes, or categories and parts) from ``metadata``."""
    if stored is None:
        network = instantiate(cfg.model)
    else:  # Lightning loads the weights again; this checks they fit, in one line
        network = build_network(stored["pointea"], str(cfg.ckpt_path), config_dirs())
        load_weights(network, stored, str(cfg.ckpt_path))
    # A partial: keyword arguments passed to instantiate() would be converted to configs.
    build = instantiate(cfg.task.module, _partial_=True)
    return build(
        model=network,
        optimizer=instantiate(cfg.optim.optimizer),
        scheduler=instantiate(cfg.optim.scheduler) if cfg.optim.get("scheduler") else None,
        compile=cfg.compile,
        metadata=metadata,
    )


def _trainer(
    cfg: DictConfig,
    output: Path,
    monitor: str,
    stored: Checkpoint | None,
    callbacks: Sequence[pl.Callback],
) -> tuple[pl.Trainer, tuple[pl.callbacks.ModelCheckpoint, LastCheckpoint]]:
    """The Trainer logging and checkpointing into ``output``, keeping the best checkpoint by
    ``monitor``. A resume keeps the logged history before the checkpoint's step."""
    resume_step = int(stored["global_step"]) if stored is not None and cfg.mode == "fit" else None
    best = pl.callbacks.ModelCheckpoint(
        dirpath=output / "checkpoints",
        filename="best-epoch{epoch:03d}",
        monitor=monitor,
        mode="max",
        auto_insert_metric_name=False,
    )
    last = LastCheckpoint(output / "checkpoints")
    interactive = sys.stdout.isatty()
    progress = [pl.callbacks.RichProgressBar()] if interactive else [EpochLog()]
    extra = [instantiate(c) for c in cfg.get("callbacks", {}).values()]
    trainer: pl.Trainer = instantiate(
        cfg.trainer,
        default_root_dir=str(output),
        logger=[
            RunCSVLogger(output, version="csv", resume_step=resume_step),
            # purge_step: TensorBoard hides what an interrupted attempt logged after it.
            pl.loggers.TensorBoardLogger(
                output, name="", version="tensorboard", purge_step=resume_step
            ),
        ],
        callbacks=[best, last, *progress, *extra, *callbacks],
        plugins=[AtomicCheckpointIO()],
        enable_progress_bar=interactive,
    )
    return trainer, (best, last)


def _fit(cfg, trainer, task, datamodule, checkpoints) -> str | None:
    """Train (``mode=fit``); the checkpoint to test: the best one, else the stored one."""
    if cfg.mode != "fit":
        return cfg.ckpt_path
    trainer.fit(task, datamodule=datamodule, ckpt_path=cfg.ckpt_path, weights_only=True)
    best, last = checkpoints
    return best.best_model_path or last.last_model_path or None


def _stopped_line(cfg: DictConfig, output: Path) -> str:
    """What a run stopped by SIGTERM tells its user: the command that resumes it from
    ``last.ckpt`` (written at every epoch's end, and at the end of training), or the one
    that starts it again when there is nothing to resume."""
    overrides = list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else []
    launched = Path(sys.argv[0]).name
    program = (launched,) if launched == "pointea-train" else ("python", "train.py")
    last = output / "checkpoints" / LastCheckpoint.FILE_NAME
    if cfg.mode == "fit" and last.is_file():
        return (
            f"SIGTERM stopped the run in {output}; it can be resumed from its last complete "
            f"epoch: {resume_command(overrides, last, program)}"
        )
    when = "while testing" if cfg.mode == "test" else "before its first epoch ended"
    return (
        f"SIGTERM stopped the run in {output} {when}: there is nothing to resume; start it "
        f"again: {resume_command(overrides, None, program)}"
    )


def _write_outputs(cfg, output: Path, task, metadata: dict, test_ckpt, metrics: dict) -> None:
    """``metrics.json``, ``test_details.json`` (what the plots need beyond the CSV log: the
    task's own details), the figures, and the table on the console."""
    write_json(output / "metrics.json", {"checkpoint": str(test_ckpt), "metrics": metrics})
    names = {k: metadata[k] for k in ("class_names", "categories") if k in metadata}
    write_json(
        output / "test_details.json", {"task": metadata["task"], **names, **task.test_details()}
    )
    plot_run(output)
    _print_table(metrics, f"test metrics ({cfg.task.name})")
    print(f"checkpoint: {test_ckpt}\noutputs: {output}")


def _print_table(metrics: dict[str, float], title: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value in sorted(metrics.items()):
        table.add_row(name, f"{value:.4f}")
    Console(width=100).print(table)


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="train")
def _hydra_main(cfg: DictConfig) -> None:
    try:
        exit_on_user_error(lambda: run(cfg))
    except RunStopped as stop:
        if is_primary_process():
            print(f"stopped: {stop}", file=sys.stderr)
        sys.exit(EXIT_STOPPED)


def main() -> None:
    _hydra_main()


if __name__ == "__main__":
    main()
