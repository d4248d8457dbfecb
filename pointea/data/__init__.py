"""Datasets, downloads, built-in data, batched augmentation and the LightningDataModule."""

from pointea.data.datamodule import PointCloudDataModule
from pointea.data.errors import DatasetError
from pointea.data.modelnet40 import ModelNet40H5
from pointea.data.release_tables import ReleaseTables
from pointea.data.shapenet_part import ShapeNetPartH5
from pointea.data.synthetic import SyntheticConfig, ensure_synthetic

__all__ = [
    "DatasetError",
    "ModelNet40H5",
    "PointCloudDataModule",
    "ReleaseTables",
    "ShapeNetPartH5",
    "SyntheticConfig",
    "ensure_synthetic",
]
