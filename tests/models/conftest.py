"""Tiny model configurations shared by the model tests."""

import pytest
from tiny_networks import TINY_ATTENTION, TINY_CLS, TINY_SEG


@pytest.fixture(params=sorted(TINY_ATTENTION))
def attention(request):
    return TINY_ATTENTION[request.param]


@pytest.fixture
def tiny_cls():
    return dict(TINY_CLS)


@pytest.fixture
def tiny_seg():
    return dict(TINY_SEG)
