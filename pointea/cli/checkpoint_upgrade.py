"""Convert a checkpoint written before the attention became a config node.

    python -m pointea.cli.checkpoint_upgrade OLD.ckpt NEW.ckpt

Old checkpoints (no metadata ``version``) store the network config with the attention as a
kind name and its options beside it (``attention: offset, memory_size: 64, num_heads: 8,
local_k: 16``), and offset attention's weights outside its block's ``mixer``. The new form
holds the attention as the node ``configs/model/attention/<kind>.yaml`` describes, with the
old options, and every kind's weights under ``mixer``. The weights themselves are
unchanged, so the converted network computes what the old one did.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from pointea.cli.attention_config import attention_node
from pointea.cli.run_config import METADATA_VERSION, ConfigError
from pointea.tasks.checkpoint_io import load_checkpoint

__all__ = ["main", "upgrade_checkpoint"]

# Old network-config names of the attention options that the new nodes name differently.
_OLD_OPTION_NAMES = {"k": "local_k"}
_OLD_OPTIONS = ("attention", "memory_size", "num_heads", "local_k")
# Offset attention's own layers, once directly in the block, now in its mixer.
_OFFSET_WEIGHTS = re.compile(r"^(.*attention\.blocks\.\d+\.)(query_key|value)\.")


def upgrade_checkpoint(checkpoint: dict[str, Any], source: str = "checkpoint") -> dict[str, Any]:
    """The checkpoint in the current form (returned as is when it already is)."""
    meta = checkpoint.get("pointea")
    if not isinstance(meta, dict) or "model" not in meta:
        raise ConfigError(f"{source} was not written by pointea's train.py (no 'pointea' metadata)")
    if meta.get("version") == METADATA_VERSION:
        return checkpoint
    old = dict(meta["model"])
    kind = old.get("attention")
    if not isinstance(kind, str):
        raise ConfigError(f"{source}: its network config has no attention kind ({old!r})")
    node = attention_node(kind)
    for key in node:
        old_key = _OLD_OPTION_NAMES.get(key, key)
        if not key.startswith("_") and old_key in old:
            node[key] = old[old_key]
    model = {k: v for k, v in old.items() if k not in _OLD_OPTIONS}
    model["attention"] = node
    upgraded = dict(checkpoint)
    upgraded["pointea"] = {
        **{k: v for k, v in meta.items() if k != "layout"},
        "model": model,
        "version": METADATA_VERSION,
    }
    upgraded["state_dict"] = {
        _OFFSET_WEIGHTS.sub(r"\1mixer.\2.", key): value
        for key, value in checkpoint["state_dict"].items()
    }
    return upgraded


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pointea.cli.checkpoint_upgrade", description=__doc__.splitlines()[0]
    )
    parser.add_argument("old", type=Path, help="the checkpoint to convert")
    parser.add_argument("new", type=Path, help="where to write the converted checkpoint")
    args = parser.parse_args(argv)
    if args.new.exists():
        print(f"error: {args.new} exists; not overwriting it", file=sys.stderr)
        return 2
    try:
        upgraded = upgrade_checkpoint(load_checkpoint(args.old), str(args.old))
    except (ConfigError, FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    torch.save(upgraded, args.new)
    print(f"wrote {args.new}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
