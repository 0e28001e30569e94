"""autograd.grad / autograd.backward / user-defined autograd.Function, as PyTorch."""
import numpy as np
import pytest

import neuronet as nt
from tests.helpers import requires_torch, torch

X = np.array([0.5, -1.0, 2.0, 1.5])


def _grad_scenario(lib, x):
    y = x * x
    z = (y * 3 + x.exp()).sum()
    gx, gy = lib.autograd.grad(z, [x, y], retain_graph=True)
    return z, gx, gy


@requires_torch
def test_grad_returns_gradients_of_leaves_and_intermediates_like_torch():
    xn = nt.tensor(X, requires_grad=True)
    xt = torch.tensor(X, requires_grad=True)
    zn, gxn, gyn = _grad_scenario(nt, xn)
    zt, gxt, gyt = _grad_scenario(torch, xt)
    np.testing.assert_allclose(gxn.numpy(), gxt.numpy(), rtol=1e-12)
    np.testing.assert_allclose(gyn.numpy(), gyt.numpy(), rtol=1e-12)
    assert xn.grad is None                          # grad() leaves .grad alone
    zn.backward(inputs=[xn])
    zt.backward(inputs=[xt])
    np.testing.assert_allclose(xn.grad.numpy(), xt.grad.numpy(), rtol=1e-12)


def test_grad_unused_input_raises_unless_allowed():
    a = nt.ones(2, requires_grad=True)
    b = nt.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="allow_unused=True"):
        nt.autograd.grad((a * 2).sum(), [b])
    ga, gb = nt.autograd.grad((a * 2).sum(), [a, b], allow_unused=True)
    assert gb is None and ga.tolist() == [2.0, 2.0]
    ga, gb = nt.autograd.grad((a * 2).sum(), [a, b], materialize_grads=True)
    assert gb.tolist() == [0.0, 0.0]


def test_backward_of_several_tensors_sums_their_gradients():
    a = nt.tensor([1.0, 2.0], requires_grad=True)
    nt.autograd.backward([(a * 2).sum(), (a * a).sum()])
    assert a.grad.tolist() == [4.0, 6.0]
    b = nt.tensor([1.0, 2.0], requires_grad=True)
    nt.autograd.backward(b * 3, grad_tensors=nt.tensor([1.0, 10.0]))
    assert b.grad.tolist() == [3.0, 30.0]


def test_higher_order_gradients_are_refused_clearly():
    a = nt.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="higher-order gradients"):
        nt.autograd.grad((a ** 3).sum(), [a], create_graph=True)


class Cube(nt.autograd.Function):
    """y = x^3; dy/dx = 3 x^2 (tensors in and out, as PyTorch's API)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, grad_output):
        x, = ctx.saved_tensors
        return grad_output * 3 * x ** 2


class SplitScale(nt.autograd.Function):
    """Two outputs: (a * s, a + b); s is a Python number (no gradient)."""

    @staticmethod
    def forward(ctx, a, b, s):
        ctx.s = s
        return a * s, a + b

    @staticmethod
    def backward(ctx, g1, g2):
        return g1 * ctx.s + g2, g2, None


class Square(nt.autograd.Function):
    """PyTorch 2 style: forward without ctx, then setup_context."""

    @staticmethod
    def forward(x):
        return x * x

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(inputs[0])

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return 2 * x * g


def test_user_function_single_output():
    x = nt.tensor(X, requires_grad=True)
    y = Cube.apply(x)
    assert type(y.grad_fn).__name__.startswith("Cube") and not y.is_leaf
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 3 * X ** 2)
    from neuronet.autograd import gradcheck
    assert gradcheck(Cube.apply, [nt.tensor(X, requires_grad=True)])


def test_user_function_several_outputs_and_non_tensor_argument():
    a = nt.tensor([1.0, 2.0], requires_grad=True)
    b = nt.tensor([3.0, 4.0], requires_grad=True)
    p, q = SplitScale.apply(a, b, 5.0)
    (p * 2 + q).sum().backward()
    assert a.grad.tolist() == [11.0, 11.0] and b.grad.tolist() == [1.0, 1.0]
    a.grad = b.grad = None
    p, q = SplitScale.apply(a, b, 5.0)
    p.sum().backward()                    # q unused: its gradient arrives as zeros
    assert a.grad.tolist() == [5.0, 5.0] and b.grad.tolist() == [0.0, 0.0]


def test_user_function_setup_context_style_and_no_grad():
    x = nt.tensor(X, requires_grad=True)
    Square.apply(x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * X)
    with nt.no_grad():
        y = Square.apply(x)
    assert not y.requires_grad and y.grad_fn is None


def test_user_function_saved_tensor_modified_in_place_is_caught():
    x = nt.tensor(X, requires_grad=True)
    h = x * 1
    y = Cube.apply(h)
    h.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_user_function_wrong_number_of_gradients():
    class Bad(nt.autograd.Function):
        @staticmethod
        def forward(ctx, a, b):
            return a + b

        @staticmethod
        def backward(ctx, g):
            return g

    a = nt.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="incorrect number of gradients"):
        Bad.apply(a, a).sum().backward()
