"""ModelNet10, the ten-class subset in PointNet++'s ``modelnet40_normal_resampled`` folder."""

from __future__ import annotations

from pointea.data.modelnet_normal import ModelNet40Normal

__all__ = ["ModelNet10Normal"]


class ModelNet10Normal(ModelNet40Normal):
    """The ``modelnet10_*`` files of ``modelnet40_normal_resampled``: the same shape files,
    the class table ``modelnet10_shape_names.txt`` and the split lists
    ``modelnet10_{train,test}.txt`` (3,991 / 908 shapes officially). Everything else is
    :class:`~pointea.data.modelnet_normal.ModelNet40Normal`'s.

    Shapes:
        arrays(): {"pos": (S, P, 3) float32, "normals": (S, P, 3) float32, "y": (S,) int64}
    """

    marker = "modelnet10_shape_names.txt"
    variant = "modelnet10"
    official_classes = (
        "bathtub bed chair desk dresser monitor night_stand sofa table toilet"
    ).split()
    official_counts = {"train": 3991, "test": 908}
