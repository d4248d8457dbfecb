"""Figures of a run: training curves, the confusion matrix, per-category IoU bars.

All are made from files in the run folder (``csv/metrics.csv`` and ``test_details.json``),
so they can be redrawn at any time: ``python -m pointea.cli.plots RUN_DIR``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from pointea.vis.atomic import atomic_output
from pointea.vis.details_file import read_test_details
from pointea.vis.figures import check_png
from pointea.vis.metrics_log import read_metrics_log

__all__ = [
    "plot_confusion",
    "plot_iou_bars",
    "plot_run",
    "plot_training_curves",
    "save_figure",
]


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, out: Path) -> Path:
    """Save a matplotlib figure as a PNG atomically (checked, then renamed into place), and
    close it: a full disk never leaves a 0-byte or truncated picture."""
    try:
        with atomic_output(out) as tmp:
            fig.savefig(tmp, dpi=110, format="png")
            check_png(tmp, out)
    finally:
        _pyplot().close(fig)
    return out


def plot_training_curves(csv_path: Path, out: Path) -> Path:
    """Training loss per step, losses per epoch, validation metrics per epoch.

    Raises:
        MetricsLogError: ``csv_path`` is not Lightning's CSV log.
    """
    series = {  # per-step values against the step, the others against the epoch
        key: [(step if key.endswith("_step") else epoch, v) for epoch, step, v in values]
        for key, values in read_metrics_log(csv_path).items()
    }
    plt = _pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    panels = {"step": axes[0], "loss": axes[1], "metric": axes[2]}
    for key, points in sorted(series.items()):
        if key.startswith("test/"):
            continue
        panel = "step" if key.endswith("_step") else "loss" if "loss" in key else "metric"
        xs, ys = zip(*points, strict=True)
        panels[panel].plot(xs, ys, "-" if panel == "step" else "o-", label=key)
    axes[0].set(xlabel="step", ylabel="loss", title="training loss")
    axes[1].set(xlabel="epoch", ylabel="loss", title="losses per epoch")
    axes[2].set(xlabel="epoch", ylabel="metric", title="validation metrics")
    for ax in axes:
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=8)
    fig.tight_layout()
    return save_figure(fig, out)


def plot_confusion(confusion: np.ndarray, class_names: Sequence[str], out: Path) -> Path:
    """Row-normalised confusion matrix (rows: truth), with counts in small tables."""
    plt = _pyplot()
    confusion = np.asarray(confusion, dtype=float)
    rates = confusion / np.maximum(confusion.sum(axis=1, keepdims=True), 1)
    size = max(5.0, 0.28 * len(class_names) + 2)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(rates, cmap="Blues", vmin=0, vmax=1)
    ticks = np.arange(len(class_names))
    ax.set_xticks(ticks, class_names, rotation=90, fontsize=7)
    ax.set_yticks(ticks, class_names, fontsize=7)
    ax.set(
        xlabel="predicted",
        ylabel="true",
        title=f"confusion (OA {np.trace(confusion) / max(confusion.sum(), 1):.3f})",
    )
    if len(class_names) <= 16:
        for i, j in zip(*np.nonzero(confusion), strict=True):
            ax.text(
                j,
                i,
                int(confusion[i, j]),
                ha="center",
                va="center",
                fontsize=7,
                color="white" if rates[i, j] > 0.5 else "black",
            )
    fig.tight_layout()
    return save_figure(fig, out)


def plot_iou_bars(per_category: dict[str, float], out: Path) -> Path:
    """Horizontal bars of each category's mean shape IoU."""
    plt = _pyplot()
    names = [n for n, v in per_category.items() if not math.isnan(v)]
    values = [per_category[n] for n in names]
    fig, ax = plt.subplots(figsize=(6, 0.35 * len(names) + 1.2))
    ax.barh(names, values, color="#0082c8")
    for y, v in enumerate(values):
        ax.text(v + 0.01, y, f"{v:.3f}", va="center", fontsize=8)
    ax.set(xlim=(0, 1.1), xlabel="mean shape IoU", title="per-category IoU")
    ax.invert_yaxis()
    fig.tight_layout()
    return save_figure(fig, out)


def plot_run(run_dir: Path) -> list[Path]:
    """Every figure the run's files allow, into ``run_dir/plots``; returns their paths.

    Raises:
        FileNotFoundError: ``run_dir`` is missing or holds nothing to plot.
        MetricsLogError: its ``csv/metrics.csv`` is not Lightning's CSV log.
        DetailsFileError: its ``test_details.json`` is not what ``train.py`` writes.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise FileNotFoundError(f"run folder {run_dir} does not exist")
    out = run_dir / "plots"
    out.mkdir(exist_ok=True)
    made = []
    csv_path = run_dir / "csv" / "metrics.csv"
    if csv_path.is_file():
        made.append(plot_training_curves(csv_path, out / "training_curves.png"))
    details_path = run_dir / "test_details.json"
    if details_path.is_file():
        details = read_test_details(details_path)
        if "confusion" in details:
            made.append(
                plot_confusion(
                    np.array(details["confusion"]),
                    details["class_names"],
                    out / "confusion_matrix.png",
                )
            )
        if "per_category_iou" in details:
            made.append(plot_iou_bars(details["per_category_iou"], out / "per_category_iou.png"))
    if not made:
        raise FileNotFoundError(
            f"{run_dir} holds neither csv/metrics.csv nor test_details.json to plot"
        )
    return made
