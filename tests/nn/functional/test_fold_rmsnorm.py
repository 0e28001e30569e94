"""unfold / fold / channel_shuffle and rms_norm / instance_norm: naive loops,
gradcheck, PyTorch."""
import numpy as np
import pytest

import neuronet as nt
import neuronet.nn.functional as F
from helpers import check_grad, compare_with_torch, randn, requires_torch, torch

TF = torch.nn.functional if torch is not None else None


def naive_unfold(x, k, d, p, s):
    n, c, H, W = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])))
    ho = (H + 2 * p[0] - d[0] * (k[0] - 1) - 1) // s[0] + 1
    wo = (W + 2 * p[1] - d[1] * (k[1] - 1) - 1) // s[1] + 1
    out = np.zeros((n, c * k[0] * k[1], ho * wo))
    for ci in range(c):
        for i in range(k[0]):
            for j in range(k[1]):
                row = ci * k[0] * k[1] + i * k[1] + j
                for a in range(ho):
                    for b in range(wo):
                        out[:, row, a * wo + b] = xp[:, ci, a * s[0] + i * d[0], b * s[1] + j * d[1]]
    return out


ARGS = [((3, 3), (1, 1), (0, 0), (1, 1)), ((2, 3), (1, 2), (1, 0), (2, 1)), ((1, 1), (1, 1), (0, 0), (1, 1))]


@pytest.mark.parametrize("k, d, p, s", ARGS)
def test_unfold_fold_naive_gradcheck_torch(k, d, p, s):
    x = randn(2, 2, 6, 5, seed=1)
    cols = F.unfold(nt.tensor(x), k, d, p, s)
    ref = naive_unfold(x, k, d, p, s)
    np.testing.assert_array_equal(cols.numpy(), ref)
    # fold is unfold's adjoint: <unfold(x), y> = <x, fold(y)>
    y = randn(*ref.shape, seed=2)
    back = F.fold(nt.tensor(y), (6, 5), k, d, p, s).numpy()
    np.testing.assert_allclose((ref * y).sum(), (x * back).sum(), rtol=1e-12)
    check_grad(lambda t: F.unfold(t, k, d, p, s), x)
    check_grad(lambda t: F.fold(t, (6, 5), k, d, p, s), y)
    if torch is not None:
        compare_with_torch(lambda t: F.unfold(t, k, d, p, s), lambda t: TF.unfold(t, k, d, p, s), x)
        compare_with_torch(lambda t: F.fold(t, (6, 5), k, d, p, s), lambda t: TF.fold(t, (6, 5), k, d, p, s), y)


def test_fold_errors():
    with pytest.raises(RuntimeError, match="sliding blocks"):
        F.fold(nt.randn(1, 9, 5), (4, 4), 3)
    with pytest.raises(RuntimeError, match="divisible"):
        F.fold(nt.randn(1, 8, 4), (4, 4), 3)


def test_channel_shuffle_naive_and_torch():
    x = randn(2, 6, 3, seed=3)
    out = F.channel_shuffle(nt.tensor(x), 2).numpy()
    for c in range(6):
        np.testing.assert_array_equal(out[:, c], x[:, (c % 2) * 3 + c // 2])
    if torch is not None:
        compare_with_torch(lambda t: F.channel_shuffle(t, 3), lambda t: TF.channel_shuffle(t, 3), randn(2, 6, 2, 2))
    with pytest.raises(RuntimeError, match="divisible"):
        F.channel_shuffle(nt.randn(1, 5, 2), 2)


# ---------------------------------------------------------------- rms_norm
def naive_rms_norm(x, k, w, eps):
    rows = x.reshape(-1, int(np.prod(x.shape[x.ndim - k:])))
    out = np.empty_like(rows)
    for i, r in enumerate(rows):
        out[i] = r / np.sqrt(sum(v * v for v in r) / len(r) + eps)
    out = out.reshape(x.shape)
    return out if w is None else out * w


@pytest.mark.parametrize("shape, norm, affine", [((3, 4), (4,), True), ((2, 3, 4), (3, 4), True),
                                                  ((5, 6), (6,), False)])
def test_rms_norm_naive_gradcheck_torch(shape, norm, affine):
    x = randn(*shape, seed=4)
    w = randn(*norm, seed=5) if affine else None
    out = F.rms_norm(nt.tensor(x), norm, None if w is None else nt.tensor(w), 1e-5)
    np.testing.assert_allclose(out.numpy(), naive_rms_norm(x, len(norm), w, 1e-5), rtol=1e-12)
    if affine:
        check_grad(lambda a, b: F.rms_norm(a, norm, b, 1e-5), x, w)
        compare_with_torch(lambda a, b: F.rms_norm(a, norm, b), lambda a, b: TF.rms_norm(a, norm, b), x, w,
                           atol=1e-10)
    else:
        check_grad(lambda a: F.rms_norm(a, norm), x)
        compare_with_torch(lambda a: F.rms_norm(a, norm), lambda a: TF.rms_norm(a, norm), x, atol=1e-10)


def test_rms_norm_shape_error():
    with pytest.raises(ValueError, match="trailing dims"):
        F.rms_norm(nt.randn(2, 3), (4,))


# ---------------------------------------------------------------- instance_norm
@requires_torch
def test_instance_norm_matches_torch_including_running_stats():
    x = randn(3, 2, 4, 5, seed=6)
    w, b = randn(2, seed=7), randn(2, seed=8)
    rm, rv = nt.zeros(2, dtype=nt.float64), nt.ones(2, dtype=nt.float64)
    trm, trv = torch.zeros(2, dtype=torch.float64), torch.ones(2, dtype=torch.float64)
    compare_with_torch(lambda a, c, d: F.instance_norm(a, rm, rv, c, d, momentum=0.2),
                       lambda a, c, d: TF.instance_norm(a, trm, trv, c, d, momentum=0.2), x, w, b, atol=1e-10)
    np.testing.assert_allclose(rm.numpy(), trm.numpy(), atol=1e-12)
    np.testing.assert_allclose(rv.numpy(), trv.numpy(), atol=1e-12)
    check_grad(lambda a, c, d: F.instance_norm(a, weight=c, bias=d), x, w, b)
