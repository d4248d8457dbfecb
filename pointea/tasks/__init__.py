"""LightningModules: loss, metrics, optimiser wiring and voting. The network is passed in.

The exports are imported on first use, so that the Lightning-free helpers here
(``pointea.tasks.part_iou``, ``checkpoint_io``, ...) can be imported without Lightning.
"""

from __future__ import annotations

from pointea.lazy_exports import lazy_exports

__all__ = ["ClassAccuracy", "ClassificationTask", "EpochLog", "PartIoU", "SegmentationTask"]

_MODULES = {
    "ClassAccuracy": "pointea.tasks.class_accuracy",
    "ClassificationTask": "pointea.tasks.classification",
    "EpochLog": "pointea.tasks.epoch_log",
    "PartIoU": "pointea.tasks.part_iou",
    "SegmentationTask": "pointea.tasks.segmentation",
}

__getattr__ = lazy_exports(__name__, _MODULES)
