"""Redraw a run's figures: ``python -m pointea.cli.plots RUN_DIR`` (console script pointea-plots)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pointea.error_boundary import exit_code
from pointea.vis.details_file import DetailsFileError
from pointea.vis.metrics_log import MetricsLogError
from pointea.vis.plots import plot_run

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pointea-plots", description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path, help="a run folder written by train.py")
    args = parser.parse_args(argv)

    def draw() -> None:
        for path in plot_run(args.run_dir):
            print(path)

    return exit_code(draw, where=args.run_dir, also=(MetricsLogError, DetailsFileError))


if __name__ == "__main__":
    sys.exit(main())
