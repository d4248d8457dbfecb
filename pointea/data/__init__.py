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
    "PointCloudDataModule",
    "PointCloudRelease",
    "ReleaseSpec",
    "PyGRelease",
    "ReleaseTables",
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
    "PointCloudDataModule": "pointea.data.datamodule",
    "PointCloudRelease": "pointea.data.point_cloud_release",
    "ReleaseSpec": "pointea.data.release_spec",
    "PyGRelease": "pointea.data.pyg_release",
    "ReleaseTables": "pointea.data.release_tables",
    "ShapeNetPartH5": "pointea.data.shapenet_part",
    "ShapeNetPartNormal": "pointea.data.shapenet_part_normal",
    "SyntheticConfig": "pointea.data.synthetic",
    "ensure_synthetic": "pointea.data.synthetic",
    "from_pyg": "pointea.data.pyg_release",
}

__getattr__ = lazy_exports(__name__, _MODULES)
