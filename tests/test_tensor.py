"""Tensor: construction, dtypes, operators with broadcasting, reductions,
shape ops, indexing, cat/stack -- values and gradients against PyTorch and
finite differences."""
import numpy as np
import pytest

import neuronet as nt
from helpers import check_grad, compare_with_torch, randn, requires_torch, torch


# ---------------------------------------------------------------- construction
def test_default_dtypes_follow_pytorch():
    assert nt.tensor([1.0, 2.0]).dtype == np.float32
    assert nt.tensor([1, 2]).dtype == np.int64
    assert nt.tensor([True, False]).dtype == np.bool_
    assert nt.tensor(np.zeros(3, np.float64)).dtype == np.float64
    assert nt.zeros(2, 3).dtype == np.float32
    assert nt.randn(2, 3).shape == (2, 3)
    assert nt.arange(5).dtype == np.int64
    assert nt.arange(0.0, 1.0, 0.25).dtype == np.float32
    assert nt.ones((2, 3), dtype=nt.float64).dtype == np.float64


def test_factories_and_attributes():
    t = nt.ones(2, 3, requires_grad=True)
    assert t.shape == (2, 3) and t.ndim == 2 and t.numel() == 6 and t.size(1) == 3
    assert t.device == "cpu" and str(t.device) == "cpu"
    assert t.is_leaf and t.grad is None
    z = nt.zeros_like(t)
    assert z.shape == t.shape and not z.requires_grad
    assert nt.full((2,), 7).dtype == np.int64
    assert nt.eye(3).numpy().trace() == 3
    assert nt.tensor(3.5).item() == 3.5


def test_tensor_copies_and_as_tensor_shares():
    a = np.zeros(3, np.float32)
    t = nt.tensor(a)
    t.array[0] = 1
    assert a[0] == 0
    s = nt.as_tensor(a)
    s.array[0] = 2
    assert a[0] == 2


def test_manual_seed_reproducible():
    nt.manual_seed(42)
    a = nt.randn(5).numpy()
    nt.manual_seed(42)
    b = nt.randn(5).numpy()
    np.testing.assert_array_equal(a, b)


def test_requires_grad_only_for_floats():
    with pytest.raises(RuntimeError, match="floating point"):
        nt.tensor([1, 2], requires_grad=True)


def test_repr_like_pytorch():
    assert repr(nt.tensor([1.0, 2.0])) == "tensor([1., 2.])"
    assert "requires_grad=True" in repr(nt.tensor([1.0], requires_grad=True))
    assert "grad_fn=<MulBackward0" in repr(nt.tensor([1.0], requires_grad=True) * 2)


def test_to_dtype_and_device():
    t = nt.tensor([1.5, 2.5])
    assert t.to(nt.float64).dtype == np.float64
    assert t.double().dtype == np.float64
    assert t.long().dtype == np.int64
    assert t.to("cpu") is t
    with pytest.raises(ValueError, match="neither a device"):
        t.to("tpu")


def test_cuda_without_cupy_gives_clear_error():
    if nt.cupy_available():
        pytest.skip("a GPU is present")
    with pytest.raises(RuntimeError, match="CuPy"):
        nt.zeros(2, device="cuda")


# ---------------------------------------------------------------- arithmetic
BINARY = [
    ("add", lambda a, b: a + b), ("sub", lambda a, b: a - b), ("mul", lambda a, b: a * b),
    ("div", lambda a, b: a / b),
]
SHAPES = [((3, 4), (3, 4)), ((3, 4), (4,)), ((2, 3, 4), (3, 1)), ((1, 4), (3, 1)), ((), (2, 2))]


@pytest.mark.parametrize("name,op", BINARY)
@pytest.mark.parametrize("sa,sb", SHAPES)
def test_binary_broadcasting_gradcheck(name, op, sa, sb):
    a = randn(*sa, seed=1)
    b = randn(*sb, seed=2) + (3.0 if name == "div" else 0.0)
    check_grad(op, a, b)


@requires_torch
@pytest.mark.parametrize("name,op", BINARY + [("pow", lambda a, b: a ** b), ("matmul", lambda a, b: a @ b)])
def test_binary_against_torch(name, op):
    if name == "matmul":
        for sa, sb in [((3, 4), (4, 5)), ((4,), (4, 2)), ((3, 4), (4,)), ((2, 3, 4), (4, 5)),
                       ((2, 1, 3, 4), (5, 4, 2)), ((4,), (4,))]:
            compare_with_torch(op, op, randn(*sa, seed=1), randn(*sb, seed=2))
        return
    a = np.abs(randn(3, 4, seed=1)) + 0.5 if name == "pow" else randn(3, 4, seed=1)
    b = randn(4, seed=2) + (3.0 if name == "div" else 0.0)
    compare_with_torch(op, op, a, b)


def test_scalar_operands_keep_dtype_and_grad():
    x = nt.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = (2.0 - x) * 3 + 1 / (x + 1) + x ** 2 + 2 ** x
    assert y.dtype == np.float32
    y.sum().backward()
    xv = np.array([1.0, 2.0, 3.0])
    expected = -3 - 1 / (xv + 1) ** 2 + 2 * xv + 2 ** xv * np.log(2)
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-5)


def test_numpy_array_on_the_left_defers_to_tensor():
    x = nt.tensor([1.0, 2.0], requires_grad=True)
    y = np.array([3.0, 4.0], dtype=np.float32) * x
    assert isinstance(y, nt.Tensor) and y.requires_grad


@pytest.mark.parametrize("fn", [
    lambda x: x.exp(), lambda x: x.abs(), lambda x: x.tanh(), lambda x: x.sigmoid(),
    lambda x: x.clamp(-0.5, 0.5), lambda x: x.clamp(min=0.1), lambda x: -x,
    lambda x: (x * x + 1).log(), lambda x: (x * x + 1).sqrt(), lambda x: x.pow(3),
])
def test_unary_gradcheck(fn):
    check_grad(fn, randn(3, 5, seed=3))


@requires_torch
def test_unary_against_torch():
    x = randn(4, 5, seed=4)
    for f in [lambda t: t.exp(), lambda t: t.abs(), lambda t: t.tanh(), lambda t: t.sigmoid(),
              lambda t: t.clamp(-0.3, 0.4), lambda t: (t * t + 1).log(), lambda t: (t * t + 1).sqrt()]:
        compare_with_torch(f, f, x)


def test_sigmoid_extreme_inputs_are_finite():
    x = nt.tensor([-1e4, 0.0, 1e4])
    np.testing.assert_allclose(x.sigmoid().numpy(), [0.0, 0.5, 1.0])


def test_comparisons_give_bool_without_grad():
    x = nt.tensor([1.0, 2.0, 3.0], requires_grad=True)
    m = x > 1.5
    assert m.dtype == np.bool_ and not m.requires_grad
    assert (x == 2.0).numpy().tolist() == [False, True, False]


# ---------------------------------------------------------------- reductions
@pytest.mark.parametrize("dim,keepdim", [(None, False), (0, False), (1, True), ((0, 2), False), (-1, True)])
def test_sum_mean_var_gradcheck(dim, keepdim):
    x = randn(3, 4, 5, seed=5)
    check_grad(lambda t: t.sum(dim=dim, keepdim=keepdim), x)
    check_grad(lambda t: t.mean(dim=dim, keepdim=keepdim), x)
    check_grad(lambda t: t.var(dim=dim, keepdim=keepdim), x)


@requires_torch
@pytest.mark.parametrize("dim,keepdim", [(None, False), (0, False), (1, True), ((0, 2), False)])
def test_reductions_against_torch(dim, keepdim):
    x = randn(3, 4, 5, seed=6)
    compare_with_torch(lambda t: t.sum(dim=dim, keepdim=keepdim),
                       lambda t: t.sum(dim=dim, keepdim=keepdim) if dim is not None else t.sum(), x)
    compare_with_torch(lambda t: t.mean(dim=dim, keepdim=keepdim),
                       lambda t: t.mean(dim=dim, keepdim=keepdim) if dim is not None else t.mean(), x)
    compare_with_torch(lambda t: t.var(dim=dim, keepdim=keepdim),
                       lambda t: t.var(dim=dim, keepdim=keepdim) if dim is not None else t.var(), x)
    compare_with_torch(lambda t: t.var(dim=dim, keepdim=keepdim, correction=0),
                       lambda t: t.var(dim=dim, keepdim=keepdim, correction=0) if dim is not None
                       else t.var(correction=0), x)


@requires_torch
def test_max_min_with_dim_return_values_and_indices():
    x = randn(4, 6, seed=7)
    for dim in (0, 1, -1):
        for keepdim in (False, True):
            compare_with_torch(lambda t: tuple(t.max(dim, keepdim)), lambda t: tuple(t.max(dim, keepdim)), x)
            compare_with_torch(lambda t: tuple(t.min(dim, keepdim)), lambda t: tuple(t.min(dim, keepdim)), x)
    compare_with_torch(lambda t: t.max(), lambda t: t.max(), x)
    compare_with_torch(lambda t: t.amax(dim=(0, 1)), lambda t: t.amax(dim=(0, 1)), x)
    compare_with_torch(lambda t: t.logsumexp(1), lambda t: t.logsumexp(1), x)


def test_max_all_splits_gradient_over_ties():
    x = nt.tensor([1.0, 3.0, 3.0], requires_grad=True)
    x.max().backward()
    np.testing.assert_allclose(x.grad.numpy(), [0, 0.5, 0.5])


def test_argmax_and_dim_errors():
    x = nt.tensor([[1.0, 5.0], [7.0, 0.0]])
    assert x.argmax().item() == 2
    assert x.argmax(dim=1).tolist() == [1, 0]
    with pytest.raises(IndexError, match="out of range"):
        x.sum(dim=2)


# ---------------------------------------------------------------- shapes & indexing
@pytest.mark.parametrize("fn", [
    lambda t: t.reshape(4, 6), lambda t: t.view(-1), lambda t: t.flatten(1),
    lambda t: t.permute(2, 0, 1), lambda t: t.transpose(0, 2), lambda t: t.unsqueeze(1).squeeze(1),
    lambda t: t[1], lambda t: t[:, 1:3, ::2], lambda t: t[..., -1], lambda t: t[None, 0],
    lambda t: t[[0, 1, 1]], lambda t: t[:, [2, 0, 2]], lambda t: t[t > 0],
    lambda t: t[:1].expand(3, 3, 4),
])
def test_shape_ops_gradcheck(fn):
    check_grad(fn, randn(2, 3, 4, seed=8))


@requires_torch
def test_indexing_against_torch():
    x = randn(4, 5, seed=9)
    for f in [lambda t: t[1:3], lambda t: t[:, [0, 0, 3]], lambda t: t[[1, 1], [2, 2]],
              lambda t: t[..., None, 2:], lambda t: t.T]:
        compare_with_torch(f, f, x)


def test_cat_and_stack():
    a, b = randn(2, 3, seed=10), randn(1, 3, seed=11)
    check_grad(lambda x, y: nt.cat([x, y], dim=0), a, b)
    check_grad(lambda x, y: nt.stack([x, y[[0, 0]]], dim=1), a, b)
    with pytest.raises(RuntimeError, match="sizes must match"):
        nt.cat([nt.zeros(2, 3), nt.zeros(2, 4)], dim=0)
    with pytest.raises(RuntimeError, match="same shape"):
        nt.stack([nt.zeros(2, 3), nt.zeros(3, 3)])


def test_bad_reshape_names_shapes():
    with pytest.raises(RuntimeError, match=r"invalid for a tensor of shape \(2, 3\)"):
        nt.zeros(2, 3).reshape(4, 2)


def test_where_and_maximum():
    a, b = randn(3, 4, seed=12), randn(3, 4, seed=13)
    check_grad(lambda x, y: nt.where(x > y, x, y * 2), a, b)
    check_grad(lambda x, y: nt.maximum(x, y) + nt.minimum(x, y) * 3, a, b)


def test_inplace_on_leaf_requires_no_grad():
    w = nt.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="no_grad"):
        w.add_(1)
    with nt.no_grad():
        w.add_(1).mul_(2)
    np.testing.assert_array_equal(w.numpy(), [4, 4, 4])


@requires_torch
def test_maximum_minimum_ties_split_gradient_as_torch():
    a = np.array([1.0, 2.0, 3.0, -1.0])
    b = np.array([[2.0], [2.0]]) * np.array([1.0, 1.0, 0.5, -0.5])   # ties at index 1, broadcasting
    compare_with_torch(lambda x, y: nt.maximum(x, y), lambda x, y: torch.maximum(x, y), a, b)
    compare_with_torch(lambda x, y: nt.minimum(x, y), lambda x, y: torch.minimum(x, y), a, b)
