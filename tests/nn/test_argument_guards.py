"""Layers refuse sizes that would make them silently compute nothing."""

import pytest

from pointea.nn import (
    ExternalAttention,
    LocalSelfAttention,
    MultiHeadExternalAttention,
    NeighborEmbedding,
)


@pytest.mark.parametrize("memory_size", [0, -1])
def test_external_attention_needs_memory(memory_size):
    with pytest.raises(ValueError, match=f"memory_size must be at least 1, got {memory_size}"):
        ExternalAttention(8, memory_size=memory_size)
    with pytest.raises(ValueError, match=f"memory_size must be at least 1, got {memory_size}"):
        MultiHeadExternalAttention(8, num_heads=2, memory_size=memory_size)


@pytest.mark.parametrize("k", [0, -2])
def test_neighbour_layers_need_neighbours(k):
    with pytest.raises(ValueError, match=f"k \\(neighbours\\) must be at least 1, got {k}"):
        NeighborEmbedding(4, 8, num_samples=None, k=k)
    with pytest.raises(ValueError, match=f"k \\(neighbours\\) must be at least 1, got {k}"):
        LocalSelfAttention(8, k=k, num_heads=2)
