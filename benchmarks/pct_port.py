"""A straightforward pure-torch port of PCT classification (the structure of the common public port:
channel-first Conv1d + BatchNorm, iterative FPS, cdist + topk kNN), with offset or external attention.
It is the baseline that pointea's speed is measured against, side by side in one run:
    python pct_port.py --attn ea --n 1024 --b 16 --iters 3   ->  one JSON line (step_s, fwd_nograd_s, peak_rss_mb, ...)
Import `PCT`, `fps`, `knn` from it to time it in-process next to pointea's model."""

import argparse
import json
import resource
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

TIMERS = {"fps": 0.0, "knn": 0.0}


def _t(key, fn, *a):
    t0 = time.perf_counter()
    out = fn(*a)
    TIMERS[key] += time.perf_counter() - t0
    return out


def fps(xyz, m):
    """Iterative farthest point sampling. xyz: B,N,3 -> idx B,m"""
    B, N, _ = xyz.shape
    idx = torch.zeros(B, m, dtype=torch.long)
    dist = torch.full((B, N), float("inf"))
    far = torch.zeros(B, dtype=torch.long)  # deterministic start
    ar = torch.arange(B)
    for i in range(m):
        idx[:, i] = far
        c = xyz[ar, far].unsqueeze(1)
        dist = torch.minimum(dist, ((xyz - c) ** 2).sum(-1))
        far = dist.argmax(-1)
    return idx


def knn(query, ref, k):
    """query B,M,3, ref B,N,3 -> idx B,M,k"""
    d = torch.cdist(query, ref)
    return d.topk(k, dim=-1, largest=False).indices


def gather(x, idx):
    """x B,N,C ; idx B,M or B,M,k"""
    B = x.shape[0]
    flat = idx.reshape(B, -1)
    out = torch.gather(x, 1, flat.unsqueeze(-1).expand(-1, -1, x.shape[-1]))
    return out.reshape(*idx.shape, x.shape[-1])


class SG(nn.Module):
    """Sample-and-group neighbor embedding (PCT)."""

    def __init__(self, cin, cout, m, k=32):
        super().__init__()
        self.m, self.k = m, k
        self.c1 = nn.Conv1d(2 * cin, cout, 1, bias=False)
        self.b1 = nn.BatchNorm1d(cout)
        self.c2 = nn.Conv1d(cout, cout, 1, bias=False)
        self.b2 = nn.BatchNorm1d(cout)

    def forward(self, xyz, feat):  # feat B,N,C
        with torch.no_grad():
            fidx = _t("fps", fps, xyz, self.m)
            new_xyz = gather(xyz, fidx)
            nidx = _t("knn", knn, new_xyz, xyz, self.k)
        center = gather(feat, fidx)  # B,M,C
        grouped = gather(feat, nidx)  # B,M,k,C
        x = torch.cat([grouped - center.unsqueeze(2), center.unsqueeze(2).expand_as(grouped)], -1)
        B, M, K, C2 = x.shape
        x = x.permute(0, 1, 3, 2).reshape(B * M, C2, K)
        x = F.relu(self.b1(self.c1(x)))
        x = F.relu(self.b2(self.c2(x)))
        x = x.max(-1).values.reshape(B, M, -1)
        return new_xyz, x


class OA(nn.Module):
    """PCT offset-attention, N x N map."""

    def __init__(self, c):
        super().__init__()
        self.q = nn.Conv1d(c, c // 4, 1, bias=False)
        self.k = nn.Conv1d(c, c // 4, 1, bias=False)
        self.q.weight = self.k.weight
        self.v = nn.Conv1d(c, c, 1)
        self.t = nn.Conv1d(c, c, 1)
        self.bn = nn.BatchNorm1d(c)

    def forward(self, x):  # B,C,N
        q = self.q(x).permute(0, 2, 1)
        k = self.k(x)
        v = self.v(x)
        e = torch.bmm(q, k)
        a = e.softmax(-1)
        a = a / (1e-9 + a.sum(1, keepdim=True))
        r = torch.bmm(v, a)
        r = F.relu(self.bn(self.t(x - r)))
        return x + r


class EA(nn.Module):
    """External attention (S=64 memory units) with PCT offset/residual path."""

    def __init__(self, c, s=64):
        super().__init__()
        self.mk = nn.Linear(c, s, bias=False)
        self.mv = nn.Linear(s, c, bias=False)
        self.t = nn.Conv1d(c, c, 1)
        self.bn = nn.BatchNorm1d(c)

    def forward(self, x):  # B,C,N
        h = x.transpose(1, 2)  # B,N,C
        a = self.mk(h).softmax(dim=1)  # softmax over points
        a = a / (1e-9 + a.sum(-1, keepdim=True))  # L1 over S
        r = self.mv(a).transpose(1, 2)  # B,C,N
        r = F.relu(self.bn(self.t(x - r)))
        return x + r


class PCT(nn.Module):
    def __init__(self, attn="oa", m1=512, m2=256, ncls=40):
        super().__init__()
        self.emb = nn.Sequential(
            nn.Conv1d(3, 64, 1, bias=False),
            nn.BatchNorm1d(64),
            nn.ReLU(),
            nn.Conv1d(64, 64, 1, bias=False),
            nn.BatchNorm1d(64),
            nn.ReLU(),
        )
        self.sg1 = SG(64, 128, m1)
        self.sg2 = SG(128, 256, m2)
        self.conv = nn.Sequential(
            nn.Conv1d(256, 256, 1, bias=False), nn.BatchNorm1d(256), nn.ReLU()
        )
        A = OA if attn == "oa" else EA
        self.attn = nn.ModuleList([A(256) for _ in range(4)])
        self.fuse = nn.Sequential(
            nn.Conv1d(1024 + 256, 1024, 1, bias=False), nn.BatchNorm1d(1024), nn.LeakyReLU(0.2)
        )
        self.head = nn.Sequential(
            nn.Linear(2048, 512, bias=False),
            nn.BatchNorm1d(512),
            nn.LeakyReLU(0.2),
            nn.Dropout(0.5),
            nn.Linear(512, 256, bias=False),
            nn.BatchNorm1d(256),
            nn.LeakyReLU(0.2),
            nn.Dropout(0.5),
            nn.Linear(256, ncls),
        )

    def forward(self, xyz):  # B,N,3
        f = self.emb(xyz.transpose(1, 2)).transpose(1, 2)
        xyz, f = self.sg1(xyz, f)
        xyz, f = self.sg2(xyz, f)
        x = self.conv(f.transpose(1, 2))
        feats = []
        for a in self.attn:
            x = a(x)
            feats.append(x)
        x = self.fuse(torch.cat(feats + [f.transpose(1, 2)], 1))
        x = torch.cat([x.max(-1).values, x.mean(-1)], 1)
        return self.head(x)


def maxrss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--attn", default="oa")
    p.add_argument("--n", type=int, default=1024)
    p.add_argument("--b", type=int, default=16)
    p.add_argument("--iters", type=int, default=3)
    p.add_argument("--compile", action="store_true")
    p.add_argument("--compile-full", action="store_true")
    p.add_argument("--m1", type=int, default=512)
    p.add_argument("--m2", type=int, default=256)
    a = p.parse_args()
    torch.manual_seed(0)
    m = PCT(a.attn, a.m1, a.m2)
    opt = torch.optim.SGD(m.parameters(), lr=0.01)
    step_model = m
    if a.compile:
        # compile only the dense parts (attention stack); FPS loop stays eager
        for i, blk in enumerate(m.attn):
            m.attn[i] = torch.compile(blk)
    if a.compile_full:
        global fps, knn
        fps = torch.compiler.disable(fps)
        knn = torch.compiler.disable(knn)
        step_model = torch.compile(m)
    x = torch.randn(a.b, a.n, 3)
    y = torch.randint(0, 40, (a.b,))
    rss0 = maxrss_mb()

    def step():
        opt.zero_grad(set_to_none=True)
        out = step_model(x)
        loss = F.cross_entropy(out, y)
        loss.backward()
        opt.step()

    t0 = time.perf_counter()
    step()
    warm = time.perf_counter() - t0  # warmup (compile happens here)
    TIMERS["fps"] = TIMERS["knn"] = 0.0
    t0 = time.perf_counter()
    for _ in range(a.iters):
        step()
    dt = (time.perf_counter() - t0) / a.iters
    # forward-only timing (no grad) for reference
    m.eval()
    with torch.no_grad():
        t1 = time.perf_counter()
        step_model(x)
        fwd = time.perf_counter() - t1
    # standalone fps/knn timings on raw input
    xyz = torch.randn(a.b, a.n, 3)
    t2 = time.perf_counter()
    i1 = fps(xyz, a.m1)
    nx = gather(xyz, i1)
    knn(nx, xyz, 32)
    i2 = fps(nx, a.m2)
    knn(gather(nx, i2), nx, 32)
    sa = time.perf_counter() - t2
    res = dict(
        attn=a.attn
        + ("+compile(attn)" if a.compile else "")
        + ("+compile(full)" if a.compile_full else ""),
        n=a.n,
        m1=a.m1,
        m2=a.m2,
        b=a.b,
        threads=torch.get_num_threads(),
        warmup_s=round(warm, 2),
        step_s=round(dt, 3),
        fwd_nograd_s=round(fwd, 3),
        fps_in_step_s=round(TIMERS["fps"] / a.iters, 3),
        knn_in_step_s=round(TIMERS["knn"] / a.iters, 3),
        fps_knn_standalone_s=round(sa, 3),
        peak_rss_mb=round(maxrss_mb()),
        rss_before_mb=round(rss0),
        params_M=round(sum(p.numel() for p in m.parameters()) / 1e6, 2),
    )
    print(json.dumps(res))


if __name__ == "__main__":
    main()
