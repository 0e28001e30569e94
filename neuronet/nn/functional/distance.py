"""Norms and distances between vectors: ``normalize``, ``cosine_similarity``,
``pairwise_distance``, built on one p-norm op with a hand-written backward.
"""
from __future__ import annotations

import math

import numpy as np

from ...autograd.function import Function
from ...backend import array_module
from ...tensor import Tensor
from ._errors import DtypeNotSupported

__all__ = ["normalize", "cosine_similarity", "pairwise_distance", "pdist"]


class VectorNorm(Function):
    """n = (sum_i |x_i|^p)^(1/p) along ``dim`` (p > 0 finite), or max_i |x_i| (p = inf).

    dn/dx_i = sign(x_i) |x_i|^(p-1) / n^(p-1)  (p = 2: x_i / n; p = 1: sign(x_i));
    p = inf: sign(x_i) on the entries equal to the max, shared equally among ties.
    Where n = 0 the gradient is 0 (PyTorch's subgradient choice).
    """

    @staticmethod
    def forward(ctx, x, p, dim, keepdim):
        xp = array_module(x)
        a = xp.abs(x)
        if math.isinf(p):
            n = a.max(axis=dim, keepdims=True)
        elif p == 2:
            n = xp.sqrt((x * x).sum(axis=dim, keepdims=True))
        elif p == 1:
            n = a.sum(axis=dim, keepdims=True)
        else:
            n = (a ** p).sum(axis=dim, keepdims=True) ** (1.0 / p)
        ctx.save_for_backward(x, n)
        ctx.params = (p, dim, keepdim)
        return n if keepdim else n.squeeze(axis=dim)

    @staticmethod
    def backward(ctx, g):
        x, n = ctx.saved_tensors
        p, dim, keepdim = ctx.params
        xp = array_module(x)
        if not keepdim:
            g = xp.expand_dims(g, dim)
        zero = n == 0
        safe = xp.where(zero, 1, n)
        if math.isinf(p):
            hit = xp.abs(x) == n
            d = xp.sign(x) * hit / hit.sum(axis=dim, keepdims=True)
        elif p == 2:
            d = x / safe
        elif p == 1:
            d = xp.sign(x)
        else:
            d = xp.sign(x) * xp.abs(x) ** (p - 1) / safe ** (p - 1)
        return xp.where(zero, 0, g * d).astype(x.dtype, copy=False), None, None, None


def _dim(op, x, dim):
    nd = max(x.ndim, 1)
    if not -nd <= dim < nd:
        raise IndexError(f"{op}: Dimension out of range (expected to be in range of [{-nd}, {nd - 1}], "
                         f"but got {dim})")
    return dim % nd


def _check(op, name, x):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: {name} must be a neuronet Tensor, received {type(x).__name__}")
    if x.dtype.kind != "f":
        raise DtypeNotSupported(f"{op}: expected a floating-point {name}, received dtype {x.dtype}")


def _norm(x, p, dim, keepdim):
    return VectorNorm.apply(x, float(p), dim, keepdim)


def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):
    """normalize(input, p=2.0, dim=1, eps=1e-12): v / max(||v||_p, eps) for each
    vector v along ``dim``. Shape: same as input."""
    op = "normalize"
    _check(op, "input", input)
    if out is not None:
        raise TypeError("normalize: the out= argument is not supported by neuronet")
    if input.ndim == 0:
        raise IndexError("normalize: Dimension specified as 1 but tensor has no dimensions")
    dim = _dim(op, input, dim)
    return input / _norm(input, p, dim, True).clamp(min=eps)


def _broadcast(a, b):
    shape = tuple(np.broadcast_shapes(tuple(a.shape), tuple(b.shape)))   # shapes only: NumPy on any device
    return (a if tuple(a.shape) == shape else a.expand(*shape),
            b if tuple(b.shape) == shape else b.expand(*shape))


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """cosine_similarity(x1, x2, dim=1, eps=1e-8): sum(x1 * x2) / (max(||x1||, eps) max(||x2||, eps))
    along ``dim``, after broadcasting x1 and x2 (each vector divided by its
    clamped norm first, as PyTorch 2.x). Shape: the broadcast shape without ``dim``."""
    op = "cosine_similarity"
    _check(op, "x1", x1)
    _check(op, "x2", x2)
    try:
        x1, x2 = _broadcast(x1, x2)
    except ValueError:
        raise RuntimeError(f"{op}: the shapes of x1 {tuple(x1.shape)} and x2 {tuple(x2.shape)} are not "
                           "broadcastable") from None
    dim = _dim(op, x1, dim)
    a = x1 / _norm(x1, 2, dim, True).clamp(min=eps)
    b = x2 / _norm(x2, 2, dim, True).clamp(min=eps)
    return (a * b).sum(dim)


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    """pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False): ||x1 - x2 + eps||_p
    over the last dim (broadcast). Shape: (N, D), (N, D) -> (N,)."""
    op = "pairwise_distance"
    _check(op, "x1", x1)
    _check(op, "x2", x2)
    diff = x1 - x2 + eps
    if diff.ndim == 0:
        return _norm(diff.reshape(1), p, 0, False).reshape(())
    return _norm(diff, p, diff.ndim - 1, keepdim)


def pdist(input, p=2.0):
    """pdist(input, p=2): the p-norm distance between every pair of rows i < j of
    ``input`` (N, M), in row-major order of the pairs. Shape: (N (N - 1) / 2,)."""
    op = "pdist"
    _check(op, "input", input)
    if input.ndim != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {input.ndim}D")
    n = input.shape[0]
    i, j = np.triu_indices(n, 1)
    if i.size == 0:
        return input[:0, 0] * 0
    diff = input[i.tolist()] - input[j.tolist()]
    return _norm(diff, p, 1, False)
