"""The error for a network output that cannot be turned into a prediction."""

from __future__ import annotations

__all__ = ["PredictionError"]


class PredictionError(ValueError):
    """A network gave NaN or infinite outputs for a cloud, so no label is given from them;
    the message names the cloud and says whether the network's weights are at fault."""
