"""pointea's Hydra configs, shipped inside the package so an installed wheel finds them.

``CONFIG_DIR`` is the one place that says where they are: the entry points in
``pointea.cli`` compose from it, and a user's own folder extends it through
``hydra.searchpath`` (see the README). Importing this package registers the configs' one
resolver, ``${pointea.in_channels:${data.features}}`` (see
:func:`~pointea.configs.input_channels.input_channels`), so every entry point that finds
the configs can resolve them.
"""

from pathlib import Path

from omegaconf import OmegaConf

from pointea.configs.input_channels import input_channels

__all__ = ["CONFIG_DIR"]

CONFIG_DIR = Path(__file__).resolve().parent

if not OmegaConf.has_resolver("pointea.in_channels"):
    OmegaConf.register_new_resolver("pointea.in_channels", input_channels)
