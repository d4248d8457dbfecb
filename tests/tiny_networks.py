"""Tiny network sizes and one mixer factory per attention kind, for the tests."""

from pointea.cli.attention_config import attention_factory, attention_kinds

# One mixer factory per attention kind of configs/model/attention/, at the tiny networks'
# sizes (model/attention_tiny/, where a kind has one).
TINY_ATTENTION = {kind: attention_factory(kind, tiny=True) for kind in attention_kinds()}
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
