import math

import torch

from pointea.tasks.part_iou import PartIoU, category_part_mask, restrict_to_category, shape_ious

# Category 0 has parts {0, 1}; category 1 has parts {2, 3, 4}.
PARTS = [[0, 1], [2, 3, 4]]


def test_hand_computed_shapes():
    mask = category_part_mask(PARTS, 5)
    # Shape A (category 0), 4 points: gt 0 0 1 1, pred 0 1 1 1
    #   part 0: I=1, U=2 -> 0.5; part 1: I=2, U=3 -> 2/3; shape IoU = 7/12
    # Shape B (category 1), 4 points: gt 2 2 3 3, pred 2 2 3 3; part 4 absent from both -> 1
    #   parts 2, 3, 4: 1, 1, 1 -> 1
    pred = torch.tensor([[0, 1, 1, 1], [2, 2, 3, 3]])
    target = torch.tensor([[0, 0, 1, 1], [2, 2, 3, 3]])
    ious = shape_ious(pred, target, torch.tensor([0, 1]), mask)
    torch.testing.assert_close(ious, torch.tensor([7 / 12, 1.0], dtype=torch.double))


def test_instance_and_class_miou():
    metric = PartIoU(PARTS)
    # Category 0: shapes with IoU 7/12 and 1; category 1: one shape, gt 2 3 4 4 pred 2 2 4 4:
    #   part 2: I=1 U=2 -> .5; part 3: I=0 U=1 -> 0; part 4: I=2 U=2 -> 1; shape = 0.5
    metric.update(
        torch.tensor([[0, 1, 1, 1], [0, 0, 1, 1]]),
        torch.tensor([[0, 0, 1, 1], [0, 0, 1, 1]]),
        torch.tensor([0, 0]),
    )
    metric.update(torch.tensor([[2, 2, 4, 4]]), torch.tensor([[2, 3, 4, 4]]), torch.tensor([1]))
    out = metric.compute()
    instance = (7 / 12 + 1 + 0.5) / 3
    per_category = [(7 / 12 + 1) / 2, 0.5]
    assert math.isclose(out["instance_miou"].item(), instance)
    assert math.isclose(out["class_miou"].item(), sum(per_category) / 2)
    torch.testing.assert_close(out["per_category"], torch.tensor(per_category, dtype=torch.double))


def test_category_without_shapes_is_left_out_of_class_miou():
    metric = PartIoU(PARTS)
    metric.update(torch.tensor([[0, 0]]), torch.tensor([[0, 0]]), torch.tensor([0]))
    out = metric.compute()
    assert out["class_miou"].item() == 1.0 and torch.isnan(out["per_category"][1])


def test_predictions_restricted_to_the_category():
    logits = torch.tensor([[[0.0, 1.0, 9.0, 0.0, 0.0]], [[9.0, 0.0, 0.0, 1.0, 2.0]]])  # (2, 1, 5)
    mask = category_part_mask(PARTS, 5)
    assert restrict_to_category(logits, torch.tensor([0, 1]), mask).tolist() == [[1], [4]]


def test_per_part_iou_averages_each_part_over_its_category():
    metric = PartIoU(PARTS)
    # The shapes of test_instance_and_class_miou: category 0 part 0: 0.5 and 1 -> 0.75;
    # part 1: 2/3 and 1 -> 5/6; category 1 (one shape): parts 2, 3, 4: 0.5, 0, 1.
    metric.update(
        torch.tensor([[0, 1, 1, 1], [0, 0, 1, 1]]),
        torch.tensor([[0, 0, 1, 1], [0, 0, 1, 1]]),
        torch.tensor([0, 0]),
    )
    metric.update(torch.tensor([[2, 2, 4, 4]]), torch.tensor([[2, 3, 4, 4]]), torch.tensor([1]))
    out = metric.compute()
    expected = torch.tensor([0.75, 5 / 6, 0.5, 0.0, 1.0], dtype=torch.double)
    torch.testing.assert_close(out["per_part"], expected)
    # A category without test shapes has no per-part IoU.
    empty = PartIoU(PARTS)
    empty.update(torch.tensor([[0, 0]]), torch.tensor([[0, 0]]), torch.tensor([0]))
    assert torch.isnan(empty.compute()["per_part"][2:]).all()


def test_one_category_keeps_its_per_category_and_per_part_vectors():
    """A run on one category of one part: per_category and per_part stay (1,) vectors."""
    metric = PartIoU([[0]])
    # one shape, every point part 0 in both: IoU 1
    metric.update(torch.zeros(1, 4, dtype=torch.long), torch.zeros(1, 4, dtype=torch.long),
                  torch.tensor([0]))  # fmt: skip
    out = metric.compute()
    assert out["per_category"].shape == (1,) and out["per_part"].shape == (1,)
    assert out["per_category"].tolist() == [1.0] and out["per_part"].tolist() == [1.0]
    assert out["instance_miou"].shape == () and float(out["class_miou"]) == 1.0
    assert metric.compute()["per_category"].shape == (1,)  # the cached result too
