import pytest
import torch

from pointea.nn import LinearBNAct


@pytest.mark.parametrize("act", ["relu", "leaky_relu", "none"])
def test_max_before_norm_equals_max_after_norm(act):
    """normalise_max(h) == act(BN(h)).amax(dim): outputs, gradients and running statistics."""
    torch.manual_seed(0)
    fast, slow = LinearBNAct(4, 6, act=act).double(), LinearBNAct(4, 6, act=act).double()
    with torch.no_grad():
        fast.norm.weight.copy_(torch.tensor([1.5, -0.7, 0.3, -2.0, 0.05, 1.0]))  # both signs
        fast.norm.bias.uniform_(-0.5, 0.5)
    slow.load_state_dict(fast.state_dict())
    h = torch.randn(3, 5, 7, 6, dtype=torch.float64)
    h_fast, h_slow = h.clone().requires_grad_(), h.clone().requires_grad_()
    out_fast = fast.normalise_max(h_fast, dim=2)
    out_slow = slow.normalise(h_slow).amax(dim=2)
    torch.testing.assert_close(out_fast, out_slow)
    weights = torch.randn_like(out_fast)
    (out_fast * weights).sum().backward()
    (out_slow * weights).sum().backward()
    torch.testing.assert_close(h_fast.grad, h_slow.grad)
    torch.testing.assert_close(fast.norm.weight.grad, slow.norm.weight.grad)
    torch.testing.assert_close(fast.norm.bias.grad, slow.norm.bias.grad)
    for name in ("running_mean", "running_var", "num_batches_tracked"):
        torch.testing.assert_close(getattr(fast.norm, name), getattr(slow.norm, name))
    fast.eval(), slow.eval()
    with torch.no_grad():
        torch.testing.assert_close(fast.normalise_max(h, dim=1), slow.normalise(h).amax(dim=1))


def test_rejects_unknown_activation():
    with pytest.raises(ValueError, match="act must be one of"):
        LinearBNAct(2, 2, act="gelu")


def test_no_grad_path_equals_autograd_path():
    torch.manual_seed(1)
    layer = LinearBNAct(4, 5).eval()
    with torch.no_grad():
        layer.norm.weight.copy_(torch.tensor([1.0, -1.0, 0.5, -0.2, 2.0]))
        layer.norm.running_mean.uniform_(-1, 1)
    h = torch.randn(2, 3, 8, 5)
    with torch.no_grad():
        fast = layer.normalise_max(h, dim=2)
    slow = layer.normalise_max(h.requires_grad_(), dim=2)
    torch.testing.assert_close(fast, slow.detach())
    torch.testing.assert_close(fast, layer.normalise(h.detach()).amax(dim=2))


def test_compiled_pooling_under_bf16_autocast_matches_eager():
    """The compiled statistics path (var_mean) under bf16 autocast: float32 running
    statistics, results close to eager."""
    torch.manual_seed(2)
    eager, compiled = LinearBNAct(8, 8), LinearBNAct(8, 8)
    compiled.load_state_dict(eager.state_dict())
    pooled = torch.compile(lambda layer, x: layer.normalise_max(layer.linear(x), dim=1))
    x = torch.randn(6, 5, 8)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        expected = eager.normalise_max(eager.linear(x), dim=1)
        got = pooled(compiled, x)
    torch.testing.assert_close(got.float(), expected.float(), atol=0.05, rtol=0.05)
    assert compiled.norm.running_mean.dtype == torch.float32
    torch.testing.assert_close(
        compiled.norm.running_mean, eager.norm.running_mean, atol=0.02, rtol=0.02
    )


@pytest.mark.parametrize("act", ["relu", "leaky_relu", "none"])
@pytest.mark.parametrize("bias", [False, True])
def test_eval_folds_norm_into_linear(act, bias):
    """Eval mode: act(BN(linear(x))) with running statistics, written out; gradients too."""
    torch.manual_seed(3)
    layer = LinearBNAct(5, 4, act=act, bias=bias).double()
    with torch.no_grad():
        layer.norm.weight.copy_(torch.tensor([1.5, -0.7, 0.3, 2.0]))
        layer.norm.bias.uniform_(-0.5, 0.5)
        layer.norm.running_mean.uniform_(-1, 1)
        layer.norm.running_var.uniform_(0.5, 2)
    layer.eval()
    x = torch.randn(2, 9, 5, dtype=torch.float64, requires_grad=True)
    norm, linear = layer.norm, layer.linear
    z = x @ linear.weight.T + (linear.bias if bias else 0)
    z = (z - norm.running_mean) / torch.sqrt(norm.running_var + norm.eps) * norm.weight + norm.bias
    slope = {"relu": 0.0, "leaky_relu": 0.2, "none": 1.0}[act]
    expected = torch.where(z > 0, z, slope * z)
    out = layer(x)
    torch.testing.assert_close(out, expected)
    weights = torch.randn_like(out)
    params = [x, linear.weight, norm.weight, norm.bias] + ([linear.bias] if bias else [])
    got = torch.autograd.grad((out * weights).sum(), params)
    want = torch.autograd.grad((expected * weights).sum(), params)
    for g, w in zip(got, want, strict=True):
        torch.testing.assert_close(g, w)


@pytest.mark.parametrize("act", ["relu", "leaky_relu"])
def test_overwrite_gives_the_same_gradients_and_guards_a_second_backward(act):
    """overwrite=True writes the input gradient into the pooled tensor itself: the same
    gradients (float64) as act(BN(h)).amax(dim); a retained graph's second backward
    raises autograd's in-place error instead of reading the overwritten values."""
    torch.manual_seed(3)
    fast, slow = LinearBNAct(4, 6, act=act).double(), LinearBNAct(4, 6, act=act).double()
    with torch.no_grad():
        fast.norm.weight.copy_(torch.tensor([1.5, -0.7, 0.3, -2.0, 0.05, 1.0]))
    slow.load_state_dict(fast.state_dict())
    x = torch.randn(3, 5, 7, 4, dtype=torch.float64)
    x_fast, x_slow = x.clone().requires_grad_(), x.clone().requires_grad_()
    out_fast = fast.normalise_max(fast.linear(x_fast), dim=2, overwrite=True)
    out_slow = slow.normalise(slow.linear(x_slow)).amax(dim=2)
    torch.testing.assert_close(out_fast, out_slow)
    weights = torch.randn_like(out_fast)
    (out_fast * weights).sum().backward(retain_graph=True)
    (out_slow * weights).sum().backward()
    torch.testing.assert_close(x_fast.grad, x_slow.grad)
    for a, b in zip(fast.parameters(), slow.parameters(), strict=True):
        torch.testing.assert_close(a.grad, b.grad)
    with pytest.raises(RuntimeError, match="inplace"):
        (out_fast * weights).sum().backward()


def test_overwrite_under_bf16_autocast_matches_a_fresh_gradient():
    """Under bf16 autocast the gradient is float32 and z bfloat16: no overwrite there, the
    same gradients as without the flag."""
    grads = []
    for overwrite in (False, True):
        torch.manual_seed(5)
        layer = LinearBNAct(4, 6)
        x = torch.randn(2, 5, 7, 4, requires_grad=True)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out = layer.normalise_max(layer.linear(x), dim=2, overwrite=overwrite)
        out.float().sum().backward()
        grads.append((x.grad, layer.linear.weight.grad))
    torch.testing.assert_close(grads[0], grads[1], rtol=0, atol=0)


@pytest.mark.parametrize("bias", [False, True])
def test_folded_linear_equals_linear_then_eval_batch_norm(bias):
    """folded() (the one BatchNorm fold, also used by NeighborEmbedding and the segmenter's
    head): F.linear with it equals BatchNorm1d(eval) applied to the linear's output."""
    torch.manual_seed(4)
    layer = LinearBNAct(5, 4, bias=bias).double()
    with torch.no_grad():
        layer.norm.weight.copy_(torch.tensor([1.5, -0.7, 0.3, 2.0]))
        layer.norm.bias.uniform_(-0.5, 0.5)
        layer.norm.running_mean.uniform_(-1, 1)
        layer.norm.running_var.uniform_(0.5, 2)
    layer.eval()
    assert layer.folds and not layer.train().folds
    layer.eval()
    x = torch.randn(7, 5, dtype=torch.float64)
    weight, bias_ = layer.folded()
    torch.testing.assert_close(x @ weight.T + bias_, layer.norm(layer.linear(x)))
