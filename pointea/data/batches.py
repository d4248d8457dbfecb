"""Batch iterables for Lightning: device-resident tensors, or a worker DataLoader.

Both expose ``sampler.set_epoch`` (Lightning calls it before every epoch), shard by rank
under DDP, and apply the batched transforms on the device with a generator seeded by
(seed, epoch, rank), so an epoch's batches depend only on those three numbers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import torch
from torch.utils.data import DataLoader, Dataset

__all__ = ["DeviceBatches", "WorkerBatches", "epoch_order"]

Batch = dict[str, torch.Tensor]
Transform = Callable[[Batch, torch.Generator | None], Batch]


def epoch_order(
    size: int, *, shuffle: bool, seed: int, epoch: int, rank: int, world_size: int, pad: bool
) -> torch.Tensor:
    """This rank's sample indices for one epoch (CPU int64).

    With ``pad`` the order is extended by wrapping around so that every rank gets the same
    number of samples (needed for training under DDP, as DistributedSampler does);
    without it the ranks split the samples exactly, for unbiased evaluation.
    """
    if shuffle:
        order = torch.randperm(size, generator=torch.Generator().manual_seed(seed + 7919 * epoch))
    else:
        order = torch.arange(size)
    if pad and world_size > 1:
        total = math.ceil(size / world_size) * world_size
        order = torch.cat([order, order[: total - size]])
    return order[rank::world_size]


class _EpochSampler:
    """What Lightning sees as ``loader.sampler``: it only records the epoch."""

    def __init__(self) -> None:
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch


class _Sharded:
    """Epoch bookkeeping and the seeded transform shared by both loaders."""

    def __init__(
        self,
        *,
        size: int,
        batch_size: int,
        transform: Transform | None,
        shuffle: bool,
        drop_last: bool,
        seed: int,
        rank: int,
        world_size: int,
    ) -> None:
        self.size, self.batch_size = size, batch_size
        self.transform = transform
        self.shuffle, self.drop_last = shuffle, drop_last
        self.seed, self.rank, self.world_size = seed, rank, world_size
        self.sampler = _EpochSampler()
        self.batch_sampler = None  # Lightning inspects DataLoader-like attributes

    def _order(self) -> torch.Tensor:
        return epoch_order(
            self.size,
            shuffle=self.shuffle,
            seed=self.seed,
            epoch=self.sampler.epoch,
            rank=self.rank,
            world_size=self.world_size,
            pad=self.shuffle,
        )

    def _generator(self, device: torch.device) -> torch.Generator:
        seed = (self.seed * 1_000_003 + self.sampler.epoch * 1009 + self.rank) % 2**63
        return torch.Generator(device=device).manual_seed(seed)

    def __len__(self) -> int:
        per_rank = len(self._order())
        if self.drop_last:
            return per_rank // self.batch_size
        return math.ceil(per_rank / self.batch_size)


class DeviceBatches(_Sharded):
    """Batches sliced from tensors that already live on the training device.

    S samples. Every tensor in ``arrays`` has S rows; each batch indexes them with a slice
    of this epoch's permutation and passes the result through ``transform``. Nothing is
    copied between host and device, and the stored tensors are never modified.

    Shapes:
        arrays: {"pos": (S, P, 3), "y": (S,) or (S, P), ...} -> batches of B rows, plus
        "index": (B,) the rows' positions in ``arrays``
    """

    def __init__(self, arrays: Batch, batch_size: int, **kwargs) -> None:
        super().__init__(size=len(arrays["pos"]), batch_size=batch_size, **kwargs)
        self.arrays = arrays

    def __iter__(self) -> Iterator[Batch]:
        device = self.arrays["pos"].device
        order = self._order().to(device)
        generator = self._generator(device)
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            idx = order[start : start + self.batch_size]
            batch = {key: value[idx] for key, value in self.arrays.items()}
            batch["index"] = idx
            yield self.transform(batch, generator) if self.transform else batch


class _Rows(Dataset):
    """Row i of every tensor: the per-sample view a worker DataLoader needs."""

    def __init__(self, arrays: Batch) -> None:
        self.arrays = arrays

    def __len__(self) -> int:
        return len(self.arrays["pos"])

    def __getitem__(self, index: int) -> Batch:
        return {**{key: value[index] for key, value in self.arrays.items()}, "index": index}


class WorkerBatches(_Sharded):
    """The conventional path for sets larger than device memory: a DataLoader with workers
    collates host tensors, each batch is moved to ``device`` and transformed there."""

    def __init__(
        self,
        arrays: Batch,
        batch_size: int,
        *,
        device: torch.device,
        num_workers: int = 2,
        **kwargs,
    ) -> None:
        super().__init__(size=len(arrays["pos"]), batch_size=batch_size, **kwargs)
        self.dataset = _Rows(arrays)
        self.device = torch.device(device)
        self.num_workers = num_workers

    def __iter__(self) -> Iterator[Batch]:
        loader = DataLoader(
            self.dataset,
            batch_size=self.batch_size,
            sampler=self._order().tolist(),
            drop_last=self.drop_last,
            num_workers=self.num_workers,
            pin_memory=self.device.type == "cuda",
            persistent_workers=False,
        )
        generator = self._generator(self.device)
        for batch in loader:
            batch = {k: v.to(self.device, non_blocking=True) for k, v in batch.items()}
            yield self.transform(batch, generator) if self.transform else batch
