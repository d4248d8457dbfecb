"""Tiny model configurations shared by the model tests."""

import pytest

from pointea.models import ATTENTION_KINDS

TINY_CLS = dict(
    embed_channels=8,
    stage_channels=(16, 32),
    num_samples=(32, 16),
    k=6,
    fuse_channels=48,
    head_channels=(24, 16),
    memory_size=8,
    num_heads=4,
    local_k=5,
)
TINY_SEG = dict(
    embed_channels=8,
    channels=16,
    k=6,
    fuse_channels=32,
    category_channels=8,
    head_channels=(24, 16),
    memory_size=8,
    num_heads=4,
    local_k=5,
)


@pytest.fixture(params=ATTENTION_KINDS)
def attention(request):
    return request.param


@pytest.fixture
def tiny_cls():
    return dict(TINY_CLS)


@pytest.fixture
def tiny_seg():
    return dict(TINY_SEG)
