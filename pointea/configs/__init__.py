"""pointea's Hydra configs, shipped inside the package so an installed wheel finds them.

``CONFIG_DIR`` is the one place that says where they are: the entry points in
``pointea.cli`` compose from it, and a user's own folder extends it through
``hydra.searchpath`` (see the README).
"""

from pathlib import Path

__all__ = ["CONFIG_DIR"]

CONFIG_DIR = Path(__file__).resolve().parent
