"""Tiny network sizes and one mixer factory per attention kind, for the tests."""

from functools import partial

from pointea.nn import (
    ExternalAttention,
    LocalSelfAttention,
    MultiHeadExternalAttention,
    OffsetAttention,
)

# One mixer factory per attention kind, at tiny sizes (configs/model/attention/ at PCT's).
TINY_ATTENTION = {
    "external": partial(ExternalAttention, memory_size=8),
    "multihead_external": partial(MultiHeadExternalAttention, num_heads=4, memory_size=8),
    "offset": OffsetAttention,
    "local": partial(LocalSelfAttention, k=5, num_heads=4),
}
TINY_CLS = dict(
    embed_channels=8,
    stage_channels=(16, 32),
    num_samples=(32, 16),
    k=6,
    fuse_channels=48,
    head_channels=(24, 16),
)
TINY_SEG = dict(
    embed_channels=8,
    channels=16,
    k=6,
    fuse_channels=32,
    category_channels=8,
    head_channels=(24, 16),
)
