"""Compare the attention kinds of a sweep: ``python -m pointea.cli.report SWEEP_DIR``
(console script pointea-report).

Reads every run below SWEEP_DIR (see ``pointea.cli.sweep``) and writes, into SWEEP_DIR,
``report.md``, ``report.json`` and ``plots/`` (accuracy against cost, training curves).
Per attention kind: the seeds, mean and sample standard deviation (ddof=1) of each test
metric over complete runs, the checkpoint-selection rule (runs selected on the test split
are flagged), parameters, FLOPs per cloud, training seconds per epoch, peak memory, and
inference clouds per second measured here on one batch. Incomplete runs are listed apart
and never averaged.
"""

from __future__ import annotations

import argparse
import math
import platform
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from pointea.cli.cost import network_cost
from pointea.cli.outputs import write_json, write_text
from pointea.cli.sweep import Run, read_sweep

__all__ = ["ReportError", "main", "summarise", "write_report"]


class ReportError(ValueError):
    """Runs that cannot be compared in one table (different tasks or data, or two runs of
    one attention kind and seed)."""


def mean_std(values: Sequence[float]) -> dict[str, Any]:
    """Mean and sample standard deviation (ddof=1; None for a single value)."""
    return {
        "n": len(values),
        "mean": statistics.fmean(values),
        "std": statistics.stdev(values) if len(values) > 1 else None,
        "values": list(values),
    }


def _median_seconds(run: Run) -> float | None:
    """Median training seconds of the epochs after the first (which pays for warm-up)."""
    values = [v for _, v in run.epochs.get("resources/train_seconds", [])]
    values = values[1:] if len(values) > 1 else values
    return statistics.median(values) if values else None


def _peak_memory(run: Run) -> float | None:
    """The highest peak logged by any epoch of the run."""
    values = [v for _, v in run.epochs.get("resources/peak_memory_mib", [])]
    return max(values) if values else None


def summarise(runs: Sequence[Run]) -> dict[str, Any]:
    """Group complete runs by attention kind and aggregate them; list the incomplete ones.
    Kinds come in the config group's order (by name), as ``glob(*)`` sweeps them.

    Raises:
        ReportError: the complete runs mix tasks or datasets, or two of them are the same
            attention kind and seed (a seed would count twice in the mean).
    """
    complete = [r for r in runs if r.problem is None]
    incomplete = [{"run": str(r.folder), "attention": r.attention, "seed": r.seed,
                   "problem": r.problem} for r in runs if r.problem is not None]  # fmt: skip
    setups = {(r.task, str(r.config.get("data", {}).get("root", "?"))) for r in complete}
    if len(setups) > 1:
        raise ReportError(
            f"the runs mix tasks or datasets {sorted(setups)}: a report compares attention "
            "kinds on one task and one dataset; pass a sweep folder that holds only those"
        )
    _refuse_repeated_seeds(complete)
    task = complete[0].task if complete else None
    monitor = complete[0].monitor if complete else None
    groups: dict[str, Any] = {}
    for kind in sorted({r.attention for r in complete}):
        members = [r for r in complete if r.attention == kind]
        names = sorted({k for r in members for k in r.metrics if k.startswith("test/")})
        seconds = [_median_seconds(r) for r in members]
        memory = [_peak_memory(r) for r in members]
        groups[kind] = {
            "seeds": sorted(r.seed for r in members),
            "runs": [str(r.folder) for r in members],
            "metrics": {
                name: mean_std([r.metrics[name] for r in members if name in r.metrics])
                for name in names
            },
            "selection": sorted({r.selection for r in members}),
            "test_selected_runs": [str(r.folder) for r in members if r.selection == "test"],
            "train_seconds_per_epoch": _mean_or_none(seconds),
            "peak_memory_mib": _mean_or_none([m for m in memory if m is not None]),
        }
    return {
        "task": task,
        "monitor": monitor,  # the validation metric; its test counterpart heads the table
        "primary_metric": monitor.replace("val/", "test/", 1) if monitor else None,
        "groups": groups,
        "incomplete": incomplete,
        "total_runs": len(runs),
    }


def _refuse_repeated_seeds(complete: Sequence[Run]) -> None:
    seen: dict[tuple[str, Any], Run] = {}
    for run in complete:
        key = (run.attention, run.seed)
        if key in seen:
            raise ReportError(
                f"runs {seen[key].folder} and {run.folder} are both attention {key[0]!r} "
                f"seed {key[1]}: a report averages one run per kind and seed; move one of "
                "them out of the sweep folder"
            )
        seen[key] = run


def _mean_or_none(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.fmean(present) if present else None


def add_costs(summary: dict[str, Any], runs: Sequence[Run], device: str = "cpu") -> None:
    """Parameters, FLOPs and inference throughput per kind, from one complete run's config."""
    for kind, group in summary["groups"].items():
        run = next(r for r in runs if r.problem is None and r.attention == kind)
        data = run.config["data"]
        group.update(
            network_cost(
                run.config["model"],
                num_points=int(data["num_points"]),
                batch_size=int(data.get("eval_batch_size") or data["batch_size"]),
                device=device,
            )
        )


def _fmt(stat: dict[str, Any] | None, digits: int = 4) -> str:
    if not stat:
        return "n/a"
    if stat["std"] is None:
        return f"{stat['mean']:.{digits}f} (1 run)"
    return f"{stat['mean']:.{digits}f} ± {stat['std']:.{digits}f}"


def _number(value: float | None, spec: str) -> str:
    return "n/a" if value is None or math.isnan(value) else format(value, spec)


def markdown(summary: dict[str, Any], sweep: Path, plots: Sequence[Path] = ()) -> str:
    """The report as Markdown: the main table, every test metric, incomplete runs."""
    groups, primary = summary["groups"], summary["primary_metric"]
    lines = [f"# Attention study: `{sweep}`", ""]
    if not groups:
        lines += ["No complete run to report.", ""]
    else:
        headline = [primary, "test/macc" if primary == "test/oa" else "test/class_miou"]
        lines += [
            f"Task `{summary['task']}`; mean ± sample standard deviation over seeds (complete "
            "runs only). Costs: parameters and FLOPs per cloud of the network; training "
            "seconds per epoch (median over epochs after the first) and peak memory (CUDA "
            "allocator peak, or the process's peak RSS on CPU; the run's highest) from the "
            "runs' logs; inference "
            f"clouds/s measured by the report on one batch ({platform.node()}, "
            f"{torch.get_num_threads()} CPU threads).",
            "",
            "| attention | seeds | " + " | ".join(headline) + " | selected on | params | "
            "GFLOPs/cloud | train s/epoch | peak MiB | infer clouds/s |",
            "|---" * (len(headline) + 8) + "|",
        ]
        for kind, g in groups.items():
            selection = ", ".join(g["selection"])
            if g["test_selected_runs"]:
                selection += " **(TEST-SELECTED)**"
            cells = [
                f"`{kind}`",
                ",".join(str(s) for s in g["seeds"]),
                *(_fmt(g["metrics"].get(m)) for m in headline),
                selection,
                _number(g.get("parameters"), ",.0f"),
                _number(g.get("flops_per_cloud", math.nan) / 1e9, ".3f"),
                _number(g["train_seconds_per_epoch"], ".1f"),
                _number(g["peak_memory_mib"], ",.0f"),
                _number(g.get("inference_clouds_per_second"), ".1f"),
            ]
            lines.append("| " + " | ".join(cells) + " |")
        names = sorted({n for g in groups.values() for n in g["metrics"]})
        lines += ["", "## Every test metric", "", "| metric | " + " | ".join(groups) + " |",
                  "|---" * (len(groups) + 1) + "|"]  # fmt: skip
        for name in names:
            row = [_fmt(g["metrics"].get(name)) for g in groups.values()]
            lines.append(f"| `{name}` | " + " | ".join(row) + " |")
        if any(g["test_selected_runs"] for g in groups.values()):
            lines += ["", "**Some runs selected their checkpoint on the test split** "
                      "(`data.select_on_test=true`): their test metrics are optimistic."]  # fmt: skip
    lines += ["", "## Incomplete or failed runs (not averaged)", ""]
    if summary["incomplete"]:
        lines += [f"- `{r['run']}` ({r['attention']}, seed {r['seed']}): {r['problem']}"
                  for r in summary["incomplete"]]  # fmt: skip
    else:
        lines.append(f"None: all {summary['total_runs']} runs completed.")
    if plots:
        lines += ["", "## Plots", ""] + [f"![{p.stem}](plots/{p.name})" for p in plots]
    return "\n".join(lines) + "\n"


def write_report(sweep: Path, *, measure: bool = True, device: str = "cpu") -> list[Path]:
    """Read, aggregate, measure and write the report; returns the files written."""
    from pointea.vis.study_plots import plot_accuracy_vs_cost, plot_study_curves

    sweep = Path(sweep)
    runs = read_sweep(sweep)
    summary = summarise(runs)
    if measure:
        add_costs(summary, runs, device)
    summary["machine"] = {
        "host": platform.node(),
        "processor": platform.processor() or platform.machine(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "device": device,
    }
    plots: list[Path] = []
    if summary["groups"]:
        (sweep / "plots").mkdir(exist_ok=True)
        plots.append(plot_accuracy_vs_cost(summary, sweep / "plots" / "accuracy_vs_cost.png"))
        complete = [r for r in runs if r.problem is None]
        plots.append(
            plot_study_curves(complete, summary["monitor"], sweep / "plots" / "training_curves.png")
        )
    write_json(sweep / "report.json", summary)
    write_text(sweep / "report.md", markdown(summary, sweep, plots))
    return [sweep / "report.md", sweep / "report.json", *plots]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pointea-report", description=__doc__.splitlines()[0])
    parser.add_argument("sweep", type=Path, help="the folder a `python train.py -m` sweep wrote")
    parser.add_argument(
        "--no-measure",
        action="store_true",
        help="skip building the networks (parameters, FLOPs, inference speed)",
    )
    parser.add_argument("--device", default="cpu", help="where to time inference (cpu, cuda)")
    args = parser.parse_args(argv)
    from pointea.error_boundary import exit_code  # the CLIs' one error boundary

    def report() -> None:
        for path in write_report(args.sweep, measure=not args.no_measure, device=args.device):
            print(path)

    return exit_code(report, where=args.sweep, also=(ReportError,))


if __name__ == "__main__":
    sys.exit(main())
