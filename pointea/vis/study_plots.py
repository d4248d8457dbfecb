"""Figures of an attention study: accuracy against cost, and the training curves overlaid."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from pointea.vis.plots import _pyplot, save_figure

__all__ = ["plot_accuracy_vs_cost", "plot_study_curves"]

COSTS = (
    ("train_seconds_per_epoch", "training seconds per epoch"),
    ("peak_memory_mib", "peak memory (MiB)"),
    ("flops_per_cloud", "FLOPs per cloud"),
)


def plot_accuracy_vs_cost(summary: dict[str, Any], out: Path) -> Path:
    """One point per attention kind: the primary test metric (mean, ± std as error bars)
    against each cost the summary holds."""
    plt = _pyplot()
    metric = summary["primary_metric"]
    fig, axes = plt.subplots(1, len(COSTS), figsize=(5 * len(COSTS), 4), squeeze=False)
    for ax, (key, label) in zip(axes[0], COSTS, strict=True):
        for i, (kind, group) in enumerate(summary["groups"].items()):
            stat, cost = group["metrics"].get(metric), group.get(key)
            if stat is None or cost is None:
                continue
            ax.errorbar(
                cost, stat["mean"], yerr=stat["std"] or 0.0, fmt="o", capsize=4,
                color=f"C{i}", label=f"{kind} (n={stat['n']})",
            )  # fmt: skip
        ax.set(xlabel=label, ylabel=metric, title=f"{metric} vs {label}")
        ax.grid(alpha=0.3)
        if ax.lines or ax.collections:
            ax.legend(fontsize=8)
    fig.tight_layout()
    return save_figure(fig, out)


def plot_study_curves(runs: Sequence[Any], metric: str | None, out: Path) -> Path:
    """Training loss and the validation metric per epoch: one thin line per run, one colour
    per attention kind, the mean over a kind's runs drawn thick."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    panels = (("train/loss_epoch", "training loss"), (metric, f"validation {metric}"))
    kinds = list(dict.fromkeys(r.attention for r in runs))
    for ax, (name, title) in zip(axes, panels, strict=True):
        for i, kind in enumerate(kinds):
            curves = [dict(r.epochs.get(name, [])) for r in runs if r.attention == kind]
            curves = [c for c in curves if c]
            for curve in curves:
                ax.plot(list(curve), list(curve.values()), color=f"C{i}", alpha=0.3, lw=1)
            if curves:
                epochs = sorted(set.intersection(*(set(c) for c in curves)))
                mean = [np.mean([c[e] for c in curves]) for e in epochs]
                ax.plot(epochs, mean, color=f"C{i}", lw=2.5, label=f"{kind} ({len(curves)} runs)")
        ax.set(xlabel="epoch", ylabel=name, title=title)
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=8)
    fig.tight_layout()
    return save_figure(fig, out)
