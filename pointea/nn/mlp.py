"""Point-wise Linear -> BatchNorm -> activation, the "LBR" of PCT."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from pointea.nn.pooled_batch_norm import pooled_batch_norm_act

__all__ = ["LinearBNAct"]

# In place: BatchNorm's backward needs its input, not its output.
_ACTIVATIONS = {
    "relu": lambda: nn.ReLU(inplace=True),
    "leaky_relu": lambda: nn.LeakyReLU(0.2, inplace=True),
    "none": nn.Identity,
}
_NEGATIVE_SLOPES = {"relu": 0.0, "leaky_relu": 0.2, "none": 1.0}


class LinearBNAct(nn.Module):
    """Shared per-point Linear, BatchNorm over channels, activation.

    Equivalent to PCT's 1x1 Conv1d + BatchNorm1d + act in channel-first layout, but
    applied to channels-last features of any leading shape: BatchNorm statistics are
    taken over every leading position, exactly as BatchNorm1d over (B, C, N) would.
    In eval mode BatchNorm is a fixed per-channel affine map and is folded into the
    linear layer (``(scale * W) x + (scale * b + shift)``): one pass over the output
    instead of two.

    Shapes:
        x: (*, in_channels) -> (*, out_channels)
    """

    def __init__(
        self, in_channels: int, out_channels: int, *, bias: bool = False, act: str = "relu"
    ) -> None:
        super().__init__()
        if act not in _ACTIVATIONS:
            raise ValueError(f"act must be one of {sorted(_ACTIVATIONS)}, got {act!r}")
        self.linear = nn.Linear(in_channels, out_channels, bias=bias)
        self.norm = nn.BatchNorm1d(out_channels)
        self.act = _ACTIVATIONS[act]()
        self.act_name = act

    def normalise(self, h: torch.Tensor) -> torch.Tensor:
        """BatchNorm + activation of an already-projected tensor (*, out_channels)."""
        shape = h.shape
        # The activation runs in place on BatchNorm's own output, never on a view of it.
        return self.act(self.norm(h.reshape(-1, shape[-1]))).reshape(shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.folds:
            return self.normalise(self.linear(x))
        return self.act(F.linear(x, *self.folded()))

    @property
    def folds(self) -> bool:
        """Whether BatchNorm is a fixed affine map here (eval mode with running
        statistics), so that :meth:`folded` replaces the linear layer and the norm."""
        return not self.training and self.norm.track_running_stats

    def folded(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The linear layer's (weight, bias) with eval-mode BatchNorm folded in.

        BatchNorm with running statistics is ``scale * z + shift`` per channel, so
        ``norm(W x + b) = (scale * W) x + (scale * b + shift)``.

        Shapes:
            -> weight: (out_channels, in_channels), bias: (out_channels,)
        """
        norm = self.norm
        scale = torch.rsqrt(norm.running_var + norm.eps)  # (out,)
        shift = -norm.running_mean * scale
        if norm.affine:
            scale, shift = scale * norm.weight, shift * norm.weight + norm.bias
        weight = self.linear.weight * scale.unsqueeze(1)  # (out, in)
        bias = shift if self.linear.bias is None else torch.addcmul(shift, self.linear.bias, scale)
        return weight, bias

    def normalise_max(self, h: torch.Tensor, dim: int, *, overwrite: bool = False) -> torch.Tensor:
        """``act(BN(h)).amax(dim)``, computed without normalising every element of ``h``.

        BatchNorm is a per-channel affine map ``scale * h + shift`` (statistics taken over
        every position of ``h``, as in :meth:`normalise`) and the activation is monotone,
        so the max over ``dim`` commutes with both: it is ``act(scale * max + shift)``
        where ``scale >= 0`` and ``act(scale * min + shift)`` where ``scale < 0``. Only the
        reduced tensor is normalised and activated, forward and backward.
        ``overwrite=True``: ``h`` is the caller's scratch, reused for its own gradient
        (see :func:`pooled_batch_norm_act`).

        Shapes:
            h: (*, K, ..., C) -> h with ``dim`` removed
        """

        return pooled_batch_norm_act(
            h, dim, self.norm, _NEGATIVE_SLOPES[self.act_name], overwrite=overwrite
        )
