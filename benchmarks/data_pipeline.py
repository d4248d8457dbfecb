"""Samples per second: pointea's device-resident batched pipeline against a conventional
per-sample numpy Dataset + DataLoader with workers applying the same augmentations.

    python benchmarks/data_pipeline.py [--quick] [--device cpu|cuda] [--workers 2]

Both run PCT's ModelNet40 training recipe on the same clouds (the built-in data, tiled to
ModelNet40's 9,840 training shapes): first 1024 of 2048 points, anisotropic scaling
U[2/3, 3/2], translation U[-0.2, 0.2], point dropout up to 87.5%, shuffle; batch 32.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from pointea.data import ModelNet40H5, SyntheticConfig, ensure_synthetic
from pointea.data.batches import DeviceBatches
from pointea.data.transforms import (
    Compose,
    FirstPoints,
    RandomAnisotropicScale,
    RandomPointDropout,
    RandomTranslate,
    ShufflePoints,
)


class NumpyAugmentedClouds(Dataset):
    """The conventional loader: one cloud at a time, numpy augmentation in the workers."""

    def __init__(self, points: np.ndarray, labels: np.ndarray, num_points: int) -> None:
        self.points, self.labels, self.num_points = points, labels, num_points
        self.rng: np.random.Generator | None = None  # made in each worker process

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int):
        if self.rng is None:  # torch seeds every worker differently
            self.rng = np.random.default_rng(torch.initial_seed() % 2**32)
        rng = self.rng
        pts = self.points[index, : self.num_points].copy()
        pts = pts * rng.uniform(2 / 3, 3 / 2, size=(1, 3)) + rng.uniform(-0.2, 0.2, size=(1, 3))
        drop = rng.random(self.num_points) <= rng.random() * 0.875
        pts[drop] = pts[0]
        rng.shuffle(pts)
        return pts.astype(np.float32), self.labels[index]


def time_epochs(loader, epochs: int, device: torch.device) -> float:
    """Seconds per epoch (the best of ``epochs``), each batch landing on ``device``."""
    best = float("inf")
    for epoch in range(epochs):
        if hasattr(loader, "sampler") and hasattr(loader.sampler, "set_epoch"):
            loader.sampler.set_epoch(epoch)
        start = time.perf_counter()
        for batch in loader:
            pos = (
                batch["pos"] if isinstance(batch, dict) else batch[0].to(device, non_blocking=True)
            )
            pos.sum().item()  # force the work (and the transfer) to finish
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    parser.add_argument("--size", type=int, default=9840)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--data-root", type=Path, default=Path("datasets/synthetic_cls"))
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    config = SyntheticConfig()
    if args.quick:
        args.size, args.workers = 256, 1
        config = SyntheticConfig(cls_train_per_class=4, cls_test_per_class=1)
        args.data_root = args.out / "synthetic_cls_quick"
    device = torch.device(args.device)
    ensure_synthetic(args.data_root, "synthetic_cls", config)
    train = ModelNet40H5(args.data_root, "train", num_points=1024)
    tiles = -(-args.size // len(train))
    points = train.points.repeat(tiles, 1, 1)[: args.size]
    labels = train.labels.repeat(tiles)[: args.size]
    epochs = 1 if args.quick else 3

    recipe = Compose(
        [
            FirstPoints(1024),
            RandomAnisotropicScale(),
            RandomTranslate(),
            RandomPointDropout(),
            ShufflePoints(),
        ]
    )
    on_device = {"pos": points.to(device), "y": labels.to(device)}
    batched = DeviceBatches(
        on_device,
        args.batch_size,
        transform=recipe,
        shuffle=True,
        drop_last=True,
        seed=0,
        rank=0,
        world_size=1,
    )
    batched_s = time_epochs(batched, epochs, device)

    conventional = DataLoader(
        NumpyAugmentedClouds(points.numpy(), labels.numpy(), 1024),
        batch_size=args.batch_size, shuffle=True, drop_last=True, num_workers=args.workers,
        pin_memory=device.type == "cuda", persistent_workers=args.workers > 0,
    )  # fmt: skip
    conventional_s = time_epochs(conventional, epochs, device)

    clouds = (args.size // args.batch_size) * args.batch_size
    result = {
        "device": torch.cuda.get_device_name(device)
        if device.type == "cuda"
        else f"cpu ({os.cpu_count()} cores)",
        "clouds_per_epoch": clouds,
        "batched_device_clouds_per_s": round(clouds / batched_s),
        "conventional_workers_clouds_per_s": round(clouds / conventional_s),
        "workers": args.workers,
        "speedup": round(conventional_s / batched_s, 1),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "data_pipeline.json").write_text(json.dumps(result, indent=1))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
