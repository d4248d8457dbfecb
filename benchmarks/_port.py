"""The baseline, a straightforward PCT port (``pct_port.py`` beside this file), loaded for
side-by-side measurements."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import torch

from pointea.models import PointTransformerCls
from pointea.models.pct_port_conversion import convert_pct_port_state_dict

PORT_FILE = Path(__file__).resolve().parent / "pct_port.py"


def load_port_module():
    spec = importlib.util.spec_from_file_location("pct_port", PORT_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def port_and_pointea(num_samples=(512, 256), num_classes=40, seed=0):
    """The port (external attention) and pointea's classifier holding the same weights."""
    port = load_port_module()
    torch.manual_seed(seed)
    reference = port.PCT("ea", m1=num_samples[0], m2=num_samples[1], ncls=num_classes)
    model = PointTransformerCls(num_classes, num_samples=tuple(num_samples))  # external attention
    model.load_state_dict(convert_pct_port_state_dict(reference.state_dict()), strict=True)
    return port, reference, model


def best_seconds(fn, repeats: int) -> float:
    """The fastest of ``repeats`` calls, waiting for queued GPU work to finish."""
    import time

    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return min(times)


def port_style_segmenter(port, model):
    """A straightforward channel-first part segmenter in the port's style (its kNN, gather,
    concatenated grouping, Conv1d + BatchNorm, its EA block), holding ``model``'s weights.

    ``model`` is a :class:`pointea.models.PointTransformerSeg` with external attention.
    """
    from torch import nn
    from torch.nn import functional as F

    def conv_bn(lbr, act):
        conv = nn.Conv1d(
            lbr.linear.in_features, lbr.linear.out_features, 1, bias=lbr.linear.bias is not None
        )
        conv.weight.data = lbr.linear.weight.data.unsqueeze(-1).clone()
        if lbr.linear.bias is not None:
            conv.bias.data = lbr.linear.bias.data.clone()
        norm = nn.BatchNorm1d(lbr.linear.out_features)
        norm.load_state_dict(lbr.norm.state_dict())
        return nn.Sequential(conv, norm, act)

    class PortSeg(nn.Module):
        def __init__(self):
            super().__init__()
            self.k, self.num_categories = model.local.k, model.num_categories
            self.emb = nn.Sequential(
                conv_bn(model.embed[0], nn.ReLU()), conv_bn(model.embed[1], nn.ReLU())
            )
            self.local1 = conv_bn(model.local.first, nn.ReLU())
            self.local2 = conv_bn(model.local.second, nn.ReLU())
            self.attn = nn.ModuleList()
            for block in model.attention.blocks:
                ea = port.EA(block.offset.linear.in_features, block.mixer.memory_key.out_features)
                ea.mk.load_state_dict(block.mixer.memory_key.state_dict())
                ea.mv.load_state_dict(block.mixer.memory_value.state_dict())
                ea.t.weight.data = block.offset.linear.weight.data.unsqueeze(-1).clone()
                ea.t.bias.data = block.offset.linear.bias.data.clone()
                ea.bn.load_state_dict(block.offset.norm.state_dict())
                self.attn.append(ea)
            self.fuse = conv_bn(model.fuse, nn.LeakyReLU(0.2))
            self.label = conv_bn(model.category_embed, nn.LeakyReLU(0.2))
            self.head = nn.Sequential(
                conv_bn(model.head[0], nn.ReLU()), nn.Dropout(0.5), conv_bn(model.head[2], nn.ReLU()),
                nn.Conv1d(model.head[3].in_features, model.head[3].out_features, 1),
            )  # fmt: skip
            self.head[3].weight.data = model.head[3].weight.data.unsqueeze(-1).clone()
            self.head[3].bias.data = model.head[3].bias.data.clone()

        def forward(self, xyz, category):  # xyz B,N,3
            feat = self.emb(xyz.transpose(1, 2)).transpose(1, 2)  # B,N,C
            with torch.no_grad():
                idx = port.knn(xyz, xyz, self.k)
            grouped = port.gather(feat, idx)  # B,N,K,C
            centre = feat.unsqueeze(2).expand_as(grouped)
            x = torch.cat([grouped - centre, centre], -1)
            batch, n, k, c2 = x.shape
            x = x.permute(0, 1, 3, 2).reshape(batch * n, c2, k)
            x = self.local2(self.local1(x)).max(-1).values.reshape(batch, n, -1).transpose(1, 2)
            feats = []
            for block in self.attn:
                x = block(x)
                feats.append(x)
            x = self.fuse(torch.cat(feats, 1))  # B,1024,N
            one_hot = F.one_hot(category, self.num_categories).float().unsqueeze(-1)
            shape_code = torch.cat(
                [x.max(-1).values, x.mean(-1), self.label(one_hot).squeeze(-1)], 1
            )
            x = torch.cat([x, shape_code.unsqueeze(-1).expand(-1, -1, n)], 1)
            return self.head(x).transpose(1, 2)  # B,N,parts

    return PortSeg()
