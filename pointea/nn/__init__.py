"""Reusable layers. All take features (B, N, C) and return (B, N, C') unless noted."""

from pointea.nn.external_attention import ExternalAttention
from pointea.nn.local_self_attention import LocalSelfAttention
from pointea.nn.mlp import LinearBNAct
from pointea.nn.multi_head_external_attention import MultiHeadExternalAttention
from pointea.nn.neighbor_embedding import NeighborEmbedding
from pointea.nn.offset_attention import OffsetAttention
from pointea.nn.offset_block import OffsetBlock

__all__ = [
    "ExternalAttention",
    "LinearBNAct",
    "LocalSelfAttention",
    "MultiHeadExternalAttention",
    "NeighborEmbedding",
    "OffsetAttention",
    "OffsetBlock",
]
