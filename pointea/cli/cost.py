"""What a network costs, measured on the machine that runs the report: parameters, FLOPs per
cloud (``torch.utils.flop_counter``) and inference throughput on one batch."""

from __future__ import annotations

import time
from typing import Any

import torch
from hydra.utils import instantiate
from torch.utils.flop_counter import FlopCounterMode

from pointea.export import example_inputs

__all__ = ["network_cost"]


@torch.no_grad()
def network_cost(
    model_config: dict[str, Any],
    *,
    num_points: int,
    batch_size: int,
    repeats: int = 3,
    device: str = "cpu",
) -> dict[str, float]:
    """Build the network a run trained and measure it in eval mode.

    Args:
        model_config: the run's ``model`` config (with ``_target_``); the network's inputs are
            random clouds (and categories), :func:`pointea.export.example_inputs`.
        num_points: points per cloud, as the run's data config says.
        batch_size: clouds in the batch timed for throughput (the run's eval batch size).
        repeats: timed passes after one warm-up; the fastest counts.

    Returns:
        ``parameters``, ``flops_per_cloud`` (one cloud, counted by FlopCounterMode: two per
        multiply-add of matrix products and convolutions) and ``inference_clouds_per_second``.
    """
    network = instantiate(model_config).to(device).eval()
    parameters = sum(p.numel() for p in network.parameters())
    counter = FlopCounterMode(display=False)
    with counter:
        network(*[t.to(device) for t in example_inputs(network, num_points, batch=1)])
    batch = [t.to(device) for t in example_inputs(network, num_points, batch=batch_size)]
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
