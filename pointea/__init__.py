"""pointea: point-cloud transformers with external attention.

``pointea.load_model(ckpt_path)`` loads a trained checkpoint as a
:class:`~pointea.trained_model.TrainedModel` (see :mod:`pointea.checkpoint`). Both are
imported on first use, so that ``import pointea.ops`` or ``pointea.nn`` stays light.
"""

from __future__ import annotations

from pointea.lazy_exports import lazy_exports

__version__ = "0.1.0"
__all__ = ["TrainedModel", "__version__", "load_model"]


__getattr__ = lazy_exports(
    __name__, {"load_model": "pointea.checkpoint", "TrainedModel": "pointea.trained_model"}
)
