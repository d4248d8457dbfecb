"""Datasets, downloads, built-in data, batched augmentation and the LightningDataModule.

The exports are imported on first use, so that ``from pointea.data import DatasetError``
(as ``pointea.cli.predict`` does) does not import Lightning through the DataModule.
"""

from __future__ import annotations

from pointea.lazy_exports import lazy_exports

__all__ = [
    "DatasetError",
    "ModelNet40H5",
    "PartFolder",
    "PointCloudDataModule",
    "PointFolder",
    "ReleaseTables",
    "ScanObjectNN",
    "ShapeNetPartH5",
    "SyntheticConfig",
    "ensure_synthetic",
]

_MODULES = {
    "DatasetError": "pointea.data.errors",
    "ModelNet40H5": "pointea.data.modelnet40",
    "PartFolder": "pointea.data.part_folder",
    "PointCloudDataModule": "pointea.data.datamodule",
    "PointFolder": "pointea.data.point_folder",
    "ReleaseTables": "pointea.data.release_tables",
    "ScanObjectNN": "pointea.data.scanobjectnn",
    "ShapeNetPartH5": "pointea.data.shapenet_part",
    "SyntheticConfig": "pointea.data.synthetic",
    "ensure_synthetic": "pointea.data.synthetic",
}

__getattr__ = lazy_exports(__name__, _MODULES)
