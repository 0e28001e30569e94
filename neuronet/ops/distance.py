"""Pairwise distances: ``cdist`` (PyTorch's ``torch.cdist``).

out[..., i, j] = ||x1[..., i, :] - x2[..., j, :]||_p for every row i of x1 and
row j of x2; the batch dims broadcast. The p-norm of the difference d = x1_i - x2_j:

- p = 0: the number of nonzero d_k (gradient 0);
- p = 1: sum_k |d_k|;  p = 2: sqrt(sum_k d_k^2);  p = inf: max_k |d_k|;
- other p > 0: (sum_k |d_k|^p)^(1/p).

For p = 2 with many rows, the squared distance is formed as
||x1_i||^2 + ||x2_j||^2 - 2 x1_i . x2_j with one matrix product (PyTorch's
``use_mm_for_euclid_dist``): fast, but it loses digits for nearly equal rows, so
``compute_mode='donot_use_mm_for_euclid_dist'`` takes the difference instead.
"""
from __future__ import annotations

import math

import numpy as np

from ..autograd.function import Function
from ..backend import array_module
from .math import _check_tensor, _type_name
from ._registry import torch_function

_MODES = ("use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist", "donot_use_mm_for_euclid_dist")


def _pnorm_rows(diff, p, xp):
    """The p-norm of ``diff`` (..., P, R, M) over its last axis."""
    a = xp.abs(diff)
    if p == 0:
        return (diff != 0).sum(-1).astype(diff.dtype)
    if p == 1:
        return a.sum(-1)
    if p == 2:
        return xp.sqrt((diff * diff).sum(-1))
    if p == math.inf:
        return a.max(-1) if diff.shape[-1] else xp.zeros(diff.shape[:-1], diff.dtype)
    return (a ** p).sum(-1) ** (1.0 / p)


class Cdist(Function):
    """out = ||x1_i - x2_j||_p for x1 (..., P, M), x2 (..., R, M) -> (..., P, R).

    Backward, with d = x1_i - x2_j and w_ij = g_ij / out_ij:
    p = 2: dE/dx1_i = sum_j w_ij d,  dE/dx2_j = -sum_i w_ij d (two matrix products);
    p = 1: g sign(d);  p = inf: g sign(d) on the coordinates where |d_k| = out;
    other p: g sign(d) |d|^(p-1) / out^(p-1);  p = 0: 0.
    Pairs at distance 0 send gradient 0 (PyTorch's subgradient), as do
    coordinates with d_k = 0 when p < 1.
    """

    @staticmethod
    def forward(ctx, x1, x2, p, use_mm):
        xp = array_module(x1)
        if use_mm:
            sq1 = (x1 * x1).sum(-1)[..., :, None]
            sq2 = (x2 * x2).sum(-1)[..., None, :]
            d2 = sq1 + sq2 - 2 * (x1 @ xp.swapaxes(x2, -1, -2))
            out = xp.sqrt(xp.maximum(d2, 0))
        else:
            out = xp.concatenate([_pnorm_rows(x1[..., rows, None, :] - x2[..., None, :, :], p, xp)
                                  for rows in _row_chunks(x1, x2)], axis=-2)
        out = out.astype(x1.dtype, copy=False)
        ctx.save_for_backward(x1, x2, out)
        ctx.p = p
        return out

    @staticmethod
    def backward(ctx, g):
        x1, x2, out = ctx.saved_tensors
        p = ctx.p
        xp = array_module(g)
        if p == 0:
            return xp.zeros_like(x1), xp.zeros_like(x2), None, None
        if p == 2:
            w = xp.where(out == 0, 0, g / xp.where(out == 0, 1, out))          # (..., P, R)
            g1 = w.sum(-1)[..., None] * x1 - w @ x2
            g2 = xp.swapaxes(w, -1, -2).sum(-1)[..., None] * x2 - xp.swapaxes(w, -1, -2) @ x1
        else:
            parts, g2 = [], xp.zeros_like(x2)
            for rows in _row_chunks(x1, x2):
                local = Cdist._local_grad(x1[..., rows, None, :] - x2[..., None, :, :], out[..., rows, :],
                                          g[..., rows, :], p, xp)
                parts.append(local.sum(-2))
                g2 -= local.sum(-3)
            g1 = xp.concatenate(parts, axis=-2)
        return g1.astype(x1.dtype, copy=False), g2.astype(x2.dtype, copy=False), None, None

    @staticmethod
    def _local_grad(diff, out, g, p, xp):
        """d out_ij / d x1_i times g_ij, per coordinate: (..., P, R, M)."""
        sign = xp.sign(diff)
        gg = g[..., None]
        if p == 1:
            return gg * sign
        if p == math.inf:
            return gg * sign * (xp.abs(diff) == out[..., None])
        dist = out[..., None]
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            local = gg * sign * xp.abs(diff) ** (p - 1) / dist ** (p - 1)
        zero = dist == 0
        if p < 1:
            zero = zero | (diff == 0)
        return xp.where(zero, 0, local)


# The most elements of one (..., rows, R, M) difference block (32 MiB in float64).
CHUNK_ELEMENTS = 1 << 22


def _row_chunks(x1, x2):
    """Slices of x1's rows such that each (..., rows, R, M) difference block holds
    about CHUNK_ELEMENTS elements: memory stays bounded for large P x R x M."""
    per_row = max(1, int(np.prod(x1.shape[:-2], dtype=np.int64)) * x2.shape[-2] * x1.shape[-1])
    step = max(1, CHUNK_ELEMENTS // per_row)
    P = x1.shape[-2]
    return [slice(i, min(i + step, P)) for i in range(0, P, step)] or [slice(0, 0)]


@torch_function
def cdist(x1, x2, p=2.0, compute_mode="use_mm_for_euclid_dist_if_necessary"):
    """cdist(x1, x2, p=2.0, compute_mode='use_mm_for_euclid_dist_if_necessary') -> Tensor

    The p-norm distance between each row of ``x1`` and each row of ``x2``.

    Shape: ``x1`` (*B1, P, M), ``x2`` (*B2, R, M) -> (*broadcast(B1, B2), P, R).
    ``compute_mode`` (p = 2 only): 'use_mm_for_euclid_dist_if_necessary' uses the
    matrix-product form when P > 25 or R > 25, 'use_mm_for_euclid_dist' always,
    'donot_use_mm_for_euclid_dist' never.

    >>> neuronet.cdist(neuronet.tensor([[0., 0.]]), neuronet.tensor([[3., 4.], [1., 0.]]))
    tensor([[5., 1.]])
    """
    _check_tensor("cdist", x1)
    _check_tensor("cdist", x2)
    if x1.ndim < 2:
        raise RuntimeError(f"cdist only supports at least 2D tensors, X1 got: {x1.ndim}D")
    if x2.ndim < 2:
        raise RuntimeError(f"cdist only supports at least 2D tensors, X2 got: {x2.ndim}D")
    if x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(f"X1 and X2 must have the same number of columns. X1: {x1.shape[-1]} "
                           f"X2: {x2.shape[-1]}")
    for name, t in (("X1", x1), ("X2", x2)):
        if np.dtype(t.array.dtype).kind != "f":
            raise RuntimeError(f"cdist only supports floating-point dtypes, {name} got: "
                               f"{_type_name(t.array.dtype)}")
    if x1.array.dtype != x2.array.dtype:
        raise RuntimeError(f"expected scalar type {_type_name(x1.array.dtype)} but found "
                           f"{_type_name(x2.array.dtype)}")
    p = float(p)
    if not p >= 0:
        raise RuntimeError("cdist only supports non-negative p values")
    if compute_mode not in _MODES:
        raise ValueError(f"{compute_mode} is not a valid value for compute_mode")
    P, R = x1.shape[-2], x2.shape[-2]
    use_mm = p == 2 and x1.shape[-1] > 0 and (
        compute_mode == "use_mm_for_euclid_dist"
        or (compute_mode == "use_mm_for_euclid_dist_if_necessary" and (P > 25 or R > 25)))
    batch = np.broadcast_shapes(tuple(x1.shape[:-2]), tuple(x2.shape[:-2]))
    if tuple(x1.shape[:-2]) != batch:
        x1 = x1.expand(*batch, *x1.shape[-2:])
    if tuple(x2.shape[:-2]) != batch:
        x2 = x2.expand(*batch, *x2.shape[-2:])
    return Cdist.apply(x1, x2, p, use_mm)
