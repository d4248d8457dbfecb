"""AttentionStack checks the Mixer contract once, naming the class that fails it."""

import pytest
import torch
from torch import nn

from pointea.models import AttentionStack, Mixer, MixerError


class TakesOnlyX(nn.Module):
    def forward(self, x):
        return x


class TakesXPosAndMore(nn.Module):
    def forward(self, x, pos, mask):
        return x


class NotAModule:
    def __init__(self, channels):
        self.channels = channels

    def forward(self, x, pos):
        return x


class Scale(nn.Module):
    """A valid mixer with an optional third argument: forward(x, pos) still binds."""

    def __init__(self, channels):
        super().__init__()
        self.weight = nn.Parameter(torch.full((channels,), 2.0))

    def forward(self, x, pos, scale=1.0):
        return x * self.weight * scale


@pytest.mark.parametrize(
    ("factory", "message"),
    [
        (lambda c: TakesOnlyX(), r"TakesOnlyX\.forward cannot be called as forward\(x, pos\)"),
        (lambda c: TakesXPosAndMore(), r"TakesXPosAndMore\.forward cannot be called as"),
        (NotAModule, r"built a .*NotAModule, not an nn\.Module"),
    ],
    ids=["too few arguments", "a required third argument", "not a module"],
)
def test_a_factory_that_builds_no_mixer_is_named(factory, message):
    with pytest.raises(MixerError, match=message):
        AttentionStack(4, num_blocks=2, attention=factory)


def test_a_mixer_meeting_the_contract_is_stacked():
    stack = AttentionStack(3, num_blocks=2, attention=Scale).eval()
    assert isinstance(stack.blocks[0].mixer, Mixer)
    x, pos = torch.randn(2, 5, 3), torch.rand(2, 5, 3)
    out = stack(x, pos)
    assert out.shape == (2, 5, 6)
    # block: x + offset(x - 2x) = x + offset(-x); the stack concatenates both blocks' outputs
    first = x + stack.blocks[0].offset(-x)
    torch.testing.assert_close(out[..., :3], first)
