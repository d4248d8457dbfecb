"""The pooled BatchNorm fast path under SyncBatchNorm: two gloo processes, each holding half
of the batch, get what one process holding the whole batch gets from plain BatchNorm."""

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn

from pointea.nn import LinearBNAct

SHAPE = (4, 5, 7, 6)  # (B, M, K, C): pooled over K
HALF = SHAPE[0] // 2


def _inputs(act):
    torch.manual_seed(0)
    layer = LinearBNAct(4, 6, act=act).double()
    with torch.no_grad():
        layer.norm.weight.copy_(torch.tensor([1.5, -0.7, 0.3, -2.0, 0.05, 1.0]))  # both signs
        layer.norm.bias.uniform_(-0.5, 0.5)
    h = torch.randn(SHAPE, dtype=torch.float64) * 2 + 0.5
    upstream = torch.randn(SHAPE[:2] + SHAPE[3:], dtype=torch.float64)
    return layer, h, upstream


ACTIVATIONS = ("relu", "leaky_relu")


def _rank(rank, store, results):
    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=2)
    try:
        for act in ACTIVATIONS:
            _pool_half(rank, act, results)
    finally:
        dist.destroy_process_group()


def _pool_half(rank, act, results):
    layer, h, upstream = _inputs(act)
    layer = nn.SyncBatchNorm.convert_sync_batchnorm(layer)
    assert isinstance(layer.norm, nn.SyncBatchNorm)
    rows = slice(rank * HALF, (rank + 1) * HALF)
    mine = h[rows].clone().requires_grad_()
    for _ in range(2):  # twice: the second step starts from updated running statistics
        out = layer.normalise_max(mine, dim=2)
    (out * upstream[rows]).sum().backward()
    layer.eval()
    with torch.no_grad():
        frozen = layer.normalise_max(h[rows], dim=2)
    result = {
        "out": out.detach(),
        "grad_h": mine.grad,
        "grad_weight": layer.norm.weight.grad,
        "grad_bias": layer.norm.bias.grad,
        "running_mean": layer.norm.running_mean,
        "running_var": layer.norm.running_var,
        "frozen": frozen,
    }
    torch.save(result, results / f"{act}-rank{rank}.pt")


@pytest.fixture(scope="module")
def two_processes(tmp_path_factory):
    """Both activations in one pair of processes (starting them is the slow part)."""
    results = tmp_path_factory.mktemp("sync_bn")
    mp.spawn(_rank, args=(results / "store", results), nprocs=2, join=True)
    return results


@pytest.mark.parametrize("act", ACTIVATIONS)
def test_two_processes_pool_with_the_statistics_of_the_whole_batch(two_processes, act):
    ranks = [torch.load(two_processes / f"{act}-rank{r}.pt", weights_only=True) for r in (0, 1)]

    # One process, the whole batch, plain BatchNorm then activation then max (no fast path).
    layer, h, upstream = _inputs(act)
    h = h.requires_grad_()
    for _ in range(2):
        out = layer.normalise(h).amax(dim=2)
    (out * upstream).sum().backward()
    layer.eval()
    with torch.no_grad():
        frozen = layer.normalise(h.detach()).amax(dim=2)

    torch.testing.assert_close(torch.cat([r["out"] for r in ranks]), out.detach())
    torch.testing.assert_close(torch.cat([r["grad_h"] for r in ranks]), h.grad)
    # Each process holds its own part of the parameter gradient; DDP adds them up (and
    # divides by the number of processes, as it does for every parameter).
    for name in ("weight", "bias"):
        total = ranks[0][f"grad_{name}"] + ranks[1][f"grad_{name}"]
        torch.testing.assert_close(total, getattr(layer.norm, name).grad)
    for r in ranks:
        torch.testing.assert_close(r["running_mean"], layer.norm.running_mean)
        torch.testing.assert_close(r["running_var"], layer.norm.running_var)
    torch.testing.assert_close(torch.cat([r["frozen"] for r in ranks]), frozen)
