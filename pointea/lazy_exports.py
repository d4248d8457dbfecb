"""Package exports imported on first use, so that importing a light part of a package does
not import the heavy libraries (Lightning, Hydra) another part needs.

``pointea-predict`` on a small file: 1.76x faster than with every export imported up front, ``benchmarks/machinery.py --parts startup``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(package: str, modules: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` that imports each name from its module on first use.

    Args:
        package: the package's ``__name__`` (for the error message).
        modules: ``{exported name: module that defines it}``.
    """

    def __getattr__(name: str) -> Any:
        if name in modules:
            return getattr(import_module(modules[name]), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
