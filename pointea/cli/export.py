"""Export a trained checkpoint to ONNX or TorchScript.

    python -m pointea.cli.export ckpt_path=CKPT format=onnx|torchscript output=FILE
        [num_points=N]

The exported model takes ``xyz`` (B, N, 3) float32, clouds normalised as in training
(centred, unit sphere), with B and N dynamic; a part segmenter also takes ``category``
(B,) int64. It returns ``logits``. A checkpoint trained with ``task.ema_decay`` exports its
weight average. ``num_points`` (default: the checkpoint's) only sizes the example the
graph is traced with. See :mod:`pointea.export`.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import hydra
from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, DictConfig

from pointea.checkpoint import load_network
from pointea.cli.run_config import ConfigError, config_dirs
from pointea.error_boundary import exit_on_user_error
from pointea.export import (
    FORMATS,
    INPUTS,
    check_export,
    export_onnx,
    export_torchscript,
    input_names,
)

__all__ = ["ExportConfig", "export", "main"]


@dataclass
class ExportConfig:
    ckpt_path: str = MISSING
    format: str = "onnx"  # onnx | torchscript
    output: str = MISSING
    num_points: int | None = None  # the traced example's size; default: the checkpoint's


ConfigStore.instance().store(name="export", node=ExportConfig)


def export(cfg: DictConfig) -> Path:
    """Load the checkpoint's network (its weight average when it has one) and write it
    whole or not at all (see :mod:`pointea.export`)."""
    if cfg.format not in FORMATS:
        raise ConfigError(f"format must be one of {', '.join(FORMATS)}, got {cfg.format!r}")
    network, meta = load_network(cfg.ckpt_path, config_dirs=config_dirs())
    num_points = cfg.num_points or meta["num_points"]
    try:
        check_export(network, cfg.output, cfg.format, num_points)
    except ValueError as err:
        raise ConfigError(str(err)) from None
    write = export_onnx if cfg.format == "onnx" else export_torchscript
    path = write(network, cfg.output, num_points=num_points)
    shapes = dict(INPUTS)
    if getattr(network, "in_channels", 3) == 6:
        shapes["xyz"] = "(B, N, 6) float32: x, y, z, nx, ny, nz"
    inputs = ", ".join(f"{name} {shapes[name]}" for name in input_names(network))
    print(f"{cfg.ckpt_path} -> {path} ({cfg.format}; inputs: {inputs}; output: logits)")
    return path


@hydra.main(version_base="1.3", config_path=None, config_name="export")
def _hydra_main(cfg: DictConfig) -> None:
    exit_on_user_error(lambda: export(cfg))


# No output folder or log of Hydra's own: the exported file is the only output.
QUIET = ["hydra.run.dir=.", "hydra.output_subdir=null", "hydra/job_logging=disabled",
         "hydra/hydra_logging=disabled"]  # fmt: skip


def main() -> None:
    given = {arg.split("=")[0] for arg in sys.argv[1:]}
    sys.argv += [arg for arg in QUIET if arg.split("=")[0] not in given]
    _hydra_main()


if __name__ == "__main__":
    main()
