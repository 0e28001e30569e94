"""ops/math: elementwise math, division, comparisons and prod/cumsum/cumprod/all/any.

Three witnesses per differentiable op: gradcheck in float64 under a random
upstream gradient, PyTorch (values, gradients and dtypes), and for the
reductions with a tricky backward (prod and cumprod with zeros) a naive loop
written here.
"""
import itertools
import math

import numpy as np
import pytest

import neuronet as nt
from neuronet.ops import math as nm
from helpers import check_grad, compare_with_torch, requires_torch, torch


def dname(t):
    """A dtype's name, neuronet or torch ('float32', 'int64', 'bool')."""
    if torch is not None and isinstance(t, torch.Tensor):
        return str(t.dtype).replace("torch.", "")
    return np.dtype(t.dtype).name


def uniform(shape, lo, hi, seed=0):
    return np.random.default_rng(seed).uniform(lo, hi, shape)


def away_from_steps(x, step=0.5, margin=0.1):
    """Move values within ``margin`` of a multiple of ``step`` (where a rounding
    op jumps) by ``margin``: finite differences must not straddle a jump."""
    r = x / step - np.round(x / step)
    return np.where(np.abs(r) * step < margin, x + np.sign(r + 1e-12) * margin, x)


# --------------------------------------------------------------- one-input ops
# name -> the interval its samples are drawn from (inside the domain, off the poles)
UNARY_DOMAINS = {
    "sin": (-3, 3), "cos": (-3, 3), "tan": (-1.2, 1.2), "asin": (-0.9, 0.9), "acos": (-0.9, 0.9),
    "atan": (-3, 3), "sinh": (-2, 2), "cosh": (-2, 2), "asinh": (-3, 3), "acosh": (1.2, 4),
    "atanh": (-0.9, 0.9), "exp2": (-2, 2), "expm1": (-2, 2), "log2": (0.2, 3), "log10": (0.2, 3),
    "log1p": (-0.8, 3), "rsqrt": (0.2, 3), "reciprocal": (0.3, 3), "square": (-3, 3), "erf": (-2.5, 2.5),
    "erfc": (-2.5, 2.5), "frac": (-3, 3), "sign": (-3, 3), "floor": (-3, 3), "ceil": (-3, 3),
    "trunc": (-3, 3), "exp": (-2, 2), "log": (0.2, 3), "sqrt": (0.2, 3), "tanh": (-2, 2),
    "sigmoid": (-3, 3), "abs": (-3, 3), "neg": (-3, 3), "round": (-3, 3),
    "arcsin": (-0.9, 0.9), "arccos": (-0.9, 0.9), "arctan": (-3, 3), "arcsinh": (-3, 3),
    "arccosh": (1.2, 4), "arctanh": (-0.9, 0.9), "fix": (-3, 3), "sgn": (-3, 3), "absolute": (-3, 3),
    "negative": (-3, 3),
}
STEP_OPS = {"frac", "sign", "floor", "ceil", "trunc", "round", "fix", "sgn", "abs", "absolute"}


def unary_sample(name, shape=(3, 4), seed=0):
    x = uniform(shape, *UNARY_DOMAINS[name], seed=seed)
    return away_from_steps(x) if name in STEP_OPS else x


@pytest.mark.parametrize("name", sorted(UNARY_DOMAINS))
def test_unary_gradcheck(name):
    x = unary_sample(name)
    check_grad(lambda t: getattr(nt, name)(t), x)
    check_grad(lambda t: getattr(t, name)(), x)        # the Tensor method is the same op


@requires_torch
@pytest.mark.parametrize("name", sorted(UNARY_DOMAINS))
def test_unary_matches_torch(name):
    x = unary_sample(name, seed=1)
    # (torch's sgn hands back a symbolic zero gradient that cannot be read)
    compare_with_torch(lambda t: getattr(nt, name)(t), lambda t: getattr(torch, name)(t), x,
                       atol=1e-10, rtol=1e-10, grad=name != "sgn")
    x32 = x.astype(np.float32)
    out = compare_with_torch(lambda t: getattr(t, name)(), lambda t: getattr(t, name)(), x32,
                             atol=1e-6, rtol=1e-5, grad=name != "sgn")
    assert dname(out) == "float32"


def test_unary_naive_reference():
    """A few ops against the math module, element by element."""
    x = uniform((7,), 0.1, 0.9, seed=3)
    for name, ref in (("erf", math.erf), ("erfc", math.erfc), ("expm1", math.expm1), ("log1p", math.log1p),
                      ("asinh", math.asinh), ("atanh", math.atanh), ("exp2", lambda v: 2.0 ** v)):
        got = getattr(nt, name)(nt.tensor(x)).numpy()
        np.testing.assert_allclose(got, [ref(v) for v in x], rtol=1e-12, err_msg=name)


@requires_torch
@pytest.mark.parametrize("name", ["sin", "exp2", "log1p", "rsqrt", "reciprocal", "erf", "sqrt", "exp",
                                  "sigmoid", "square", "abs", "neg", "floor", "sign", "trunc", "round"])
@pytest.mark.parametrize("dtype", ["int64", "int32", "bool"])
def test_integer_inputs_follow_pytorch_dtypes(name, dtype):
    vals = np.array([0, 1, 2, 3]) if dtype != "bool" else np.array([True, False, True, True])
    t_th = torch.tensor(vals.astype(dtype))
    try:
        expected = getattr(torch, name)(t_th)
    except Exception as e:          # PyTorch refuses some (neg of bool, abs of bool ...): so do we
        with pytest.raises(type(e) if isinstance(e, (RuntimeError, NotImplementedError)) else Exception):
            getattr(nt, name)(nt.tensor(vals.astype(dtype)))
        return
    got = getattr(nt, name)(nt.tensor(vals.astype(dtype)))
    assert dname(got) == dname(expected), (name, dtype)
    np.testing.assert_allclose(got.numpy().astype(float), expected.numpy().astype(float), rtol=1e-6)


def test_frac_of_integers_is_refused_as_in_pytorch():
    with pytest.raises(NotImplementedError, match="frac"):
        nt.frac(nt.tensor([1, 2]))
    with pytest.raises(NotImplementedError, match="round"):
        nt.round(nt.tensor([1, 2]), decimals=1)


@requires_torch
@pytest.mark.parametrize("decimals", [0, 1, 2, -1])
def test_round_decimals(decimals):
    x = np.array([2.5, 3.5, -2.5, 0.125, 1.2345, 15.0, -27.5, 149.9])
    for dt in (np.float64, np.float32):
        got = nt.round(nt.tensor(x.astype(dt)), decimals=decimals)
        exp = torch.round(torch.tensor(x.astype(dt)), decimals=decimals)
        np.testing.assert_allclose(got.numpy(), exp.numpy(), rtol=1e-6)
    assert nt.tensor([2.5]).round().item() == 2.0          # halves to even


def test_step_functions_have_zero_gradient_and_a_graph():
    for name in ("floor", "ceil", "trunc", "round", "sign"):
        x = nt.tensor([0.3, -1.7, 2.2], dtype=nt.float64, requires_grad=True)
        y = getattr(nt, name)(x)
        assert y.requires_grad
        (y * nt.tensor([1.0, 2.0, 3.0], dtype=nt.float64)).sum().backward()
        np.testing.assert_array_equal(x.grad.numpy(), 0)


# ------------------------------------------------------------- in-place variants
@pytest.mark.parametrize("name", ["sin", "cos", "tan", "exp", "log", "sqrt", "abs", "neg", "reciprocal",
                                  "rsqrt", "floor", "exp2", "sigmoid", "tanh", "erf", "square", "atan"])
def test_inplace_variants_write_into_the_tensor_and_keep_the_gradient(name):
    x0 = unary_sample(name if name not in ("floor",) else "floor", shape=(5,), seed=4)
    x = nt.tensor(x0, requires_grad=True)
    y = x * 1.0
    arr = y.array
    v = y._version
    res = getattr(y, name + "_")()
    assert res is y and y.array is arr and y._version == v + 1
    ref_x = nt.tensor(x0, requires_grad=True)
    ref = getattr(nt, name)(ref_x)
    np.testing.assert_allclose(y.numpy(), ref.numpy(), rtol=1e-12)
    up = np.random.default_rng(0).standard_normal(5)
    (y * nt.tensor(up)).sum().backward()
    (ref * nt.tensor(up)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), ref_x.grad.numpy(), rtol=1e-12)


def test_inplace_rules():
    leaf = nt.tensor([0.5, 1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        leaf.sin_()
    with nt.no_grad():
        leaf.sin_()
    np.testing.assert_allclose(leaf.numpy(), np.sin([0.5, 1.0]), rtol=1e-6)
    ints = nt.tensor([1, 2])
    with pytest.raises(RuntimeError, match="can't be cast"):
        ints.sin_()
    ints.neg_()
    assert ints.tolist() == [-1, -2]
    y = nt.tensor([1.0, 4.0]).clamp_min_(2.0)
    assert y.tolist() == [2.0, 4.0]
    z = nt.tensor([7.0, -7.0])
    z.remainder_(3)
    assert z.tolist() == [1.0, 2.0]
    w = nt.tensor([float("nan"), 1.0])
    w.nan_to_num_(nan=5.0)
    assert w.tolist() == [5.0, 1.0]
    c = nt.tensor([1, 2, 3])
    c.cumsum_(0)
    assert c.tolist() == [1, 3, 6]


def test_inplace_saved_value_modified_later_raises():
    x = nt.tensor([0.5, 1.0], requires_grad=True)
    y = x * 1.0
    z = y.sin()          # saves y
    y.cos_()             # modifies it
    with pytest.raises(RuntimeError):
        z.sum().backward()


# ----------------------------------------------------------------- two-input ops
def rand(shape, seed, lo=-2, hi=2):
    return uniform(shape, lo, hi, seed)


@requires_torch
@pytest.mark.parametrize("name,shapes,lo,hi", [
    ("atan2", ((3, 4), (4,)), -2, 2),
    ("atan2", ((2, 1), (1, 3)), -2, 2),
    ("add", ((3, 4), (3, 1)), -2, 2),
    ("sub", ((3, 4), (4,)), -2, 2),
    ("mul", ((2, 3), (2, 3)), -2, 2),
    ("div", ((2, 3), (3,)), 0.5, 2),
    ("true_divide", ((2, 3), (3,)), 0.5, 2),
    ("pow", ((2, 3), (3,)), 0.5, 2),
    ("maximum", ((2, 3), (3,)), -2, 2),
    ("minimum", ((2, 3), (2, 1)), -2, 2),
    ("fmax", ((2, 3), (3,)), -2, 2),
    ("fmin", ((2, 3), (2, 1)), -2, 2),
])
def test_binary_gradcheck_and_torch(name, shapes, lo, hi):
    a, b = rand(shapes[0], 0, lo, hi), rand(shapes[1], 1, lo, hi)
    check_grad(lambda x, y: getattr(nt, name)(x, y), a, b)
    compare_with_torch(lambda x, y: getattr(nt, name)(x, y), lambda x, y: getattr(torch, name)(x, y), a, b,
                       atol=1e-10, rtol=1e-10)


@requires_torch
@pytest.mark.parametrize("name", ["remainder", "fmod"])
def test_remainder_fmod(name):
    a = np.array([[5.5, -3.5, 7.25], [-7.25, 1.1, -0.3]])
    b = np.array([2.0, -1.5, 3.0])
    check_grad(lambda x, y: getattr(nt, name)(x, y), a, b)
    compare_with_torch(lambda x, y: getattr(nt, name)(x, y), lambda x, y: getattr(torch, name)(x, y), a, b,
                       atol=1e-10)
    ia, ib = np.array([5, -3, 7, -7]), np.array([2, 2, -3, -3])
    got = getattr(nt, name)(nt.tensor(ia), nt.tensor(ib))
    exp = getattr(torch, name)(torch.tensor(ia), torch.tensor(ib))
    assert got.tolist() == exp.tolist() and dname(got) == dname(exp)
    # naive reference: Python's % is remainder, math.fmod is fmod
    ref = [x % y for x, y in zip(ia, ib)] if name == "remainder" else [int(math.fmod(x, y)) for x, y in zip(ia, ib)]
    assert got.tolist() == ref


@requires_torch
def test_operators_floordiv_and_mod_follow_python():
    a = nt.tensor([5, -3, 7, -8])
    assert (a // 2).tolist() == [5 // 2, -3 // 2, 7 // 2, -8 // 2]
    assert (a % 3).tolist() == [5 % 3, -3 % 3, 7 % 3, -8 % 3]
    assert (7 // nt.tensor([2, -2])).tolist() == [3, -4]
    assert (7 % nt.tensor([2, -2])).tolist() == [1, -1]
    f = nt.tensor([5.5, -3.5])
    np.testing.assert_allclose((f // 2).numpy(), [2.0, -2.0])
    np.testing.assert_allclose((f % 2).numpy(), [1.5, 0.5])


@requires_torch
@pytest.mark.parametrize("mode", [None, "trunc", "floor"])
def test_div_rounding_modes(mode):
    ints = (np.array([7, -7, 7, -7, 0, 9]), np.array([2, 2, -2, -2, 3, 3]))
    floats = (np.array([7.5, -7.5, 7.5, -7.5, 0.0, 1e-3]), np.array([2.0, 2.0, -2.0, -2.0, 3.0, -0.5]))
    for a, b in (ints, floats):
        got = nt.div(nt.tensor(a), nt.tensor(b), rounding_mode=mode)
        exp = torch.div(torch.tensor(a), torch.tensor(b), rounding_mode=mode)
        assert dname(got) == dname(exp)
        np.testing.assert_allclose(got.numpy(), exp.numpy(), rtol=1e-7)
        got_m = nt.tensor(a).div(nt.tensor(b), rounding_mode=mode)
        np.testing.assert_allclose(got_m.numpy(), exp.numpy(), rtol=1e-7)
    if mode is not None:    # a step function: zero gradient, as PyTorch
        x = nt.tensor([7.5, -7.5], requires_grad=True)
        y = nt.tensor([2.0, 2.0], requires_grad=True)
        nt.div(x, y, rounding_mode=mode).sum().backward()
        assert x.grad.tolist() == [0.0, 0.0] and y.grad.tolist() == [0.0, 0.0]
    assert nt.floor_divide(nt.tensor([7, -7]), 2).tolist() == [3, -4]


def test_division_errors():
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        nt.div(nt.tensor([1, 2]), nt.tensor([1, 0]), rounding_mode="floor")
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        nt.remainder(nt.tensor([1, 2]), 0)
    with pytest.raises(RuntimeError, match="rounding_mode"):
        nt.div(nt.tensor([1.0]), 2, rounding_mode="round")
    with pytest.raises(RuntimeError, match="negative integer powers"):
        nt.pow(nt.tensor([1, 2]), -1)
    with pytest.raises(RuntimeError, match="alpha"):
        nt.add(nt.tensor([1]), nt.tensor([1]), alpha=2.5)
    with pytest.raises(TypeError, match="Tensor"):
        nt.add(1, 2)
    # the float case follows IEEE: no error
    assert math.isinf(nt.div(nt.tensor([1.0]), 0.0).item())


@requires_torch
def test_add_sub_alpha_and_number_first():
    a, b = rand((2, 3), 0), rand((3,), 1)
    compare_with_torch(lambda x, y: nt.add(x, y, alpha=2.5), lambda x, y: torch.add(x, y, alpha=2.5), a, b)
    compare_with_torch(lambda x, y: nt.sub(x, y, alpha=-0.5), lambda x, y: torch.sub(x, y, alpha=-0.5), a, b)
    compare_with_torch(lambda x, y: x.add(y, alpha=3), lambda x, y: x.add(y, alpha=3), a, b)
    compare_with_torch(lambda x: nt.add(2.0, x), lambda x: torch.add(2.0, x), a)
    compare_with_torch(lambda x: nt.pow(2.0, x), lambda x: torch.pow(2.0, x), a)
    compare_with_torch(lambda x: nt.pow(x, 3), lambda x: torch.pow(x, 3), a)
    check_grad(lambda x, y: nt.add(x, y, alpha=2.5), a, b)


@requires_torch
def test_pow_edge_gradients_follow_pytorch():
    a = np.array([0.0, 0.0, 2.0, 3.0])
    b = np.array([0.0, 2.0, 0.0, 0.5])
    compare_with_torch(lambda x, y: nt.pow(x, y), lambda x, y: torch.pow(x, y), a, b)


@requires_torch
def test_extrema_nan_and_ties():
    a = np.array([1.0, 2.0, np.nan, 3.0, np.nan, 1.0])
    b = np.array([1.0, 1.0, 1.0, np.nan, np.nan, 2.0])
    for name in ("fmax", "fmin", "maximum", "minimum"):
        got = getattr(nt, name)(nt.tensor(a), nt.tensor(b)).numpy()
        exp = getattr(torch, name)(torch.tensor(a), torch.tensor(b)).numpy()
        np.testing.assert_array_equal(got, exp, err_msg=name)
    fa, fb = np.array([1.0, 2.0, np.nan, 3.0, 0.5]), np.array([1.0, 1.0, 1.0, np.nan, 0.7])
    for name in ("fmax", "fmin"):
        compare_with_torch(lambda x, y: getattr(nt, name)(x, y), lambda x, y: getattr(torch, name)(x, y),
                           fa, fb)


@requires_torch
def test_clamp_functions():
    x = rand((3, 4), 0)
    x = np.where(np.abs(x - 0.5) < 0.05, 0.6, x)
    x = np.where(np.abs(x + 0.5) < 0.05, -0.6, x)
    for nf, tf in ((lambda t: nt.clamp(t, -0.5, 0.5), lambda t: torch.clamp(t, -0.5, 0.5)),
                   (lambda t: nt.clamp_min(t, -0.5), lambda t: torch.clamp_min(t, -0.5)),
                   (lambda t: t.clamp_max(0.5), lambda t: t.clamp_max(0.5)),
                   (lambda t: nt.clip(t, max=0.5), lambda t: torch.clip(t, max=0.5))):
        compare_with_torch(nf, tf, x)
        check_grad(nf, x)
    with pytest.raises(RuntimeError, match="min"):
        nt.clamp(nt.tensor([1.0]))


@requires_torch
def test_type_promotion_matches_torch_result_type():
    samples = {
        "f32": lambda m: m.tensor([1.5, 2.0]), "f64": lambda m: m.tensor([1.5, 2.0], dtype=m.float64),
        "i64": lambda m: m.tensor([1, 2]), "i32": lambda m: m.tensor([1, 2], dtype=m.int32),
        "b": lambda m: m.tensor([True, False]), "f64_0d": lambda m: m.tensor(2.5, dtype=m.float64),
        "i64_0d": lambda m: m.tensor(3), "float": lambda m: 2.5, "int": lambda m: 3, "bool": lambda m: True,
    }
    for (ka, fa), (kb, fb) in itertools.product(samples.items(), repeat=2):
        a_nt, b_nt, a_th, b_th = fa(nt), fb(nt), fa(torch), fb(torch)
        if not (isinstance(a_th, torch.Tensor) or isinstance(b_th, torch.Tensor)):
            continue
        if isinstance(a_th, torch.Tensor):
            expected = dname(torch.ones(1, dtype=torch.result_type(a_th, b_th)))
            assert np.dtype(nm.result_type(a_nt, b_nt)).name == expected, (ka, kb)
        for name in ("mul", "maximum", "atan2", "div"):
            try:
                exp = getattr(torch, name)(a_th, b_th)
            except (RuntimeError, TypeError):
                continue
            got = getattr(nt, name)(a_nt, b_nt)
            assert dname(got) == dname(exp), (name, ka, kb)


# ------------------------------------------------------------------------ out=
def test_out_writes_into_the_given_tensor():
    x = nt.tensor([0.5, 1.0, 2.0])
    out = nt.empty(3)
    arr = out.array
    res = nt.sin(x, out=out)
    assert res is out and out.array is arr
    np.testing.assert_allclose(out.numpy(), np.sin([0.5, 1.0, 2.0]), rtol=1e-6)
    out64 = nt.zeros(3, dtype=nt.float64)
    nt.add(x, 1, out=out64)
    assert dname(out64) == "float64" and out64.tolist() == [1.5, 2.0, 3.0]
    empty = nt.tensor([])
    nt.mul(x, 2, out=empty)
    assert empty.shape == (3,)
    flags = nt.zeros(3, dtype=nt.bool_)
    nt.gt(x, 0.7, out=flags)
    assert flags.tolist() == [False, True, True]
    c = nt.zeros(2, 2, dtype=nt.int64)
    nt.cumsum(nt.tensor([[1, 2], [3, 4]]), 1, out=c)
    assert c.tolist() == [[1, 3], [3, 7]]


def test_out_errors():
    x = nt.tensor([0.5, 1.0])
    with pytest.raises(RuntimeError, match="shape"):
        nt.sin(x, out=nt.zeros(3))
    with pytest.raises(RuntimeError, match="can't be cast"):
        nt.sin(x, out=nt.zeros(2, dtype=nt.int64))
    with pytest.raises(RuntimeError, match="automatic differentiation"):
        nt.sin(nt.tensor([1.0], requires_grad=True), out=nt.zeros(1))
    with nt.no_grad():
        nt.sin(nt.tensor([1.0], requires_grad=True), out=nt.zeros(1))
    with pytest.raises(TypeError, match="out"):
        nt.sin(x, out=np.zeros(2))


# ---------------------------------------------------------------- comparisons
@requires_torch
def test_comparisons_match_torch():
    a = np.array([[1.0, 2.0, np.nan], [3.0, -1.0, 2.0]])
    b = np.array([2.0, 2.0, 1.0])
    for name in ("eq", "ne", "lt", "le", "gt", "ge", "greater", "less_equal", "not_equal", "greater_equal",
                 "less", "isclose"):
        got = getattr(nt, name)(nt.tensor(a), nt.tensor(b))
        exp = getattr(torch, name)(torch.tensor(a), torch.tensor(b))
        assert got.tolist() == exp.tolist() and dname(got) == "bool", name
    assert nt.eq(nt.tensor([1, 2]), 2.0).tolist() == [False, True]
    for name in ("isnan", "isinf", "isposinf", "isneginf", "isfinite"):
        x = np.array([1.0, np.nan, np.inf, -np.inf, 0.0])
        assert getattr(nt, name)(nt.tensor(x)).tolist() == getattr(torch, name)(torch.tensor(x)).tolist()
        assert getattr(nt.tensor(x), name)().tolist() == getattr(torch.tensor(x), name)().tolist()
        ints = [1, 2]
        assert getattr(nt, name)(nt.tensor(ints)).tolist() == getattr(torch, name)(torch.tensor(ints)).tolist()


@requires_torch
def test_isclose_allclose_equal():
    a = np.array([1.0, 1.0 + 1e-9, np.nan, np.inf, 1.0])
    b = np.array([1.0, 1.0, np.nan, np.inf, 1.1])
    for kw in ({}, {"equal_nan": True}, {"rtol": 0.2}, {"atol": 0.2, "rtol": 0.0}):
        assert nt.isclose(nt.tensor(a), nt.tensor(b), **kw).tolist() == \
            torch.isclose(torch.tensor(a), torch.tensor(b), **kw).tolist()
        assert nt.allclose(nt.tensor(a), nt.tensor(b), **kw) == torch.allclose(torch.tensor(a), torch.tensor(b), **kw)
    assert nt.tensor([1.0, 2.0]).allclose(nt.tensor([1.0, 2.0 + 1e-9]))
    assert nt.equal(nt.tensor([1.0, 2.0]), nt.tensor([1, 2])) is True
    assert nt.equal(nt.tensor([1.0, 2.0]), nt.tensor([1.0, 2.0, 3.0])) is False
    assert nt.tensor([1.0]).equal(nt.tensor([2.0])) is False


@requires_torch
def test_nan_to_num_values_and_gradient():
    x = np.array([np.nan, np.inf, -np.inf, 1.5, -2.0])
    for kw in ({}, {"nan": 1.0, "posinf": 9.0, "neginf": -9.0}, {"posinf": 5.0}):
        for dt in (np.float32, np.float64):
            got = nt.nan_to_num(nt.tensor(x.astype(dt)), **kw)
            exp = torch.nan_to_num(torch.tensor(x.astype(dt)), **kw)
            np.testing.assert_array_equal(got.numpy(), exp.numpy())
    compare_with_torch(lambda t: nt.nan_to_num(t, nan=2.0), lambda t: torch.nan_to_num(t, nan=2.0), x)
    check_grad(lambda t: t.nan_to_num(), np.array([0.5, -1.5, 2.0]))


# ---------------------------------------------------------------- reductions
def naive_prod_grad(x):
    """dE/dx_k of prod(x) under an all-ones upstream gradient: the product of the others."""
    flat = x.reshape(-1)
    out = np.empty_like(flat)
    for k in range(flat.size):
        p = 1.0
        for j in range(flat.size):
            if j != k:
                p *= flat[j]
        out[k] = p
    return out.reshape(x.shape)


@pytest.mark.parametrize("zeros", [0, 1, 2])
def test_prod_backward_with_zeros(zeros):
    x = uniform((2, 3), 0.5, 1.5, seed=zeros)
    x.reshape(-1)[[1, 4][:zeros]] = 0.0
    t = nt.tensor(x, requires_grad=True)
    nt.prod(t).backward()
    np.testing.assert_allclose(t.grad.numpy(), naive_prod_grad(x), rtol=1e-12)
    check_grad(lambda v: nt.prod(v), x)
    check_grad(lambda v: v.prod(1), x)
    check_grad(lambda v: nt.prod(v, dim=0, keepdim=True), x)
    if torch is not None:
        compare_with_torch(lambda v: nt.prod(v, 1), lambda v: torch.prod(v, 1), x)
        compare_with_torch(lambda v: v.prod(), lambda v: v.prod(), x)
        compare_with_torch(lambda v: v.prod(0, keepdim=True), lambda v: v.prod(0, keepdim=True), x)


@requires_torch
def test_prod_dtypes_and_axis_alias():
    for vals in ([1, 2, 3], [True, True], np.array([1, 2], np.int32)):
        got, exp = nt.prod(nt.tensor(vals)), torch.prod(torch.tensor(vals))
        assert dname(got) == dname(exp) and got.item() == exp.item()
    x = nt.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert nt.prod(x, axis=0).tolist() == [3.0, 8.0]
    assert x.prod(dim=1, dtype=nt.float64).tolist() == [2.0, 12.0]
    assert nt.prod(nt.tensor(3.0), 0).item() == 3.0
    with pytest.raises(IndexError):
        x.prod(2)


def naive_cumprod_grad(x, g):
    """dE/dx_k = sum_{i >= k} g_i prod_{j <= i, j != k} x_j, by loops."""
    n = len(x)
    out = np.zeros(n)
    for k in range(n):
        for i in range(k, n):
            p = 1.0
            for j in range(i + 1):
                if j != k:
                    p *= x[j]
            out[k] += g[i] * p
    return out


@pytest.mark.parametrize("x", [[2.0, 0.5, 3.0, -1.5, 0.7], [2.0, 0.0, 3.0, 0.0, 5.0], [0.0, 1.5, 2.0, 3.0, 0.5],
                               [1.5, 2.0, -0.5, 3.0, 0.0], [0.0, 0.0, 1.0, 2.0, 3.0]])
def test_cumprod_backward_with_zeros(x):
    x = np.array(x)
    g = np.random.default_rng(0).standard_normal(len(x))
    t = nt.tensor(x, requires_grad=True)
    nt.cumprod(t, 0).backward(nt.tensor(g))
    np.testing.assert_allclose(t.grad.numpy(), naive_cumprod_grad(x, g), rtol=1e-12, atol=1e-14)
    check_grad(lambda v: nt.cumprod(v, 0), x)
    if torch is not None:
        compare_with_torch(lambda v: nt.cumprod(v, 0), lambda v: torch.cumprod(v, 0), x)


@requires_torch
def test_cumsum_cumprod_along_dims():
    x = uniform((3, 4, 2), 0.5, 1.5, seed=2)
    x[1, 2, 0] = 0.0
    for dim in (0, 1, -1):
        for name in ("cumsum", "cumprod"):
            compare_with_torch(lambda v: getattr(nt, name)(v, dim), lambda v: getattr(torch, name)(v, dim), x)
            compare_with_torch(lambda v: getattr(v, name)(dim=dim), lambda v: getattr(v, name)(dim=dim), x)
            check_grad(lambda v: getattr(nt, name)(v, dim), x)
    for vals in ([1, 2, 3], [True, False, True], np.array([1, 2], np.int32)):
        for name in ("cumsum", "cumprod"):
            got, exp = getattr(nt, name)(nt.tensor(vals), 0), getattr(torch, name)(torch.tensor(vals), 0)
            assert dname(got) == dname(exp) and got.tolist() == exp.tolist()
    assert dname(nt.cumsum(nt.tensor([1, 2]), 0, dtype=nt.float64)) == "float64"
    assert nt.cumsum(nt.tensor([[1, 2], [3, 4]]), axis=1).tolist() == [[1, 3], [3, 7]]
    with pytest.raises(IndexError):
        nt.cumsum(nt.tensor([1.0, 2.0]), 1)


@requires_torch
def test_logcumsumexp():
    x = np.array([[0.5, 2.0, -1.0, 300.0], [-300.0, 1.0, 1.0, 0.0]])
    for dim in (0, 1):
        compare_with_torch(lambda v: nt.logcumsumexp(v, dim), lambda v: torch.logcumsumexp(v, dim), x,
                           atol=1e-10)
    check_grad(lambda v: v.logcumsumexp(1), uniform((2, 4), -2, 2))
    naive = [math.log(sum(math.exp(v) for v in x[1, :i + 1])) for i in range(4)]
    np.testing.assert_allclose(nt.logcumsumexp(nt.tensor(x[1]), 0).numpy(), naive, rtol=1e-12)


@requires_torch
def test_all_any_count_nonzero():
    x = np.array([[1.0, 0.0, 2.0], [3.0, 4.0, 5.0]])
    for name in ("all", "any"):
        for kw in ({}, {"dim": 0}, {"dim": 1, "keepdim": True}, {"dim": (0, 1)}, {"dim": -1}):
            got = getattr(nt, name)(nt.tensor(x), **kw)
            exp = getattr(torch, name)(torch.tensor(x), **kw)
            assert got.tolist() == exp.tolist() and dname(got) == dname(exp), (name, kw)
        got = getattr(nt.tensor(x), name)(axis=1)
        assert got.tolist() == getattr(torch.tensor(x), name)(dim=1).tolist()
        u8 = np.array([[1, 0], [2, 3]], np.uint8)
        assert dname(getattr(nt, name)(nt.tensor(u8), 0)) == dname(getattr(torch, name)(torch.tensor(u8), 0))
    for kw in ({}, {"dim": 0}, {"dim": (0, 1)}):
        got, exp = nt.count_nonzero(nt.tensor(x), **kw), torch.count_nonzero(torch.tensor(x), **kw)
        assert got.tolist() == exp.tolist() and dname(got) == "int64"
    assert nt.tensor(0.0).any().item() is False
    with pytest.raises(IndexError):
        nt.all(nt.tensor(x), dim=2)


# ------------------------------------------------------------ fused arithmetic
@requires_torch
@pytest.mark.parametrize("name,kw,shapes", [
    ("addcmul", {"value": -0.5}, [(2, 3), (3,), (2, 1)]),
    ("addcdiv", {"value": 2.0}, [(2, 3), (2, 3), (3,)]),
    ("lerp", {}, [(2, 3), (2, 3), (3,)]),
])
def test_fused_arithmetic(name, kw, shapes):
    arrays = [uniform(s, 0.5, 2.0, seed=i) for i, s in enumerate(shapes)]
    compare_with_torch(lambda *t: getattr(nt, name)(*t, **kw), lambda *t: getattr(torch, name)(*t, **kw),
                       *arrays, atol=1e-10, rtol=1e-10)
    check_grad(lambda *t: getattr(nt, name)(*t, **kw), *arrays)
    # the in-place form, as optimizers and EMA code use it
    p_nt, p_th = nt.tensor(arrays[0]), torch.tensor(arrays[0])
    getattr(p_nt, name + "_")(*[nt.tensor(a) for a in arrays[1:]], **kw)
    getattr(p_th, name + "_")(*[torch.tensor(a) for a in arrays[1:]], **kw)
    np.testing.assert_allclose(p_nt.numpy(), p_th.numpy(), rtol=1e-12)
    compare_with_torch(lambda a, b: nt.lerp(a, b, 0.25), lambda a, b: torch.lerp(a, b, 0.25), *arrays[:2])


@requires_torch
@pytest.mark.parametrize("name", ["logaddexp", "hypot"])
def test_logaddexp_hypot(name):
    a, b = rand((2, 3), 0), rand((3,), 1)
    compare_with_torch(lambda x, y: getattr(nt, name)(x, y), lambda x, y: getattr(torch, name)(x, y), a, b,
                       atol=1e-10, rtol=1e-10)
    check_grad(lambda x, y: getattr(nt, name)(x, y), a, b)
    big = np.array([1000.0, -1000.0])
    got = getattr(nt, name)(nt.tensor(big), nt.tensor(big)).numpy()
    ref = [max(v, v) + math.log(2) for v in big] if name == "logaddexp" else [math.hypot(v, v) for v in big]
    np.testing.assert_allclose(got, ref, rtol=1e-12)


@requires_torch
def test_logical_ops():
    a = np.array([0.0, 1.5, -2.0, 0.0])
    b = np.array([1, 0, 3, 0])
    for name in ("logical_and", "logical_or", "logical_xor"):
        got = getattr(nt, name)(nt.tensor(a), nt.tensor(b))
        exp = getattr(torch, name)(torch.tensor(a), torch.tensor(b))
        assert got.tolist() == exp.tolist() and dname(got) == "bool"
        assert getattr(nt.tensor(a), name)(nt.tensor(b)).tolist() == exp.tolist()
    assert nt.logical_not(nt.tensor(a)).tolist() == torch.logical_not(torch.tensor(a)).tolist()
    m = nt.tensor([1, 0, 2])
    m.logical_not_()
    assert m.tolist() == [0, 1, 0] and dname(m) == "int64"
