"""Load weights of the common public PCT port (channel-first Conv1d layout) into pointea.

The port (``shared/baselines/pct_port.py`` is one such) names its classifier's layers
``emb``, ``sg1``/``sg2`` (``c1``, ``b1``, ``c2``, ``b2``), ``conv``, ``attn.i`` (external:
``mk``, ``mv``, ``t``, ``bn``; offset: ``q``, ``k``, ``v``, ``t``, ``bn``), ``fuse`` and
``head``; 1x1 Conv1d weights (C_out, C_in, 1) become Linear weights (C_out, C_in).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import torch

__all__ = ["convert_pct_port_state_dict"]

_LBR = r"(weight|bias|running_mean|running_var|num_batches_tracked)"
_RULES = [
    (r"^emb\.([03])\.weight$", lambda m: f"embed.{int(m[1]) // 3}.linear.weight"),
    (rf"^emb\.([14])\.{_LBR}$", lambda m: f"embed.{int(m[1]) // 3}.norm.{m[2]}"),
    (r"^sg([12])\.c([12])\.weight$", lambda m: f"stage{m[1]}.{_NTH[m[2]]}.linear.weight"),
    (rf"^sg([12])\.b([12])\.{_LBR}$", lambda m: f"stage{m[1]}.{_NTH[m[2]]}.norm.{m[3]}"),
    (r"^conv\.0\.weight$", lambda m: "pre_attention.linear.weight"),
    (rf"^conv\.1\.{_LBR}$", lambda m: f"pre_attention.norm.{m[1]}"),
    (r"^attn\.(\d+)\.mk\.weight$", lambda m: f"attention.blocks.{m[1]}.mixer.memory_key.weight"),
    (r"^attn\.(\d+)\.mv\.weight$", lambda m: f"attention.blocks.{m[1]}.mixer.memory_value.weight"),
    (r"^attn\.(\d+)\.q\.weight$", lambda m: f"attention.blocks.{m[1]}.mixer.query_key.weight"),
    (r"^attn\.(\d+)\.k\.weight$", None),  # the same tensor as q (PCT shares them)
    (r"^attn\.(\d+)\.v\.(weight|bias)$", lambda m: f"attention.blocks.{m[1]}.mixer.value.{m[2]}"),
    (r"^attn\.(\d+)\.t\.(weight|bias)$", lambda m: f"attention.blocks.{m[1]}.offset.linear.{m[2]}"),
    (rf"^attn\.(\d+)\.bn\.{_LBR}$", lambda m: f"attention.blocks.{m[1]}.offset.norm.{m[2]}"),
    (r"^fuse\.0\.weight$", lambda m: "fuse.linear.weight"),
    (rf"^fuse\.1\.{_LBR}$", lambda m: f"fuse.norm.{m[1]}"),
    (r"^head\.([04])\.weight$", lambda m: f"head.{int(m[1]) // 2}.linear.weight"),
    (rf"^head\.([15])\.{_LBR}$", lambda m: f"head.{(int(m[1]) - 1) // 2}.norm.{m[2]}"),
    (r"^head\.8\.(weight|bias)$", lambda m: f"head.4.{m[1]}"),
]
_NTH = {"1": "first", "2": "second"}


def convert_pct_port_state_dict(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename and reshape a port classifier's state dict for :class:`PointTransformerCls`.

    The result loads with ``strict=True`` into a ``PointTransformerCls`` of the same sizes
    and attention (``ExternalAttention`` for the port's ``ea``, ``OffsetAttention`` for
    ``oa``): both kinds sit in the same ``OffsetBlock``, so only the mixer's names differ.
    """
    converted = {}
    for key, value in state_dict.items():
        name = _new_name(key)
        if name is None:
            continue
        if value.dim() == 3 and value.shape[-1] == 1:  # 1x1 Conv1d -> Linear
            value = value.squeeze(-1)
        converted[name] = value
    return converted


def _new_name(key: str) -> str | None:
    """pointea's name for a port key; None for keys that duplicate another one."""
    for pattern, rename in _RULES:
        match = re.match(pattern, key)
        if match:
            return rename(match) if rename else None
    raise KeyError(f"{key!r} is not a parameter of the PCT port's classifier")
