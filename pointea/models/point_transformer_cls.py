"""Point transformer for shape classification.

"PCT: Point Cloud Transformer", Guo et al., 2021, https://arxiv.org/abs/2012.09688, with
the attention swappable for external attention ("Beyond Self-attention: External
Attention using Two Linear Layers for Visual Tasks", https://arxiv.org/abs/2105.02358).
"""

from __future__ import annotations

import torch
from torch import nn

from pointea.models.attention_stack import AttentionStack, MixerFactory
from pointea.nn import ExternalAttention, LinearBNAct, NeighborEmbedding

__all__ = ["PointTransformerCls"]


class PointTransformerCls(nn.Module):
    """PCT classification network.

    B batch, N input points, M1/M2 sampled points, C attention width.
    Point embedding (``in_channels`` -> 64 -> 64), two neighbour-embedding stages (FPS to M1 then M2
    points, k nearest neighbours, shared MLP, max over the neighbours), one LBR, four
    attention blocks whose outputs are concatenated with the stage-2 features, a fused
    projection to ``fuse_channels``, max and mean pooling, and an MLP head with dropout.

    Parameters with the defaults and 40 classes: 3.14M with external attention, 3.33M
    with offset attention (the layout of the common public PCT port, whose head takes
    max and mean pooling; the PCT paper reports 2.88M for its variant).

    ``attention`` makes each block's token mixer from its width C: a layer class
    (:class:`ExternalAttention`, the default, :class:`OffsetAttention`, ...) or a
    ``functools.partial`` of one with its options, e.g.
    ``partial(ExternalAttention, memory_size=32)``.

    ``in_channels`` is 3 for coordinates alone, or 3 + F with F per-point features (6
    with normals) after the coordinates: the features enter the embedding, while the
    coordinates alone drive sampling and neighbour search.

    Shapes:
        xyz: (B, N, in_channels) -> logits: (B, num_classes)
    """

    inputs = ("xyz",)  # forward's arguments, as exported graphs name them
    per_point = False  # logits (B, C): one row per cloud

    def __init__(
        self,
        num_classes: int,
        *,
        attention: MixerFactory = ExternalAttention,
        in_channels: int = 3,
        embed_channels: int = 64,
        stage_channels: tuple[int, int] = (128, 256),
        num_samples: tuple[int, int] = (512, 256),
        k: int = 32,
        num_blocks: int = 4,
        fuse_channels: int = 1024,
        head_channels: tuple[int, int] = (512, 256),
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        channels = stage_channels[1]
        self.num_classes = num_classes
        self.min_points = max(num_samples[0], k)
        self.in_channels = in_channels
        self.embed = nn.Sequential(
            LinearBNAct(in_channels, embed_channels),
            LinearBNAct(embed_channels, embed_channels),
        )
        self.stage1 = NeighborEmbedding(
            embed_channels, stage_channels[0], num_samples=num_samples[0], k=k
        )
        self.stage2 = NeighborEmbedding(
            stage_channels[0], channels, num_samples=num_samples[1], k=k
        )
        self.pre_attention = LinearBNAct(channels, channels)
        self.attention = AttentionStack(
            channels,
            num_blocks,
            attention=attention,
        )
        self.fuse = LinearBNAct((num_blocks + 1) * channels, fuse_channels, act="leaky_relu")
        self.head = nn.Sequential(
            LinearBNAct(2 * fuse_channels, head_channels[0], act="leaky_relu"),
            nn.Dropout(dropout),
            LinearBNAct(head_channels[0], head_channels[1], act="leaky_relu"),
            nn.Dropout(dropout),
            nn.Linear(head_channels[1], num_classes),
        )

    def forward(self, xyz: torch.Tensor) -> torch.Tensor:
        x = self.embed(xyz)  # (B, N, 64): coordinates and features
        xyz = xyz[..., :3]  # coordinates alone drive sampling and neighbours
        pos, x = self.stage1(xyz, x)  # (B, M1, 128)
        pos, stage_features = self.stage2(pos, x)  # (B, M2, C)
        x = self.attention(self.pre_attention(stage_features), pos)  # (B, M2, 4C)
        x = self.fuse(torch.cat([x, stage_features], dim=-1))  # (B, M2, fuse)
        pooled = torch.cat([x.amax(dim=1), x.mean(dim=1)], dim=-1)  # (B, 2 * fuse)
        return self.head(pooled)  # (B, num_classes)
