"""Training seconds and peak memory per epoch, logged beside the metrics for the study report."""

from __future__ import annotations

import gc
import resource
import sys
import time
from pathlib import Path

import pytorch_lightning as pl
import torch

from pointea.ops.allocator import release_freed_memory

__all__ = ["ResourceLog", "peak_memory_mib", "reset_peak_memory"]

STATUS, CLEAR_REFS = Path("/proc/self/status"), Path("/proc/self/clear_refs")


def reset_peak_memory(device: torch.device) -> None:
    """Start a new peak: CUDA's allocator statistics, or on Linux the process's peak RSS (so
    that runs sharing one process, as in a Hydra multirun, do not inherit each other's peak)."""
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    elif CLEAR_REFS.exists():
        try:
            CLEAR_REFS.write_text("5")  # Linux >= 4.0: peak RSS := current RSS
        except OSError:
            pass  # not permitted here: the peak then covers the whole process


def peak_memory_mib(device: torch.device) -> float:
    """Peak CUDA memory allocated on ``device`` by tensors; on CPU the process's peak RSS
    (since ``reset_peak_memory`` where Linux allows it)."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    if STATUS.exists():
        for line in STATUS.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 2**10  # kB
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10  # bytes on macOS, KiB else


class ResourceLog(pl.Callback):
    """Logs ``resources/train_seconds`` (wall time of the epoch's training batches, up to its
    validation) and ``resources/peak_memory_mib`` (see ``peak_memory_mib``; the peak since
    training started) once per epoch.

    Add it to a run with ``+callbacks.resources._target_=pointea.tasks.resource_log.ResourceLog``;
    the ``attention_study`` experiments do.
    """

    def __init__(self) -> None:
        self.start: float | None = None
        self.seconds = 0.0

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        # Runs of one multirun share the process: what earlier runs freed (and the heap kept)
        # must not count in this run's peak, or later runs of a sweep look bigger.
        gc.collect()
        release_freed_memory()
        reset_peak_memory(pl_module.device)

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.start, self.seconds = time.perf_counter(), 0.0

    def _stop_clock(self) -> None:
        if self.start is not None:
            self.seconds += time.perf_counter() - self.start
            self.start = None

    def on_validation_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._stop_clock()  # validation inside a training epoch is not training time

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._stop_clock()
        pl_module.log("resources/train_seconds", self.seconds)
        pl_module.log("resources/peak_memory_mib", peak_memory_mib(pl_module.device))
