"""Normalization: gradcheck, naive loop references, and PyTorch as the oracle."""
import itertools

import numpy as np
import pytest
from helpers import channel_major_tensor, check_grad, compare_with_torch, nt64, randn, requires_torch, torch

import neuronet as nt
from neuronet.autograd import gradcheck
from neuronet.nn import functional as F

if torch is not None:
    import torch.nn.functional as TF


# --------------------------------------------------------------------------- naive references
def naive_batch_norm(x, running_mean, running_var, weight, bias, training, momentum, eps):
    """Batch norm channel by channel with explicit loops over every value (float64).

    Returns (y, new_running_mean, new_running_var).
    """
    n, c = x.shape[:2]
    rest = x.shape[2:]
    y = np.empty_like(x)
    rm, rv = running_mean.copy(), running_var.copy()
    for ch in range(c):
        values = [x[(i, ch) + pos] for i in range(n) for pos in np.ndindex(*rest)]
        m = len(values)
        if training:
            mean = sum(values) / m
            var = sum((v - mean) ** 2 for v in values) / m
            rm[ch] = (1 - momentum) * rm[ch] + momentum * mean
            rv[ch] = (1 - momentum) * rv[ch] + momentum * var * m / (m - 1)
        else:
            mean, var = running_mean[ch], running_var[ch]
        g = 1.0 if weight is None else weight[ch]
        b = 0.0 if bias is None else bias[ch]
        for i in range(n):
            for pos in np.ndindex(*rest):
                y[(i, ch) + pos] = g * (x[(i, ch) + pos] - mean) / np.sqrt(var + eps) + b
    return y, rm, rv


def naive_local_response_norm(a, size, alpha, beta, k):
    """b_c = a_c / (k + alpha/n sum_{c'=c-n//2}^{c+(n-1)//2} a_{c'}^2)^beta, element by element."""
    b = np.empty_like(a)
    n_ch = a.shape[1]
    for idx in np.ndindex(*a.shape):
        c = idx[1]
        energy = 0.0
        for cc in range(c - size // 2, c + (size - 1) // 2 + 1):
            if 0 <= cc < n_ch:
                energy += a[(idx[0], cc) + idx[2:]] ** 2
        b[idx] = a[idx] / (k + alpha / size * energy) ** beta
    return b


SHAPES = {"2d": (6, 3), "3d": (3, 3, 4), "4d": (2, 3, 3, 2)}


# --------------------------------------------------------------------------- batch norm
@pytest.mark.parametrize("shape", list(SHAPES))
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_matches_naive_loops_and_updates_running_stats(shape, training, affine):
    x = randn(*SHAPES[shape], seed=1) * 2 + 0.5
    c = x.shape[1]
    rm0, rv0 = randn(c, seed=2), np.abs(randn(c, seed=3)) + 0.5
    w, b = (randn(c, seed=4), randn(c, seed=5)) if affine else (None, None)
    rm, rv = nt.tensor(rm0), nt.tensor(rv0)
    out = F.batch_norm(nt.tensor(x), rm, rv, None if w is None else nt.tensor(w),
                       None if b is None else nt.tensor(b), training=training, momentum=0.3, eps=1e-3)
    ref, ref_rm, ref_rv = naive_batch_norm(x, rm0, rv0, w, b, training, 0.3, 1e-3)
    np.testing.assert_allclose(out.numpy(), ref, atol=1e-12)
    np.testing.assert_allclose(rm.numpy(), ref_rm, atol=1e-12)
    np.testing.assert_allclose(rv.numpy(), ref_rv, atol=1e-12)
    if not training:
        np.testing.assert_array_equal(rm.numpy(), rm0)


@pytest.mark.parametrize("shape", list(SHAPES))
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_gradcheck(shape, training, affine):
    """Random upstream gradient (gradcheck's default): with all-ones, dx of the
    training-mode batch norm is identically 0 and would prove nothing."""
    x = randn(*SHAPES[shape], seed=6)
    c = x.shape[1]
    rm, rv = nt.tensor(randn(c, seed=7)), nt.tensor(np.abs(randn(c, seed=8)) + 0.5)
    if affine:
        check_grad(lambda a, w, b: F.batch_norm(a, rm, rv, w, b, training=training),
                   x, randn(c, seed=9), randn(c, seed=10))
    else:
        check_grad(lambda a: F.batch_norm(a, rm, rv, training=training), x)


def test_batch_norm_input_gradient_is_nonzero_and_orthogonal_to_ones():
    """Training-mode dx sums to 0 per channel (the mean is subtracted), yet is not 0."""
    a = nt.tensor(randn(5, 2, seed=11), requires_grad=True)
    out = F.batch_norm(a, None, None, training=True)
    out.backward(nt.tensor(randn(5, 2, seed=12)))
    g = a.grad.numpy()
    assert np.abs(g).max() > 1e-2
    np.testing.assert_allclose(g.sum(axis=0), 0, atol=1e-12)


def test_batch_norm_after_a_linear_map_gradcheck_wrt_weights():
    """Batch norm deep in a graph: d/dW of batch_norm(x @ W) (the normalization's
    dx is what reaches W, so a wrong dx fails here)."""
    x = nt.tensor(randn(6, 3, seed=13))
    gamma, beta = nt.tensor(randn(4, seed=14) + 1.0), nt.tensor(randn(4, seed=15))
    w = nt64(randn(3, 4, seed=16))
    assert gradcheck(lambda w: F.batch_norm(x @ w, None, None, gamma, beta, training=True), (w,))


@requires_torch
@pytest.mark.parametrize("shape", ["2d", "4d"])
@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_batch_norm_matches_torch_including_running_stats(shape, affine, training, dtype):
    size = {"2d": (16, 5), "4d": (4, 5, 6, 7)}[shape]
    x = (randn(*size, seed=17) * 3 + 1).astype(dtype)
    c = size[1]
    rm0 = randn(c, seed=18).astype(dtype)
    rv0 = (np.abs(randn(c, seed=19)) + 0.5).astype(dtype)
    params = [randn(c, seed=20).astype(dtype), randn(c, seed=21).astype(dtype)] if affine else []
    rm_nt, rv_nt = nt.tensor(rm0), nt.tensor(rv0)
    rm_th, rv_th = torch.tensor(rm0), torch.tensor(rv0)
    tol = dict(atol=1e-5, rtol=1e-4) if dtype == np.float32 else dict(atol=1e-11, rtol=1e-10)
    out = compare_with_torch(
        lambda a, *p: F.batch_norm(a, rm_nt, rv_nt, *p, training=training, momentum=0.2),
        lambda a, *p: TF.batch_norm(a, rm_th, rv_th, *p, training=training, momentum=0.2),
        x, *params, **tol)
    assert out.dtype == dtype
    np.testing.assert_allclose(rm_nt.numpy(), rm_th.numpy(), **tol)
    np.testing.assert_allclose(rv_nt.numpy(), rv_th.numpy(), **tol)


@requires_torch
def test_batch_norm_without_running_stats_in_training():
    x = randn(4, 3, 2, 2, seed=22)
    compare_with_torch(lambda a: F.batch_norm(a, None, None, training=True),
                       lambda a: TF.batch_norm(a, None, None, training=True), x, atol=1e-11)


def test_batch_norm_keeps_running_stats_dtype_and_identity():
    rm, rv = nt.zeros(3), nt.ones(3)
    arr_m, arr_v = rm.array, rv.array
    F.batch_norm(nt.tensor(randn(4, 3)), rm, rv, training=True)   # float64 input, float32 buffers
    assert rm.array is arr_m and rv.array is arr_v and rm.dtype == np.float32
    assert np.abs(rm.numpy()).max() > 0


@pytest.mark.parametrize("call,exc,match", [
    (lambda: F.batch_norm(nt.randn(4, 3), nt.zeros(2), nt.ones(2), training=True), ValueError,
     r"batch_norm: running_mean must have shape \(3,\) \(one entry per channel of the input \(4, 3\)\), "
     r"received shape \(2,\)"),
    (lambda: F.batch_norm(nt.randn(4, 3), None, None, weight=nt.ones(4), training=True), ValueError,
     r"batch_norm: weight must have shape \(3,\)"),
    (lambda: F.batch_norm(nt.randn(4, 3), None, None, bias=nt.ones(3, 1), training=True), ValueError,
     r"batch_norm: bias must have shape \(3,\)"),
    (lambda: F.batch_norm(nt.randn(1, 3), None, None, training=True), ValueError,
     "expected more than 1 value per channel when training"),
    (lambda: F.batch_norm(nt.randn(4, 3), None, None, training=False), ValueError,
     "running_mean and running_var must be given in evaluation mode"),
    (lambda: F.batch_norm(nt.randn(4, 3), nt.zeros(3), None, training=True), ValueError,
     "pass both running_mean and running_var, or neither"),
    (lambda: F.batch_norm(nt.randn(4, 3), nt.zeros(3), nt.ones(3), training=True, momentum=None),
     ValueError, "momentum=None .* BatchNorm module"),
    (lambda: F.batch_norm(nt.randn(4), None, None, training=True), ValueError,
     r"batch_norm: expected input of shape \(N, C\), \(N, C, L\) or \(N, C, H, W\), received shape \(4,\)"),
    (lambda: F.batch_norm(np.zeros((4, 3)), None, None, training=True), TypeError,
     "batch_norm: input must be a neuronet Tensor"),
    (lambda: F.batch_norm(nt.zeros(4, 3, dtype="int64"), None, None, training=True), TypeError,
     "batch_norm: input must be floating point"),
    (lambda: F.batch_norm(nt.randn(4, 3), None, None, training=True, eps=-1.0), ValueError,
     "batch_norm: eps must be a non-negative number"),
])
def test_batch_norm_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


# --------------------------------------------------------------------------- batch norm: numerics of the fast path
@requires_torch
@pytest.mark.parametrize("offset", [0.0, 3.0, 30.0, 1e3])
def test_batch_norm_float32_accuracy_with_large_channel_means(offset):
    """The statistics come from sums of x and x^2 unless a channel's mean is
    large against its spread; then x is centred first. In both regimes the
    float32 output and gradients match PyTorch run in float64 on the same
    (float32) data. (PyTorch's own float32 result drifts at the larger means.)"""
    x = (randn(8, 4, 8, 8, seed=40) * np.array([1.0, 0.1, 2.0, 0.01]).reshape(1, 4, 1, 1)
         + offset * np.array([1.0, -1.0, 0.5, 2.0]).reshape(1, 4, 1, 1)).astype(np.float32)
    w, b = randn(4, seed=41).astype(np.float32), randn(4, seed=42).astype(np.float32)
    g = randn(8, 4, 8, 8, seed=43).astype(np.float32)
    rm_nt, rv_nt = nt.zeros(4), nt.ones(4)
    rm_th, rv_th = torch.zeros(4, dtype=torch.float64), torch.ones(4, dtype=torch.float64)
    xn, wn, bn = (nt.tensor(a, requires_grad=True) for a in (x, w, b))
    xt, wt, bt = (torch.tensor(a.astype(np.float64), requires_grad=True) for a in (x, w, b))
    yn = F.batch_norm(xn, rm_nt, rv_nt, wn, bn, training=True)
    yt = TF.batch_norm(xt, rm_th, rv_th, wt, bt, training=True)
    yn.backward(nt.tensor(g))
    yt.backward(torch.tensor(g.astype(np.float64)))
    assert yn.dtype == np.float32 and xn.grad.dtype == np.float32
    np.testing.assert_allclose(yn.numpy(), yt.detach().numpy(), atol=1e-5, rtol=1e-4)
    # dx is ~ gamma / std * g: 100x the upstream gradient in the std-0.01 channel.
    np.testing.assert_allclose(xn.grad.numpy(), xt.grad.numpy(), atol=1e-5, rtol=1e-3)
    np.testing.assert_allclose(wn.grad.numpy(), wt.grad.numpy(), atol=1e-4, rtol=1e-4)
    np.testing.assert_allclose(bn.grad.numpy(), bt.grad.numpy(), atol=1e-4, rtol=1e-4)
    np.testing.assert_allclose(rm_nt.numpy(), rm_th.numpy(), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(rv_nt.numpy(), rv_th.numpy(), rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize("offset", [0.0, 1e4])
def test_batch_norm_float32_matches_float64_naive_in_both_regimes(offset):
    """Float32 input, float64 naive reference: one-pass sums (small mean) and
    the centred fallback (mean 1e4 x the spread) both give the statistics to
    ~1e-6 and the output to float32 precision."""
    x = (randn(16, 3, 64, seed=43) + offset).astype(np.float32)
    rm, rv = nt.zeros(3), nt.ones(3)
    out = F.batch_norm(nt.tensor(x), rm, rv, training=True, momentum=1.0)
    x64 = x.astype(np.float64)
    ref, _, _ = naive_batch_norm(x64, np.zeros(3), np.ones(3), None, None, True, 1.0, 1e-5)
    np.testing.assert_allclose(out.numpy(), ref, atol=2e-6)
    np.testing.assert_allclose(rm.numpy(), x64.mean(axis=(0, 2)), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(rv.numpy(), x64.var(axis=(0, 2), ddof=1), rtol=1e-5)


def test_batch_norm_constant_channel_has_zero_variance():
    """A constant channel must give var = 0 exactly (not E[x^2] - E[x]^2 rounding noise,
    which against eps would change the output)."""
    x = randn(6, 2, 3, seed=44).astype(np.float32)
    x[:, 1] = 7.3
    rm, rv = nt.zeros(2), nt.ones(2)
    out = F.batch_norm(nt.tensor(x), rm, rv, training=True, momentum=1.0)
    assert rv.numpy()[1] == 0.0
    np.testing.assert_array_equal(out.numpy()[:, 1], 0.0)


def test_batch_norm_saves_the_input_itself_not_a_copy():
    x = nt.tensor(randn(4, 3, 64, seed=45).astype(np.float32), requires_grad=True)
    out = F.batch_norm(x, None, None, nt.ones(3, requires_grad=True), nt.zeros(3, requires_grad=True),
                       training=True)
    (saved,) = out._node.ctx.saved_tensors
    assert np.shares_memory(saved, x.array)
    # Short rows (here (N, C) input) take the centred path, which saves x - mean.
    x2 = nt.tensor(randn(6, 3, seed=45).astype(np.float32) + 5, requires_grad=True)
    (saved,) = F.batch_norm(x2, None, None, training=True)._node.ctx.saved_tensors
    np.testing.assert_allclose(saved.reshape(6, 3), x2.numpy() - x2.numpy().mean(axis=0), atol=1e-5)


def test_batch_norm_zero_gamma_gives_zero_input_gradient():
    """dx = a (g + k x + c') with a = gamma s: a channel with gamma = 0 (zero-init
    residual) passes no gradient, and the other channels are unaffected."""
    x = nt.tensor(randn(5, 2, 3, seed=46), requires_grad=True)
    w = nt.tensor(np.array([0.0, 1.5]), requires_grad=True)
    F.batch_norm(x, None, None, w, None, training=True).backward(nt.tensor(randn(5, 2, 3, seed=47)))
    np.testing.assert_array_equal(x.grad.numpy()[:, 0], 0.0)
    assert np.abs(x.grad.numpy()[:, 1]).max() > 1e-3


# --------------------------------------------------------------------------- fused batch norm + ReLU
# --------------------------------------------------------------------------- layer norm, group norm
@requires_torch
@pytest.mark.parametrize("shape,normalized_shape", [((4, 5), (5,)), ((2, 3, 4), (3, 4)), ((2, 3, 2, 2), 2)])
@pytest.mark.parametrize("affine", [True, False])
def test_layer_norm_matches_torch_and_gradcheck(shape, normalized_shape, affine):
    x = randn(*shape, seed=23) * 2
    ns = (normalized_shape,) if isinstance(normalized_shape, int) else normalized_shape
    params = [randn(*ns, seed=24), randn(*ns, seed=25)] if affine else []
    compare_with_torch(lambda a, *p: F.layer_norm(a, normalized_shape, *p),
                       lambda a, *p: TF.layer_norm(a, ns, *p), x, *params, atol=1e-11, rtol=1e-10)
    check_grad(lambda a, *p: F.layer_norm(a, normalized_shape, *p), x, *params)


@requires_torch
@pytest.mark.parametrize("shape,groups", [((2, 6), 3), ((2, 4, 3), 2), ((2, 6, 2, 2), 3), ((2, 4, 2, 2), 1)])
@pytest.mark.parametrize("affine", [True, False])
def test_group_norm_matches_torch_and_gradcheck(shape, groups, affine):
    x = randn(*shape, seed=26) * 2
    c = shape[1]
    params = [randn(c, seed=27), randn(c, seed=28)] if affine else []
    compare_with_torch(lambda a, *p: F.group_norm(a, groups, *p),
                       lambda a, *p: TF.group_norm(a, groups, *p), x, *params, atol=1e-11, rtol=1e-10)
    check_grad(lambda a, *p: F.group_norm(a, groups, *p), x, *params)


@pytest.mark.parametrize("call,match", [
    (lambda: F.layer_norm(nt.randn(4, 5), (4,)), r"layer_norm: normalized_shape \(4,\) must be the trailing dims"),
    (lambda: F.layer_norm(nt.randn(4, 5), (5,), weight=nt.ones(4)), r"layer_norm: weight must have shape \(5,\)"),
    (lambda: F.group_norm(nt.randn(2, 6), 4), r"group_norm: the number of channels \(6\) must be divisible"),
    (lambda: F.group_norm(nt.randn(2, 6), 3, bias=nt.ones(3)), r"group_norm: bias must have shape \(6,\)"),
])
def test_layer_and_group_norm_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# --------------------------------------------------------------------------- local response norm
LRN_CASES = list(itertools.product([(2, 5, 3), (2, 6, 3, 2)], [1, 2, 3, 5, 8]))


@pytest.mark.parametrize("shape,size", LRN_CASES)
def test_local_response_norm_matches_naive_loops(shape, size):
    x = randn(*shape, seed=29) * 3
    out = F.local_response_norm(nt.tensor(x), size, alpha=0.3, beta=0.75, k=2.0)
    np.testing.assert_allclose(out.numpy(), naive_local_response_norm(x, size, 0.3, 0.75, 2.0), rtol=1e-12)


@requires_torch
@pytest.mark.parametrize("shape,size", LRN_CASES)
def test_local_response_norm_matches_torch(shape, size):
    x = randn(*shape, seed=30) * 3
    compare_with_torch(lambda a: F.local_response_norm(a, size, alpha=0.3, beta=0.6, k=1.5),
                       lambda a: TF.local_response_norm(a, size, alpha=0.3, beta=0.6, k=1.5),
                       x, atol=1e-11, rtol=1e-10)
    compare_with_torch(lambda a: F.local_response_norm(a, size),      # AlexNet-style defaults, float32
                       lambda a: TF.local_response_norm(a, size), x.astype(np.float32), atol=1e-6)


@pytest.mark.parametrize("shape,size", [((2, 5, 2), 2), ((1, 5, 2, 2), 3), ((1, 4, 2, 1), 5)])
def test_local_response_norm_gradcheck(shape, size):
    check_grad(lambda a: F.local_response_norm(a, size, alpha=0.5, beta=0.75, k=1.0), randn(*shape, seed=31))


def test_local_response_norm_errors():
    with pytest.raises(ValueError, match=r"local_response_norm: expected input of shape \(N, C, L\).*received "
                                         r"shape \(4, 3\)"):
        F.local_response_norm(nt.randn(4, 3), 2)
    with pytest.raises(ValueError, match="local_response_norm: size must be a positive int, received 0"):
        F.local_response_norm(nt.randn(1, 4, 3), 0)


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("grad_layout", ["channel-major", "contiguous"])
def test_batch_norm_keeps_a_channel_major_input_in_its_layout(training, grad_layout):
    """A convolution hands on (N, C, H, W) views of (C, N, H, W) memory: batch norm
    normalizes them in that layout (each channel one contiguous run) and hands the
    output on the same way, with the values and gradients of the contiguous input."""
    a, g = randn(5, 3, 4, 6, seed=70) * 2 + 1, randn(5, 3, 4, 6, seed=71)
    w0, b0 = randn(3, seed=72), randn(3, seed=73)
    results = []
    for make in (channel_major_tensor, nt.tensor):
        x = make(a).requires_grad_()
        w, b = nt.tensor(w0, requires_grad=True), nt.tensor(b0, requires_grad=True)
        rm, rv = nt.zeros(3, dtype=nt.float64), nt.ones(3, dtype=nt.float64)
        out = F.batch_norm(x, rm, rv, w, b, training=training)
        out.backward(channel_major_tensor(g) if grad_layout == "channel-major" else nt.tensor(g))
        results.append((out, [out.numpy(), x.grad.numpy(), w.grad.numpy(), b.grad.numpy(),
                              rm.numpy(), rv.numpy()]))
    assert not results[0][0].is_contiguous() and results[1][0].is_contiguous()
    for got, want in zip(results[0][1], results[1][1]):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
