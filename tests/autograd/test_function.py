"""The autograd engine: graph walk, accumulation, freeing, grad modes, hooks."""
import gc
import weakref

import numpy as np
import pytest

import neuronet as nt
from neuronet.autograd import gradcheck, GradcheckError
from neuronet.autograd.function import Function
from helpers import randn


def test_shared_subgraph_sums_both_paths():
    x = nt.tensor([2.0, 3.0], requires_grad=True)
    y = x * x          # used twice below
    z = (y + y * 3).sum()
    z.backward()
    np.testing.assert_allclose(x.grad.numpy(), 4 * 2 * np.array([2.0, 3.0]))


def test_diamond_graph_each_node_visited_once():
    calls = []

    class Spy(Function):
        @staticmethod
        def forward(ctx, a):
            return a * 1.0

        @staticmethod
        def backward(ctx, g):
            calls.append(1)
            return g

    x = nt.tensor([1.0], requires_grad=True)
    s = Spy.apply(x)
    (s * 2 + s * 3 + s).sum().backward()
    assert len(calls) == 1
    np.testing.assert_allclose(x.grad.numpy(), [6.0])


def test_gradients_accumulate_across_backward_calls():
    x = nt.tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [6.0, 6.0])


def test_broadcast_reduction_to_parameter_shape():
    b = nt.zeros(4, requires_grad=True)
    x = nt.ones(8, 3, 4)
    (x + b).sum().backward()
    np.testing.assert_allclose(b.grad.numpy(), np.full(4, 24.0))


def test_no_grad_records_nothing():
    x = nt.tensor([1.0], requires_grad=True)
    with nt.no_grad():
        y = x * 2
    assert not y.requires_grad and y.grad_fn is None

    @nt.no_grad()
    def f(t):
        return t * 2
    assert not f(x).requires_grad
    assert nt.is_grad_enabled()
    with nt.no_grad():
        with nt.enable_grad():
            assert (x * 2).requires_grad


def test_detach_cuts_the_graph():
    x = nt.tensor([1.0], requires_grad=True)
    y = (x * 2).detach()
    assert not y.requires_grad and y.is_leaf


def test_second_backward_through_freed_graph_raises():
    x = nt.tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp() * 2).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def test_retain_graph_allows_second_backward():
    x = nt.tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp() * 2).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 4 * np.exp([1.0, 2.0]), rtol=1e-6)


def test_backward_on_non_scalar_needs_gradient():
    x = nt.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match="scalar outputs.*shape \\(2,\\)"):
        y.backward()
    y.backward(nt.tensor([1.0, 10.0]))
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 20.0])
    with pytest.raises(RuntimeError, match="gradient has shape"):
        (x * 2).backward(nt.ones(3))


def test_backward_without_grad_raises():
    with pytest.raises(RuntimeError, match="does not require grad"):
        nt.tensor([1.0]).sum().backward()


def test_saved_buffers_freed_after_backward():
    """A kept loss must not pin the activations of its step."""
    x = nt.randn(256, 256, requires_grad=True)
    h = (x @ x).tanh()
    ref = weakref.ref(h.array)
    loss = (h * h).sum()
    del h
    gc.collect()
    assert ref() is not None          # still needed by the graph before backward
    loss.backward()
    gc.collect()
    assert ref() is None              # freed: only `loss` (a scalar) is kept


def test_memory_does_not_grow_over_steps():
    import tracemalloc
    w = nt.randn(64, 64, requires_grad=True)
    x = nt.randn(32, 64)
    kept = []

    def step():
        loss = ((x @ w).tanh() ** 2).mean()
        loss.backward()
        kept.append(loss)        # a common user habit: keep the losses
        w.grad = None

    for _ in range(5):
        step()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    for _ in range(50):
        step()
    grown = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    assert grown < 50 * 2000, f"memory grew by {grown} bytes over 50 steps"


def test_hooks_and_retain_grad():
    x = nt.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    y.retain_grad()
    seen = []
    y.register_hook(lambda g: seen.append(g.numpy().copy()))
    h = x.register_hook(lambda g: g * 10)
    (y * y).sum().backward()
    np.testing.assert_allclose(y.grad.numpy(), 2 * 3 * np.array([1.0, 2.0]))
    assert len(seen) == 1
    np.testing.assert_allclose(x.grad.numpy(), 10 * 18 * np.array([1.0, 2.0]))
    h.remove()


def test_gradcheck_reports_the_wrong_gradient():
    class BadSquare(Function):
        @staticmethod
        def forward(ctx, a):
            ctx.save_for_backward(a)
            return a * a

        @staticmethod
        def backward(ctx, g):
            (a,) = ctx.saved_tensors
            return g * a          # wrong: should be 2 a g

    x = nt.tensor(randn(3), requires_grad=True)
    with pytest.raises(GradcheckError, match=r"input 0 .*index .*backward gave .*finite differences gave"):
        gradcheck(lambda t: BadSquare.apply(t), (x,))
    assert gradcheck(lambda t: t * t, (x,))


def test_gradcheck_requires_float64():
    with pytest.raises(ValueError, match="float64"):
        gradcheck(lambda t: t * 2, (nt.randn(3, requires_grad=True),))


def test_function_wrong_gradient_shape_is_reported():
    class Broken(Function):
        @staticmethod
        def forward(ctx, a):
            return a.sum()

        @staticmethod
        def backward(ctx, g):
            return g            # wrong shape

    x = nt.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="BrokenBackward0 returned a gradient of shape"):
        Broken.apply(x).backward()
