"""Point transformer for part segmentation.

"PCT: Point Cloud Transformer", Guo et al., 2021, https://arxiv.org/abs/2012.09688, with
the attention swappable for external attention ("Beyond Self-attention: External
Attention using Two Linear Layers for Visual Tasks", https://arxiv.org/abs/2105.02358).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from pointea.models.attention_stack import AttentionStack, MixerFactory
from pointea.nn import ExternalAttention, LinearBNAct, NeighborEmbedding

__all__ = ["PointTransformerSeg"]


class PointTransformerSeg(nn.Module):
    """PCT part-segmentation network.

    B batch, N points, C attention width. Per-point embedding (``in_channels`` -> 64 -> 64), a
    neighbour embedding at full resolution (every point a centre, k neighbours) to C
    channels, four attention blocks concatenated and fused to ``fuse_channels``, then per
    point: its fused feature, the cloud's max- and mean-pooled feature and an embedding of
    the object category, through an MLP head with dropout.

    Parameters with the defaults (50 parts, 16 categories): 2.45M with external
    attention, 2.47M with offset attention.

    ``attention`` makes each block's token mixer from its width C: a layer class
    (:class:`ExternalAttention`, the default, :class:`OffsetAttention`, ...) or a
    ``functools.partial`` of one with its options, e.g.
    ``partial(ExternalAttention, memory_size=32)``.

    ``in_channels`` is 3 for coordinates alone, or 3 + F with F per-point features (6
    with normals) after the coordinates: the features enter the embedding, while the
    coordinates alone drive sampling and neighbour search.

    Shapes:
        xyz: (B, N, in_channels); category: (B,) int64 -> logits: (B, N, num_parts)
    """

    inputs = ("xyz", "category")  # forward's arguments, as exported graphs name them
    per_point = True  # logits (B, N, P): one row per point

    def __init__(
        self,
        num_parts: int,
        num_categories: int,
        *,
        attention: MixerFactory = ExternalAttention,
        in_channels: int = 3,
        embed_channels: int = 64,
        channels: int = 128,
        k: int = 32,
        num_blocks: int = 4,
        fuse_channels: int = 1024,
        category_channels: int = 64,
        head_channels: tuple[int, int] = (512, 256),
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        self.num_parts = num_parts
        self.num_categories = num_categories
        self.min_points = k
        self.in_channels = in_channels
        self.embed = nn.Sequential(
            LinearBNAct(in_channels, embed_channels),
            LinearBNAct(embed_channels, embed_channels),
        )
        self.local = NeighborEmbedding(embed_channels, channels, num_samples=None, k=k)
        self.attention = AttentionStack(
            channels,
            num_blocks,
            attention=attention,
        )
        self.fuse = LinearBNAct(num_blocks * channels, fuse_channels, act="leaky_relu")
        self.category_embed = LinearBNAct(num_categories, category_channels, act="leaky_relu")
        self.head = nn.Sequential(
            LinearBNAct(3 * fuse_channels + category_channels, head_channels[0]),
            nn.Dropout(dropout),
            LinearBNAct(head_channels[0], head_channels[1]),
            nn.Linear(head_channels[1], num_parts),
        )

    def forward(self, xyz: torch.Tensor, category: torch.Tensor) -> torch.Tensor:
        x = self.embed(xyz)  # (B, N, 64): coordinates and features
        xyz = xyz[..., :3]  # coordinates alone drive the neighbours
        _, x = self.local(xyz, x)  # (B, N, C)
        x = self.fuse(self.attention(x, xyz))  # (B, N, fuse)
        one_hot = F.one_hot(category, self.num_categories).to(x.dtype)  # (B, num_categories)
        shape_code = torch.cat(
            [x.amax(dim=1), x.mean(dim=1), self.category_embed(one_hot)], dim=-1
        )  # (B, 2 * fuse + category_channels)
        h = self._first_head_layer(x, shape_code)  # (B, N, head_channels[0])
        for layer in self.head[1:]:
            h = layer(h)
        return h  # (B, N, num_parts)

    def _first_head_layer(self, x: torch.Tensor, shape_code: torch.Tensor) -> torch.Tensor:
        """``head[0]`` on ``cat([x, shape_code repeated over N])``, without the repeat.

        Its weight splits by input columns into W_x (per point) and W_c (per cloud), so
        ``W [x; c] = W_x x + W_c c``: the per-cloud part is computed once per cloud and
        broadcast over N. Same parameters (checkpoints load unchanged); BatchNorm sees
        the same pre-activations (batch statistics in training, folded in eval).

        Shapes:
            x: (B, N, fuse); shape_code: (B, 2 * fuse + category_channels)
            -> (B, N, head_channels[0])
        """
        first = self.head[0]
        folds = first.folds
        # (out, 3 * fuse + category_channels), (out,)
        weight, bias = first.folded() if folds else (first.linear.weight, first.linear.bias)
        fuse = x.shape[-1]
        per_cloud = F.linear(shape_code, weight[:, fuse:], bias)  # (B, out)
        # In place: the linear's backward needs x and the weight, never its output.
        h = F.linear(x, weight[:, :fuse]).add_(per_cloud.unsqueeze(1))
        return first.act(h) if folds else first.normalise(h)
