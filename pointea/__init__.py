"""pointea: point-cloud transformers with external attention.

``pointea.load_model(ckpt_path)`` loads a trained checkpoint as a
:class:`~pointea.trained_model.TrainedModel`. It is imported on first use, so that
``import pointea.ops`` or ``pointea.nn`` stays free of Hydra and Lightning.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["TrainedModel", "__version__", "load_model"]


def __getattr__(name: str) -> Any:
    if name == "load_model":
        from pointea.cli.checkpoint import load_model

        return load_model
    if name == "TrainedModel":
        from pointea.trained_model import TrainedModel

        return TrainedModel
    raise AttributeError(f"module 'pointea' has no attribute {name!r}")
