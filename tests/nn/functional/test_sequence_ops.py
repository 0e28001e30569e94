"""conv1d / conv_transpose1d and 1-D pooling: naive loops, gradcheck, PyTorch."""
import numpy as np
import pytest

import neuronet as nt
import neuronet.nn.functional as F
from helpers import check_grad, compare_with_torch, randn, requires_torch, torch

TF = torch.nn.functional if torch is not None else None


def naive_conv1d(x, w, b, stride, pad, dil, groups):
    n, c, L = x.shape
    o, cg, k = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad)))
    lo = (L + 2 * pad - dil * (k - 1) - 1) // stride + 1
    out = np.zeros((n, o, lo))
    og = o // groups
    for ni in range(n):
        for oi in range(o):
            g = oi // og
            for t in range(lo):
                acc = 0.0 if b is None else b[oi]
                for ci in range(cg):
                    for a in range(k):
                        acc += w[oi, ci, a] * xp[ni, g * cg + ci, t * stride + a * dil]
                out[ni, oi, t] = acc
    return out


@pytest.mark.parametrize("stride, pad, dil, groups", [(1, 0, 1, 1), (2, 1, 1, 1), (1, 2, 2, 2), (3, 1, 2, 1)])
def test_conv1d_naive_gradcheck_torch(stride, pad, dil, groups):
    x, w, b = randn(2, 4, 11, seed=1), randn(6, 4 // groups, 3, seed=2), randn(6, seed=3)
    out = F.conv1d(nt.tensor(x), nt.tensor(w), nt.tensor(b), stride, pad, dil, groups)
    np.testing.assert_allclose(out.numpy(), naive_conv1d(x, w, b, stride, pad, dil, groups), atol=1e-12)
    check_grad(lambda a, c, d: F.conv1d(a, c, d, stride, pad, dil, groups), x, w, b)
    compare_with_torch(lambda a, c, d: F.conv1d(a, c, d, stride, pad, dil, groups),
                       lambda a, c, d: TF.conv1d(a, c, d, stride, pad, dil, groups), x, w, b, atol=1e-10)


@requires_torch
@pytest.mark.parametrize("k", [2, 3, 4])
def test_conv1d_same_valid_and_unbatched_match_torch(k):
    x, w = randn(3, 9, seed=4), randn(5, 3, k, seed=5)
    for padding in ("same", "valid"):
        compare_with_torch(lambda a, c: F.conv1d(a, c, padding=padding, dilation=2),
                           lambda a, c: TF.conv1d(a, c, padding=padding, dilation=2), x, w, atol=1e-10)


@requires_torch
def test_conv_transpose1d_matches_torch():
    x, w, b = randn(2, 4, 7, seed=6), randn(4, 3, 3, seed=7), randn(3, seed=8)
    compare_with_torch(lambda a, c, d: F.conv_transpose1d(a, c, d, 2, 1, 1),
                       lambda a, c, d: TF.conv_transpose1d(a, c, d, 2, 1, 1), x, w, b, atol=1e-10)
    check_grad(lambda a, c, d: F.conv_transpose1d(a, c, d, 2, 1, 1), x, w, b)


def test_conv1d_bad_input_says_what_it_expected():
    with pytest.raises(ValueError, match="3D weight"):
        F.conv1d(nt.randn(1, 2, 5), nt.randn(3, 2, 1, 1))
    with pytest.raises(ValueError, match=r"\(N, C_in, L\)"):
        F.conv1d(nt.randn(1, 1, 2, 5), nt.randn(3, 1, 2))
    with pytest.raises(ValueError, match="channels"):
        F.conv1d(nt.randn(1, 3, 5), nt.randn(3, 2, 2))


# ---------------------------------------------------------------- pooling
def naive_pool1d(x, k, s, p, reduce, pad_value):
    n, c, L = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (p, p)), constant_values=pad_value)
    lo = (L + 2 * p - k) // s + 1
    out = np.empty((n, c, lo))
    for t in range(lo):
        out[..., t] = reduce(xp[..., t * s:t * s + k], axis=-1)
    return out


def test_pool1d_naive():
    x = randn(2, 3, 12, seed=9)
    np.testing.assert_allclose(F.max_pool1d(nt.tensor(x), 3, 2, 1).numpy(),
                               naive_pool1d(x, 3, 2, 1, np.max, -np.inf))
    np.testing.assert_allclose(F.avg_pool1d(nt.tensor(x), 4, 2, 2).numpy(),
                               naive_pool1d(x, 4, 2, 2, np.mean, 0.0), atol=1e-12)
    # adaptive, 12 -> 5: bins [floor(i L / 5), ceil((i + 1) L / 5))
    bins = [(i * 12 // 5, -(-(i + 1) * 12 // 5)) for i in range(5)]
    ref = np.stack([x[..., a:b].mean(-1) for a, b in bins], -1)
    np.testing.assert_allclose(F.adaptive_avg_pool1d(nt.tensor(x), 5).numpy(), ref, atol=1e-12)
    ref = np.stack([x[..., a:b].max(-1) for a, b in bins], -1)
    np.testing.assert_allclose(F.adaptive_max_pool1d(nt.tensor(x), 5).numpy(), ref)


CASES = {
    "max": (lambda t: F.max_pool1d(t, 3, 2, 1), lambda t: TF.max_pool1d(t, 3, 2, 1)),
    "max_dil_ceil": (lambda t: F.max_pool1d(t, 2, 2, 1, 2, True), lambda t: TF.max_pool1d(t, 2, 2, 1, 2, True)),
    "max_idx": (lambda t: F.max_pool1d(t, 2, return_indices=True),
                lambda t: TF.max_pool1d(t, 2, return_indices=True)),
    "avg": (lambda t: F.avg_pool1d(t, 3, 2, 1), lambda t: TF.avg_pool1d(t, 3, 2, 1)),
    "avg_nopad": (lambda t: F.avg_pool1d(t, 3, 2, 1, True, False), lambda t: TF.avg_pool1d(t, 3, 2, 1, True, False)),
    "adaptive_avg": (lambda t: F.adaptive_avg_pool1d(t, 5), lambda t: TF.adaptive_avg_pool1d(t, 5)),
    "adaptive_max": (lambda t: F.adaptive_max_pool1d(t, 5, True), lambda t: TF.adaptive_max_pool1d(t, 5, True)),
}


@requires_torch
@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("shape", [(2, 3, 12), (3, 11)])
def test_pool1d_matches_torch_and_gradcheck(name, shape):
    fn, tfn = CASES[name]
    x = randn(*shape, seed=10)
    compare_with_torch(fn, tfn, x, atol=1e-12)
    check_grad(lambda t: (lambda r: r[0] if isinstance(r, tuple) else r)(fn(t)), x)


def test_pool1d_rejects_images():
    with pytest.raises(ValueError, match=r"\(N, C, L\)"):
        F.max_pool1d(nt.randn(1, 2, 3, 4), 2)


def test_max_unpool1d_lp_pool_and_with_indices_names():
    x = randn(2, 3, 8, seed=11)
    out, idx = F.max_pool1d_with_indices(nt.tensor(x), 2)
    un = F.max_unpool1d(out, idx, 2).numpy()
    ref = np.zeros_like(x)
    for n in range(2):
        for c in range(3):
            for t in range(4):
                ref[n, c, idx.numpy()[n, c, t]] = out.numpy()[n, c, t]
    np.testing.assert_array_equal(un, ref)
    lp = F.lp_pool1d(nt.tensor(np.abs(x)), 3.0, 2).numpy()
    np.testing.assert_allclose(lp, ((np.abs(x) ** 3).reshape(2, 3, 4, 2).sum(-1)) ** (1 / 3), rtol=1e-12)
    check_grad(lambda t: F.lp_pool2d(t, 2.0, 2), np.abs(randn(1, 2, 4, 4, seed=12)) + 0.1)
    if torch is not None:
        compare_with_torch(lambda t: F.lp_pool2d(t, 2.0, 2), lambda t: TF.lp_pool2d(t, 2.0, 2),
                           np.abs(randn(1, 2, 4, 4, seed=12)) + 0.1, atol=1e-12)
        compare_with_torch(lambda t: F.adaptive_max_pool1d_with_indices(t, 3),
                           lambda t: TF.adaptive_max_pool1d_with_indices(t, 3), x)
