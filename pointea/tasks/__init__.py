"""LightningModules: loss, metrics, optimiser wiring and voting. The network is passed in."""

from pointea.tasks.class_accuracy import ClassAccuracy
from pointea.tasks.classification import ClassificationTask
from pointea.tasks.epoch_log import EpochLog
from pointea.tasks.part_iou import PartIoU
from pointea.tasks.segmentation import SegmentationTask

__all__ = ["ClassAccuracy", "ClassificationTask", "EpochLog", "PartIoU", "SegmentationTask"]
