"""neuronet.nn.init: variances vs formulas, gains and fans vs PyTorch,
orthogonality, Dirac identity convolutions, errors."""
import math

import numpy as np
import pytest
from helpers import requires_torch, torch

import neuronet as nt
from neuronet.nn import init

LINEAR = (1000, 1000)
CONV = (256, 128, 5, 5)          # fan_in 3200, fan_out 6400, 819200 values


def _var(t):
    return float(np.var(t.numpy().astype(np.float64)))


@pytest.mark.parametrize("shape", [LINEAR, CONV], ids=["linear", "conv"])
def test_variances_match_formulas(shape):
    fan_in = shape[1] * int(np.prod(shape[2:]))
    fan_out = shape[0] * int(np.prod(shape[2:]))
    gain_relu, gain_tanh = math.sqrt(2), 5 / 3
    leaky = 2 / (1 + 0.2 ** 2)
    cases = {
        "xavier_uniform": (lambda t: init.xavier_uniform_(t, gain=gain_tanh),
                           gain_tanh ** 2 * 2 / (fan_in + fan_out)),
        "xavier_normal": (lambda t: init.xavier_normal_(t), 2 / (fan_in + fan_out)),
        "kaiming_uniform": (lambda t: init.kaiming_uniform_(t, nonlinearity="relu"),
                            gain_relu ** 2 / fan_in),
        "kaiming_normal_fan_out": (lambda t: init.kaiming_normal_(t, mode="fan_out",
                                                                  nonlinearity="relu"),
                                   2 / fan_out),
        "kaiming_leaky": (lambda t: init.kaiming_normal_(t, a=0.2), leaky / fan_in),
        "kaiming_uniform_leaky_fan_out": (lambda t: init.kaiming_uniform_(t, a=0.2, mode="fan_out"),
                                          leaky / fan_out),
        "lecun_normal": (init.lecun_normal_, 1 / fan_in),
        "lecun_uniform": (init.lecun_uniform_, 1 / fan_in),
        "uniform": (lambda t: init.uniform_(t, -0.3, 0.5), 0.8 ** 2 / 12),
        "normal": (lambda t: init.normal_(t, 1.0, 0.2), 0.04),
        # truncated at +-2 std: Var = std^2 (1 - 2 * 2 phi(2) / (2 Phi(2) - 1))
        "trunc_normal": (lambda t: init.trunc_normal_(t, 0.0, 0.5, -1.0, 1.0),
                         0.25 * (1 - 4 * math.exp(-2) / math.sqrt(2 * math.pi) / math.erf(2 / math.sqrt(2)))),
    }
    t = nt.empty(*shape, requires_grad=True)
    for name, (fn, expected) in cases.items():
        out = fn(t)
        assert out is t and t.dtype == np.float32 and t.requires_grad
        assert abs(_var(t) / expected - 1) < 0.03, (name, _var(t), expected)


def test_trunc_normal_bounds_and_mean():
    t = init.trunc_normal_(nt.empty(200, 500, dtype=nt.float64), mean=1.0, std=2.0, a=0.0, b=3.0)
    a = t.numpy()
    assert a.min() >= 0.0 and a.max() <= 3.0 and t.dtype == np.float64
    assert abs(a.mean() - 1.0 - 2.0 * (_phi(-0.5) - _phi(1.0)) / (_Phi(1.0) - _Phi(-0.5))) < 0.01
    with pytest.raises(ValueError, match="holds only"):
        init.trunc_normal_(nt.empty(3), mean=0.0, std=1.0, a=10.0, b=11.0)


def _phi(x):
    return math.exp(-x * x / 2) / math.sqrt(2 * math.pi)


def _Phi(x):
    return (1 + math.erf(x / math.sqrt(2))) / 2


def test_constant_zeros_ones_eye():
    t = nt.empty(3, 4, dtype=nt.float64)
    np.testing.assert_array_equal(init.constant_(t, 0.3).numpy(), np.full((3, 4), 0.3))
    np.testing.assert_array_equal(init.zeros_(t).numpy(), 0)
    np.testing.assert_array_equal(init.ones_(t).numpy(), 1)
    np.testing.assert_array_equal(init.eye_(t).numpy(), np.eye(3, 4))
    with pytest.raises(ValueError, match="Only tensors with 2 dimensions"):
        init.eye_(nt.empty(2, 2, 2))


def test_draws_are_seeded_by_manual_seed():
    nt.manual_seed(7)
    a = init.kaiming_uniform_(nt.empty(5, 5)).numpy().copy()
    nt.manual_seed(7)
    b = init.kaiming_uniform_(nt.empty(5, 5)).numpy()
    np.testing.assert_array_equal(a, b)
    c = init.kaiming_uniform_(nt.empty(5, 5), generator=np.random.default_rng(3)).numpy()
    bound = math.sqrt(3) * math.sqrt(2) / math.sqrt(5)   # a=0: leaky_relu gain = sqrt 2
    expected = np.random.default_rng(3).random((5, 5), dtype=np.float32) * (2 * bound) - bound
    np.testing.assert_allclose(c, expected, rtol=1e-6, atol=1e-7)   # an explicit generator is used as given


@pytest.mark.parametrize("shape", [(40, 40), (30, 70), (70, 30), (16, 8, 3, 3)])
def test_orthogonal(shape):
    t = init.orthogonal_(nt.empty(*shape, dtype=nt.float64), gain=2.0)
    w = t.numpy().reshape(shape[0], -1)
    if w.shape[0] <= w.shape[1]:
        np.testing.assert_allclose(w @ w.T, 4.0 * np.eye(w.shape[0]), atol=1e-12)
    else:
        np.testing.assert_allclose(w.T @ w, 4.0 * np.eye(w.shape[1]), atol=1e-12)
    with pytest.raises(ValueError, match="2 or more dimensions"):
        init.orthogonal_(nt.empty(4))


def _conv_same(x, w, groups):
    """Naive 'same'-padded, stride-1 convolution (cross-correlation), for the Dirac test."""
    n, c, *sp = x.shape
    k = w.shape[2:]
    pads = [(0, 0), (0, 0)] + [(kk // 2, kk // 2) for kk in k]
    xp = np.pad(x, pads)
    out_c = w.shape[0]
    cin_g, cout_g = c // groups, out_c // groups
    out = np.zeros((n, out_c, *sp))
    for o in range(out_c):
        g = o // cout_g
        for idx in np.ndindex(*k):
            win = tuple(slice(i, i + s) for i, s in zip(idx, sp))
            patch = xp[(slice(None), slice(g * cin_g, (g + 1) * cin_g)) + win]
            out[:, o] += np.einsum("nc...,c->n...", patch, w[(o, slice(None)) + idx])
    return out


@pytest.mark.parametrize("shape,groups", [((4, 4, 3, 3), 1), ((6, 4, 3, 3), 1), ((3, 5, 5), 1),
                                          ((4, 2, 3, 3), 2), ((2, 2, 3, 3, 3), 1)])
def test_dirac_is_identity_conv(shape, groups):
    w = init.dirac_(nt.empty(*shape, dtype=nt.float64), groups=groups).numpy()
    r = np.random.default_rng(0)
    c_in = shape[1] * groups
    x = r.standard_normal((2, c_in) + (5,) * (len(shape) - 2))
    y = _conv_same(x, w, groups)
    out_g, in_g = shape[0] // groups, shape[1]
    for o in range(shape[0]):
        g, d = divmod(o, out_g)
        if d < in_g:
            np.testing.assert_allclose(y[:, o], x[:, g * in_g + d])
        else:
            np.testing.assert_array_equal(y[:, o], 0)
    with pytest.raises(ValueError, match="3, 4, or 5 dimensions"):
        init.dirac_(nt.empty(3, 3))
    with pytest.raises(ValueError, match="divisible by groups"):
        init.dirac_(nt.empty(5, 2, 3, 3), groups=2)


@requires_torch
def test_gains_match_torch():
    names = ["linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
             "conv_transpose3d", "sigmoid", "tanh", "relu", "selu"]
    for n in names:
        assert init.calculate_gain(n) == pytest.approx(torch.nn.init.calculate_gain(n), rel=1e-15), n
    for p in [None, 0.2, 1, 0.0, math.sqrt(5)]:
        assert init.calculate_gain("leaky_relu", p) == pytest.approx(
            torch.nn.init.calculate_gain("leaky_relu", p), rel=1e-15)


@requires_torch
@pytest.mark.parametrize("shape", [(10, 7), (32, 16, 3, 3), (8, 4, 5), (6, 2, 3, 3, 3), (5, 1, 1, 1)])
def test_fans_match_torch(shape):
    t = nt.empty(*shape)
    tt = torch.empty(*shape)
    assert init._calculate_fan_in_and_fan_out(t) == torch.nn.init._calculate_fan_in_and_fan_out(tt)
    for mode in ["fan_in", "fan_out", "FAN_IN"]:
        assert init._calculate_correct_fan(t, mode) == torch.nn.init._calculate_correct_fan(tt, mode)


def test_errors():
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.xavier_uniform_(nt.empty(5))
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.kaiming_normal_(nt.empty(5))
    with pytest.raises(ValueError, match="Unsupported nonlinearity 'swish'"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError, match="Unsupported nonlinearity"):
        init.kaiming_uniform_(nt.empty(3, 3), nonlinearity="gelu")
    with pytest.raises(ValueError, match="not a valid number"):
        init.calculate_gain("leaky_relu", True)
    with pytest.raises(ValueError, match="Mode 'fan_avg' not supported"):
        init.kaiming_uniform_(nt.empty(3, 3), mode="fan_avg")
    with pytest.raises(TypeError, match="expected a neuronet Tensor"):
        init.normal_(np.zeros(3))
    with pytest.raises(TypeError, match="floating-point"):
        init.zeros_(nt.zeros(3, dtype=nt.int64))
    with pytest.warns(UserWarning, match="zero-element"):
        init.kaiming_uniform_(nt.empty(0, 3))
