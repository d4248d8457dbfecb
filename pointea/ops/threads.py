"""Run loops of small tensor ops on one intra-op thread."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch

__all__ = ["single_threaded"]


@contextmanager
def single_threaded() -> Iterator[None]:
    """Within the block, torch's CPU ops use one intra-op thread; the setting is restored.

    For loops of many small ops (FPS's steps, the octree kNN's leaves): each op just
    above the parallel grain size otherwise opens an OpenMP region, and when another
    process holds the other cores, waking a second thread costs more than the op.
    """
    threads = torch.get_num_threads()
    if threads == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
