"""Convert a checkpoint written by an older pointea to the current form.

    python -m pointea.cli.checkpoint_upgrade OLD.ckpt NEW.ckpt

The conversion is :func:`pointea.checkpoint.upgrade_checkpoint`; the weights are unchanged,
so the converted network computes what the old one did. ``NEW.ckpt`` is written to a
temporary file beside it and renamed into place; an existing file is never replaced.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import torch

from pointea.checkpoint import checkpoint_metadata, load_checkpoint, upgrade_checkpoint
from pointea.config_error import ConfigError
from pointea.error_boundary import exit_code
from pointea.vis.atomic import atomic_output

__all__ = ["main", "upgrade"]


def upgrade(old: Path, new: Path) -> Path:
    """Read ``old``, convert and check it, write ``new`` (never over an existing file)."""
    if new.exists():
        raise ConfigError(f"{new} exists; not overwriting it")
    upgraded = upgrade_checkpoint(load_checkpoint(old), str(old))
    checkpoint_metadata(upgraded, str(old))
    with atomic_output(new) as tmp:
        torch.save(upgraded, tmp)
    print(f"wrote {new}")
    return new


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pointea.cli.checkpoint_upgrade", description=__doc__.splitlines()[0]
    )
    parser.add_argument("old", type=Path, help="the checkpoint to convert")
    parser.add_argument("new", type=Path, help="where to write the converted checkpoint")
    args = parser.parse_args(argv)
    return exit_code(lambda: upgrade(args.old, args.new), where=args.new)


if __name__ == "__main__":
    sys.exit(main())
