"""Whole networks built from :mod:`pointea.nn`. Plain ``nn.Module``s."""

from pointea.models.attention_stack import AttentionStack, Mixer, MixerError, MixerFactory
from pointea.models.point_transformer_cls import PointTransformerCls
from pointea.models.point_transformer_seg import PointTransformerSeg

__all__ = [
    "AttentionStack",
    "Mixer",
    "MixerError",
    "MixerFactory",
    "PointTransformerCls",
    "PointTransformerSeg",
]
