"""Datasets, downloads, built-in data, batched augmentation and the LightningDataModule.

The exports are imported on first use, so that ``from pointea.data import DatasetError``
(as ``pointea.cli.predict`` does) does not import Lightning through the DataModule.
"""

from __future__ import annotations

from pointea.lazy_exports import lazy_exports

__all__ = [
    "DatasetError",
    "ModelNet10Normal",
    "ModelNet40H5",
    "ModelNet40Normal",
    "PartFolder",
    "PointCloudDataModule",
    "PointCloudRelease",
    "PointFolder",
    "PyGRelease",
    "ReleaseSpec",
    "ReleaseTables",
    "ScanObjectNN",
    "ShapeNetPartH5",
    "ShapeNetPartNormal",
    "SyntheticConfig",
    "ensure_synthetic",
    "from_pyg",
]

_MODULES = {
    "DatasetError": "pointea.data.errors",
    "ModelNet10Normal": "pointea.data.modelnet10_normal",
    "ModelNet40H5": "pointea.data.modelnet40",
    "ModelNet40Normal": "pointea.data.modelnet_normal",
    "PartFolder": "pointea.data.part_folder",
    "PointCloudDataModule": "pointea.data.datamodule",
    "PointCloudRelease": "pointea.data.point_cloud_release",
    "PointFolder": "pointea.data.point_folder",
    "PyGRelease": "pointea.data.pyg_release",
    "ReleaseSpec": "pointea.data.release_spec",
    "ReleaseTables": "pointea.data.release_tables",
    "ScanObjectNN": "pointea.data.scanobjectnn",
    "ShapeNetPartH5": "pointea.data.shapenet_part",
    "ShapeNetPartNormal": "pointea.data.shapenet_part_normal",
    "SyntheticConfig": "pointea.data.synthetic",
    "ensure_synthetic": "pointea.data.synthetic",
    "from_pyg": "pointea.data.pyg_release",
}

__getattr__ = lazy_exports(__name__, _MODULES)
