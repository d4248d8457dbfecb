import torch

from pointea.data.batches import DeviceBatches, WorkerBatches, epoch_order
from pointea.data.transforms import Compose, RandomJitter, ShufflePoints


def arrays(size=23):
    return {"pos": torch.randn(size, 16, 3), "y": torch.arange(size)}


def test_ranks_get_disjoint_shards_covering_the_epoch():
    shards = [
        epoch_order(23, shuffle=True, seed=0, epoch=1, rank=r, world_size=3, pad=False)
        for r in range(3)
    ]
    joined = torch.cat(shards)
    assert sorted(joined.tolist()) == list(range(23))
    padded = [
        epoch_order(23, shuffle=True, seed=0, epoch=1, rank=r, world_size=3, pad=True)
        for r in range(3)
    ]
    assert {len(s) for s in padded} == {8}


def test_order_depends_on_seed_and_epoch_only():
    a = epoch_order(50, shuffle=True, seed=0, epoch=2, rank=0, world_size=1, pad=False)
    assert torch.equal(
        a, epoch_order(50, shuffle=True, seed=0, epoch=2, rank=0, world_size=1, pad=False)
    )
    assert not torch.equal(
        a, epoch_order(50, shuffle=True, seed=0, epoch=3, rank=0, world_size=1, pad=False)
    )
    assert not torch.equal(
        a, epoch_order(50, shuffle=True, seed=1, epoch=2, rank=0, world_size=1, pad=False)
    )


def test_device_batches_cover_each_sample_once_and_follow_set_epoch():
    data = arrays()
    loader = DeviceBatches(
        data, 5, transform=None, shuffle=True, drop_last=False, seed=0, rank=0, world_size=1
    )
    seen = torch.cat([b["y"] for b in loader])
    assert len(loader) == 5 and sorted(seen.tolist()) == list(range(23))
    for b in loader:
        assert torch.equal(b["pos"], data["pos"][b["y"]]) and torch.equal(b["index"], b["y"])
    again = torch.cat([b["y"] for b in loader])
    loader.sampler.set_epoch(1)
    assert torch.equal(seen, again) and not torch.equal(seen, torch.cat([b["y"] for b in loader]))


def test_drop_last_and_stored_data_untouched():
    data = arrays()
    before = data["pos"].clone()
    transform = Compose([RandomJitter(0.5, 1.0), ShufflePoints()])
    loader = DeviceBatches(
        data, 5, transform=transform, shuffle=True, drop_last=True, seed=0, rank=0, world_size=1
    )
    assert len(loader) == 4 and sum(len(b["y"]) for b in loader) == 20
    assert torch.equal(data["pos"], before)


def test_worker_path_gives_the_same_batches_as_the_device_path():
    data = arrays()
    transform = Compose([RandomJitter(0.1, 0.3), ShufflePoints()])
    common = dict(transform=transform, shuffle=True, drop_last=False, seed=4, rank=1, world_size=2)
    device = list(DeviceBatches(data, 4, **common))
    workers = list(WorkerBatches(data, 4, device=torch.device("cpu"), num_workers=0, **common))
    assert len(device) == len(workers) == 3
    for a, b in zip(device, workers, strict=True):
        assert torch.equal(a["y"], b["y"]) and torch.equal(a["index"], b["index"])
        torch.testing.assert_close(a["pos"], b["pos"])
