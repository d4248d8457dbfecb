"""What a network costs, measured on the machine that runs the report: parameters, FLOPs per
cloud (``torch.utils.flop_counter``) and inference throughput on one batch."""

from __future__ import annotations

import time
from typing import Any

import torch
from hydra.utils import instantiate
from torch.utils.flop_counter import FlopCounterMode

__all__ = ["network_cost"]


def _inputs(task: str, batch: int, num_points: int, num_categories: int, seed: int = 0):
    """Random clouds in [-1, 1]^3 (and part categories for segmentation)."""
    generator = torch.Generator().manual_seed(seed)
    xyz = torch.rand(batch, num_points, 3, generator=generator) * 2 - 1  # (B, N, 3)
    if task == "cls":
        return (xyz,)
    category = torch.randint(0, max(num_categories, 1), (batch,), generator=generator)  # (B,)
    return xyz, category


@torch.no_grad()
def network_cost(
    model_config: dict[str, Any],
    *,
    task: str,
    num_points: int,
    batch_size: int,
    num_categories: int = 0,
    repeats: int = 3,
    device: str = "cpu",
) -> dict[str, float]:
    """Build the network a run trained (its ``model.<task>`` node) and measure it in eval mode.

    Args:
        model_config: the run's ``model.cls`` or ``model.seg`` config (with ``_target_``).
        task: ``cls`` or ``seg``.
        num_points: points per cloud, as the run's data config says.
        batch_size: clouds in the batch timed for throughput (the run's eval batch size).
        num_categories: part categories (segmentation only).
        repeats: timed passes after one warm-up; the fastest counts.

    Returns:
        ``parameters``, ``flops_per_cloud`` (one cloud, counted by FlopCounterMode: two per
        multiply-add of matrix products and convolutions) and ``inference_clouds_per_second``.
    """
    network = instantiate(model_config).to(device).eval()
    parameters = sum(p.numel() for p in network.parameters())
    counter = FlopCounterMode(display=False)
    with counter:
        network(*[t.to(device) for t in _inputs(task, 1, num_points, num_categories)])
    batch = [t.to(device) for t in _inputs(task, batch_size, num_points, num_categories)]
    network(*batch)  # warm-up
    best = float("inf")
    for _ in range(repeats):
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        start = time.perf_counter()
        network(*batch)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - start)
    return {
        "parameters": float(parameters),
        "flops_per_cloud": float(counter.get_total_flops()),
        "inference_clouds_per_second": batch_size / best,
    }
