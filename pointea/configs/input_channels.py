"""Channels per input point, derived from ``data.features``: the one source of
``data.in_channels`` (``${pointea.in_channels:${data.features}}`` in the data configs), so
that ``data.features=[normals]`` alone gives the networks ``(B, N, 3 + 3)`` inputs."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["FEATURE_CHANNELS", "input_channels"]

FEATURE_CHANNELS = {"normals": 3}  # per-point input features a release may store, by name


def input_channels(features: Iterable[object]) -> int:
    """3 (xyz) plus the channels of each known feature in ``features``.

    A name that is not a known feature adds nothing here: the data module refuses it in one
    line naming ``data.features`` and the known names, and a config resolver that raised
    would bury that line in OmegaConf's interpolation error.
    """
    if isinstance(features, str):
        return 3
    return 3 + sum(FEATURE_CHANNELS.get(str(name), 0) for name in features)
