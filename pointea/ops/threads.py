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
    above the parallel grain size otherwise opens an OpenMP region, and on a busy machine
    the second thread's wake-up costs more than the op. Measured on the 2-core build
    machine under load with 2 threads: FPS of 32 x 1024 -> 512 took 0.4-2.6 s, against
    0.035 s on one thread; the 100,000-point octree kNN 38 s against 1.7 s.
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
