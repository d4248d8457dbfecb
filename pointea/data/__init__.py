"""Datasets, downloads, built-in data, batched augmentation and the LightningDataModule.

The exports are imported on first use, so that ``from pointea.data import DatasetError``
(as ``pointea.cli.predict`` does) does not import Lightning through the DataModule.
"""

from __future__ import annotations

from pointea.lazy_exports import lazy_exports

__all__ = [
    "DatasetError",
    "ModelNet40H5",
    "PointCloudDataModule",
    "PointCloudRelease",
    "ReleaseSpec",
    "PyGRelease",
    "ReleaseTables",
    "ShapeNetPartH5",
    "SyntheticConfig",
    "ensure_synthetic",
    "from_pyg",
]

_MODULES = {
    "DatasetError": "pointea.data.errors",
    "ModelNet40H5": "pointea.data.modelnet40",
    "PointCloudDataModule": "pointea.data.datamodule",
    "PointCloudRelease": "pointea.data.point_cloud_release",
    "ReleaseSpec": "pointea.data.release_spec",
    "PyGRelease": "pointea.data.pyg_release",
    "ReleaseTables": "pointea.data.release_tables",
    "ShapeNetPartH5": "pointea.data.shapenet_part",
    "SyntheticConfig": "pointea.data.synthetic",
    "ensure_synthetic": "pointea.data.synthetic",
    "from_pyg": "pointea.data.pyg_release",
}

__getattr__ = lazy_exports(__name__, _MODULES)
