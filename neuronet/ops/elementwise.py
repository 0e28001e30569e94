"""Elementwise arithmetic and math with NumPy broadcasting.

When an input was broadcast in forward (``x: (N, C) + b: (C,)``), its gradient
is summed over the broadcast axes in backward (``unbroadcast``) so that
``dE/db`` has ``b``'s shape: every output element that used ``b_c`` sends its
gradient back to it.
"""
from __future__ import annotations

import math

from ..autograd.function import Function
from ..backend import array_module


def _shape(a):
    return getattr(a, "shape", ())


def unbroadcast(grad, shape):
    """Sum ``grad`` over the axes along which an array of ``shape`` was broadcast."""
    if grad.shape == tuple(shape):
        return grad
    lead = grad.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, s in enumerate(shape) if s == 1 and grad.shape[lead + i] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad.reshape(shape)


class Add(Function):
    """out = a + b;  dE/da = g, dE/db = g (reduced over broadcast axes)."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = (_shape(a), _shape(b))
        return a + b

    @staticmethod
    def backward(ctx, g):
        na, nb = ctx.needs_input_grad
        sa, sb = ctx.shapes
        return (unbroadcast(g, sa) if na else None, unbroadcast(g, sb) if nb else None)


def _is_bool(v):
    return isinstance(v, bool) or getattr(getattr(v, "dtype", None), "kind", None) == "b"


def check_bool_subtraction(a, b):
    """PyTorch refuses ``-`` with a bool operand (RuntimeError), NumPy a TypeError:
    raise PyTorch's type, with the way out."""
    if _is_bool(a) or _is_bool(b):
        raise RuntimeError("Subtraction, the `-` operator, with a bool tensor is not supported. "
                           "If you are trying to invert a mask, use the `~` or `logical_not()` operator "
                           "instead.")


class Sub(Function):
    """out = a - b;  dE/da = g, dE/db = -g."""

    @staticmethod
    def forward(ctx, a, b):
        check_bool_subtraction(a, b)
        ctx.shapes = (_shape(a), _shape(b))
        return a - b

    @staticmethod
    def backward(ctx, g):
        na, nb = ctx.needs_input_grad
        sa, sb = ctx.shapes
        return (unbroadcast(g, sa) if na else None, unbroadcast(-g, sb) if nb else None)


class Mul(Function):
    """out = a * b;  dE/da = g * b, dE/db = g * a."""

    @staticmethod
    def forward(ctx, a, b):
        na, nb = ctx.needs_input_grad
        ctx.save_for_backward(a if nb else None, b if na else None)
        ctx.shapes = (_shape(a), _shape(b))
        return a * b

    @staticmethod
    def backward(ctx, g):
        na, nb = ctx.needs_input_grad
        a, b = ctx.saved_tensors
        sa, sb = ctx.shapes
        return (unbroadcast(g * b, sa) if na else None, unbroadcast(g * a, sb) if nb else None)


class Div(Function):
    """out = a / b;  dE/da = g / b, dE/db = -g a / b^2."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        ctx.shapes = (_shape(a), _shape(b))
        return a / b

    @staticmethod
    def backward(ctx, g):
        na, nb = ctx.needs_input_grad
        a, b = ctx.saved_tensors
        sa, sb = ctx.shapes
        ga = unbroadcast(g / b, sa) if na else None
        gb = unbroadcast(-g * a / (b * b), sb) if nb else None
        return ga, gb


class Neg(Function):
    @staticmethod
    def forward(ctx, a):
        return -a

    @staticmethod
    def backward(ctx, g):
        return -g


class Pow(Function):
    """out = a ** b;  dE/da = g b a^(b-1), dE/db = g out ln a."""

    @staticmethod
    def forward(ctx, a, b):
        xp = array_module(a, b)
        out = xp.power(a, b)
        ctx.save_for_backward(a, b, out)
        ctx.shapes = (_shape(a), _shape(b))
        return out

    @staticmethod
    def backward(ctx, g):
        na, nb = ctx.needs_input_grad
        a, b, out = ctx.saved_tensors
        sa, sb = ctx.shapes
        xp = array_module(g)
        ga = unbroadcast(g * b * xp.power(a, b - 1), sa) if na else None
        gb = None
        if nb:
            if isinstance(a, xp.ndarray):
                log_a = xp.log(xp.where(a > 0, a, 1))   # d(a^b)/db = a^b ln a, taken as 0 where a <= 0
            else:
                log_a = math.log(a) if a > 0 else 0.0
            gb = unbroadcast(g * out * log_a, sb)
        return ga, gb


class MatMul(Function):
    """out = a @ b (1-D, 2-D or batched);  dE/da = g b^T, dE/db = a^T g."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a @ b

    @staticmethod
    def backward(ctx, g):
        na, nb = ctx.needs_input_grad
        a, b = ctx.saved_tensors
        xp = array_module(g)
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        g2 = g.reshape(xp.broadcast_shapes(a2.shape[:-2], b2.shape[:-2]) + (a2.shape[-2], b2.shape[-1])) \
            if (a.ndim == 1 or b.ndim == 1) else g
        ga = gb = None
        if na:
            ga = unbroadcast(g2 @ xp.swapaxes(b2, -1, -2), a2.shape).reshape(a.shape)
        if nb:
            gb = unbroadcast(xp.swapaxes(a2, -1, -2) @ g2, b2.shape).reshape(b.shape)
        return ga, gb


class Exp(Function):
    """out = e^x;  dE/dx = g out."""

    @staticmethod
    def forward(ctx, x):
        out = array_module(x).exp(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g * out


class Log(Function):
    """out = ln x;  dE/dx = g / x."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return array_module(x).log(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g / x


class Sqrt(Function):
    """out = sqrt x;  dE/dx = g / (2 out)."""

    @staticmethod
    def forward(ctx, x):
        out = array_module(x).sqrt(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g / (2 * out)


class Abs(Function):
    """out = |x|;  dE/dx = g sign(x) (0 at 0, as PyTorch)."""

    @staticmethod
    def forward(ctx, x):
        xp = array_module(x)
        ctx.save_for_backward(x)
        return xp.abs(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        xp = array_module(g)
        return g * xp.where(xp.isnan(x), 0, xp.sign(x))   # sgn(nan) = 0 in PyTorch


class Clamp(Function):
    """out = min(max(x, lo), hi) (hi wins where lo > hi);
    dE/dx = g where lo <= x <= hi, dE/dlo = g where x < lo < hi,
    dE/dhi = g where x > hi or hi < lo (PyTorch's split; tensor bounds get gradients)."""

    @staticmethod
    def forward(ctx, x, lo, hi):
        xp = array_module(x)
        ctx.save_for_backward(x)
        ctx.bounds = (lo, hi)
        ctx.shapes = (_shape(x), _shape(lo), _shape(hi))
        out = x
        if lo is not None:
            out = xp.maximum(out, xp.asarray(lo, dtype=x.dtype) if not hasattr(lo, "dtype") else lo)
        if hi is not None:
            out = xp.minimum(out, xp.asarray(hi, dtype=x.dtype) if not hasattr(hi, "dtype") else hi)
        return out if out is not x else x.copy()

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        lo, hi = ctx.bounds
        sx, slo, shi = ctx.shapes
        _, nlo, nhi = ctx.needs_input_grad
        xp = array_module(g)
        zero = xp.zeros((), dtype=g.dtype)
        if lo is not None and hi is not None:
            keep = (x >= lo) & (x <= hi)
            to_lo = (x < lo) & (lo < hi)
            to_hi = (x > hi) | (hi < lo)
        elif lo is not None:
            keep, to_lo, to_hi = x >= lo, x < lo, None
        else:
            keep, to_lo, to_hi = x <= hi, None, x > hi
        gx = unbroadcast(xp.where(keep, g, zero), sx)
        glo = unbroadcast(xp.where(to_lo, g, zero), slo) if nlo else None
        ghi = unbroadcast(xp.where(to_hi, g, zero), shi) if nhi else None
        return gx, glo, ghi


class Tanh(Function):
    """out = tanh x;  dE/dx = g (1 - out^2)."""

    @staticmethod
    def forward(ctx, x):
        out = array_module(x).tanh(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g * (1 - out * out)


class Sigmoid(Function):
    """out = 1 / (1 + e^-x);  dE/dx = g out (1 - out).

    Evaluated as ``(1 + tanh(x/2)) / 2``: the same function, without the
    overflow of ``exp(-x)`` for very negative x.
    """

    @staticmethod
    def forward(ctx, x):
        xp = array_module(x)
        out = xp.tanh(x * 0.5)
        out += 1
        out *= 0.5
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g * out * (1 - out)


class Where(Function):
    """out = cond ? a : b;  the gradient goes to whichever side was chosen."""

    @staticmethod
    def forward(ctx, cond, a, b):
        xp = array_module(cond, a, b)
        ctx.save_for_backward(cond)
        ctx.shapes = (_shape(a), _shape(b))
        return xp.where(cond, a, b)

    @staticmethod
    def backward(ctx, g):
        (cond,) = ctx.saved_tensors
        _, na, nb = ctx.needs_input_grad
        sa, sb = ctx.shapes
        xp = array_module(g)
        zero = xp.zeros((), dtype=g.dtype)
        ga = unbroadcast(xp.where(cond, g, zero), sa) if na else None
        gb = unbroadcast(xp.where(cond, zero, g), sb) if nb else None
        return None, ga, gb


class Extremum(Function):
    """out = max(a, b) (``take_max``) or min(a, b) elementwise.

    dE/da = g where a wins, dE/db = g where b wins; ties split the gradient
    evenly between the two (as PyTorch's maximum/minimum).
    """

    @staticmethod
    def forward(ctx, a, b, take_max):
        xp = array_module(a, b)
        ctx.save_for_backward(a, b)
        ctx.shapes = (_shape(a), _shape(b))
        ctx.take_max = take_max
        return xp.maximum(a, b) if take_max else xp.minimum(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        na, nb, _ = ctx.needs_input_grad
        sa, sb = ctx.shapes
        xp = array_module(g)
        # PyTorch's rule: each side gets g unless it lost, half of it on a tie;
        # with a nan neither side "lost", so both receive g
        a_lost = (a < b) if ctx.take_max else (a > b)
        b_lost = (a > b) if ctx.take_max else (a < b)
        share = xp.where(a == b, 0.5, 1.0)
        ga = unbroadcast(g * (share * ~a_lost), sa).astype(g.dtype, copy=False) if na else None
        gb = unbroadcast(g * (share * ~b_lost), sb).astype(g.dtype, copy=False) if nb else None
        return ga, gb, None
