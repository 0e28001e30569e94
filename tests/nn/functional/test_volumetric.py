"""conv3d and 3-D pooling: naive loops, gradcheck, PyTorch."""
import itertools

import numpy as np
import pytest

import neuronet as nt
import neuronet.nn.functional as F
from helpers import check_grad, compare_with_torch, randn, torch

TF = torch.nn.functional if torch is not None else None


def naive_conv3d(x, w, b, s, p):
    n, c, D, H, W = x.shape
    o, _, kd, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p), (p, p)))
    out = [(L + 2 * p - k) // s + 1 for L, k in zip((D, H, W), (kd, kh, kw))]
    y = np.zeros((n, o, *out))
    for ni, oi, d, h, ww in itertools.product(range(n), range(o), *map(range, out)):
        patch = xp[ni, :, d * s:d * s + kd, h * s:h * s + kh, ww * s:ww * s + kw]
        y[ni, oi, d, h, ww] = (patch * w[oi]).sum() + b[oi]
    return y


@pytest.mark.parametrize("s, p", [(1, 0), (2, 1)])
def test_conv3d_naive_gradcheck_torch(s, p):
    x, w, b = randn(2, 2, 4, 3, 4, seed=1), randn(3, 2, 2, 2, 3, seed=2), randn(3, seed=3)
    out = F.conv3d(nt.tensor(x), nt.tensor(w), nt.tensor(b), s, p)
    np.testing.assert_allclose(out.numpy(), naive_conv3d(x, w, b, s, p), atol=1e-12)
    check_grad(lambda a, c, d: F.conv3d(a, c, d, s, p), x, w, b)
    compare_with_torch(lambda a, c, d: F.conv3d(a, c, d, s, p), lambda a, c, d: TF.conv3d(a, c, d, s, p),
                       x, w, b, atol=1e-10)


def naive_pool3d(x, k, s, reduce):
    out = [(L - k) // s + 1 for L in x.shape[2:]]
    y = np.zeros(x.shape[:2] + tuple(out))
    for d, h, w in itertools.product(*map(range, out)):
        y[:, :, d, h, w] = reduce(x[:, :, d * s:d * s + k, h * s:h * s + k, w * s:w * s + k], axis=(2, 3, 4))
    return y


@pytest.mark.parametrize("name", ["max", "avg"])
def test_pool3d_naive_gradcheck_torch(name):
    x = randn(2, 2, 5, 4, 5, seed=4)
    fn = F.max_pool3d if name == "max" else F.avg_pool3d
    tfn = (TF.max_pool3d if name == "max" else TF.avg_pool3d) if torch is not None else None
    np.testing.assert_allclose(fn(nt.tensor(x), 2, 1).numpy(),
                               naive_pool3d(x, 2, 1, np.max if name == "max" else np.mean), atol=1e-12)
    check_grad(lambda t: fn(t, 3, 2, 1), x)
    compare_with_torch(lambda t: fn(t, 3, 2, 1), lambda t: tfn(t, 3, 2, 1), x, atol=1e-12)


def test_adaptive_avg_pool3d_and_errors():
    x = randn(1, 2, 4, 6, 3, seed=5)
    out = F.adaptive_avg_pool3d(nt.tensor(x), (2, 3, 1)).numpy()
    np.testing.assert_allclose(out, x.reshape(1, 2, 2, 2, 3, 2, 1, 3).mean(axis=(3, 5, 7)), atol=1e-12)
    check_grad(lambda t: F.adaptive_avg_pool3d(t, (3, 4, 2)), x)
    with pytest.raises(RuntimeError, match="5-D input"):
        F.conv3d(nt.randn(2, 3), nt.randn(1, 1, 1, 1, 1))
