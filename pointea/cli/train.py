"""Train and test: ``python train.py task=cls data=modelnet40`` (Hydra overrides follow).

``mode=fit`` (default) trains, then tests the best checkpoint; ``mode=test ckpt_path=PATH``
only tests. Every run writes into its own output folder: the resolved config,
checkpoints (best and last), CSV and TensorBoard logs, ``metrics.json``,
``test_details.json`` and figures under ``plots/``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import hydra
import pytorch_lightning as pl
from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from omegaconf import DictConfig, open_dict

from pointea.cli.config_checks import check_stored_points, check_train_values
from pointea.cli.outputs import write_json
from pointea.cli.run_config import (
    ConfigError,
    check_checkpoint,
    check_task_and_data,
    exit_on_user_error,
    run_metadata,
    use_stored_network,
)
from pointea.cli.run_folder import claim_run_folder, resumed_run_folder, save_run_config
from pointea.configs import CONFIG_DIR
from pointea.ops.allocator import keep_freed_memory
from pointea.tasks import EpochLog
from pointea.tasks.checkpoint_io import AtomicCheckpointIO, load_checkpoint
from pointea.tasks.last_checkpoint import LastCheckpoint
from pointea.tasks.run_csv_logger import RunCSVLogger
from pointea.vis.plots import plot_run

__all__ = ["main", "run"]


def _build_task(cfg: DictConfig, metadata: dict) -> pl.LightningModule:
    """The task reads its label tables (classes, or categories and parts) from ``metadata``."""
    network = instantiate(metadata["model"])
    # A partial: keyword arguments passed to instantiate() would be converted to configs.
    build = instantiate(cfg.task.module, _partial_=True)
    return build(
        model=network,
        optimizer=instantiate(cfg.optim.optimizer),
        scheduler=instantiate(cfg.optim.scheduler) if cfg.optim.get("scheduler") else None,
        compile=cfg.compile,
        metadata=metadata,
    )


def _test_details(task: pl.LightningModule, metadata: dict) -> dict:
    """What the plots need beyond the CSV log: the task's own details (confusion matrix or
    per-category IoU)."""
    return {"task": metadata["task"], "class_names": metadata["class_names"], **task.test_details()}


def _print_table(metrics: dict[str, float], title: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value in sorted(metrics.items()):
        table.add_row(name, f"{value:.4f}")
    Console(width=100).print(table)


def run(cfg: DictConfig, callbacks: Sequence[pl.Callback] = ()) -> dict[str, float]:
    """Fit and/or test as the config says; returns the final test metrics.

    A resume (``mode=fit ckpt_path=RUN/checkpoints/last.ckpt``) continues in ``RUN``; any
    other run writes into Hydra's output folder, which must not hold a run already.
    """
    check_task_and_data(cfg)
    if cfg.get("keep_freed_memory", True):
        keep_freed_memory()  # process-wide, before the first big tensor
    stored = load_checkpoint(cfg.ckpt_path) if cfg.ckpt_path else None
    if cfg.mode == "test":
        use_stored_network(cfg, stored)
    try:
        check_train_values(cfg)  # before the run folder is claimed: nothing made yet
    except ConfigError as err:
        if cfg.mode != "test":
            raise
        raise ConfigError(f"{err} (model.* is the network stored in {cfg.ckpt_path})") from None
    resume = cfg.mode == "fit" and stored is not None
    output = (
        resumed_run_folder(cfg.ckpt_path) if resume else Path(HydraConfig.get().runtime.output_dir)
    )
    with claim_run_folder(output, resume=resume):
        return _run(cfg, callbacks, output, stored)


def _run(
    cfg: DictConfig, callbacks: Sequence[pl.Callback], output: Path, stored: dict | None
) -> dict[str, float]:
    pl.seed_everything(cfg.seed, workers=True)
    datamodule = instantiate(cfg.data)
    datamodule.prepare_data()
    tables = datamodule.read_tables()
    with open_dict(cfg.data):  # counts left to the data (data=folder) are read from it
        for key, (count, _) in tables.counts.items():
            if key in cfg.data and cfg.data[key] is None:
                cfg.data[key] = count
    check_stored_points(cfg, *datamodule.stored_points())
    metadata = run_metadata(cfg, tables)
    resume_step = None  # a resume keeps the logged history before the checkpoint's step
    if stored is not None:
        check_checkpoint(cfg.ckpt_path, stored, metadata, cfg.mode, cfg.task.get("ema_decay"))
        metadata["model"] = stored["pointea"]["model"]  # test the network that was trained
        resume_step = int(stored["global_step"]) if cfg.mode == "fit" else None
    task = _build_task(cfg, metadata)

    checkpoints = pl.callbacks.ModelCheckpoint(
        dirpath=output / "checkpoints",
        filename="best-epoch{epoch:03d}",
        monitor=task.monitor,
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
        callbacks=[checkpoints, last, *progress, *extra, *callbacks],
        plugins=[AtomicCheckpointIO()],
        enable_progress_bar=interactive,
    )
    if trainer.is_global_zero:
        output.mkdir(parents=True, exist_ok=True)
        save_run_config(cfg, output, network=metadata["model"])

    test_ckpt = cfg.ckpt_path
    if cfg.mode == "fit":
        trainer.fit(task, datamodule=datamodule, ckpt_path=cfg.ckpt_path, weights_only=True)
        test_ckpt = checkpoints.best_model_path or last.last_model_path or None
    results = trainer.test(
        task, datamodule=datamodule, ckpt_path=test_ckpt, weights_only=True, verbose=False
    )
    metrics = {k: float(v) for k, v in results[0].items()}
    if trainer.is_global_zero:
        write_json(output / "metrics.json", {"checkpoint": str(test_ckpt), "metrics": metrics})
        write_json(output / "test_details.json", _test_details(task, metadata))
        plot_run(output)
        _print_table(metrics, f"test metrics ({cfg.task.name})")
        print(f"checkpoint: {test_ckpt}\noutputs: {output}")
    return metrics


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="train")
def _hydra_main(cfg: DictConfig) -> None:
    exit_on_user_error(lambda: run(cfg))


def main() -> None:
    _hydra_main()


if __name__ == "__main__":
    main()
