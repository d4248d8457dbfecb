import math

import torch

from pointea.tasks.class_accuracy import ClassAccuracy


def test_hand_computed_oa_and_macc():
    metric = ClassAccuracy(3)
    # class 0: 3 of 4 right; class 1: 1 of 1; class 2: 0 of 1 -> OA 4/6, mAcc (0.75+1+0)/3
    metric.update(torch.tensor([0, 0, 0, 1, 1, 0]), torch.tensor([0, 0, 0, 0, 1, 2]))
    out = metric.compute()
    assert math.isclose(out["oa"].item(), 4 / 6)
    assert math.isclose(out["macc"].item(), (0.75 + 1 + 0) / 3)
    assert metric.confusion.tolist() == [[3, 1, 0], [0, 1, 0], [1, 0, 0]]


def test_classes_absent_from_targets_do_not_count():
    metric = ClassAccuracy(4)
    metric.update(torch.tensor([0, 3]), torch.tensor([0, 1]))
    assert math.isclose(metric.compute()["macc"].item(), 0.5)
