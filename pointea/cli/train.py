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
from omegaconf import DictConfig, OmegaConf

from pointea.cli.config_checks import check_stored_points, check_train_values
from pointea.cli.outputs import write_json
from pointea.cli.run_config import (
    check_checkpoint,
    check_task_and_data,
    exit_on_user_error,
    run_metadata,
)
from pointea.tasks import EpochLog
from pointea.tasks.checkpoint_io import AtomicCheckpointIO, load_checkpoint
from pointea.vis.plots import plot_run

__all__ = ["main", "run"]

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def _build_task(cfg: DictConfig, datamodule, metadata: dict) -> pl.LightningModule:
    network = instantiate(metadata["model"])
    specific = (
        {"num_classes": metadata["num_classes"]}
        if cfg.task.name == "cls"
        else {
            "category_parts": metadata["category_parts"],
            "category_names": datamodule.category_names,
        }
    )
    # A partial: keyword arguments passed to instantiate() would be converted to configs.
    build = instantiate(cfg.task.module, _partial_=True)
    return build(
        model=network,
        optimizer=instantiate(cfg.optim.optimizer),
        scheduler=instantiate(cfg.optim.scheduler) if cfg.optim.get("scheduler") else None,
        compile=cfg.compile,
        metadata=metadata,
        **specific,
    )


def _test_details(task: pl.LightningModule, metadata: dict) -> dict:
    """What the plots need beyond the CSV log: the confusion matrix or per-category IoU."""
    details = {"task": metadata["task"], "class_names": metadata["class_names"]}
    if getattr(task, "test_confusion", None) is not None:
        details["confusion"] = task.test_confusion.tolist()
    if getattr(task, "test_per_category", None) is not None:
        details["per_category_iou"] = dict(
            zip(metadata["class_names"], task.test_per_category.tolist(), strict=True)
        )
    return details


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
    """Fit and/or test as the config says; returns the final test metrics."""
    check_task_and_data(cfg)
    check_train_values(cfg)
    pl.seed_everything(cfg.seed, workers=True)
    output = Path(HydraConfig.get().runtime.output_dir)
    datamodule = instantiate(cfg.data)
    datamodule.prepare_data()
    datamodule.read_tables()
    check_stored_points(cfg, *datamodule.stored_points())
    metadata = run_metadata(cfg, datamodule.class_names, datamodule.category_parts)
    if cfg.ckpt_path:
        stored = load_checkpoint(cfg.ckpt_path)
        check_checkpoint(cfg.ckpt_path, stored, metadata, cfg.mode)
        metadata["model"] = stored["pointea"]["model"]  # test the network that was trained
    task = _build_task(cfg, datamodule, metadata)

    checkpoints = pl.callbacks.ModelCheckpoint(
        dirpath=output / "checkpoints",
        filename="best-epoch{epoch:03d}",
        monitor=task.monitor,
        mode="max",
        save_last=True,
        auto_insert_metric_name=False,
    )
    interactive = sys.stdout.isatty()
    progress = [pl.callbacks.RichProgressBar()] if interactive else [EpochLog()]
    extra = [instantiate(c) for c in cfg.get("callbacks", {}).values()]
    trainer: pl.Trainer = instantiate(
        cfg.trainer,
        default_root_dir=str(output),
        logger=[
            pl.loggers.CSVLogger(output, name="", version="csv"),
            pl.loggers.TensorBoardLogger(output, name="", version="tensorboard"),
        ],
        callbacks=[checkpoints, *progress, *extra, *callbacks],
        plugins=[AtomicCheckpointIO()],
        enable_progress_bar=interactive,
    )
    if trainer.is_global_zero:
        output.mkdir(parents=True, exist_ok=True)
        OmegaConf.save(cfg, output / "config.yaml", resolve=True)

    test_ckpt = cfg.ckpt_path
    if cfg.mode == "fit":
        trainer.fit(task, datamodule=datamodule, ckpt_path=cfg.ckpt_path, weights_only=True)
        test_ckpt = checkpoints.best_model_path or checkpoints.last_model_path or None
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


@hydra.main(version_base="1.3", config_path=str(CONFIGS), config_name="train")
def _hydra_main(cfg: DictConfig) -> None:
    exit_on_user_error(lambda: run(cfg))


def main() -> None:
    _hydra_main()


if __name__ == "__main__":
    main()
