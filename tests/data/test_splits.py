import torch

from pointea.data.splits import stratified_split


def test_each_class_split_in_proportion_and_disjoint():
    labels = torch.tensor([0] * 50 + [1] * 20 + [2] * 3 + [3] * 1)
    train, val = stratified_split(labels, 0.1, seed=0)
    assert set(train.tolist()).isdisjoint(val.tolist())
    assert sorted(train.tolist() + val.tolist()) == list(range(len(labels)))
    counts = torch.bincount(labels[val], minlength=4).tolist()
    assert counts == [5, 2, 1, 0]  # round(10%), at least one of a small class, none of a singleton


def test_seeded():
    labels = torch.randint(0, 5, (200,), generator=torch.Generator().manual_seed(0))
    a, b, c = (stratified_split(labels, 0.2, s)[1] for s in (1, 1, 2))
    assert torch.equal(a, b) and not torch.equal(a, c)
