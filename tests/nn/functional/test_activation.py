"""Activations: gradcheck, naive per-element formulas, and PyTorch, for every op and option."""
import math
import warnings

import numpy as np
import pytest

import neuronet as nt
import neuronet.nn.functional as F
from neuronet.nn.functional.activation import erf
from helpers import check_grad, compare_with_torch, requires_torch, torch

TF = torch.nn.functional if torch is not None else None


def away_from(x, points, margin=0.1):
    """Move entries within ``margin`` of a kink to ``margin`` away (finite differences
    straddling a kink would measure the average of the two slopes)."""
    x = x.copy()
    for p in points:
        close = np.abs(x - p) < margin
        x[close] = p + np.where(x[close] >= p, margin, -margin)
    return x


def sample(shape, seed=0, scale=3.0, kinks=()):
    x = np.random.default_rng(seed).standard_normal(shape) * scale
    return away_from(x, kinks)


# ---------------------------------------------------------------- naive references
# Written from the definitions, one element at a time, with Python's math module.
def _sig(v):
    return 1 / (1 + math.exp(-v)) if v >= 0 else math.exp(v) / (1 + math.exp(v))


NAIVE = {
    "relu": lambda v: max(v, 0.0),
    "relu6": lambda v: min(max(v, 0.0), 6.0),
    "hardtanh": lambda v: min(max(v, -0.5), 2.0),
    "leaky_relu": lambda v: v if v > 0 else 0.01 * v,
    "leaky_relu_0.2": lambda v: v if v > 0 else 0.2 * v,
    "elu": lambda v: v if v > 0 else math.exp(v) - 1,
    "elu_0.5": lambda v: v if v > 0 else 0.5 * (math.exp(v) - 1),
    "gelu": lambda v: v * 0.5 * (1 + math.erf(v / math.sqrt(2))),
    "gelu_tanh": lambda v: 0.5 * v * (1 + math.tanh(math.sqrt(2 / math.pi) * (v + 0.044715 * v ** 3))),
    "sigmoid": _sig,
    "tanh": math.tanh,
    "softplus": lambda v: v if v > 20 else math.log(1 + math.exp(v)),
    "softplus_b2_t5": lambda v: v if 2 * v > 5 else math.log(1 + math.exp(2 * v)) / 2,
    "silu": lambda v: v * _sig(v),
    "hardswish": lambda v: v * min(max(v + 3, 0.0), 6.0) / 6,
    "hardsigmoid": lambda v: min(max(v + 3, 0.0), 6.0) / 6,
    "selu": lambda v: 1.0507009873554805 * (v if v > 0 else 1.6732632423543772 * (math.exp(v) - 1)),
    "celu_0.7": lambda v: v if v > 0 else 0.7 * (math.exp(v / 0.7) - 1),
    "threshold": lambda v: v if v > 0.4 else -2.0,
    "logsigmoid": lambda v: math.log(_sig(v)) if v > -30 else v - math.log1p(math.exp(v)),
    "mish": lambda v: v * math.tanh(math.log1p(math.exp(v)) if v < 30 else v),
    "softsign": lambda v: v / (1 + abs(v)),
    "tanhshrink": lambda v: v - math.tanh(v),
    "hardshrink": lambda v: v if abs(v) > 0.5 else 0.0,
    "softshrink_0.3": lambda v: v - 0.3 if v > 0.3 else (v + 0.3 if v < -0.3 else 0.0),
}

# name: (neuronet fn, torch fn, kinks to keep away from)
OPS = {
    "relu": (F.relu, lambda x: TF.relu(x), (0,)),
    "relu6": (F.relu6, lambda x: TF.relu6(x), (0, 6)),
    "hardtanh": (lambda x: F.hardtanh(x, -0.5, 2.0), lambda x: TF.hardtanh(x, -0.5, 2.0), (-0.5, 2.0)),
    "leaky_relu": (F.leaky_relu, lambda x: TF.leaky_relu(x), (0,)),
    "leaky_relu_0.2": (lambda x: F.leaky_relu(x, 0.2), lambda x: TF.leaky_relu(x, 0.2), (0,)),
    "elu": (F.elu, lambda x: TF.elu(x), (0,)),
    "elu_0.5": (lambda x: F.elu(x, alpha=0.5), lambda x: TF.elu(x, alpha=0.5), (0,)),
    "gelu": (F.gelu, lambda x: TF.gelu(x), ()),
    "gelu_tanh": (lambda x: F.gelu(x, approximate="tanh"), lambda x: TF.gelu(x, approximate="tanh"), ()),
    "sigmoid": (F.sigmoid, lambda x: torch.sigmoid(x), ()),
    "tanh": (F.tanh, lambda x: torch.tanh(x), ()),
    "softplus": (F.softplus, lambda x: TF.softplus(x), ()),
    "softplus_b2_t5": (lambda x: F.softplus(x, beta=2, threshold=5), lambda x: TF.softplus(x, beta=2, threshold=5),
                       (2.5,)),
    "silu": (F.silu, lambda x: TF.silu(x), ()),
    "hardswish": (F.hardswish, lambda x: TF.hardswish(x), (-3, 3)),
    "hardsigmoid": (F.hardsigmoid, lambda x: TF.hardsigmoid(x), (-3, 3)),
    "selu": (F.selu, lambda x: TF.selu(x), (0,)),
    "celu_0.7": (lambda x: F.celu(x, 0.7), lambda x: TF.celu(x, 0.7), (0,)),
    "threshold": (lambda x: F.threshold(x, 0.4, -2.0), lambda x: TF.threshold(x, 0.4, -2.0), (0.4,)),
    "logsigmoid": (F.logsigmoid, lambda x: TF.logsigmoid(x), ()),
    "mish": (F.mish, lambda x: TF.mish(x), ()),
    "softsign": (F.softsign, lambda x: TF.softsign(x), (0,)),
    "tanhshrink": (F.tanhshrink, lambda x: TF.tanhshrink(x), ()),
    "hardshrink": (F.hardshrink, lambda x: TF.hardshrink(x), (-0.5, 0.5)),
    "softshrink_0.3": (lambda x: F.softshrink(x, 0.3), lambda x: TF.softshrink(x, 0.3), (-0.3, 0.3)),
}


@pytest.mark.parametrize("name", sorted(OPS))
def test_gradcheck(name):
    fn, _, kinks = OPS[name]
    check_grad(fn, sample((3, 4), seed=1, kinks=kinks))


@pytest.mark.parametrize("name", sorted(OPS))
def test_matches_naive_reference(name):
    fn, _, kinks = OPS[name]
    x = sample((4, 5), seed=2, kinks=kinks)
    x[0, :3] = [25.0, -30.0, 0.3]       # the far tails too
    expected = np.vectorize(NAIVE[name])(x)
    np.testing.assert_allclose(fn(nt.tensor(x)).numpy(), expected, rtol=1e-12, atol=1e-14)


@requires_torch
@pytest.mark.parametrize("dtype, atol, rtol", [(np.float32, 1e-6, 1e-5), (np.float64, 1e-12, 1e-10)])
@pytest.mark.parametrize("name", sorted(OPS))
def test_matches_torch(name, dtype, atol, rtol):
    fn, tfn, kinks = OPS[name]
    x = sample((2, 3, 4, 5), seed=3, kinks=kinks).astype(dtype)
    if dtype == np.float64 and (name.startswith("celu") or name == "hardsigmoid"):
        # PyTorch's float64 backward of these uses a float32 constant (CELU: 1/alpha.toFloat();
        # hardsigmoid: 1.0f/6), so it is only float32-accurate; ours is exact (see gradcheck).
        rtol = 1e-6
    out = compare_with_torch(fn, tfn, x, atol=atol, rtol=rtol)
    assert out.dtype == dtype


@pytest.mark.parametrize("name", sorted(OPS))
def test_float32_stays_float32_and_input_untouched(name):
    fn = OPS[name][0]
    x = nt.tensor(sample((6,), seed=4).astype(np.float32))
    before = x.numpy().copy()
    assert fn(x).dtype == nt.float32
    np.testing.assert_array_equal(x.numpy(), before)


INPLACE = [F.relu, F.relu6, F.hardtanh, F.leaky_relu, F.elu, F.selu, F.celu, F.silu, F.hardswish,
           F.hardsigmoid, F.mish, lambda x, inplace: F.threshold(x, 0.1, 5.0, inplace)]


@pytest.mark.parametrize("op", INPLACE)
def test_inplace_flag_writes_into_the_input(op):
    x = nt.tensor(sample((10,), seed=5).astype(np.float32))
    expected = op(x, inplace=False).numpy()
    storage = x.array
    out = op(x, inplace=True)
    assert out is x and x.array is storage          # PyTorch: the same tensor, its storage updated
    np.testing.assert_array_equal(x.numpy(), expected)


@requires_torch
@pytest.mark.parametrize("name, nt_fn, th_fn", [
    ("relu", lambda t: F.relu(t, inplace=True), lambda t: TF.relu(t, inplace=True)),
    ("elu", lambda t: F.elu(t, 0.5, inplace=True), lambda t: TF.elu(t, 0.5, inplace=True)),
    ("silu", lambda t: F.silu(t, inplace=True), lambda t: TF.silu(t, inplace=True)),
    ("hardtanh_", lambda t: F.hardtanh_(t, -0.5, 0.5), lambda t: TF.hardtanh_(t, -0.5, 0.5)),
    ("leaky_relu_", lambda t: F.leaky_relu_(t, 0.2), lambda t: TF.leaky_relu_(t, 0.2)),
    ("relu_ method", lambda t: t.relu_(), lambda t: t.relu_()),
    ("torch.relu_", lambda t: nt.relu_(t), lambda t: torch.relu_(t)),
])
def test_inplace_inside_a_graph_matches_torch(name, nt_fn, th_fn):
    x = sample((3, 4), seed=11, kinks=(0, 0.5, -0.5))
    compare_with_torch(lambda t: nt_fn(t * 2.0) * 3.0, lambda t: th_fn(t * 2.0) * 3.0, x, atol=1e-12)


def test_inplace_on_a_leaf_that_requires_grad_raises():
    x = nt.tensor([1.0, -1.0], requires_grad=True)
    with pytest.raises(RuntimeError):
        F.relu(x, inplace=True)


def test_inplace_over_a_value_saved_for_backward_raises_at_backward():
    x = nt.tensor([1.0, -2.0, 3.0], requires_grad=True)
    y = x * 1.0          # y * y saves y for its backward
    w = y * y
    F.elu(y, inplace=True)
    with pytest.raises(RuntimeError):
        w.sum().backward()


def test_relu_saves_only_a_boolean_mask_and_passes_zero_gradient_at_zero():
    x = nt.tensor([-1.0, 0.0, 2.0], requires_grad=True)
    out = F.relu(x)
    (saved,) = out._node.ctx.saved_tensors
    assert saved.dtype == np.bool_
    np.testing.assert_array_equal(saved, [False, False, True])
    out.backward(nt.tensor([5.0, 6.0, 7.0]))
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0, 7.0])   # PyTorch: d relu(0) = 0


def test_relu_under_no_grad_builds_no_graph():
    x = nt.tensor([-1.0, 0.5], requires_grad=True)
    with nt.no_grad():
        out = F.relu(x)
    assert out._node is None and not out.requires_grad
    np.testing.assert_array_equal(out.numpy(), [0.0, 0.5])


@requires_torch
def test_gradients_at_the_kinks_match_torch():
    x = np.array([-3.0, -1.0, -0.5, 0.0, 2.0, 3.0, 6.0], dtype=np.float64)
    for name in ("relu", "relu6", "hardtanh", "leaky_relu", "elu", "hardswish", "hardsigmoid", "selu",
                 "hardshrink", "softshrink_0.3", "threshold"):
        fn, tfn, _ = OPS[name]
        compare_with_torch(fn, tfn, x, atol=1e-12)


def test_relu_on_integers():
    out = F.relu(nt.tensor([-2, 0, 3]))
    assert out.dtype == nt.int64
    assert out.tolist() == [0, 0, 3]


# ---------------------------------------------------------------- erf
def test_erf_matches_math_erf_to_float64_precision():
    x = np.concatenate([np.linspace(-7, 7, 20001), [0.0, -0.0, 1e-300, 0.84375, 1.25, 1 / 0.35, 6.0, 50.0]])
    ref = np.array([math.erf(v) for v in x])
    np.testing.assert_allclose(erf(x), ref, rtol=5e-16, atol=3e-16)
    x32 = x.astype(np.float32)
    out32 = erf(x32)
    assert out32.dtype == np.float32
    np.testing.assert_allclose(out32, [math.erf(v) for v in x32.astype(np.float64)], atol=1.2e-7)


def test_erf_special_values():
    out = erf(np.array([np.inf, -np.inf, np.nan, 1e300, -1e300]))
    np.testing.assert_array_equal(out[[0, 1, 3, 4]], [1.0, -1.0, 1.0, -1.0])
    assert np.isnan(out[2])


# ---------------------------------------------------------------- softmax / log_softmax
def naive_softmax(x, dim):
    """exp(x_i) / sum_j exp(x_j), one slice at a time, with the max subtracted."""
    x = np.moveaxis(x, dim, -1)
    out = np.empty_like(x)
    for idx in np.ndindex(x.shape[:-1]):
        row = x[idx]
        e = np.array([math.exp(v - row.max()) for v in row])
        out[idx] = e / e.sum()
    return np.moveaxis(out, -1, dim)


@pytest.mark.parametrize("dim", [0, 1, 2, -1])
def test_softmax_gradcheck_and_naive(dim):
    x = sample((2, 3, 4), seed=6, scale=1.0)
    check_grad(lambda t: F.softmax(t, dim), x)
    check_grad(lambda t: F.log_softmax(t, dim), x)
    np.testing.assert_allclose(F.softmax(nt.tensor(x), dim).numpy(), naive_softmax(x, dim), rtol=1e-12)
    np.testing.assert_allclose(F.log_softmax(nt.tensor(x), dim).numpy(), np.log(naive_softmax(x, dim)),
                               rtol=1e-12, atol=1e-14)


@requires_torch
@pytest.mark.parametrize("dtype, atol", [(np.float32, 1e-6), (np.float64, 1e-12)])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_softmax_matches_torch(dim, dtype, atol):
    x = sample((3, 4, 5), seed=7).astype(dtype)
    out = compare_with_torch(lambda t: F.softmax(t, dim), lambda t: TF.softmax(t, dim), x, atol=atol)
    assert out.dtype == dtype
    out = compare_with_torch(lambda t: F.log_softmax(t, dim), lambda t: TF.log_softmax(t, dim), x, atol=atol)
    assert out.dtype == dtype


@requires_torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_is_stable_for_huge_logits(dtype):
    x = np.array([[1e4, 0.0, -1e4], [1e4, 1e4 - 1, 1e4 - 2], [-1e4, -1e4, -1e4 + 3]], dtype=dtype)
    for nt_fn, t_fn in ((F.softmax, TF.softmax), (F.log_softmax, TF.log_softmax)):
        out = compare_with_torch(lambda t: nt_fn(t, dim=1), lambda t: t_fn(t, dim=1), x, atol=1e-5, rtol=1e-5)
        assert np.isfinite(out.numpy()).all()
    probs = F.softmax(nt.tensor(x), dim=1).numpy()
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-6)


@requires_torch
def test_softmax_dtype_argument_casts_first():
    x = sample((2, 5), seed=8).astype(np.float32)
    out = compare_with_torch(lambda t: F.softmax(t, 1, dtype=nt.float64),
                             lambda t: TF.softmax(t, 1, dtype=torch.float64), x, atol=1e-7)
    assert out.dtype == nt.float64
    out = compare_with_torch(lambda t: F.log_softmax(t, 1, dtype="float64"),
                             lambda t: TF.log_softmax(t, 1, dtype=torch.float64), x, atol=1e-7)
    assert out.dtype == nt.float64
    assert F.softmax(nt.tensor([1, 2, 3]), 0, dtype=nt.float32).dtype == nt.float32


@requires_torch
def test_softmax_implicit_dim_follows_torch_with_a_warning():
    for shape in [(5,), (2, 3), (2, 3, 4), (2, 3, 4, 5)]:
        x = sample(shape, seed=9)
        with pytest.warns(UserWarning, match="Implicit dimension choice for softmax"):
            ours = F.softmax(nt.tensor(x)).numpy()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs = TF.softmax(torch.tensor(x)).numpy()
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)


def test_softmax_of_a_scalar_is_one():
    x = nt.tensor(3.0, requires_grad=True)
    y = F.softmax(x, 0)
    assert y.shape == () and y.item() == 1.0
    assert F.log_softmax(x, -1).item() == 0.0
    y.backward()
    assert x.grad.item() == 0.0


def test_softmax_bad_dim_names_dim_and_shape():
    x = nt.randn(2, 3)
    with pytest.raises(IndexError, match=r"softmax: dim 2 is out of range for input of shape \(2, 3\) "
                                         r"\(expected dim in \[-2, 1\]\)"):
        F.softmax(x, 2)
    with pytest.raises(IndexError, match=r"log_softmax: dim -3 is out of range for input of shape \(2, 3\)"):
        F.log_softmax(x, -3)
    with pytest.raises(TypeError, match="softmax: dim must be an int, received 1.0"):
        F.softmax(x, 1.0)
    with pytest.raises(TypeError,
                       match=r"softmax: expected a floating-point input, received dtype (torch\.)?int64"):
        F.softmax(nt.tensor([1, 2]), 0)


# ---------------------------------------------------------------- bad inputs
def test_bad_inputs_raise_clear_errors():
    x = nt.randn(3)
    with pytest.raises(TypeError, match="relu: expected input to be a neuronet.Tensor, received list"):
        F.relu([1.0, 2.0])
    with pytest.raises(TypeError, match="gelu: expected input to be a neuronet.Tensor, received ndarray"):
        F.gelu(np.zeros(3))
    with pytest.raises(TypeError, match=r"sigmoid: expected a floating-point input, received dtype (torch\.)?int64"):
        F.sigmoid(nt.tensor([1, 2]))
    with pytest.raises(ValueError, match="gelu: approximate must be 'none' or 'tanh', received 'erf'"):
        F.gelu(x, approximate="erf")
    with pytest.raises(ValueError, match="hardtanh: min_val cannot be greater than max_val, received "
                                         "min_val=2.0, max_val=1.0"):
        F.hardtanh(x, 2.0, 1.0)
    with pytest.raises(TypeError, match="leaky_relu: negative_slope must be a number, received '0.1'"):
        F.leaky_relu(x, "0.1")
    with pytest.raises(ValueError, match="elu: alpha must be finite, received nan"):
        F.elu(x, float("nan"))
    with pytest.raises(ValueError, match="softplus: beta must be non-zero"):
        F.softplus(x, beta=0)


def test_numpy_scalar_parameters_do_not_upcast_float32():
    x = nt.randn(4)
    assert F.leaky_relu(x, np.float64(0.1)).dtype == nt.float32
    assert F.softplus(x, beta=np.float64(2.0)).dtype == nt.float32


@requires_torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_backward_with_nan_and_inf_follows_pytorch(dtype):
    x = np.array([-1.0, 0.0, 2.0, np.nan, -3.0, 4.0, -0.0], dtype=dtype)
    g = np.array([np.inf, np.inf, 3.0, 5.0, np.nan, -np.inf, -2.0], dtype=dtype)
    t = nt.tensor(x, requires_grad=True)
    F.relu(t).backward(nt.tensor(g))
    tt = torch.tensor(x, requires_grad=True)
    torch.relu(tt).backward(torch.tensor(g))
    np.testing.assert_array_equal(t.grad.numpy(), tt.grad.numpy())


# ---------------------------------------------------------------- top-level and method spellings
@requires_torch
def test_torch_level_and_tensor_method_spellings_match_torch():
    x = sample((3, 4), seed=12, kinks=(0,))
    t, n = torch.tensor(x), nt.tensor(x)
    pairs = [
        (nt.relu(n), torch.relu(t)), (n.relu(), t.relu()), (nt.softmax(n, 1), torch.softmax(t, 1)),
        (n.softmax(-1), t.softmax(-1)), (n.log_softmax(dim=0), t.log_softmax(dim=0)),
        (nt.log_softmax(n, 1, dtype=nt.float32), torch.log_softmax(t, 1, dtype=torch.float32)),
        (nt.selu(n), torch.selu(t)), (nt.celu(n, 0.5), torch.celu(t, 0.5)),
        (nt.threshold(n, 0.1, 2.0), torch.threshold(t, 0.1, 2.0)),
        (nt.prelu(n, nt.tensor([0.3])), torch.prelu(t, torch.tensor([0.3], dtype=torch.float64))),
        (n.hardshrink(0.4), t.hardshrink(0.4)), (n.sigmoid(), t.sigmoid()), (nt.tanh(n), torch.tanh(t)),
    ]
    for ours, theirs in pairs:
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), atol=1e-6)
    y = n * 1.0
    assert y.relu_() is y and (y.numpy() >= 0).all()


@requires_torch
def test_functionals_registered_at_top_level_match_torch():
    x = np.random.default_rng(13).standard_normal((2, 4, 6, 6))
    w = np.random.default_rng(14).standard_normal((3, 4, 3, 3))
    n, t = nt.tensor(x), torch.tensor(x)
    np.testing.assert_allclose(nt.conv2d(n, nt.tensor(w), padding=1).numpy(),
                               torch.conv2d(t, torch.tensor(w), padding=1).numpy(), atol=1e-10)
    np.testing.assert_array_equal(nt.pixel_shuffle(n, 2).numpy(), torch.pixel_shuffle(t, 2).numpy())
    np.testing.assert_allclose(nt.layer_norm(n, (6,)).numpy(), torch.layer_norm(t, (6,)).numpy(), atol=1e-10)
    np.testing.assert_allclose(nt.cosine_similarity(n, n * 2 - 1).numpy(),
                               torch.cosine_similarity(t, t * 2 - 1).numpy(), atol=1e-12)
    np.testing.assert_array_equal(nt.max_pool2d(n, 2).numpy(), torch.max_pool2d(t, 2).numpy())
    assert nt.dropout(n, 0.5, False) is n
    emb = np.random.default_rng(15).standard_normal((5, 3))
    idx = np.array([[0, 4], [2, 2]])
    np.testing.assert_array_equal(nt.embedding(nt.tensor(emb), nt.tensor(idx)).numpy(),
                                  torch.embedding(torch.tensor(emb), torch.tensor(idx)).numpy())
    out, ind = nt.adaptive_max_pool1d(nt.tensor(x[0]), 2)
    tout, tind = torch.adaptive_max_pool1d(torch.tensor(x[0]), 2)
    np.testing.assert_array_equal(ind.numpy(), tind.numpy())


# ---------------------------------------------------------------- rrelu
def test_rrelu_eval_matches_naive_and_torch():
    x = sample((3, 4), seed=14, kinks=(0,))
    out = F.rrelu(nt.tensor(x), 0.1, 0.3)
    np.testing.assert_allclose(out.numpy(), np.where(x >= 0, x, 0.2 * x), rtol=1e-12)
    check_grad(lambda t: F.rrelu(t, 0.1, 0.3), x)
    if torch is not None:
        compare_with_torch(lambda t: F.rrelu(t, 0.1, 0.3), lambda t: TF.rrelu(t, 0.1, 0.3), x, atol=1e-12)


def test_rrelu_training_draws_slopes_in_range_and_backprops_them():
    x = nt.tensor(-np.abs(sample((2000,), seed=15)) - 0.1, requires_grad=True)
    out = F.rrelu(x, 0.1, 0.3, training=True)
    slopes = out.numpy() / x.numpy()
    assert slopes.min() >= 0.1 and slopes.max() <= 0.3 and slopes.std() > 0.04
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), slopes, rtol=1e-12)

    def reseeded(t):
        nt.manual_seed(3)
        return F.rrelu(t, 0.1, 0.3, training=True)
    check_grad(reseeded, sample((3, 4), seed=16, kinks=(0,)))


def test_gumbel_softmax_soft_and_hard():
    nt.manual_seed(0)
    logits = nt.tensor(np.log(np.array([[0.7, 0.2, 0.1]] * 4000)), requires_grad=True)
    soft = F.gumbel_softmax(logits, tau=0.5)
    np.testing.assert_allclose(soft.numpy().sum(-1), 1.0, rtol=1e-12)
    hard = F.gumbel_softmax(logits, tau=0.5, hard=True)
    h = hard.numpy()
    assert set(np.unique(h)) == {0.0, 1.0} and (h.sum(-1) == 1).all()
    freq = h.mean(0)                     # Gumbel-max: argmax is a sample of softmax(logits)
    np.testing.assert_allclose(freq, [0.7, 0.2, 0.1], atol=0.03)
    (hard * nt.tensor(np.arange(3.0))).sum().backward()      # straight-through: the soft sample's gradient
    assert logits.grad is not None and np.abs(logits.grad.numpy()).sum() > 0
