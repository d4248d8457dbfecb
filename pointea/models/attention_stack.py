"""The stack of attention blocks shared by the classification and segmentation networks,
and the contract every attention kind (token mixer) meets."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Protocol, runtime_checkable

import torch
from torch import nn

from pointea.nn import OffsetBlock

__all__ = ["AttentionStack", "Mixer", "MixerError", "MixerFactory", "check_mixer"]


@runtime_checkable
class Mixer(Protocol):
    """What an attention kind builds: a token mixer that :class:`AttentionStack` places
    inside each :class:`~pointea.nn.OffsetBlock`.

    B batch, N points, C channels. A mixer is an ``nn.Module`` built for ``C`` channels
    (``factory(C)``) whose ``forward`` takes the features and the points they sit at and
    returns new features of the same shape. It may ignore ``pos`` (external attention) or
    use it to find neighbours (local self-attention). A new kind is a class meeting this
    contract plus a config ``model/attention/NAME.yaml`` whose ``_target_`` names it with
    ``_partial_: true``; :func:`check_mixer` checks the contract once, when the stack is
    built.

    Shapes:
        x: (B, N, C); pos: (B, N, 3) -> (B, N, C)
    """

    def forward(self, x: torch.Tensor, pos: torch.Tensor) -> torch.Tensor: ...


# Builds one mixer for C channels: a layer class such as ``ExternalAttention`` or a partial
# of one carrying its options (what the ``model/attention`` config group builds).
MixerFactory = Callable[[int], Mixer]


class MixerError(TypeError):
    """An attention kind's layer does not meet the :class:`Mixer` contract."""


def check_mixer(mixer: object) -> None:
    """Check that ``mixer`` meets the :class:`Mixer` contract: an ``nn.Module`` whose
    ``forward`` can be called as ``forward(x, pos)``.

    Raises:
        MixerError: naming the class and what it lacks.
    """
    name = f"{type(mixer).__module__}.{type(mixer).__qualname__}"
    if not isinstance(mixer, nn.Module):
        raise MixerError(
            f"the attention factory built a {name}, not an nn.Module: a mixer is an "
            "nn.Module with forward(x (B, N, C), pos (B, N, 3)) -> (B, N, C)"
        )
    try:
        inspect.signature(mixer.forward).bind(torch.empty(0), torch.empty(0))
    except TypeError as err:
        raise MixerError(
            f"{name}.forward cannot be called as forward(x, pos) ({err}): a mixer's forward "
            "takes the features x (B, N, C) and the points pos (B, N, 3)"
        ) from None


class AttentionStack(nn.Module):
    """``num_blocks`` PCT blocks in sequence; returns every block's output, concatenated.

    B batch, N points, C channels. Every block is an :class:`OffsetBlock` around a mixer
    made by ``attention(channels)`` (see :class:`Mixer`).

    Shapes:
        x: (B, N, C); pos: (B, N, 3) -> (B, N, num_blocks * C)

    Raises:
        MixerError: ``attention`` builds something that is not a :class:`Mixer`.
    """

    def __init__(self, channels: int, num_blocks: int = 4, *, attention: MixerFactory) -> None:
        super().__init__()
        self.blocks = nn.ModuleList()
        for _ in range(num_blocks):  # mixer, then offset path: the parameters' init order
            mixer = attention(channels)
            if not self.blocks:
                check_mixer(mixer)  # every block's mixer comes from the same factory
            self.blocks.append(OffsetBlock(mixer, channels))

    def forward(self, x: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
        outputs = []
        for block in self.blocks:
            x = block(x, pos)
            outputs.append(x)
        return torch.cat(outputs, dim=-1)  # (B, N, num_blocks * C)
