"""Elementwise math, rounding, division, comparisons and the reductions
``prod / cumsum / cumprod / all / any``, with PyTorch's names, signatures and
dtype rules, exported through :mod:`neuronet.ops._registry` as
``neuronet.<name>(x, ...)`` and ``x.<name>(...)``.

Each differentiable op is an :class:`~neuronet.autograd.Function` whose
docstring gives ``out = f(x)`` and the local chain rule ``dE/dx = g f'(x)``
(``g = dE/dout``). The one-input ops are a table (``_UNARY``): one row holds the
forward, the derivative and the equation; a Function class per row is built
from it, so ``y.grad_fn`` names the op (``<SinBackward>``).

Dtype rules (PyTorch's): transcendental ops of integer or bool tensors give
float32 (the default dtype); rounding, ``abs``, ``neg``, ``sign`` keep the
dtype; binary ops promote as ``torch.result_type`` (a Python number never
widens a tensor of its own category, ``int_tensor + 2.5`` is float32);
``prod/cumsum/cumprod`` of integers or bools accumulate in int64.

``out=``: the result is written into ``out``'s array (``out`` keeps its
identity; an ``out`` with no elements is resized), which PyTorch allows only
outside autograd.
"""
from __future__ import annotations

import builtins
import math
import numbers

import numpy as np

from .. import backend
from ..autograd.function import Function
from ..autograd.grad_mode import _state as _grad_state
from ..backend import array_module
from ..tensor import Tensor
from . import elementwise as _el
from .._dtype import as_dtype
from ._registry import both, tensor_method, torch_function
from .elementwise import unbroadcast
from .reduction import normalize_dims


# ================================================================ dtype rules and out=
def _type_name(dtype):
    dt = np.dtype(dtype)
    return {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long", "int32": "Int",
            "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool"}.get(dt.name, dt.name)


def _category(dtype):
    """bool < integer < floating < complex, PyTorch's promotion categories."""
    return "biufc".index(np.dtype(dtype).kind) if np.dtype(dtype).kind != "u" else 1


def _promote_types(a, b):
    """PyTorch's promote_types: across categories the higher category's dtype
    wins as it is (int64 with float32 is float32, not NumPy's float64); within
    one category, the wider dtype."""
    ca, cb = _category(a), _category(b)
    if ca != cb:
        return a if ca > cb else b
    return np.promote_types(a, b)


def result_type(*operands):
    """The dtype PyTorch gives ``op(*operands)`` (``torch.result_type`` for any count).

    Three tiers -- tensors with dims, zero-dim tensors, Python numbers -- are
    each promoted within themselves; a later tier counts only when its category
    (bool < int < float) is higher than what came before, and a Python number
    then brings the default dtype of its category (float32, int64), not float64.
    """
    tiers = [[], [], []]
    for o in operands:
        if isinstance(o, Tensor):
            tiers[0 if o.ndim > 0 else 1].append(o.array.dtype)
        elif isinstance(o, (bool, np.bool_)):
            tiers[2].append(np.dtype(bool))
        elif isinstance(o, numbers.Integral):
            tiers[2].append(np.dtype(np.int64))
        elif isinstance(o, numbers.Real):
            tiers[2].append(np.dtype(backend.default_dtype))
        elif isinstance(o, numbers.Complex):
            tiers[2].append(np.dtype(np.complex64))
        elif hasattr(o, "dtype"):
            tiers[0 if getattr(o, "ndim", 0) > 0 else 1].append(np.dtype(o.dtype))
        else:
            raise TypeError(f"expected a Tensor or a number, received {type(o).__name__}")
    result = None
    for tier in tiers:
        if not tier:
            continue
        dt = tier[0]
        for d in tier[1:]:
            dt = _promote_types(dt, d)
        if result is None or _category(dt) > _category(result):
            result = dt
    return result


@torch_function(name="result_type")
def _result_type_public(tensor1, tensor2):
    """result_type(tensor1, tensor2) -> dtype: the dtype PyTorch's promotion gives
    an arithmetic op of the two (tensors or numbers): dimensioned tensors over
    0-d tensors over Python numbers, and a lower tier counts only when its
    category (bool < integer < floating) is higher."""
    if not isinstance(tensor1, Tensor) and not isinstance(tensor2, Tensor):
        raise TypeError("result_type(): expected at least one argument to be a Tensor, received "
                        f"{type(tensor1).__name__}, {type(tensor2).__name__}")
    return as_dtype(result_type(tensor1, tensor2))


def _where_method(self, condition, y):
    """x.where(condition, y) == where(condition, x, y)."""
    from ..tensor import where
    return where(condition, self, y)


tensor_method(_where_method, name="where")


def _tensor_of(o, dtype, like):
    """``o`` (Tensor, number or array) as a Tensor of ``dtype`` on ``like``'s device
    (a differentiable cast for tensors)."""
    if isinstance(o, Tensor):
        return o if o.dtype == dtype else o.to(dtype)
    xp = array_module(like.array)
    if isinstance(o, numbers.Integral) and not isinstance(o, bool) and np.dtype(dtype).kind in "iu":
        # an int outside the dtype's range wraps, as in PyTorch (uint8 + -3); NumPy 2 would raise
        return Tensor._wrap(xp.asarray(np.asarray(o).astype(dtype)))
    return Tensor._wrap(xp.asarray(backend.to_device(o, like.device) if hasattr(o, "shape") else o,
                                   dtype=dtype))


def _promote(op, *operands, dtype=None):
    """Tensors of one common dtype (``dtype`` or the promoted one) from tensors and numbers."""
    like = next((o for o in operands if isinstance(o, Tensor)), None)
    if like is None:
        raise TypeError(f"{op}(): expected at least one argument to be a Tensor, received "
                        f"{', '.join(type(o).__name__ for o in operands)}")
    dt = dtype if dtype is not None else result_type(*operands)
    return tuple(_tensor_of(o, dt, like) for o in operands)


def _check_tensor(op, x):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): argument 'input' must be a Tensor, not {type(x).__name__}")
    return x


def _dim_arg(dim, axis, op):
    """PyTorch accepts NumPy's ``axis=`` wherever it takes ``dim=``."""
    if axis is not None:
        if dim is not None:
            raise TypeError(f"{op}(): pass either dim or axis, not both")
        return axis
    return dim


def write_out(result, out, op, inputs=()):
    """Write ``result`` into ``out`` (PyTorch's ``out=``) and return ``out``.

    Refused while autograd records through an input (PyTorch's rule); the
    result must cast to ``out``'s dtype within its category ('same_kind');
    ``out`` keeps its shape unless it has no elements, then it takes the result's.
    """
    if out is None:
        return result
    if not isinstance(out, Tensor):
        raise TypeError(f"{op}(): argument 'out' must be a Tensor, not {type(out).__name__}")
    if _grad_state["enabled"] and (out.requires_grad or builtins.any(
            isinstance(t, Tensor) and t.requires_grad for t in inputs)):
        raise RuntimeError(f"{op}(): functions with out=... arguments don't support automatic "
                           "differentiation, but one of the arguments requires grad.")
    values = result.array if isinstance(result, Tensor) else result
    if out.array.size == 0 and tuple(out.shape) != tuple(values.shape):
        out.array = array_module(out.array).empty(values.shape, dtype=out.array.dtype)
    if tuple(out.shape) != tuple(values.shape):
        raise RuntimeError(f"{op}(): out= has shape {list(out.shape)} but the result has shape "
                           f"{list(values.shape)} (pass an out of that shape, or one with no elements)")
    if values.dtype != out.array.dtype and not np.can_cast(values.dtype, out.array.dtype, "same_kind"):
        raise RuntimeError(f"{op}(): result type {_type_name(values.dtype)} can't be cast to the desired "
                           f"output type {_type_name(out.array.dtype)}")
    out._write(values, f"{op}()")
    return out


def _inplace(name, compute, clone=True):
    """A Tensor method ``name`` that replaces self by ``compute(self, *args)`` in place."""
    def method(self, *args, **kwargs):
        return self._apply_inplace(lambda s: compute(s, *args, **kwargs), f"{name}()", clone=clone)
    method.__name__ = name
    method.__doc__ = f"In-place version of :meth:`{name[:-1]}`: ``x.{name}(...)`` overwrites x."
    return method


# ================================================================ one-input ops
class _Unary(Function):
    """Base of the table's ops: out = f(x), dE/dx = g f'(x).

    A subclass sets ``f(xp, x)``, ``df(xp, g, x, y)`` and ``saves`` (which of the
    input ``x`` and output ``y`` the derivative reads, so only those are kept).
    """

    f = df = None
    saves = ""
    ints = "float"      # integer/bool input: 'float' -> float32, 'keep' its dtype, 'error'

    @classmethod
    def forward(cls, ctx, x):
        xp = array_module(x)
        if x.dtype.kind not in "fc" and cls.ints == "float":
            x = x.astype(backend.default_dtype)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):    # IEEE results, as PyTorch
            y = cls.f(xp, x)
        if ctx.needs_input_grad[0]:
            ctx.save_for_backward(x if "x" in cls.saves else None, y if "y" in cls.saves else None)
            ctx.dtype = x.dtype
        return y

    @classmethod
    def backward(cls, ctx, g):
        x, y = ctx.saved_tensors
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return cls.df(array_module(g), g, x, y).astype(ctx.dtype, copy=False)


def _erf_array(x, complement=False):
    """erf(x) (or erfc(x) = 1 - erf(x) without the cancellation for large x), elementwise."""
    xp = array_module(x)
    if xp is not np:  # pragma: no cover - needs a GPU
        from cupyx.scipy import special
        return special.erfc(x) if complement else special.erf(x)
    f = np.frompyfunc(math.erfc if complement else math.erf, 1, 1)
    return np.asarray(f(x), dtype=x.dtype)


_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_LN2 = math.log(2.0)
_LN10 = math.log(10.0)


def _zero_grad(xp, g, x, y):
    return xp.zeros_like(g)


# name: (forward f(xp, x), derivative dE/dx (xp, g, x, y), saves, ints, "out =", "dE/dx = g *")
_UNARY = {
    "sin": (lambda xp, x: xp.sin(x), lambda xp, g, x, y: g * xp.cos(x), "x", "float",
            "sin x", "cos x"),
    "cos": (lambda xp, x: xp.cos(x), lambda xp, g, x, y: -g * xp.sin(x), "x", "float",
            "cos x", "-sin x"),
    "tan": (lambda xp, x: xp.tan(x), lambda xp, g, x, y: g * (1 + y * y), "y", "float",
            "tan x", "(1 + out^2)"),
    "asin": (lambda xp, x: xp.arcsin(x), lambda xp, g, x, y: g / xp.sqrt(1 - x * x), "x", "float",
             "arcsin x", "1 / sqrt(1 - x^2)"),
    "acos": (lambda xp, x: xp.arccos(x), lambda xp, g, x, y: -g / xp.sqrt(1 - x * x), "x", "float",
             "arccos x", "-1 / sqrt(1 - x^2)"),
    "atan": (lambda xp, x: xp.arctan(x), lambda xp, g, x, y: g / (1 + x * x), "x", "float",
             "arctan x", "1 / (1 + x^2)"),
    "sinh": (lambda xp, x: xp.sinh(x), lambda xp, g, x, y: g * xp.cosh(x), "x", "float",
             "sinh x", "cosh x"),
    "cosh": (lambda xp, x: xp.cosh(x), lambda xp, g, x, y: g * xp.sinh(x), "x", "float",
             "cosh x", "sinh x"),
    "asinh": (lambda xp, x: xp.arcsinh(x), lambda xp, g, x, y: g / xp.sqrt(x * x + 1), "x", "float",
              "arsinh x", "1 / sqrt(x^2 + 1)"),
    "acosh": (lambda xp, x: xp.arccosh(x), lambda xp, g, x, y: g / xp.sqrt(x * x - 1), "x", "float",
              "arcosh x", "1 / sqrt(x^2 - 1)"),
    "atanh": (lambda xp, x: xp.arctanh(x), lambda xp, g, x, y: g / (1 - x * x), "x", "float",
              "artanh x", "1 / (1 - x^2)"),
    "exp2": (lambda xp, x: xp.exp2(x), lambda xp, g, x, y: g * y * _LN2, "y", "float",
             "2^x", "out ln 2"),
    "expm1": (lambda xp, x: xp.expm1(x), lambda xp, g, x, y: g * (y + 1), "y", "float",
              "e^x - 1", "(out + 1)"),
    "log2": (lambda xp, x: xp.log2(x), lambda xp, g, x, y: g / (x * _LN2), "x", "float",
             "log2 x", "1 / (x ln 2)"),
    "log10": (lambda xp, x: xp.log10(x), lambda xp, g, x, y: g / (x * _LN10), "x", "float",
              "log10 x", "1 / (x ln 10)"),
    "log1p": (lambda xp, x: xp.log1p(x), lambda xp, g, x, y: g / (1 + x), "x", "float",
              "ln(1 + x)", "1 / (1 + x)"),
    "rsqrt": (lambda xp, x: 1 / xp.sqrt(x), lambda xp, g, x, y: -0.5 * g * y * y * y, "y", "float",
              "1 / sqrt x", "-out^3 / 2"),
    "reciprocal": (lambda xp, x: 1 / x, lambda xp, g, x, y: -g * y * y, "y", "float",
                   "1 / x", "-out^2"),
    "square": (lambda xp, x: x * x if x.dtype.kind != "b" else x.astype(np.int64),
               lambda xp, g, x, y: 2 * g * x, "x", "keep", "x^2", "2x"),
    "erf": (lambda xp, x: _erf_array(x), lambda xp, g, x, y: g * _TWO_OVER_SQRT_PI * xp.exp(-x * x),
            "x", "float", "erf x = 2/sqrt(pi) int_0^x e^(-t^2) dt", "2/sqrt(pi) e^(-x^2)"),
    "erfc": (lambda xp, x: _erf_array(x, True), lambda xp, g, x, y: -g * _TWO_OVER_SQRT_PI * xp.exp(-x * x),
             "x", "float", "erfc x = 1 - erf x", "-2/sqrt(pi) e^(-x^2)"),
    "frac": (lambda xp, x: x - xp.trunc(x), lambda xp, g, x, y: g, "", "error",
             "x - trunc x", "1"),
    "sign": (lambda xp, x: (xp.where(xp.isnan(x), 0, xp.sign(x)).astype(x.dtype, copy=False)
                            if x.dtype.kind == "f" else xp.sign(x) if x.dtype.kind != "b" else x.copy()),
             _zero_grad, "", "keep", "sign x (-1, 0 or 1; 0 for nan, as PyTorch)", "0"),
    "floor": (lambda xp, x: xp.floor(x) if x.dtype.kind == "f" else x.copy(), _zero_grad, "", "keep",
              "floor x", "0"),
    "ceil": (lambda xp, x: xp.ceil(x) if x.dtype.kind == "f" else x.copy(), _zero_grad, "", "keep",
             "ceil x", "0"),
    "trunc": (lambda xp, x: xp.trunc(x) if x.dtype.kind == "f" else x.copy(), _zero_grad, "", "keep",
              "x rounded toward zero", "0"),
}
# PyTorch's other spellings of the same ops.
_ALIASES = {"arcsin": "asin", "arccos": "acos", "arctan": "atan", "arcsinh": "asinh", "arccosh": "acosh",
            "arctanh": "atanh", "fix": "trunc", "sgn": "sign"}

_UNARY_FUNCTIONS = {}


def _make_unary(name, f, df, saves, ints, math_doc, deriv_doc):
    cls = type(name.capitalize(), (_Unary,), {
        "f": staticmethod(f), "df": staticmethod(df), "saves": saves, "ints": ints,
        "__doc__": f"out = {math_doc};  dE/dx = g * {deriv_doc}."})
    int_rule = {"float": "Integer and bool inputs give float32.",
                "keep": "Integer inputs keep their dtype.",
                "error": "Integer inputs are refused (NotImplementedError), as in PyTorch."}[ints]

    def fn(input, *, out=None):
        _check_tensor(name, input)
        if (cls.ints == "error" and input.dtype.kind not in "fc") or (
                input.dtype.kind == "b" and name in ("floor", "ceil", "trunc")):
            raise NotImplementedError(f"{name}(): not implemented for dtype {_type_name(input.dtype)}")
        return write_out(cls.apply(input), out, name, (input,))

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = (f"{name}(input, *, out=None) -> Tensor\n\n"
                  f"Elementwise out = {math_doc}.\n"
                  f"Backward: dE/dx = g * {deriv_doc}.\n\n"
                  f"Shapes: input any shape; out the same shape. {int_rule}")
    return fn, cls


for _name, _row in _UNARY.items():
    _fn, _cls = _make_unary(_name, *_row)
    _UNARY_FUNCTIONS[_name] = _fn
    globals()[_cls.__name__] = _cls
    both(_fn, name=_name)
    tensor_method(_inplace(_name + "_", _fn, clone="x" in _row[2]))
for _alias, _name in _ALIASES.items():
    both(_UNARY_FUNCTIONS[_name], name=_alias)
    tensor_method(_inplace(_alias + "_", _UNARY_FUNCTIONS[_name], clone="x" in _UNARY[_name][2]))
del _name, _row, _fn, _cls, _alias


# The elementwise ops whose Function lives in ops/elementwise.py (the Tensor
# operators use them too): here they get the int -> float rule and out=.
def _floating(x):
    return x if x.dtype.kind in "fc" else x.to(backend.default_dtype)


def exp(input, *, out=None):
    """exp(input, *, out=None): out = e^x; dE/dx = g out. Integer inputs give float32."""
    return write_out(_el.Exp.apply(_floating(_check_tensor("exp", input))), out, "exp", (input,))


def log(input, *, out=None):
    """log(input, *, out=None): out = ln x; dE/dx = g / x. Integer inputs give float32."""
    return write_out(_el.Log.apply(_floating(_check_tensor("log", input))), out, "log", (input,))


def sqrt(input, *, out=None):
    """sqrt(input, *, out=None): out = sqrt x; dE/dx = g / (2 out). Integer inputs give float32."""
    return write_out(_el.Sqrt.apply(_floating(_check_tensor("sqrt", input))), out, "sqrt", (input,))


def tanh(input, *, out=None):
    """tanh(input, *, out=None): out = tanh x; dE/dx = g (1 - out^2). Integer inputs give float32."""
    return write_out(_el.Tanh.apply(_floating(_check_tensor("tanh", input))), out, "tanh", (input,))


def sigmoid(input, *, out=None):
    """sigmoid(input, *, out=None): out = 1 / (1 + e^-x); dE/dx = g out (1 - out).
    Integer inputs give float32."""
    return write_out(_el.Sigmoid.apply(_floating(_check_tensor("sigmoid", input))), out, "sigmoid", (input,))


def abs(input, *, out=None):  # noqa: A001
    """abs(input, *, out=None): out = |x|; dE/dx = g sign(x) (0 at 0). Keeps the dtype."""
    _check_tensor("abs", input)
    if input.dtype.kind == "b":
        raise NotImplementedError("abs(): not implemented for 'Bool'")
    return write_out(_el.Abs.apply(input), out, "abs", (input,))


def neg(input, *, out=None):
    """neg(input, *, out=None): out = -x; dE/dx = -g. Keeps the dtype (bool refused)."""
    _check_tensor("neg", input)
    if input.dtype.kind == "b":
        raise RuntimeError("Negation, the `-` operator, on a bool tensor is not supported. "
                           "If you are trying to invert a mask, use the `~` or `logical_not()` operator "
                           "instead.")
    return write_out(_el.Neg.apply(input), out, "neg", (input,))


for _name, _fn, _clone in (("exp", exp, False), ("log", log, True), ("sqrt", sqrt, False),
                           ("tanh", tanh, False), ("sigmoid", sigmoid, False), ("abs", abs, True),
                           ("absolute", abs, True), ("neg", neg, False), ("negative", neg, False)):
    both(_fn, name=_name)
    tensor_method(_inplace(_name + "_", _fn, clone=_clone))
del _name, _fn, _clone


class Round(Function):
    """out = x rounded to ``decimals`` places, halves to even
    (``rint(x 10^d) / 10^d``);  dE/dx = 0 (a step function)."""

    @staticmethod
    def forward(ctx, x, decimals):
        xp = array_module(x)
        if x.dtype.kind not in "fc":
            return x.copy()
        if decimals == 0:
            return xp.rint(x)
        scale = x.dtype.type(10.0 ** builtins.abs(decimals))
        return xp.rint(x * scale) / scale if decimals > 0 else xp.rint(x / scale) * scale

    @staticmethod
    def backward(ctx, g):
        return array_module(g).zeros_like(g), None



@both
def round(input, decimals=0, *, out=None):  # noqa: A001
    """round(input, *, decimals=0, out=None) -> Tensor

    Elementwise rounding to ``decimals`` decimal places, halves to even
    (``round(2.5) == 2``, as PyTorch and NumPy). Backward: dE/dx = 0.
    Integer inputs are kept as they are (``decimals`` != 0 refuses them, as PyTorch)."""
    _check_tensor("round", input)
    if input.dtype.kind == "b":
        raise NotImplementedError("round(): not implemented for 'Bool'")
    if decimals != 0 and input.dtype.kind not in "fc":
        raise NotImplementedError(f"round(): decimals= not implemented for dtype {_type_name(input.dtype)}")
    return write_out(Round.apply(input, int(decimals)), out, "round", (input,))


tensor_method(_inplace("round_", round, clone=False))


# ================================================================ two-input ops
class Atan2(Function):
    """out = atan2(a, b), the angle of the point (b, a) in (-pi, pi];
    dE/da = g b / (a^2 + b^2), dE/db = -g a / (a^2 + b^2) (0 at the origin)."""

    @staticmethod
    def forward(ctx, a, b):
        xp = array_module(a, b)
        ctx.save_for_backward(a, b)
        return xp.arctan2(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        xp = array_module(g)
        r2 = a * a + b * b
        inv = xp.where(r2 == 0, 0, 1 / xp.where(r2 == 0, 1, r2))
        na, nb = ctx.needs_input_grad
        return (unbroadcast(g * b * inv, a.shape) if na else None,
                unbroadcast(-g * a * inv, b.shape) if nb else None)


def _check_int_divisor(b, op):
    """Integer division by zero: an error on the CPU, as PyTorch's. On a GPU
    the check would read the divisor back (a stall per call), and PyTorch's
    CUDA kernels do not check either ("integer division by zero on GPU may
    return any value", torch.fmod's docs): it runs there only with
    ``NEURONET_DEBUG_CHECKS=1``; otherwise the quotient is what CuPy's
    kernel gives, as on PyTorch's GPUs."""
    if b.dtype.kind in "iub" and backend.host_checks(array_module(b)) and bool((b == 0).any()):
        raise RuntimeError(f"ZeroDivisionError: {op}(): integer division by zero")


class Remainder(Function):
    """out = a - floor(a / b) b (Python's ``%``: the sign of the divisor);
    dE/da = g, dE/db = -g floor(a / b)."""

    @staticmethod
    def forward(ctx, a, b):
        xp = array_module(a, b)
        _check_int_divisor(b, "remainder")
        if ctx.needs_input_grad[1]:
            ctx.save_for_backward(a, b)
        ctx.shapes = (a.shape, b.shape)
        with np.errstate(divide="ignore", invalid="ignore"):
            return xp.remainder(a, b)

    @staticmethod
    def backward(ctx, g):
        na, nb = ctx.needs_input_grad
        sa, sb = ctx.shapes
        gb = None
        if nb:
            a, b = ctx.saved_tensors
            gb = unbroadcast(-g * array_module(g).floor_divide(a, b), sb)
        return (unbroadcast(g, sa) if na else None), gb


class Fmod(Function):
    """out = a - trunc(a / b) b (C's ``fmod``: the sign of the dividend);
    dE/da = g, dE/db = -g trunc(a / b)."""

    @staticmethod
    def forward(ctx, a, b):
        xp = array_module(a, b)
        _check_int_divisor(b, "fmod")
        if ctx.needs_input_grad[1]:
            ctx.save_for_backward(a, b)
        ctx.shapes = (a.shape, b.shape)
        with np.errstate(divide="ignore", invalid="ignore"):
            return xp.fmod(a, b)

    @staticmethod
    def backward(ctx, g):
        na, nb = ctx.needs_input_grad
        sa, sb = ctx.shapes
        gb = None
        if nb:
            a, b = ctx.saved_tensors
            xp = array_module(g)
            gb = unbroadcast(-g * xp.trunc(a / b), sb)
        return (unbroadcast(g, sa) if na else None), gb


class RoundedDiv(Function):
    """out = trunc(a / b) (``mode='trunc'``) or floor(a / b) (``'floor'``);
    dE/da = dE/db = 0 (a step function, as PyTorch)."""

    @staticmethod
    def forward(ctx, a, b, mode):
        xp = array_module(a, b)
        ctx.shapes = (a.shape, b.shape)
        if a.dtype.kind in "iub":
            _check_int_divisor(b, "div")
            with np.errstate(divide="ignore", invalid="ignore"):
                q = xp.floor_divide(a, b)
                if mode == "trunc":     # floor rounds negative quotients down; trunc rounds them up
                    q = q + ((xp.remainder(a, b) != 0) & ((a < 0) != (b < 0)))
            return q.astype(xp.result_type(a, b), copy=False)
        with np.errstate(divide="ignore", invalid="ignore"):
            return xp.floor_divide(a, b) if mode == "floor" else xp.trunc(a / b)

    @staticmethod
    def backward(ctx, g):
        xp = array_module(g)
        sa, sb = ctx.shapes
        na, nb, _ = ctx.needs_input_grad
        return (xp.zeros(sa, g.dtype) if na else None), (xp.zeros(sb, g.dtype) if nb else None), None


class FMaxMin(Function):
    """out = fmax(a, b) (or fmin): the larger (smaller) value, ignoring a NaN
    when the other is a number. The gradient goes to the chosen side; a tie
    sends it all to ``a`` (PyTorch's rule, unlike ``maximum``'s even split)."""

    @staticmethod
    def forward(ctx, a, b, take_max):
        xp = array_module(a, b)
        ctx.save_for_backward(a, b)
        ctx.take_max = take_max
        return xp.fmax(a, b) if take_max else xp.fmin(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        xp = array_module(g)
        a_wins = ((a >= b) if ctx.take_max else (a <= b)) | xp.isnan(b)
        na, nb, _ = ctx.needs_input_grad
        zero = xp.zeros((), g.dtype)
        return (unbroadcast(xp.where(a_wins, g, zero), a.shape) if na else None,
                unbroadcast(xp.where(a_wins, zero, g), b.shape) if nb else None, None)


class PowFn(Function):
    """out = a^b;  dE/da = g b a^(b-1) (0 where b = 0), dE/db = g out ln a
    (0 where a = 0 and b >= 0; NaN for a < 0, as PyTorch)."""

    @staticmethod
    def forward(ctx, a, b):
        xp = array_module(a, b)
        out = xp.power(a, b)
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, g):
        a, b, out = ctx.saved_tensors
        xp = array_module(g)
        na, nb = ctx.needs_input_grad
        ga = gb = None
        with np.errstate(divide="ignore", invalid="ignore"):
            if na:
                ga = unbroadcast(xp.where(b == 0, 0, g * b * xp.power(a, b - 1)), a.shape).astype(g.dtype)
            if nb:
                gb = unbroadcast(xp.where((a == 0) & (b >= 0), 0, g * out * xp.log(a)), b.shape).astype(g.dtype)
        return ga, gb


def _true_div_dtype(a, b):
    dt = result_type(a, b)
    return dt if dt.kind in "fc" else np.dtype(backend.default_dtype)


@both
def add(input, other, *, alpha=1, out=None):
    """add(input, other, *, alpha=1, out=None): out = input + alpha * other (broadcast);
    dE/dinput = g, dE/dother = alpha g (each summed over its broadcast axes)."""
    a, b = _promote("add", input, other)
    if alpha != 1 and a.dtype.kind in "iub" and not isinstance(alpha, numbers.Integral):
        raise RuntimeError("For integral input tensors, argument alpha must not be a floating point number.")
    res = _el.Add.apply(a, b if alpha == 1 else _el.Mul.apply(b, _tensor_of(alpha, b.dtype, b)))
    return write_out(res, out, "add", (input, other))


@both
def sub(input, other, *, alpha=1, out=None):
    """sub(input, other, *, alpha=1, out=None): out = input - alpha * other;
    dE/dinput = g, dE/dother = -alpha g."""
    _el.check_bool_subtraction(input, other)
    a, b = _promote("sub", input, other)
    res = _el.Sub.apply(a, b if alpha == 1 else _el.Mul.apply(b, _tensor_of(alpha, b.dtype, b)))
    return write_out(res, out, "sub", (input, other))


@both
def mul(input, other, *, out=None):
    """mul(input, other, *, out=None): out = input * other; dE/dinput = g other, dE/dother = g input."""
    a, b = _promote("mul", input, other)
    return write_out(_el.Mul.apply(a, b), out, "mul", (input, other))


@both
def div(input, other, *, rounding_mode=None, out=None):
    """div(input, other, *, rounding_mode=None, out=None) -> Tensor

    ``rounding_mode=None``: true division out = a / b (integers give float32);
    dE/da = g / b, dE/db = -g a / b^2.
    ``'trunc'``: out = trunc(a / b); ``'floor'``: out = floor(a / b) (Python's
    ``//``); both keep integer dtypes and have zero gradient. Integer division
    by zero raises (RuntimeError, as PyTorch's ZeroDivisionError)."""
    if rounding_mode is None:
        a, b = _promote("div", input, other, dtype=_true_div_dtype(input, other))
        with np.errstate(divide="ignore", invalid="ignore"):    # x / 0 is inf or NaN, silently as PyTorch
            return write_out(_el.Div.apply(a, b), out, "div", (input, other))
    if rounding_mode not in ("trunc", "floor"):
        raise RuntimeError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found "
                           f"{rounding_mode!r}")
    a, b = _promote("div", input, other)
    return write_out(RoundedDiv.apply(a, b, rounding_mode), out, "div", (input, other))


@both
def true_divide(input, other, *, out=None):
    """true_divide(input, other, *, out=None): div with rounding_mode=None."""
    return div(input, other, out=out)


@both
def floor_divide(input, other, *, out=None):
    """floor_divide(input, other, *, out=None): out = floor(a / b) (Python's ``//``);
    zero gradient (PyTorch has none)."""
    return div(input, other, rounding_mode="floor", out=out)


@both
def remainder(input, other, *, out=None):
    """remainder(input, other, *, out=None): out = a - floor(a / b) b, the sign of b
    (Python's ``%``); dE/da = g, dE/db = -g floor(a / b)."""
    a, b = _promote("remainder", input, other)
    return write_out(Remainder.apply(a, b), out, "remainder", (input, other))


@both
def fmod(input, other, *, out=None):
    """fmod(input, other, *, out=None): out = a - trunc(a / b) b, the sign of a
    (C's fmod); dE/da = g, dE/db = -g trunc(a / b)."""
    a, b = _promote("fmod", input, other)
    return write_out(Fmod.apply(a, b), out, "fmod", (input, other))


@both
def atan2(input, other, *, out=None):
    """atan2(input, other, *, out=None): out = the angle of (other, input), in (-pi, pi];
    dE/dinput = g other / r^2, dE/dother = -g input / r^2 with r^2 = input^2 + other^2.
    Integer inputs give float32."""
    a, b = _promote("atan2", input, other, dtype=_true_div_dtype(input, other))
    return write_out(Atan2.apply(a, b), out, "atan2", (input, other))


both(atan2, name="arctan2")


@both
def pow(input, exponent, *, out=None):  # noqa: A001
    """pow(input, exponent, *, out=None) -> Tensor

    out = input^exponent (either may be a number); dE/dinput = g b a^(b-1)
    (0 where b = 0), dE/dexponent = g out ln a (0 where a = 0 and b >= 0).
    Integer tensors to negative integer powers are refused, as in PyTorch."""
    a, b = _promote("pow", input, exponent)
    if a.dtype.kind in "iu" and bool((b.array < 0).any()):
        raise RuntimeError("Integers to negative integer powers are not allowed.")
    return write_out(PowFn.apply(a, b), out, "pow", (input, exponent))


def _extremum(name, fn_class, flag):
    def fn(input, other, *, out=None):
        a, b = _promote(name, input, other)
        return write_out(fn_class.apply(a, b, flag), out, name, (input, other))
    fn.__name__ = fn.__qualname__ = name
    return fn


maximum = both(_extremum("maximum", _el.Extremum, True), name="maximum")
maximum.__doc__ = """maximum(input, other, *, out=None): the elementwise larger value (NaN wins);
dE/dinput = g where input > other, dE/dother = g where other > input, ties split g evenly."""
minimum = both(_extremum("minimum", _el.Extremum, False), name="minimum")
minimum.__doc__ = """minimum(input, other, *, out=None): the elementwise smaller value (NaN wins);
the gradient goes to the smaller side, ties split it evenly."""
fmax = both(_extremum("fmax", FMaxMin, True), name="fmax")
fmax.__doc__ = """fmax(input, other, *, out=None): the larger value, a NaN loses to a number;
dE/dinput = g where input >= other (or other is NaN), dE/dother = g elsewhere."""
fmin = both(_extremum("fmin", FMaxMin, False), name="fmin")
fmin.__doc__ = """fmin(input, other, *, out=None): the smaller value, a NaN loses to a number;
dE/dinput = g where input <= other (or other is NaN), dE/dother = g elsewhere."""


@both
def clamp(input, min=None, max=None, *, out=None):  # noqa: A002
    """clamp(input, min=None, max=None, *, out=None): out = min(max(x, min), max);
    dE/dx = g where min <= x <= max, else 0. Bounds may be numbers or tensors;
    tensor bounds receive the gradient where they won (dE/dmin = g where
    x < min < max, dE/dmax = g where x > max or max < min). The result dtype
    is ``result_type(input, min, max)``: ``clamp(int_tensor, min=0.5)`` is float32."""
    _check_tensor("clamp", input)
    if min is None and max is None:
        raise RuntimeError("clamp(): at least one of 'min' or 'max' must not be None")
    bounds = [b for b in (min, max) if b is not None]
    dt = result_type(input, *bounds)
    x = _tensor_of(input, dt, input)
    lo = None if min is None else (_tensor_of(min, dt, input) if isinstance(min, Tensor) else min)
    hi = None if max is None else (_tensor_of(max, dt, input) if isinstance(max, Tensor) else max)
    return write_out(_el.Clamp.apply(x, lo, hi), out, "clamp", (input,))


both(clamp, name="clip")


@both
def clamp_min(input, min, *, out=None):  # noqa: A002
    """clamp_min(input, min): out = max(x, min); dE/dx = g where x >= min."""
    return clamp(input, min, None, out=out)


@both
def clamp_max(input, max, *, out=None):  # noqa: A002
    """clamp_max(input, max): out = min(x, max); dE/dx = g where x <= max."""
    return clamp(input, None, max, out=out)


for _name, _fn, _clone in (("clamp_min_", clamp_min, True), ("clamp_max_", clamp_max, True),
                           ("remainder_", remainder, True), ("fmod_", fmod, True),
                           ("floor_divide_", floor_divide, False), ("atan2_", atan2, True),
                           ("arctan2_", atan2, True)):
    tensor_method(_inplace(_name, _fn, clone=_clone))
del _name, _fn, _clone

# Python's ``//`` and ``%`` on tensors (and with a number on the left).
tensor_method(floor_divide, name="__floordiv__")
tensor_method(lambda self, other: floor_divide(other, self), name="__rfloordiv__")
tensor_method(remainder, name="__mod__")
tensor_method(lambda self, other: remainder(other, self), name="__rmod__")

# Aliases PyTorch keeps for NumPy users.
for _alias, _fn in (("subtract", sub), ("multiply", mul), ("divide", div)):
    both(_fn, name=_alias)
del _alias, _fn


# ---------------------------------------------------------------- fused arithmetic
@both
def addcmul(input, tensor1, tensor2, *, value=1, out=None):
    """addcmul(input, tensor1, tensor2, *, value=1, out=None): out = input + value t1 t2
    (broadcast); dE/dinput = g, dE/dt1 = value g t2, dE/dt2 = value g t1 (the
    Adam-style update ``p.addcmul_(a, b, value=-lr)``)."""
    prod_ = mul(tensor1, tensor2)
    return write_out(add(input, prod_, alpha=value), out, "addcmul", (input, tensor1, tensor2))


@both
def addcdiv(input, tensor1, tensor2, *, value=1, out=None):
    """addcdiv(input, tensor1, tensor2, *, value=1, out=None): out = input + value t1 / t2;
    dE/dinput = g, dE/dt1 = value g / t2, dE/dt2 = -value g t1 / t2^2."""
    _check_tensor("addcdiv", tensor1)
    if tensor1.dtype.kind in "iub" and isinstance(tensor2, Tensor) and tensor2.dtype.kind in "iub":
        raise RuntimeError("Integer division with addcdiv is no longer supported, and in a future release "
                           "addcdiv will perform a true division of tensor1 and tensor2.")
    return write_out(add(input, div(tensor1, tensor2), alpha=value), out, "addcdiv", (input, tensor1, tensor2))


@both
def lerp(input, end, weight, *, out=None):
    """lerp(input, end, weight, *, out=None): out = input + weight (end - input), the
    linear interpolation (``ema.lerp_(p, 1 - decay)``); dE/dinput = g (1 - w),
    dE/dend = g w, dE/dweight = g (end - input) for a tensor weight."""
    return write_out(add(input, mul(weight, sub(end, input))), out, "lerp", (input, end, weight))


class LogAddExp(Function):
    """out = log(e^a + e^b) = max(a, b) + log1p(e^-|a - b|) (no overflow);
    dE/da = g e^(a - out), dE/db = g e^(b - out)."""

    @staticmethod
    def forward(ctx, a, b):
        xp = array_module(a, b)
        out = xp.logaddexp(a, b)
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, g):
        a, b, out = ctx.saved_tensors
        xp = array_module(g)
        na, nb = ctx.needs_input_grad
        with np.errstate(invalid="ignore"):
            ga = unbroadcast(g * xp.exp(a - out), a.shape) if na else None
            gb = unbroadcast(g * xp.exp(b - out), b.shape) if nb else None
        return ga, gb


@both
def logaddexp(input, other, *, out=None):
    """logaddexp(input, other, *, out=None): out = log(e^a + e^b) without overflow;
    dE/da = g e^(a - out), dE/db = g e^(b - out). Integers give float32."""
    a, b = _promote("logaddexp", input, other, dtype=_true_div_dtype(input, other))
    return write_out(LogAddExp.apply(a, b), out, "logaddexp", (input, other))


class Hypot(Function):
    """out = sqrt(a^2 + b^2);  dE/da = g a / out, dE/db = g b / out (0 at the origin)."""

    @staticmethod
    def forward(ctx, a, b):
        xp = array_module(a, b)
        out = xp.hypot(a, b)
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, g):
        a, b, out = ctx.saved_tensors
        xp = array_module(g)
        inv = xp.where(out == 0, 0, 1 / xp.where(out == 0, 1, out))
        na, nb = ctx.needs_input_grad
        return (unbroadcast(g * a * inv, a.shape) if na else None,
                unbroadcast(g * b * inv, b.shape) if nb else None)


@both
def hypot(input, other, *, out=None):
    """hypot(input, other, *, out=None): out = sqrt(a^2 + b^2) without overflow;
    dE/da = g a / out, dE/db = g b / out."""
    a, b = _promote("hypot", input, other)
    if a.dtype.kind not in "fc":
        raise NotImplementedError(f"hypot(): not implemented for '{_type_name(a.dtype)}'")
    return write_out(Hypot.apply(a, b), out, "hypot", (input, other))


for _name, _fn, _clone in (("addcmul_", addcmul, False), ("addcdiv_", addcdiv, False),
                           ("lerp_", lerp, False), ("logaddexp_", logaddexp, True), ("hypot_", hypot, True)):
    tensor_method(_inplace(_name, _fn, clone=_clone))
del _name, _fn, _clone


# ================================================================ comparisons
def _compare(name, ufunc_name):
    def fn(input, other, *, out=None):
        a, b = _promote(name, input, other)
        xp = array_module(a.array, b.array)
        return write_out(Tensor._wrap(getattr(xp, ufunc_name)(a.array, b.array)), out, name)
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = (f"{name}(input, other, *, out=None): elementwise ``input {ufunc_name} other`` "
                  "with broadcasting; a bool tensor, no gradient.")
    return fn


for _names, _ufunc in ((("eq",), "equal"), (("ne", "not_equal"), "not_equal"), (("lt", "less"), "less"),
                       (("le", "less_equal"), "less_equal"), (("gt", "greater"), "greater"),
                       (("ge", "greater_equal"), "greater_equal")):
    _fn = _compare(_names[0], _ufunc)
    for _n in _names:
        both(_fn, name=_n)
del _names, _ufunc, _fn, _n


def _logical(name, combine):
    def fn(input, other, *, out=None):
        _check_tensor(name, input)
        a = input.array != 0
        b = (other.array if isinstance(other, Tensor) else array_module(a).asarray(other)) != 0
        return write_out(Tensor._wrap(combine(a, b)), out, name)
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"{name}(input, other, *, out=None): elementwise {name[8:]} of the truth values (nonzero = True)."
    return fn


for _name, _combine in (("logical_and", lambda a, b: a & b), ("logical_or", lambda a, b: a | b),
                        ("logical_xor", lambda a, b: a ^ b)):
    both(_logical(_name, _combine), name=_name)
    tensor_method(_inplace(_name + "_", _logical(_name, _combine), clone=False))
del _name, _combine


def _bitwise(name, combine):
    def fn(input, other, *, out=None):
        a, b = _promote(name, input, other)
        if a.dtype.kind not in "biu":
            raise RuntimeError(f'"{name}_cpu" not implemented for \'{_type_name(a.dtype)}\': '
                               "bitwise ops take integer or bool tensors")
        return write_out(Tensor._wrap(combine(a.array, b.array)), out, name)
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = (f"{name}(input, other, *, out=None): elementwise bitwise {name[8:]} of integer or bool "
                  "tensors (PyTorch's promotion; floats raise RuntimeError).")
    return fn


bitwise_and = both(_bitwise("bitwise_and", lambda a, b: a & b), name="bitwise_and")
bitwise_or = both(_bitwise("bitwise_or", lambda a, b: a | b), name="bitwise_or")
bitwise_xor = both(_bitwise("bitwise_xor", lambda a, b: a ^ b), name="bitwise_xor")
# ``^`` as an operator (tensor.py defines ``&`` and ``|``).
tensor_method(lambda self, other: bitwise_xor(self, other), name="__xor__")
tensor_method(lambda self, other: bitwise_xor(self, other), name="__rxor__")


@both
def logical_not(input, *, out=None):
    """logical_not(input, *, out=None): elementwise not of the truth values (x == 0)."""
    _check_tensor("logical_not", input)
    return write_out(Tensor._wrap(input.array == 0), out, "logical_not")


tensor_method(_inplace("logical_not_", logical_not, clone=False))


@both
def equal(input, other):
    """equal(input, other) -> bool: True when both have the same shape and elements."""
    _check_tensor("equal", input)
    _check_tensor("equal", other)
    if input.shape != other.shape:
        return False
    return bool((input.array == other.array).all())


def _isclose_array(a, b, rtol, atol, equal_nan):
    xp = array_module(a, b)
    with np.errstate(invalid="ignore"):
        close = (a == b) | (xp.abs(a - b) <= atol + rtol * xp.abs(b))
    if equal_nan:
        close = close | (xp.isnan(a) & xp.isnan(b))
    return close


@both
def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False): elementwise
    |input - other| <= atol + rtol |other| (equal infinities are close); bool tensor."""
    a, b = _promote("isclose", input, other)
    return Tensor._wrap(_isclose_array(a.array, b.array, rtol, atol, equal_nan))


@both
def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False) -> bool: isclose everywhere."""
    a, b = _promote("allclose", input, other)
    return bool(_isclose_array(a.array, b.array, rtol, atol, equal_nan).all())


def _predicate(name, test, doc):
    def fn(input, *, out=None):
        _check_tensor(name, input)
        x = input.array
        xp = array_module(x)
        res = test(xp, x) if x.dtype.kind in "fc" else xp.zeros(x.shape, dtype=bool) | (name == "isfinite")
        return write_out(Tensor._wrap(res), out, name)
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"{name}(input): elementwise {doc}; a bool tensor, no gradient."
    return fn


for _name, _test, _doc in (("isnan", lambda xp, x: xp.isnan(x), "x is NaN"),
                           ("isinf", lambda xp, x: xp.isinf(x), "x is +inf or -inf"),
                           ("isposinf", lambda xp, x: xp.isposinf(x), "x is +inf"),
                           ("isneginf", lambda xp, x: xp.isneginf(x), "x is -inf"),
                           ("isfinite", lambda xp, x: xp.isfinite(x), "x is neither NaN nor infinite")):
    both(_predicate(_name, _test, _doc), name=_name)
del _name, _test, _doc


class NanToNum(Function):
    """out = x with NaN -> ``nan``, +inf -> ``posinf``, -inf -> ``neginf``;
    dE/dx = g where x is finite, 0 where it was replaced."""

    @staticmethod
    def forward(ctx, x, nan, posinf, neginf):
        xp = array_module(x)
        if x.dtype.kind not in "fc":
            return x.copy()
        info = xp.finfo(x.dtype)
        posinf = info.max if posinf is None else posinf
        neginf = info.min if neginf is None else neginf
        finite = xp.isfinite(x)
        ctx.save_for_backward(finite)
        out = xp.where(xp.isnan(x), x.dtype.type(nan), x)
        out = xp.where(xp.isposinf(x), x.dtype.type(posinf), out)
        return xp.where(xp.isneginf(x), x.dtype.type(neginf), out)

    @staticmethod
    def backward(ctx, g):
        (finite,) = ctx.saved_tensors
        return array_module(g).where(finite, g, 0).astype(g.dtype, copy=False), None, None, None


@both
def nan_to_num(input, nan=0.0, posinf=None, neginf=None, *, out=None):
    """nan_to_num(input, nan=0.0, posinf=None, neginf=None, *, out=None) -> Tensor

    NaN becomes ``nan``, +inf ``posinf`` (default: the dtype's largest finite
    value), -inf ``neginf`` (default: its lowest). Backward: dE/dx = g where x
    was finite, 0 where it was replaced."""
    _check_tensor("nan_to_num", input)
    return write_out(NanToNum.apply(input, nan, posinf, neginf), out, "nan_to_num", (input,))


tensor_method(_inplace("nan_to_num_", nan_to_num, clone=False))


# ================================================================ reductions
def _reduce_dtype(x, dtype):
    """PyTorch's accumulation dtype for prod/cumsum/cumprod: integers and bools in int64."""
    if dtype is not None:
        from ..tensor import _as_dtype
        return _as_dtype(dtype)
    return x.dtype if x.dtype.kind in "fc" else np.dtype(np.int64)


def _required_dim(dim, op):
    if dim is None:
        raise TypeError(f"{op}() missing required argument 'dim' (or its alias 'axis')")
    return dim


def _one_dim(dim, ndim, op):
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
        raise TypeError(f"{op}(): argument 'dim' must be an int, received {dim!r}")
    (d,) = normalize_dims(int(dim), ndim, op)
    return d


def _along(ndim, axis, sl):
    idx = [slice(None)] * ndim
    idx[axis] = sl
    return tuple(idx)


def _exclusive_products(x, axis):
    """p_k = prod_{j != k} x_j along ``axis``, from prefix and suffix products
    (exact with zeros, no division)."""
    xp = array_module(x)
    first, head = _along(x.ndim, axis, slice(0, 1)), _along(x.ndim, axis, slice(0, -1))
    ones = xp.ones_like(x[first])
    before = xp.concatenate([ones, xp.cumprod(x[head], axis=axis)], axis=axis)
    rev = xp.flip(x, axis=axis)
    after = xp.concatenate([ones, xp.cumprod(rev[head], axis=axis)], axis=axis)
    return before * xp.flip(after, axis=axis)


class Prod(Function):
    """out = prod_k x_k over ``dim`` (all elements for None);
    dE/dx_k = g prod_{j != k} x_j, computed from prefix and suffix products, so it
    is exact where x has zeros (one zero: only that element gets a gradient;
    two or more: none does)."""

    @staticmethod
    def forward(ctx, x, axis, keepdim):
        ctx.save_for_backward(x)
        ctx.meta = (axis, keepdim)
        if axis is None:
            return array_module(x).asarray(x.prod())
        return x.prod(axis=axis, keepdims=keepdim)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        axis, keepdim = ctx.meta
        xp = array_module(g)
        if axis is None:
            if x.size == 0:
                return xp.zeros(x.shape, g.dtype), None, None
            return (g * _exclusive_products(x.reshape(-1), 0)).reshape(x.shape), None, None
        if x.shape[axis] == 0:
            return xp.zeros(x.shape, g.dtype), None, None
        gk = g if keepdim else xp.expand_dims(g, axis)
        return gk * _exclusive_products(x, axis), None, None


@both
def prod(input, dim=None, keepdim=False, *, dtype=None, out=None, axis=None):
    """prod(input, dim=None, keepdim=False, *, dtype=None) -> Tensor

    The product of all elements, or along one ``dim`` (``axis=`` also accepted).
    Backward: dE/dx_k = g prod_{j != k} x_j (exact with zeros in x).
    Integer and bool inputs give int64. Shapes: ``x: (..., n, ...)`` -> the
    same without dim ``dim`` (kept as 1 with ``keepdim``)."""
    _check_tensor("prod", input)
    dim = _dim_arg(dim, axis, "prod")
    x = input.to(_reduce_dtype(input, dtype))
    ax = None if dim is None else _one_dim(dim, input.ndim, "prod")
    if ax is not None and input.ndim == 0:
        ax = None
    return write_out(Prod.apply(x, ax, keepdim), out, "prod", (input,))


def _move_last(x, axis):
    return array_module(x).moveaxis(x, axis, -1)


def _rev_cumsum(a, axis):
    xp = array_module(a)
    return xp.flip(xp.cumsum(xp.flip(a, axis=axis), axis=axis), axis=axis)


class Cumsum(Function):
    """out_i = sum_{j <= i} x_j along ``dim``;  dE/dx_k = sum_{i >= k} g_i (a reversed cumsum)."""

    @staticmethod
    def forward(ctx, x, axis):
        ctx.axis = axis
        return array_module(x).cumsum(x, axis=axis)

    @staticmethod
    def backward(ctx, g):
        return _rev_cumsum(g, ctx.axis), None


class Cumprod(Function):
    """out_i = prod_{j <= i} x_j along ``dim``.

    dE/dx_k = sum_{i >= k} g_i prod_{j <= i, j != k} x_j. Before the first zero
    of a line this is revcumsum(g out)_k / x_k; at the first zero z it is
    revcumsum(g c)_z with c the cumprod of x with x_z replaced by 1 (no
    division); after it every term holds x_z = 0, so the gradient is 0.
    """

    @staticmethod
    def forward(ctx, x, axis):
        out = array_module(x).cumprod(x, axis=axis)
        ctx.save_for_backward(x, out)
        ctx.axis = axis
        return out

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        axis = ctx.axis
        xp = array_module(g)
        zeros_so_far = xp.cumsum(x == 0, axis=axis)
        before = zeros_so_far == 0
        first_zero = (zeros_so_far == 1) & (x == 0)
        safe_x = xp.where(before, x, 1)
        grad = xp.where(before, _rev_cumsum(g * out, axis) / safe_x, 0)
        if bool(first_zero.any()):
            c = xp.cumprod(xp.where(first_zero, 1, x), axis=axis)
            grad = grad + xp.where(first_zero, _rev_cumsum(g * c, axis), 0)
        return grad.astype(g.dtype, copy=False), None


def _cumulative(name, fn_class):
    def fn(input, dim=None, *, dtype=None, out=None, axis=None):
        _check_tensor(name, input)
        dim = _required_dim(_dim_arg(dim, axis, name), name)
        x = input.to(_reduce_dtype(input, dtype))
        if x.ndim == 0:
            return write_out(x.clone() if x is input else x, out, name, (input,))
        return write_out(fn_class.apply(x, _one_dim(dim, x.ndim, name)), out, name, (input,))
    fn.__name__ = fn.__qualname__ = name
    return fn


cumsum = both(_cumulative("cumsum", Cumsum), name="cumsum")
cumsum.__doc__ = """cumsum(input, dim, *, dtype=None, out=None): out_i = x_0 + ... + x_i along dim;
dE/dx_k = sum_{i >= k} g_i. Integer and bool inputs give int64."""
cumprod = both(_cumulative("cumprod", Cumprod), name="cumprod")
cumprod.__doc__ = """cumprod(input, dim, *, dtype=None, out=None): out_i = x_0 x_1 ... x_i along dim;
dE/dx_k = sum_{i >= k} g_i prod_{j <= i, j != k} x_j (exact with zeros). Integers give int64."""
tensor_method(_inplace("cumsum_", cumsum, clone=False))
tensor_method(_inplace("cumprod_", cumprod, clone=True))


class LogCumSumExp(Function):
    """out_i = log sum_{j <= i} e^{x_j} along ``dim``;
    dE/dx_k = sum_{i >= k} g_i e^{x_k - out_i}, summed in log space for each sign
    of g so no exponential overflows."""

    @staticmethod
    def forward(ctx, x, axis):
        xp = array_module(x)
        out = _logcumsumexp(x, axis)
        ctx.save_for_backward(x, out)
        ctx.axis = axis
        return out.astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        axis = ctx.axis
        xp = array_module(g)
        grad = xp.zeros_like(g)
        with np.errstate(divide="ignore"):
            for sign in (1, -1):
                part = xp.where(sign * g > 0, sign * g, 0)
                # log sum_{i >= k} |g_i| e^{-out_i}, a reversed logcumsumexp
                terms = xp.flip(xp.log(part) - out, axis=axis)
                acc = xp.flip(_logcumsumexp(terms, axis), axis=axis)
                grad = grad + sign * xp.exp(acc + x)
        return grad, None


def _logcumsumexp(x, axis):
    xp = array_module(x)
    if xp is np:
        with np.errstate(invalid="ignore"):
            return np.logaddexp.accumulate(x, axis=axis)
    # pragma: no cover - CuPy has no ufunc.accumulate: shift by the line's maximum
    # (exact unless the early terms are e^-80 smaller than the largest one)
    m = xp.max(x, axis=axis, keepdims=True)
    m = xp.where(xp.isfinite(m), m, 0)
    return xp.log(xp.cumsum(xp.exp(x - m), axis=axis)) + m


@both
def logcumsumexp(input, dim=None, *, out=None, axis=None):
    """logcumsumexp(input, dim, *, out=None): out_i = log(e^{x_0} + ... + e^{x_i}) along dim,
    without overflow; dE/dx_k = sum_{i >= k} g_i e^{x_k - out_i}."""
    _check_tensor("logcumsumexp", input)
    if input.dtype.kind not in "fc":
        raise NotImplementedError(f"logcumsumexp(): not implemented for '{_type_name(input.dtype)}'")
    dim = _required_dim(_dim_arg(dim, axis, "logcumsumexp"), "logcumsumexp")
    if input.ndim == 0:
        return write_out(input.clone(), out, "logcumsumexp", (input,))
    return write_out(LogCumSumExp.apply(input, _one_dim(dim, input.ndim, "logcumsumexp")), out,
                     "logcumsumexp", (input,))


def _logical_reduce(name, is_all):
    def fn(input, dim=None, keepdim=False, *, out=None, axis=None):
        _check_tensor(name, input)
        dim = _dim_arg(dim, axis, name)
        x = input.array
        xp = array_module(x)
        axes = normalize_dims(dim, x.ndim, name) if dim is not None else None
        if x.ndim == 0:
            axes = None if dim is None else ()
        res = (x != 0).all(axis=axes, keepdims=keepdim) if is_all else (x != 0).any(axis=axes, keepdims=keepdim)
        res = xp.asarray(res)
        if x.dtype == np.uint8:
            res = res.astype(np.uint8)      # PyTorch keeps uint8 for uint8 inputs
        return write_out(Tensor._wrap(res), out, name)
    fn.__name__ = fn.__qualname__ = name
    word = "every" if is_all else "any"
    fn.__doc__ = (f"{name}(input, dim=None, keepdim=False, *, out=None): whether {word} element "
                  f"(along ``dim``, an int or tuple) is nonzero; a bool tensor, no gradient.")
    return fn


all = both(_logical_reduce("all", True), name="all")  # noqa: A001
any = both(_logical_reduce("any", False), name="any")  # noqa: A001


@both
def count_nonzero(input, dim=None):
    """count_nonzero(input, dim=None): the number of nonzero elements (along ``dim``,
    an int or tuple); int64, no gradient."""
    _check_tensor("count_nonzero", input)
    x = input.array
    axes = normalize_dims(dim, x.ndim, "count_nonzero") if dim is not None else None
    return Tensor._wrap(array_module(x).asarray((x != 0).sum(axis=axes), dtype=np.int64))
