"""linear: gradcheck, the perceptron's sums by loops, and PyTorch."""
import numpy as np
import pytest

import neuronet as nt
import neuronet.nn.functional as F
from helpers import check_grad, compare_with_torch, randn, requires_torch, torch


def naive_linear(x, w, b):
    """y[n, j] = sum_i w[j, i] x[n, i] + b[j], one output at a time."""
    N, I = x.shape
    J = w.shape[0]
    y = np.zeros((N, J))
    for n in range(N):
        for j in range(J):
            s = 0.0 if b is None else b[j]
            for i in range(I):
                s += w[j, i] * x[n, i]
            y[n, j] = s
    return y


def naive_linear_backward(x, w, g):
    """dW[j, i] = sum_n g[n, j] x[n, i] (delta rule); dx[n, i] = sum_j g[n, j] w[j, i]; db[j] = sum_n g[n, j]."""
    N, I = x.shape
    J = w.shape[0]
    dw, dx, db = np.zeros((J, I)), np.zeros((N, I)), np.zeros(J)
    for n in range(N):
        for j in range(J):
            db[j] += g[n, j]
            for i in range(I):
                dw[j, i] += g[n, j] * x[n, i]
                dx[n, i] += g[n, j] * w[j, i]
    return dx, dw, db


def test_matches_naive_forward_and_delta_rule():
    x, w, b, g = randn(4, 5, seed=1), randn(3, 5, seed=2), randn(3, seed=3), randn(4, 3, seed=4)
    xt, wt, bt = (nt.tensor(a, requires_grad=True) for a in (x, w, b))
    y = F.linear(xt, wt, bt)
    np.testing.assert_allclose(y.numpy(), naive_linear(x, w, b), rtol=1e-12)
    y.backward(nt.tensor(g))
    dx, dw, db = naive_linear_backward(x, w, g)
    np.testing.assert_allclose(xt.grad.numpy(), dx, rtol=1e-12)
    np.testing.assert_allclose(wt.grad.numpy(), dw, rtol=1e-12)
    np.testing.assert_allclose(bt.grad.numpy(), db, rtol=1e-12)
    np.testing.assert_allclose(F.linear(nt.tensor(x), nt.tensor(w)).numpy(), naive_linear(x, w, None), rtol=1e-12)


@pytest.mark.parametrize("x_shape", [(3, 4), (2, 3, 4), (4,)])
def test_gradcheck(x_shape):
    check_grad(F.linear, randn(*x_shape, seed=5), randn(2, 4, seed=6), randn(2, seed=7))
    check_grad(lambda x, w: F.linear(x, w), randn(*x_shape, seed=8), randn(3, 4, seed=9))


@requires_torch
@pytest.mark.parametrize("dtype, atol", [(np.float32, 1e-5), (np.float64, 1e-12)])
@pytest.mark.parametrize("x_shape", [(8, 12), (2, 3, 12), (12,), (2, 1, 3, 12)])
@pytest.mark.parametrize("with_bias", [True, False])
def test_matches_torch(x_shape, with_bias, dtype, atol):
    x, w, b = randn(*x_shape, seed=10, dtype=dtype), randn(5, 12, seed=11, dtype=dtype), randn(5, seed=12, dtype=dtype)
    if with_bias:
        out = compare_with_torch(F.linear, torch.nn.functional.linear, x, w, b, atol=atol)
    else:
        out = compare_with_torch(F.linear, torch.nn.functional.linear, x, w, atol=atol)
    assert out.dtype == dtype
    assert out.shape == x_shape[:-1] + (5,)


def test_saves_only_what_backward_needs():
    x = nt.randn(4, 3)
    w = nt.randn(2, 3, requires_grad=True)
    saved_x, saved_w = F.linear(x, w)._node.ctx.saved_tensors
    assert saved_x is not None and saved_w is None        # dE/dW needs x; nobody needs dE/dx
    x.requires_grad_(True)
    w2 = nt.randn(2, 3)
    saved_x, saved_w = F.linear(x, w2)._node.ctx.saved_tensors
    assert saved_x is None and saved_w is not None


def test_empty_batch():
    x = nt.zeros(0, 6, requires_grad=True)
    w = nt.randn(4, 6, requires_grad=True)
    b = nt.randn(4, requires_grad=True)
    y = F.linear(x, w, b)
    assert y.shape == (0, 4)
    y.sum().backward()
    assert x.grad.shape == (0, 6)
    np.testing.assert_array_equal(w.grad.numpy(), 0)
    np.testing.assert_array_equal(b.grad.numpy(), 0)


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match=r"^linear: expected input with 120 features \(last dim\) for weight "
                                         r"\(84, 120\), received input of shape \(8, 100\)$"):
        F.linear(nt.randn(8, 100), nt.randn(84, 120))
    with pytest.raises(ValueError, match=r"linear: expected input with 3 features .* received input of shape \(\)"):
        F.linear(nt.tensor(1.0), nt.randn(2, 3))
    with pytest.raises(ValueError, match=r"linear: expected weight of shape \(out_features, in_features\), "
                                         r"received weight of shape \(3,\)"):
        F.linear(nt.randn(2, 3), nt.randn(3))
    with pytest.raises(ValueError, match=r"linear: expected bias of shape \(4,\) for weight \(4, 3\), "
                                         r"received bias of shape \(3,\)"):
        F.linear(nt.randn(2, 3), nt.randn(4, 3), nt.randn(3))
    with pytest.raises(TypeError, match="linear: input and weight must have the same dtype and device; "
                                        r"received input \(shape \(2, 3\), dtype (torch\.)?float32"):
        F.linear(nt.randn(2, 3), nt.randn(4, 3, dtype=nt.float64))
    with pytest.raises(TypeError, match="linear: input and bias must have the same dtype"):
        F.linear(nt.randn(2, 3), nt.randn(4, 3), nt.randn(4, dtype=nt.float64))
    with pytest.raises(TypeError, match="linear: expected weight to be a neuronet.Tensor, received ndarray"):
        F.linear(nt.randn(2, 3), np.zeros((4, 3)))
    with pytest.raises(TypeError, match=r"linear: expected a floating-point input, received dtype (torch\.)?int64"):
        F.linear(nt.tensor([[1, 2, 3]]), nt.randn(4, 3))
