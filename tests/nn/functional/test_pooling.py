"""Pooling: gradcheck, naive loop references, PyTorch, errors, dtypes."""
import itertools
import math

import numpy as np
import pytest

import neuronet as nt
import neuronet.nn.functional as F
from helpers import channel_major_tensor, check_grad, compare_with_torch, requires_torch, torch

TF = torch.nn.functional if torch is not None else None


# ----------------------------------------------------------- naive references
# Straight from the definitions: one window at a time, loops over every pixel.

def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def _out_len(L, k, s, p, d, ceil_mode):
    span = d * (k - 1) + 1
    out = (math.ceil if ceil_mode else math.floor)((L + 2 * p - span) / s) + 1
    if ceil_mode and (out - 1) * s >= L + p:
        out -= 1
    return out


def naive_max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """(out, flat indices): the first maximum of each window, NaN beats all."""
    (kH, kW), (pH, pW), (dH, dW) = _pair(kernel_size), _pair(padding), _pair(dilation)
    sH, sW = _pair(stride if stride is not None else kernel_size)
    N, C, H, W = x.shape
    Ho, Wo = _out_len(H, kH, sH, pH, dH, ceil_mode), _out_len(W, kW, sW, pW, dW, ceil_mode)
    out = np.empty((N, C, Ho, Wo), x.dtype)
    idx = np.empty((N, C, Ho, Wo), np.int64)
    for n, c, i, j in itertools.product(range(N), range(C), range(Ho), range(Wo)):
        best, arg = -np.inf, None
        for a, b in itertools.product(range(kH), range(kW)):
            h, w = i * sH - pH + a * dH, j * sW - pW + b * dW
            if not (0 <= h < H and 0 <= w < W):
                continue                       # padding: -inf, never the max
            if arg is None:
                arg = h * W + w
            v = x[n, c, h, w]
            if v > best or np.isnan(v):
                best, arg = v, h * W + w
        out[n, c, i, j], idx[n, c, i, j] = best, arg
    return out, idx


def naive_max_pool2d_backward(g, idx, x_shape):
    """Route each dE/dy to its window's argmax; overlapping windows add up."""
    gx = np.zeros(x_shape, g.dtype)
    N, C, Ho, Wo = g.shape
    W = x_shape[3]
    for n, c, i, j in itertools.product(range(N), range(C), range(Ho), range(Wo)):
        h, w = divmod(int(idx[n, c, i, j]), W)
        gx[n, c, h, w] += g[n, c, i, j]
    return gx


def _avg_windows(x_shape, kernel_size, stride, padding, ceil_mode, count_include_pad,
                 divisor_override):
    """For each output (n, c, i, j): the in-input positions and the divisor."""
    (kH, kW), (pH, pW) = _pair(kernel_size), _pair(padding)
    sH, sW = _pair(stride if stride is not None else kernel_size)
    N, C, H, W = x_shape
    Ho, Wo = _out_len(H, kH, sH, pH, 1, ceil_mode), _out_len(W, kW, sW, pW, 1, ceil_mode)
    for i, j in itertools.product(range(Ho), range(Wo)):
        h0, w0 = i * sH - pH, j * sW - pW
        h1, w1 = min(h0 + kH, H + pH), min(w0 + kW, W + pW)
        pos = [(h, w) for h in range(max(h0, 0), min(h1, H)) for w in range(max(w0, 0), min(w1, W))]
        if divisor_override:
            div = divisor_override
        elif count_include_pad:
            div = (h1 - h0) * (w1 - w0)
        else:
            div = len(pos)
        yield (Ho, Wo), i, j, pos, div


def naive_avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False,
                     count_include_pad=True, divisor_override=None):
    out = None
    for (Ho, Wo), i, j, pos, div in _avg_windows(x.shape, kernel_size, stride, padding, ceil_mode,
                                                 count_include_pad, divisor_override):
        if out is None:
            out = np.zeros(x.shape[:2] + (Ho, Wo), x.dtype)
        for h, w in pos:
            out[:, :, i, j] += x[:, :, h, w]
        out[:, :, i, j] /= div
    return out


def naive_avg_pool2d_backward(g, x_shape, kernel_size, stride=None, padding=0, ceil_mode=False,
                              count_include_pad=True, divisor_override=None):
    gx = np.zeros(x_shape, g.dtype)
    for _, i, j, pos, div in _avg_windows(x_shape, kernel_size, stride, padding, ceil_mode,
                                          count_include_pad, divisor_override):
        for h, w in pos:
            gx[:, :, h, w] += g[:, :, i, j] / div
    return gx


def _bins(L, out):
    return [(i * L // out, -(-(i + 1) * L // out)) for i in range(out)]


def naive_adaptive_max_pool2d(x, out_hw):
    N, C, H, W = x.shape
    bh, bw = _bins(H, out_hw[0]), _bins(W, out_hw[1])
    out = np.empty((N, C) + tuple(out_hw), x.dtype)
    idx = np.empty((N, C) + tuple(out_hw), np.int64)
    for n, c, i, j in itertools.product(range(N), range(C), range(out_hw[0]), range(out_hw[1])):
        best, arg = -np.inf, bh[i][0] * W + bw[j][0]
        for h in range(*bh[i]):
            for w in range(*bw[j]):
                if x[n, c, h, w] > best or np.isnan(x[n, c, h, w]):
                    best, arg = x[n, c, h, w], h * W + w
        out[n, c, i, j], idx[n, c, i, j] = best, arg
    return out, idx


def naive_adaptive_avg_pool2d(x, out_hw):
    N, C, H, W = x.shape
    bh, bw = _bins(H, out_hw[0]), _bins(W, out_hw[1])
    out = np.empty((N, C) + tuple(out_hw), x.dtype)
    for i, j in itertools.product(range(out_hw[0]), range(out_hw[1])):
        (h0, h1), (w0, w1) = bh[i], bw[j]
        out[:, :, i, j] = x[:, :, h0:h1, w0:w1].sum(axis=(2, 3)) / ((h1 - h0) * (w1 - w0))
    return out


def naive_adaptive_avg_pool2d_backward(g, x_shape):
    gx = np.zeros(x_shape, g.dtype)
    bh, bw = _bins(x_shape[2], g.shape[2]), _bins(x_shape[3], g.shape[3])
    for i, j in itertools.product(range(g.shape[2]), range(g.shape[3])):
        (h0, h1), (w0, w1) = bh[i], bw[j]
        gx[:, :, h0:h1, w0:w1] += (g[:, :, i, j] / ((h1 - h0) * (w1 - w0)))[:, :, None, None]
    return gx


def naive_max_unpool2d(x, idx, out_hw):
    N, C = x.shape[:2]
    y = np.zeros((N, C) + tuple(out_hw), x.dtype)
    for n, c in itertools.product(range(N), range(C)):
        for v, k in zip(x[n, c].ravel(), idx[n, c].ravel()):
            y[n, c].flat[k] = v
    return y


# ------------------------------------------------------------------- helpers
def distinct(*shape, seed=0):
    """Values without ties (a shuffled ramp, gaps of 0.1 >> gradcheck's eps)."""
    r = np.random.default_rng(seed)
    return (r.permutation(int(np.prod(shape))).reshape(shape) * 0.1 - 3.0).astype(np.float64)


def run(fn, x, g, *args, **kw):
    """Forward and backward of a neuronet op; returns (out arrays, dE/dx)."""
    t = nt.tensor(x, requires_grad=True)
    res = fn(t, *args, **kw)
    out = res[0] if isinstance(res, tuple) else res
    (out * nt.tensor(g)).sum().backward()
    arrays = tuple(r.numpy() for r in res) if isinstance(res, tuple) else out.numpy()
    return arrays, t.grad.numpy()


MAX_GRID = [
    dict(kernel_size=2),                                          # tiled fast path
    dict(kernel_size=2, stride=1),                                # overlapping
    dict(kernel_size=3, stride=2, padding=1),                     # AlexNet/ResNet style
    dict(kernel_size=3, stride=2, ceil_mode=True),                # ceil overhang
    dict(kernel_size=(3, 2), stride=(2, 1), padding=(1, 0)),      # non-square
    dict(kernel_size=2, stride=2, padding=1, dilation=2),         # dilation
    dict(kernel_size=3, stride=3, padding=1, ceil_mode=True),     # padding + ceil
    dict(kernel_size=2, stride=2, ceil_mode=True),                # odd size, ceil
    dict(kernel_size=(1, 3), stride=(1, 3)),                      # tiled, odd size (floor)
]

AVG_GRID = [
    dict(kernel_size=2),
    dict(kernel_size=2, stride=1),
    dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=3, stride=2, padding=1, count_include_pad=False),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
    dict(kernel_size=2, stride=2, ceil_mode=True),
    dict(kernel_size=(3, 2), stride=(1, 2), padding=(1, 1), divisor_override=5),
    dict(kernel_size=4, stride=3, padding=2, ceil_mode=True),
]

ADAPTIVE_SIZES = [(3, 2), 1, (4, None), (5, 7), (2, 3)]


# ----------------------------------------------------------------- gradcheck
@pytest.mark.parametrize("kw", MAX_GRID)
def test_max_pool2d_gradcheck(kw):
    check_grad(lambda t: F.max_pool2d(t, **kw), distinct(1, 2, 5, 6))


@pytest.mark.parametrize("kw", AVG_GRID)
def test_avg_pool2d_gradcheck(kw):
    check_grad(lambda t: F.avg_pool2d(t, **kw), distinct(1, 2, 5, 6))


@pytest.mark.parametrize("size", ADAPTIVE_SIZES)
def test_adaptive_pools_gradcheck(size):
    x = distinct(1, 2, 6, 7)
    check_grad(lambda t: F.adaptive_avg_pool2d(t, size), x)
    check_grad(lambda t: F.adaptive_max_pool2d(t, size), x)


def test_max_unpool2d_gradcheck():
    x = distinct(2, 2, 6, 5)
    _, idx = F.max_pool2d(nt.tensor(x), 2, return_indices=True)
    check_grad(lambda t: F.max_unpool2d(t, idx, 2, output_size=(6, 5)), distinct(2, 2, 3, 2, seed=1))


def test_max_pool_then_unpool_gradcheck():
    # Non-overlapping windows (with padding), so no index repeats: with
    # repeats the scatter keeps one value but the gather (as PyTorch's)
    # returns the gradient to every copy.
    def segnet_step(t):
        y, idx = F.max_pool2d(t, 2, 2, 1, return_indices=True)
        return F.max_unpool2d(y, idx, 2, 2, 1, output_size=t.shape[-2:])
    check_grad(segnet_step, distinct(1, 2, 5, 6))


# ------------------------------------------------------ naive reference vs fast
@pytest.mark.parametrize("kw", MAX_GRID)
def test_max_pool2d_matches_naive(kw):
    for seed, x in enumerate([np.random.default_rng(3).standard_normal((2, 3, 7, 9)),
                              np.maximum(np.round(np.random.default_rng(4).standard_normal((2, 3, 7, 9))), 0)]):
        expect, expect_idx = naive_max_pool2d(x, **kw)
        g = np.random.default_rng(seed).standard_normal(expect.shape)
        (out, idx), gx = run(F.max_pool2d, x, g, return_indices=True, **kw)
        np.testing.assert_array_equal(out, expect)
        np.testing.assert_array_equal(idx, expect_idx)
        np.testing.assert_allclose(gx, naive_max_pool2d_backward(g, expect_idx, x.shape), atol=1e-12)
        _, gx_fast = run(F.max_pool2d, x, g, **kw)      # without indices: the tiled fast path
        np.testing.assert_allclose(gx_fast, gx, atol=1e-12)


@pytest.mark.parametrize("kw", AVG_GRID)
def test_avg_pool2d_matches_naive(kw):
    x = np.random.default_rng(5).standard_normal((2, 3, 7, 9))
    expect = naive_avg_pool2d(x, **kw)
    g = np.random.default_rng(6).standard_normal(expect.shape)
    out, gx = run(F.avg_pool2d, x, g, **kw)
    np.testing.assert_allclose(out, expect, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(gx, naive_avg_pool2d_backward(g, x.shape, **kw), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("size", ADAPTIVE_SIZES)
def test_adaptive_pools_match_naive(size):
    x = np.maximum(np.round(np.random.default_rng(7).standard_normal((2, 3, 6, 7)) * 2), 0)  # ties
    out_hw = tuple(L if s is None else s for s, L in zip(_pair(size), x.shape[2:]))
    g = np.random.default_rng(8).standard_normal((2, 3) + out_hw)
    out, gx = run(F.adaptive_avg_pool2d, x, g, size)
    np.testing.assert_allclose(out, naive_adaptive_avg_pool2d(x, out_hw), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(gx, naive_adaptive_avg_pool2d_backward(g, x.shape), rtol=1e-12, atol=1e-12)
    expect, expect_idx = naive_adaptive_max_pool2d(x, out_hw)
    (out, idx), gx = run(F.adaptive_max_pool2d, x, g, size, return_indices=True)
    np.testing.assert_array_equal(out, expect)
    np.testing.assert_array_equal(idx, expect_idx)
    np.testing.assert_allclose(gx, naive_max_pool2d_backward(g, expect_idx, x.shape), atol=1e-12)


def test_max_unpool2d_matches_naive():
    x = np.random.default_rng(9).standard_normal((2, 3, 7, 8))
    _, idx = naive_max_pool2d(x, 3, 2, 1)
    y = np.random.default_rng(10).standard_normal(idx.shape)
    g = np.random.default_rng(11).standard_normal((2, 3, 7, 8))
    out, gy = run(F.max_unpool2d, y, g, nt.tensor(idx), 3, 2, 1, output_size=(7, 8))
    np.testing.assert_array_equal(out, naive_max_unpool2d(y, idx, (7, 8)))
    expect_gy = np.take_along_axis(g.reshape(2, 3, -1), idx.reshape(2, 3, -1), axis=2).reshape(y.shape)
    np.testing.assert_array_equal(gy, expect_gy)


def test_naive_references_are_the_textbook_formulas():
    """Pin the references themselves on a hand-computed case."""
    x = np.array([[[[1., 2., 5., 0.], [3., 4., 1., 1.], [0., 0., 2., 2.], [0., 7., 2., 2.]]]])
    out, idx = naive_max_pool2d(x, 2)
    np.testing.assert_array_equal(out[0, 0], [[4., 5.], [7., 2.]])
    np.testing.assert_array_equal(idx[0, 0], [[5, 2], [13, 10]])       # tie 2,2,2,2 -> first
    np.testing.assert_array_equal(naive_avg_pool2d(x, 2)[0, 0], [[2.5, 1.75], [1.75, 2.]])
    gx = naive_max_pool2d_backward(np.ones((1, 1, 2, 2)), idx, x.shape)
    assert gx.sum() == 4 and gx[0, 0, 1, 1] == 1 and gx[0, 0, 2, 2] == 1


# ------------------------------------------------------------------ PyTorch
@requires_torch
@pytest.mark.parametrize("kw", MAX_GRID)
@pytest.mark.parametrize("relu", [False, True])
def test_max_pool2d_vs_torch(kw, relu):
    # Tolerances only absorb the float32 summation order where windows
    # overlap; a gradient sent to the wrong element would be off by ~1.
    x = np.random.default_rng(12).standard_normal((3, 4, 9, 10)).astype(np.float32)
    if relu:   # many equal zeros: the gradient must go where torch sends it
        x = np.maximum(x, 0)
    compare_with_torch(lambda t: F.max_pool2d(t, **kw), lambda t: TF.max_pool2d(t, **kw), x,
                       atol=1e-6, rtol=1e-6)
    out, idx = F.max_pool2d(nt.tensor(x), return_indices=True, **kw)
    t_out, t_idx = TF.max_pool2d(torch.tensor(x), return_indices=True, **kw)
    np.testing.assert_array_equal(out.numpy(), t_out.numpy())
    np.testing.assert_array_equal(idx.numpy(), t_idx.numpy())
    assert idx.dtype == np.int64 and not idx.requires_grad


@requires_torch
@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1)])
def test_max_pool2d_ties_on_integers_vs_torch(kw):
    """Plateaus of equal values everywhere (quantized inputs)."""
    x = np.random.default_rng(13).integers(0, 3, size=(2, 3, 8, 8)).astype(np.float32)
    compare_with_torch(lambda t: F.max_pool2d(t, **kw), lambda t: TF.max_pool2d(t, **kw), x,
                       atol=1e-6, rtol=1e-6)


@requires_torch
@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1)])
def test_max_pool2d_nan_and_inf_vs_torch(kw):
    x = np.random.default_rng(14).standard_normal((1, 2, 6, 6)).astype(np.float32)
    x[0, 0, 0, 1] = x[0, 0, 2, 3] = x[0, 0, 3, 2] = np.nan   # not at the last offset
    x[0, 1, :3, :3] = -np.inf               # windows whose real elements are all -inf
    a, b = nt.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, idx = F.max_pool2d(a, return_indices=True, **kw)
    t_out, t_idx = TF.max_pool2d(b, return_indices=True, **kw)
    np.testing.assert_array_equal(out.numpy(), t_out.detach().numpy())
    np.testing.assert_array_equal(idx.numpy(), t_idx.numpy())
    g = np.random.default_rng(15).standard_normal(out.shape).astype(np.float32)
    (out * nt.tensor(g)).sum().backward()
    t_out.backward(torch.tensor(g))
    np.testing.assert_array_equal(a.grad.numpy(), b.grad.numpy())
    # the tiled fast path without indices must route the NaN windows the same way
    a2 = nt.tensor(x, requires_grad=True)
    (F.max_pool2d(a2, **kw) * nt.tensor(g)).sum().backward()
    np.testing.assert_array_equal(a2.grad.numpy(), b.grad.numpy())


@requires_torch
@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=2, padding=1)])
def test_max_pool2d_inf_upstream_gradient_stays_put(kw):
    """An inf dE/dy reaches only the argmax: the other positions stay 0, not NaN."""
    x = np.random.default_rng(16).standard_normal((1, 1, 4, 4)).astype(np.float32)
    a, b = nt.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out = F.max_pool2d(a, **kw)
    g = np.full(out.shape, np.inf, np.float32)
    out.backward(nt.tensor(g))
    TF.max_pool2d(b, **kw).backward(torch.tensor(g))
    np.testing.assert_array_equal(a.grad.numpy(), b.grad.numpy())


@requires_torch
@pytest.mark.parametrize("kw", AVG_GRID)
def test_avg_pool2d_vs_torch(kw):
    x = np.random.default_rng(17).standard_normal((3, 4, 9, 10)).astype(np.float32)
    compare_with_torch(lambda t: F.avg_pool2d(t, **kw), lambda t: TF.avg_pool2d(t, **kw), x,
                       atol=1e-6, rtol=1e-5)


@requires_torch
@pytest.mark.parametrize("size", ADAPTIVE_SIZES + [(9, 10), (7, 3)])
def test_adaptive_pools_vs_torch(size):
    x = np.random.default_rng(18).standard_normal((2, 3, 9, 10)).astype(np.float32)
    compare_with_torch(lambda t: F.adaptive_avg_pool2d(t, size),
                       lambda t: TF.adaptive_avg_pool2d(t, size), x, atol=1e-6, rtol=1e-5)
    xr = np.maximum(x, 0)
    compare_with_torch(lambda t: F.adaptive_max_pool2d(t, size, return_indices=True),
                       lambda t: TF.adaptive_max_pool2d(t, size, return_indices=True), xr,
                       atol=1e-6, rtol=1e-6)


@requires_torch
@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
                                dict(kernel_size=2, stride=2, ceil_mode=True)])
def test_max_unpool2d_vs_torch(kw):
    x = np.random.default_rng(19).standard_normal((2, 3, 7, 9)).astype(np.float32)
    _, idx = TF.max_pool2d(torch.tensor(x), return_indices=True, **kw)
    y = np.random.default_rng(20).standard_normal(tuple(idx.shape)).astype(np.float32)
    ukw = {k: v for k, v in kw.items() if k != "ceil_mode"}
    compare_with_torch(
        lambda t: F.max_unpool2d(t, nt.tensor(idx.numpy()), output_size=(7, 9), **ukw),
        lambda t: TF.max_unpool2d(t, idx, output_size=(7, 9), **ukw), y, atol=1e-6, rtol=1e-6)


@requires_torch
@pytest.mark.parametrize("kw, plane", [(dict(kernel_size=3, stride=2, padding=1), 5 * 7),
                                       (dict(kernel_size=(2, 3)), 6 * 12)])
def test_max_unpool2d_default_size_vs_torch(kw, plane):
    y = np.random.default_rng(21).standard_normal((2, 3, 3, 4)).astype(np.float32)
    r = np.random.default_rng(22)
    idx = np.stack([r.permutation(plane)[:12] for _ in range(6)]).reshape(y.shape)
    compare_with_torch(lambda t: F.max_unpool2d(t, nt.tensor(idx), **kw),
                       lambda t: TF.max_unpool2d(t, torch.tensor(idx), **kw), y, atol=0, rtol=0)


@requires_torch
def test_unbatched_inputs_vs_torch():
    x = np.random.default_rng(23).standard_normal((3, 7, 8)).astype(np.float32)
    cases = [(lambda m: m.max_pool2d, dict(kernel_size=3, stride=2, padding=1, return_indices=True)),
             (lambda m: m.max_pool2d, dict(kernel_size=2)),
             (lambda m: m.avg_pool2d, dict(kernel_size=3, stride=2, count_include_pad=False)),
             (lambda m: m.adaptive_avg_pool2d, dict(output_size=(3, 5))),
             (lambda m: m.adaptive_max_pool2d, dict(output_size=(3, 5), return_indices=True))]
    for pick, kw in cases:
        compare_with_torch(lambda t: pick(F)(t, **kw), lambda t: pick(TF)(t, **kw), x, atol=1e-6)
    idx = np.random.default_rng(24).permutation(14 * 16)[:7 * 8].reshape(1, 7, 8)
    y = x[:1]
    compare_with_torch(lambda t: F.max_unpool2d(t, nt.tensor(idx), 2),
                       lambda t: TF.max_unpool2d(t, torch.tensor(idx), 2), y, atol=1e-6, rtol=1e-6)


# ------------------------------------------------------------------- errors
def _raises(exc, match, fn, *a, **kw):
    with pytest.raises(exc, match=match):
        fn(*a, **kw)


def test_errors_rank_and_dtype():
    for fn, args in [(F.max_pool2d, (2,)), (F.avg_pool2d, (2,)), (F.adaptive_avg_pool2d, (1,)),
                     (F.adaptive_max_pool2d, (1,))]:
        name = fn.__name__
        _raises(ValueError, rf"{name}: expected a 4-D input .* received shape \(4, 4\) \(2-D\)",
                fn, nt.zeros(4, 4), *args)
        _raises(ValueError, rf"{name}: .*received shape \(1, 1, 1, 4, 4\) \(5-D\)",
                fn, nt.zeros(1, 1, 1, 4, 4), *args)
        if name.startswith("adaptive"):      # max/avg pooling take integers, as PyTorch
            _raises(TypeError, rf"{name}: expected a floating-point input, received dtype (torch\.)?int64",
                    fn, nt.tensor(np.zeros((1, 1, 4, 4), np.int64)), *args)
        _raises(ValueError, rf"{name}: expected non-empty", fn, nt.zeros(1, 1, 0, 4), *args)
    _raises(TypeError, r"max_pool2d: input must be a neuronet Tensor, received ndarray",
            F.max_pool2d, np.zeros((1, 1, 4, 4)), 2)


def test_errors_window_arguments():
    x = nt.zeros(1, 1, 2, 2)
    _raises(ValueError, re_escape("max_pool2d: kernel 3x3 is larger than the padded input 2x2 "
                                  "(input (1, 1, 2, 2), padding 0)"), F.max_pool2d, x, 3)
    _raises(ValueError, r"avg_pool2d: kernel 3x3 is larger than the padded input 2x2",
            F.avg_pool2d, x, 3)
    _raises(ValueError, r"max_pool2d: kernel 2x2 \(dilation 3x3: spans 4x4\) is larger than the "
                        r"padded input 3x3", F.max_pool2d, nt.zeros(1, 1, 3, 3), 2, dilation=3)
    y = nt.zeros(1, 1, 8, 8)
    _raises(ValueError, r"max_pool2d: padding must be at most half the kernel size, received "
                        r"padding=2 for kernel_size=3x3", F.max_pool2d, y, 3, padding=2)
    _raises(ValueError, r"avg_pool2d: padding must be at most half .* padding=\(0, 2\)",
            F.avg_pool2d, y, 3, padding=(0, 2))
    _raises(ValueError, r"max_pool2d: kernel_size must be positive, received 0", F.max_pool2d, y, 0)
    _raises(ValueError, r"max_pool2d: kernel_size must be positive, received \(2, -1\)",
            F.max_pool2d, y, (2, -1))
    _raises(ValueError, r"max_pool2d: stride must be positive, received 0", F.max_pool2d, y, 2, 0)
    _raises(ValueError, r"avg_pool2d: stride must be positive, received -1", F.avg_pool2d, y, 2, -1)
    _raises(ValueError, r"max_pool2d: dilation must be positive, received 0",
            F.max_pool2d, y, 2, dilation=0)
    _raises(ValueError, r"max_pool2d: padding must be non-negative, received -1",
            F.max_pool2d, y, 2, padding=-1)
    _raises(TypeError, r"max_pool2d: kernel_size must be an int or a pair of ints, received \(2, 2, 2\)",
            F.max_pool2d, y, (2, 2, 2))
    _raises(TypeError, r"max_pool2d: stride must be an int or a pair of ints, received 1.5",
            F.max_pool2d, y, 2, 1.5)
    _raises(ValueError, r"avg_pool2d: divisor_override must be non-zero, received 0",
            F.avg_pool2d, y, 2, divisor_override=0)
    _raises(TypeError, r"avg_pool2d: divisor_override must be an int, received 2.5",
            F.avg_pool2d, y, 2, divisor_override=2.5)
    _raises(ValueError, r"adaptive_avg_pool2d: output_size must be >= 0, received -1",
            F.adaptive_avg_pool2d, y, -1)
    _raises(TypeError, r"adaptive_max_pool2d: output_size must be an int or a pair.*\(1, 2, 3\)",
            F.adaptive_max_pool2d, y, (1, 2, 3))


def re_escape(s):
    import re
    return re.escape(s)


def test_errors_max_unpool2d():
    y = nt.zeros(1, 2, 3, 3)
    idx = nt.tensor(np.zeros((1, 2, 3, 3), np.int64))
    _raises(ValueError, r"max_unpool2d: indices must have the input's shape \(1, 2, 3, 3\), "
                        r"received indices of shape \(1, 2, 3, 2\)",
            F.max_unpool2d, y, nt.tensor(np.zeros((1, 2, 3, 2), np.int64)), 2)
    _raises(TypeError, r"max_unpool2d: indices must be an integer tensor .* received dtype (torch\.)?float32",
            F.max_unpool2d, y, nt.zeros(1, 2, 3, 3), 2)
    _raises(TypeError, r"max_unpool2d: indices must be a neuronet Tensor", F.max_unpool2d, y,
            np.zeros((1, 2, 3, 3), np.int64), 2)
    bad = np.zeros((1, 2, 3, 3), np.int64)
    bad[0, 1, 2, 2] = 36
    _raises(ValueError, r"max_unpool2d: found an invalid max index 36 \(each output plane is 6x6, "
                        r"so indices must lie in \[0, 36\)\)", F.max_unpool2d, y, nt.tensor(bad), 2)
    _raises(ValueError, r"max_unpool2d: invalid output_size \(9, 6\) \(dim 0 must be between 4 and 8",
            F.max_unpool2d, y, idx, 2, output_size=(9, 6))
    _raises(ValueError, r"max_unpool2d: output_size must be \(H_out, W_out\) or \(N, C, H_out, W_out\)",
            F.max_unpool2d, y, idx, 2, output_size=(2, 6, 6))
    _raises(ValueError, r"max_unpool2d: kernel_size and stride must be positive",
            F.max_unpool2d, y, idx, 0)
    _raises(ValueError, r"max_unpool2d: expected a 4-D input", F.max_unpool2d, nt.zeros(3, 3),
            nt.tensor(np.zeros((3, 3), np.int64)), 2)


# ---------------------------------------------------------- dtypes and shapes
@pytest.mark.parametrize("op", [
    lambda t: F.max_pool2d(t, 2), lambda t: F.max_pool2d(t, 3, 2, 1),
    lambda t: F.avg_pool2d(t, 2), lambda t: F.avg_pool2d(t, 3, 2, 1, count_include_pad=False),
    lambda t: F.adaptive_avg_pool2d(t, (3, 5)), lambda t: F.adaptive_max_pool2d(t, (3, 5)),
    lambda t: F.adaptive_avg_pool2d(t, 1),
    lambda t: F.max_unpool2d(t, nt.tensor(np.broadcast_to(np.arange(6 * 8).reshape(6, 8), (2, 2, 6, 8)).copy()), 2),
])
def test_float32_preserved(op):
    x = nt.tensor(np.random.default_rng(25).standard_normal((2, 2, 6, 8)).astype(np.float32),
                  requires_grad=True)
    out = op(x)
    assert out.dtype == np.float32
    out.sum().backward()
    assert x.grad.dtype == np.float32 and x.grad.shape == x.shape


def test_output_shapes_and_lenet_sizes():
    assert F.max_pool2d(nt.zeros(4, 6, 28, 28), 2).shape == (4, 6, 14, 14)
    assert F.avg_pool2d(nt.zeros(4, 16, 10, 10), 2).shape == (4, 16, 5, 5)
    assert F.max_pool2d(nt.zeros(1, 3, 112, 112), 3, 2, 1).shape == (1, 3, 56, 56)
    assert F.max_pool2d(nt.zeros(1, 1, 5, 5), 2, ceil_mode=True).shape == (1, 1, 3, 3)
    # ceil_mode may not start a window inside the right padding
    assert F.max_pool2d(nt.zeros(1, 1, 5, 5), 2, 2, 1, ceil_mode=True).shape == (1, 1, 3, 3)
    assert F.adaptive_avg_pool2d(nt.zeros(2, 3, 7, 9), (None, 4)).shape == (2, 3, 7, 4)
    assert F.adaptive_max_pool2d(nt.zeros(2, 3, 7, 9), 0).shape == (2, 3, 0, 0)
    assert F.max_unpool2d(nt.zeros(1, 1, 3, 3), nt.tensor(np.zeros((1, 1, 3, 3), np.int64)),
                          2, output_size=(1, 1, 7, 7)).shape == (1, 1, 7, 7)


def test_no_grad_through_indices_and_backward_frees():
    x = nt.tensor(distinct(1, 1, 4, 4), requires_grad=True)
    out, idx = F.max_pool2d(x, 2, return_indices=True)
    assert out.requires_grad and not idx.requires_grad
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy().sum(), 4.0)
    with pytest.raises(RuntimeError, match="second time"):
        out.sum().backward()


# ----------------------------------------------- compiled 2x2 path, every kernel
from neuronet import _kernels  # noqa: E402

_HAVE_NUMBA = _kernels.numba_module() is not None


@pytest.fixture(params=["numpy", "numba"])
def kernel_path(request):
    """Run a test on the pure NumPy path and, when numba is installed, on the compiled one."""
    if request.param == "numba" and not _HAVE_NUMBA:
        pytest.skip("numba not installed: the compiled path is off")
    prev = _kernels.set_enabled(request.param == "numba")
    assert _kernels.enabled() == (request.param == "numba")
    yield request.param
    _kernels.set_enabled(prev)


def _nasty(shape, seed):
    """Random float32 values with ties, NaNs (not at the last offset), -inf windows."""
    x = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    x[..., 0, :2] = 1.0                          # ties in the first row of windows
    if shape[-2] >= 4 and shape[-1] >= 3:
        x[0, 0, 2, 2] = x[0, 0, 3, 2] = np.nan   # two NaNs in one window: the last one wins
    x[0, -1, :2, :2] = -np.inf
    return x


@requires_torch
@pytest.mark.parametrize("shape", [(2, 3, 6, 8), (2, 2, 7, 9), (1, 1, 2, 2)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_max_pool2x2_both_paths_vs_torch(kernel_path, shape, dtype):
    """2x2/2 pooling (the compiled kernel with numba): values, ties, NaN, -inf, odd
    sizes (trailing row/column gets 0 gradient) and an infinite upstream gradient."""
    x = _nasty(shape, 30).astype(dtype)
    a, b = nt.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, t_out = F.max_pool2d(a, 2), TF.max_pool2d(b, 2)
    np.testing.assert_array_equal(out.numpy(), t_out.detach().numpy())
    g = np.random.default_rng(31).standard_normal(out.shape).astype(dtype)
    g[0, 0, 0, 0] = np.inf
    out.backward(nt.tensor(g))
    t_out.backward(torch.tensor(g))
    np.testing.assert_array_equal(a.grad.numpy(), b.grad.numpy())


def test_max_pool2x2_both_paths_match_naive(kernel_path):
    x = distinct(2, 3, 7, 6, seed=32).astype(np.float32)
    g = np.random.default_rng(33).standard_normal((2, 3, 3, 3)).astype(np.float32)
    out, dx = run(F.max_pool2d, x, g, 2)
    ref, idx = naive_max_pool2d(x, 2)
    np.testing.assert_array_equal(out, ref)
    np.testing.assert_array_equal(dx, naive_max_pool2d_backward(g, idx, x.shape))


def test_max_pool2x2_kernel_matches_naive_on_channel_major_views(kernel_path):
    """The kernel pools the last two axes of any layout (a non-contiguous input too)."""
    x = distinct(3, 4, 8, 6, seed=34).astype(np.float32)
    xt = nt.tensor(x, requires_grad=True)
    out = F.max_pool2d(xt.permute(1, 0, 2, 3), 2)
    np.testing.assert_array_equal(out.numpy(), naive_max_pool2d(x.transpose(1, 0, 2, 3), 2)[0])
    g = np.random.default_rng(35).standard_normal(out.shape).astype(np.float32)
    out.backward(nt.tensor(g))
    _, idx = naive_max_pool2d(x.transpose(1, 0, 2, 3), 2)
    np.testing.assert_array_equal(xt.grad.numpy(),
                                  naive_max_pool2d_backward(g, idx, (4, 3, 8, 6)).transpose(1, 0, 2, 3))


@pytest.mark.parametrize("layout", ["batch-major", "channel-major"])
@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=3),
                                dict(kernel_size=3, stride=2, padding=1)])
def test_every_max_pool_kernel_matches_naive(kernel_path, layout, kw):
    """Each max_pool2d kernel the seam can pick, forced (a kernel that cannot take the
    call is skipped), on batch-major and channel-major inputs: values, gradient, and
    the output keeps the input's layout where the kernel pools plane by plane."""
    x = distinct(3, 4, 8, 6, seed=36).astype(np.float32)
    ref, idx = naive_max_pool2d(x, **kw)
    g = np.random.default_rng(37).standard_normal(ref.shape).astype(np.float32)
    ran = []
    for name in _kernels.names("max_pool2d"):
        xt = (channel_major_tensor(x) if layout == "channel-major" else nt.tensor(x)).requires_grad_()
        with _kernels.force("max_pool2d", name):
            try:
                out = F.max_pool2d(xt, **kw)
            except RuntimeError as e:
                assert "cannot take this call" in str(e)
                continue
        ran.append(name)
        np.testing.assert_array_equal(out.numpy(), ref, err_msg=name)
        out.backward(nt.tensor(g))
        np.testing.assert_array_equal(xt.grad.numpy(), naive_max_pool2d_backward(g, idx, x.shape),
                                      err_msg=name)
        if name == "numba-2x2" and layout == "channel-major":
            assert not out.is_contiguous()                  # handed on channel-major
    assert "tracked" in ran
    if kw == dict(kernel_size=2) and kernel_path == "numba" and xt.device.type == "cpu":
        assert "numba-2x2" in ran
