"""In-place semantics: the same object and storage change, autograd records the
change, and the version counter turns a stale saved tensor into an error.
Each scenario runs on neuronet and on PyTorch (when installed) and compares."""
import numpy as np
import pytest

import neuronet as nt
from tests.helpers import requires_torch, torch


def _both(fn, *arrays):
    """Run ``fn(lib, *leaves)`` with neuronet and torch; return (nt_leaves, torch_leaves, outs)."""
    nl = [nt.tensor(a, requires_grad=True) for a in arrays]
    out_n = fn(nt, *nl)
    if torch is None:
        return nl, None, out_n, None
    tl = [torch.tensor(a, requires_grad=True) for a in arrays]
    out_t = fn(torch, *tl)
    return nl, tl, out_n, out_t


def _grads_match(fn, *arrays):
    nl, tl, out_n, out_t = _both(fn, *arrays)
    out_n.sum().backward()
    if torch is None:
        return nl
    out_t.sum().backward()
    np.testing.assert_allclose(out_n.detach().numpy(), out_t.detach().numpy(), rtol=1e-6, atol=1e-6)
    for a, b in zip(nl, tl):
        assert (a.grad is None) == (b.grad is None)
        if a.grad is not None:
            np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-6, atol=1e-6)
    return nl


A = np.array([[0.5, -1.0, 2.0], [1.5, -0.25, 3.0]])
B = np.array([[2.0, 1.0, -1.0], [0.5, 4.0, 1.0]])


def test_manual_update_under_no_grad_changes_the_same_tensor():
    w = nt.tensor([1.0, 2.0], requires_grad=True)
    (w * w).sum().backward()
    before_id, before_array = id(w), w.array
    with nt.no_grad():
        w -= 0.1 * w.grad
    assert id(w) == before_id and w.array is before_array      # same object, same storage
    np.testing.assert_allclose(w.numpy(), [0.8, 1.6])
    assert w.requires_grad and w.is_leaf and w._version == 1
    w.grad.zero_()
    np.testing.assert_array_equal(w.grad.numpy(), [0.0, 0.0])


@pytest.mark.parametrize("op", ["+=", "-=", "*=", "/="])
def test_augmented_assignment_is_in_place(op):
    x = nt.tensor([1.0, 2.0, 4.0])
    view = x[1:]
    arr = x.array
    exec(f"x {op} nt.tensor([2.0, 2.0, 2.0])", {"x": x, "nt": nt})
    assert x.array is arr
    expected = {"+=": [4.0, 6.0], "-=": [0.0, 2.0], "*=": [4.0, 8.0], "/=": [1.0, 2.0]}[op]
    np.testing.assert_allclose(view.numpy(), expected)          # views see the change


@requires_torch
def test_residual_add_in_place_gradient_matches_torch():
    def f(lib, a, b):
        out = a * b
        out += a                        # ResNet's `out += identity`
        return out.relu_() if hasattr(out, "relu_") else out.clamp_(min=0)
    _grads_match(f, A, B)


@requires_torch
@pytest.mark.parametrize("name", ["mul_", "div_", "sub_", "add_", "pow_"])
def test_in_place_arithmetic_gradients_match_torch(name):
    def f(lib, a, b):
        h = a * 1.0
        getattr(h, name)(b if name != "pow_" else 2.0)
        return h * h
    _grads_match(f, A, B)


@requires_torch
def test_index_assignment_records_the_graph_like_torch():
    def f(lib, a, b):
        h = a * 2
        h[0, 1:] = b[1, :2] * 3
        h[:, 0] += b[:, 2]
        return h * a
    _grads_match(f, A, B)


@requires_torch
def test_in_place_on_a_view_reroutes_the_base_gradient():
    def f(lib, a, b):
        h = a + 0.0
        h[1].mul_(b[0])                 # through a view: the base's history must include it
        h.view(-1)[:2].add_(b[1, :2])
        h.t().mul_(2.0)
        return h * h
    _grads_match(f, A, B)


@requires_torch
def test_assignment_into_a_tensor_without_grad_makes_it_require_grad():
    def f(lib, a, b):
        buf = lib.zeros(2, 3, dtype=lib.float64)
        buf[0] = a[0] * b[0]
        buf[1, 2] = a[1, 2]
        return buf
    nl = _grads_match(f, A, B)
    assert nl[0].grad is not None


def test_modifying_a_saved_tensor_makes_backward_raise_torchs_error():
    x = nt.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x.exp()                  # exp saves its output y
    z = (y * 2).sum()
    y.add_(1)
    with pytest.raises(RuntimeError, match=r"one of the variables needed for gradient computation "
                                           r"has been modified by an inplace operation: "
                                           r"\[torch.FloatTensor \[3\]\].*is at version 1; expected "
                                           r"version 0 instead"):
        (y.sum() + z).backward()


def test_modifying_an_input_saved_by_mul_raises_but_add_does_not():
    w = nt.tensor([1.0, 2.0], requires_grad=True)
    x = nt.tensor([3.0, 4.0])
    loss = (w * x).sum()            # Mul saves x
    x.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss.backward()
    w.grad = None
    loss = (w + x).sum()            # Add saves nothing: changing x afterwards is harmless
    x.mul_(2)
    loss.backward()
    np.testing.assert_array_equal(w.grad.numpy(), [1.0, 1.0])


def test_version_counter_is_shared_by_views_and_detach_but_not_data():
    x = nt.ones(2, 3)
    v = x[0]
    d = x.detach()
    v.add_(1)
    assert x._version == v._version == d._version == 1
    x.data.add_(1)                   # .data is outside the counter, as in PyTorch
    assert x._version == 1
    np.testing.assert_array_equal(x.numpy()[0], [3.0, 3.0, 3.0])


def test_detached_change_of_a_saved_tensor_is_caught():
    w = nt.tensor([1.0, 2.0], requires_grad=True)
    y = w.sigmoid()
    loss = y.sum()
    y.detach().zero_()
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        (y * 1).sum().backward()
    del loss


def test_in_place_on_a_leaf_that_requires_grad_raises():
    w = nt.tensor([1.0, 2.0], requires_grad=True)
    for act in (lambda: w.add_(1), lambda: w.mul_(2), lambda: w.zero_(), lambda: w.__setitem__(0, 5.0)):
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an "
                                               "in-place operation"):
            act()
    with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad"):
        w[0].add_(1)
    np.testing.assert_array_equal(w.numpy(), [1.0, 2.0])     # nothing half-done


def test_integer_tensor_refuses_a_float_result_in_place():
    i = nt.zeros(3, dtype=nt.int64)
    with pytest.raises(RuntimeError, match="can't be cast to the desired output type Long"):
        i += 0.5
    i += 2
    np.testing.assert_array_equal(i.numpy(), [2, 2, 2])


def test_expanded_tensor_refuses_in_place_with_a_clear_error():
    e = nt.ones(3).expand(2, 3)
    with pytest.raises(RuntimeError, match="more than one element of the written-to tensor"):
        e.add_(1)


def test_shape_mismatch_in_place_says_both_shapes():
    x = nt.zeros(3)
    with pytest.raises(RuntimeError, match=r"output with shape \[3\] doesn't match the broadcast shape \[2, 3\]"):
        x.add_(nt.ones(2, 3))


def test_overwriting_a_graph_tensor_cuts_its_history():
    w = nt.tensor([1.0, 2.0], requires_grad=True)
    h = w * 3
    h.zero_()
    (h + w).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [1.0, 1.0])


@requires_torch
def test_copy_from_a_tensor_that_requires_grad():
    def f(lib, a, b):
        buf = lib.empty(2, 3, dtype=lib.float64)
        buf.copy_(a * b)
        return buf * a
    _grads_match(f, A, B)


def test_fills_and_random_fills_are_in_place():
    x = nt.empty(1000)
    arr = x.array
    nt.manual_seed(0)
    x.normal_(2.0, 0.5)
    assert x.array is arr and abs(float(x.mean()) - 2.0) < 0.1
    x.uniform_(-1, 1)
    assert float(x.min()) >= -1 and float(x.max()) < 1
    x.fill_(3)
    assert x.array is arr and float(x.sum()) == 3000
    assert x._version == 3
