"""Pure-tensor point operations (no module state).

Every function takes batched tensors ``(B, N, 3)`` and is vectorised over the batch.
Optional fast backends are picked at import time: see :mod:`pointea.ops.backends`.
"""

from pointea.ops.gather import gather_points
from pointea.ops.knn import knn
from pointea.ops.sampling import farthest_point_sample

__all__ = ["farthest_point_sample", "gather_points", "knn"]
