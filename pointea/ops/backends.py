"""Optional compiled backends for the point operations, detected once at import.

torch-cluster ships CPU and CUDA kernels for kNN. It is optional: pointea's own
pure-torch implementations are the reference, and ``tests/ops`` checks the fast path
against them whenever the package is installed.
"""

from __future__ import annotations

import importlib.util

__all__ = ["HAS_TORCH_CLUSTER"]

HAS_TORCH_CLUSTER: bool = importlib.util.find_spec("torch_cluster") is not None
