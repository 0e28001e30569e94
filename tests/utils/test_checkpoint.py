"""utils.checkpoint: recomputed activations give exactly the direct gradients."""
import numpy as np
import pytest

import neuronet as nt
from neuronet import nn
from neuronet.utils.checkpoint import checkpoint, checkpoint_sequential


def _model():
    nt.manual_seed(3)
    return nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Dropout(0.3), nn.Linear(8, 8), nn.ReLU(),
                         nn.Linear(8, 2))


def _grads(model):
    return [p.grad.numpy().copy() for p in model.parameters()]


@pytest.mark.parametrize("x_requires_grad", [False, True])
def test_checkpoint_gradients_equal_direct_ones(x_requires_grad):
    x = nt.randn(5, 4)
    m = _model()
    x1 = x.clone().requires_grad_(x_requires_grad)
    nt.manual_seed(11)
    direct = m(x1)
    direct.sum().backward()
    ref, ref_x = _grads(m), (x1.grad.numpy().copy() if x_requires_grad else None)
    m.zero_grad()
    x2 = x.clone().requires_grad_(x_requires_grad)
    nt.manual_seed(11)                     # the same dropout mask, recomputed in backward too
    out = checkpoint(m, x2, use_reentrant=False)
    np.testing.assert_allclose(out.detach().numpy(), direct.detach().numpy())
    out.sum().backward()
    for a, b in zip(_grads(m), ref):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    if x_requires_grad:
        np.testing.assert_allclose(x2.grad.numpy(), ref_x, rtol=1e-6, atol=1e-7)


def test_checkpoint_records_one_node_instead_of_the_functions_ops():
    m = _model().eval()
    x = nt.randn(5, 4, requires_grad=True)
    direct = m(x)
    assert type(direct.grad_fn).__name__ == "AddmmBackward0"
    out = checkpoint(m, x, use_reentrant=False)
    assert type(out.grad_fn).__name__ == "_RecomputeBackward"
    below = {type(f).__name__ for f, _ in out.grad_fn.next_functions if f is not None}
    assert below == {"AccumulateGrad"}          # straight to the leaves: no Linear/Tanh nodes kept


def test_checkpoint_sequential_matches():
    m = _model().eval()
    x = nt.randn(3, 4, requires_grad=True)
    m(x).sum().backward()
    ref = _grads(m)
    m.zero_grad()
    checkpoint_sequential(m, 2, x, use_reentrant=False).sum().backward()
    for a, b in zip(_grads(m), ref):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_checkpoint_bad_return():
    with pytest.raises(TypeError, match="must return a tensor"):
        checkpoint(lambda t: 3, nt.ones(2), use_reentrant=False)
