"""A minimal, straightforward PCT classifier to test pointea's network against.

Written for the tests, independently of pointea's code: channel-first (B, C, N) features,
1x1 ``Conv1d`` + ``BatchNorm1d`` as in the PCT paper's code, farthest point sampling and
k nearest neighbours as plain loops, the neighbour embedding in its concatenated form and
the attention blocks with their offset residual written out. Slow on purpose; for small
clouds only. Parameter names follow the common public PCT port (``emb``, ``sg1``,
``conv``, ``attn.i``, ``fuse``, ``head``), so that
:func:`pointea.models.pct_port_conversion.convert_pct_port_state_dict` maps them.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def naive_fps(xyz: torch.Tensor, m: int) -> torch.Tensor:
    """(B, N, 3) -> (B, M): start at point 0, then the point farthest from those picked."""
    out = torch.empty(xyz.shape[0], m, dtype=torch.long)
    for b in range(xyz.shape[0]):
        picked = [0]
        dist = [float("inf")] * xyz.shape[1]
        for _ in range(m - 1):
            last = xyz[b, picked[-1]]
            for j in range(xyz.shape[1]):
                dist[j] = min(dist[j], float(((xyz[b, j] - last) ** 2).sum()))
            picked.append(max(range(len(dist)), key=lambda j: (dist[j], -j)))
        out[b] = torch.tensor(picked)
    return out


def naive_knn(query: torch.Tensor, ref: torch.Tensor, k: int) -> torch.Tensor:
    """(B, M, 3), (B, N, 3) -> (B, M, K): indices of the K nearest, nearest first."""
    out = torch.empty(query.shape[0], query.shape[1], k, dtype=torch.long)
    for b in range(query.shape[0]):
        for i in range(query.shape[1]):
            d = ((ref[b] - query[b, i]) ** 2).sum(-1)
            out[b, i] = torch.tensor(sorted(range(len(d)), key=lambda j: float(d[j]))[:k])
    return out


def conv_bn_relu(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv1d(cin, cout, 1, bias=False), nn.BatchNorm1d(cout), nn.ReLU())


class SampleGroup(nn.Module):
    """FPS centres, their K nearest points, ``relu(bn(conv([f_j - f_i, f_i])))`` twice, max over j."""

    def __init__(self, cin: int, cout: int, m: int, k: int) -> None:
        super().__init__()
        self.m, self.k = m, k
        self.c1, self.b1 = nn.Conv1d(2 * cin, cout, 1, bias=False), nn.BatchNorm1d(cout)
        self.c2, self.b2 = nn.Conv1d(cout, cout, 1, bias=False), nn.BatchNorm1d(cout)

    def forward(self, xyz: torch.Tensor, feat: torch.Tensor):  # feat (B, C, N)
        batch = xyz.shape[0]
        with torch.no_grad():
            centres = naive_fps(xyz, self.m)  # (B, M)
            new_xyz = torch.stack([xyz[b, centres[b]] for b in range(batch)])
            neighbours = naive_knn(new_xyz, xyz, min(self.k, xyz.shape[1]))  # (B, M, K)
        groups = []
        for b in range(batch):
            centre = feat[b][:, centres[b]]  # (C, M)
            grouped = feat[b][:, neighbours[b]]  # (C, M, K)
            centre = centre.unsqueeze(-1).expand_as(grouped)
            groups.append(torch.cat([grouped - centre, centre], 0))  # (2C, M, K)
        x = torch.stack(groups)  # (B, 2C, M, K)
        _, c2, m, k = x.shape
        x = x.permute(0, 2, 1, 3).reshape(batch * m, c2, k)  # BatchNorm over (B*M, K)
        x = F.relu(self.b2(self.c2(F.relu(self.b1(self.c1(x))))))
        x = x.max(-1).values.reshape(batch, m, -1).transpose(1, 2)  # (B, C', M)
        return new_xyz, x


class ExternalBlock(nn.Module):
    """``x + relu(bn(t(x - EA(x))))``, EA softmaxed over the points then L1 over the slots."""

    def __init__(self, c: int, s: int) -> None:
        super().__init__()
        self.mk, self.mv = nn.Linear(c, s, bias=False), nn.Linear(s, c, bias=False)
        self.t, self.bn = nn.Conv1d(c, c, 1), nn.BatchNorm1d(c)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, N)
        attn = torch.einsum("sc,bcn->bsn", self.mk.weight, x).softmax(dim=2)
        attn = attn / (1e-9 + attn.sum(dim=1, keepdim=True))
        attended = torch.einsum("cs,bsn->bcn", self.mv.weight, attn)
        return x + F.relu(self.bn(self.t(x - attended)))


class OffsetBlock(nn.Module):
    """PCT's SA layer: shared query/key, softmax over keys, L1 over queries, offset residual."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.q = nn.Conv1d(c, c // 4, 1, bias=False)
        self.k = nn.Conv1d(c, c // 4, 1, bias=False)
        self.k.weight = self.q.weight
        self.v, self.t, self.bn = nn.Conv1d(c, c, 1), nn.Conv1d(c, c, 1), nn.BatchNorm1d(c)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, N)
        q, k, v = self.q(x), self.k(x), self.v(x)
        energy = torch.einsum("bdi,bdj->bij", q, k)  # (B, N_query, N_key)
        attn = energy.softmax(dim=-1)
        attn = attn / (1e-9 + attn.sum(dim=1, keepdim=True))
        attended = torch.einsum("bci,bij->bcj", v, attn)
        return x + F.relu(self.bn(self.t(x - attended)))


class ReferencePCT(nn.Module):
    """PCT classification, channel-first: xyz (B, N, 3) -> logits (B, num_classes)."""

    def __init__(
        self,
        attention: str,
        num_classes: int,
        *,
        embed: int = 64,
        stages: tuple[int, int] = (128, 256),
        samples: tuple[int, int] = (512, 256),
        k: int = 32,
        fuse: int = 1024,
        head: tuple[int, int] = (512, 256),
        memory: int = 64,
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        c = stages[1]
        self.emb = nn.Sequential(*conv_bn_relu(3, embed), *conv_bn_relu(embed, embed))
        self.sg1 = SampleGroup(embed, stages[0], samples[0], k)
        self.sg2 = SampleGroup(stages[0], c, samples[1], k)
        self.conv = conv_bn_relu(c, c)
        block = (
            (lambda: ExternalBlock(c, memory)) if attention == "ea" else (lambda: OffsetBlock(c))
        )
        self.attn = nn.ModuleList(block() for _ in range(4))
        self.fuse = nn.Sequential(
            nn.Conv1d(5 * c, fuse, 1, bias=False), nn.BatchNorm1d(fuse), nn.LeakyReLU(0.2)
        )
        self.head = nn.Sequential(
            nn.Linear(2 * fuse, head[0], bias=False), nn.BatchNorm1d(head[0]), nn.LeakyReLU(0.2),
            nn.Dropout(dropout),
            nn.Linear(head[0], head[1], bias=False), nn.BatchNorm1d(head[1]), nn.LeakyReLU(0.2),
            nn.Dropout(dropout),
            nn.Linear(head[1], num_classes),
        )  # fmt: skip

    def forward(self, xyz: torch.Tensor) -> torch.Tensor:
        feat = self.emb(xyz.transpose(1, 2))  # (B, E, N)
        xyz, feat = self.sg1(xyz, feat)  # (B, C1, M1)
        _, stage = self.sg2(xyz, feat)  # (B, C, M2)
        x = self.conv(stage)
        outputs = []
        for block in self.attn:
            x = block(x)
            outputs.append(x)
        x = self.fuse(torch.cat([*outputs, stage], dim=1))  # (B, F, M2)
        return self.head(torch.cat([x.max(dim=-1).values, x.mean(dim=-1)], dim=1))
