"""Normalization layers as functions: batch norm, layer norm, group norm, LRN.

Batch normalization (Ioffe & Szegedy, "Batch Normalization: Accelerating Deep
Network Training by Reducing Internal Covariate Shift", ICML 2015) standardizes
each channel over the batch and the spatial positions, then applies a learned
per-channel affine map. Layer norm (Ba et al. 2016) and group norm (Wu & He
2018) standardize each sample instead, over its trailing dims or over groups of
channels. Local response normalization (Krizhevsky et al., AlexNet, 2012)
divides each activation by a power of the energy of its neighbouring channels.

All backward passes are written by hand from the equations in the docstrings.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from ..._memory_format import is_channel_major
from ...autograd.function import Function
from ...backend import array_module
from ...tensor import Tensor
from ._errors import ArgumentError

__all__ = ["batch_norm", "layer_norm", "rms_norm", "group_norm", "instance_norm", "local_response_norm"]


# --------------------------------------------------------------------------- validation
def _check_input(name, input, min_ndim, expected):
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}: input must be a neuronet Tensor, received {type(input).__name__}")
    if input.dtype.kind != "f":
        raise TypeError(f"{name}: input must be floating point, received dtype {input.dtype}")
    if input.ndim < min_ndim:
        raise ArgumentError(f"{name}: expected input of shape {expected}, received shape {tuple(input.shape)} "
                            f"({input.ndim} dimension(s))")


def _check_param(name, what, value, shape, detail):
    """``value`` must be None or a float Tensor of ``shape``; returns it."""
    if value is None:
        return None
    if not isinstance(value, Tensor):
        raise TypeError(f"{name}: {what} must be a neuronet Tensor or None, received {type(value).__name__}")
    if tuple(value.shape) != tuple(shape):
        raise ArgumentError(f"{name}: {what} must have shape {tuple(shape)} ({detail}), "
                            f"received shape {tuple(value.shape)}")
    return value


def _check_eps(name, eps):
    if not isinstance(eps, numbers.Real) or not eps >= 0:
        raise ArgumentError(f"{name}: eps must be a non-negative number, received {eps!r}")
    return float(eps)


# --------------------------------------------------------------------------- batch norm
def _channel_view(x, channel_major=False):
    """(N, C, *) -> (N, C, L), so each channel is reduced over axes (0, 2) whatever the
    number of spatial dims: a view for contiguous data. With ``channel_major`` (``x`` a
    4-D ``(N, C, H, W)`` view of ``(C, N, H, W)`` memory, as a convolution hands it on)
    the contiguous ``(1, C, N*H*W)`` view instead: each channel one long row."""
    if channel_major:
        return x.transpose(1, 0, 2, 3).reshape(1, x.shape[1], -1)
    return x.reshape(x.shape[0], x.shape[1], math.prod(x.shape[2:]))     # (no -1: N may be 0)


def _unview(a3, shape, channel_major):
    """Inverse of :func:`_channel_view`: ``a3`` back to ``shape``, in the same layout."""
    if channel_major:
        n, c, h, w = shape
        return a3.reshape(c, n, h, w).transpose(1, 0, 2, 3)
    return a3.reshape(shape)


def _as_layout(g, channel_major):
    """``g`` viewed by :func:`_channel_view` in the layout the forward used (a copy only
    when ``g`` arrives in the other one)."""
    if channel_major and not is_channel_major(g):
        xp = array_module(g)
        g = xp.ascontiguousarray(g.transpose(1, 0, 2, 3)).transpose(1, 0, 2, 3)
    elif not channel_major and not g.flags.c_contiguous:
        g = array_module(g).ascontiguousarray(g)
    return _channel_view(g, channel_major)


def _per_channel(v, dtype):
    """A (C,) array as (1, C, 1), to broadcast against the (N, C, L) view."""
    return v.astype(dtype, copy=False).reshape(1, -1, 1)


# Rows (the L values of one sample and channel) at least this long are reduced
# row by row with BLAS; shorter ones (e.g. (N, C) inputs, L = 1) by NumPy's
# reduction over axes (0, 2), which is faster there.
_ROW_MIN = 64


def _channel_sum(a3):
    """sum_{n, l} a[n, c, l] of an (N, C, L) array, as a float64 (C,) array.

    For long rows a matrix-vector product with ones sums each contiguous row
    in one streaming BLAS pass (about 3x faster than ``sum(axis=(0, 2))``,
    whose reduction over the outer axis is not vectorized), and the N partial
    sums of each channel are added in float64.
    """
    xp = array_module(a3)
    if a3.shape[2] >= _ROW_MIN:
        return (a3 @ xp.ones(a3.shape[2], dtype=a3.dtype)).sum(axis=0, dtype=xp.float64)
    return a3.sum(axis=(0, 2)).astype(xp.float64)


def _channel_dot(a3, b3):
    """sum_{n, l} a[n, c, l] b[n, c, l] of two (N, C, L) arrays, float64 (C,),
    without materializing the product (a dot product per row, or einsum)."""
    xp = array_module(a3)
    if a3.shape[2] >= _ROW_MIN and hasattr(xp, "vecdot"):
        return xp.vecdot(a3, b3).sum(axis=0, dtype=xp.float64)
    return xp.einsum("ncl,ncl->c", a3, b3).astype(xp.float64)


def _one_pass_limit(dtype):
    """Largest mean^2 / var for which var = E[x^2] - E[x]^2 is accurate enough.

    Summing x^2 in ``dtype`` loses about eps * (mean^2 + var) / var of the
    variance's relative precision; 2^-20 / eps keeps that near 1e-6 (8 for
    float32, 4e9 for float64)."""
    return 2.0 ** -20 / float(np.finfo(dtype).eps)


def _batch_stats(x3):
    """Batch mean and biased variance of each channel of an (N, C, L) array.

    Returns ``(xs, mu_s, mean, var)``: float64 (C,) ``mean`` and ``var``, and
    the array the backward uses, ``xs = x - c0`` with float64 (C,) ``mu_s =
    mean(xs)``. Normally c0 = 0: xs is x itself (no copy) and the statistics
    take two reading passes, sum x and sum x^2. Where a channel's mean is
    large against its spread (or the variance is ~0), E[x^2] - E[x]^2 would
    cancel catastrophically; then x is centred first (c0 = the rounded mean)
    and the variance is taken from the centred values, as a two-pass method.
    Short rows (L < _ROW_MIN, e.g. (N, C) inputs) always take the centred
    path: their sums accumulate in x's dtype over all N L values.
    """
    m = x3.shape[0] * x3.shape[2]
    mean = _channel_sum(x3) / m
    # On a GPU, deciding between the one-pass and the centred form would read
    # the statistics back (a stall per layer per step): it always centres,
    # one more pass over x and no synchronisation.
    if x3.shape[2] >= _ROW_MIN and array_module(x3) is np:
        # Rows summed in x's dtype, rows added in float64: sum x^2 is accurate.
        var = _channel_dot(x3, x3) / m - mean * mean
        if bool((mean * mean <= _one_pass_limit(x3.dtype) * var).all()):
            return x3, mean, mean, var
    xs = x3 - _per_channel(mean, x3.dtype)
    mu_s = _channel_sum(xs) / m             # what rounding the mean to x's dtype left over
    var = _channel_dot(xs, xs) / m - mu_s * mu_s
    return xs, mu_s, mean + mu_s, var


class BatchNorm(Function):
    """Batch normalization over axes (N, spatial) of each channel c.

    x: (N, C, *) seen as (N, C, L), M = N L values per channel; gamma, beta: (C,).

    Training (batch statistics, biased variance):

        mu = (1/M) sum x,  var = (1/M) sum (x - mu)^2,  s = 1 / sqrt(var + eps)
        x_hat = (x - mu) s,   y = gamma x_hat + beta

    Backward (Ioffe & Szegedy 2015, with g = dE/dy):

        dbeta  = sum g,   dgamma = sum g x_hat
        dx     = (gamma s / M) (M g - sum g - x_hat sum g x_hat)

    How it is computed (memory passes matter more than flops here): the
    statistics come from per-channel sums of x and x^2 (two reading passes,
    see :func:`_batch_stats`; float64 per-channel arithmetic), the output is
    one affine map ``y = x * scale + shift`` with per-channel ``scale = gamma
    s`` and ``shift = beta - mu scale``, and only x itself (no copy; x - mu for
    the inputs :func:`_batch_stats` centres) is saved.
    The backward needs two reductions, ``sum g`` and ``sum g x``, and then

        dx = a g + b x + c,   a = gamma s,  b = -a s^2 S / M,  c = -a sum g / M - b mu
        with S = sum g (x - mu) = sum g x - mu sum g,  dgamma = S s.

    The running statistics are updated in place with the unbiased variance:
    ``r <- (1 - momentum) r + momentum * stat``.

    Evaluation (running statistics): the same affine map with ``scale =
    gamma / sqrt(rvar + eps)``, ``shift = beta - rmean scale``; dx = g scale.
    """

    @staticmethod
    def forward(ctx, x, weight, bias, running_mean, running_var, training, momentum, eps):
        # A channel-major input (a convolution's output) is normalized in that layout and
        # handed on in it: each channel is then one contiguous run.
        ctx.channel_major = is_channel_major(x) and not x.flags.c_contiguous
        out = _bn_forward(ctx, x, weight, bias, running_mean, running_var, training, momentum, eps)
        return _unview(out, x.shape, ctx.channel_major)

    @staticmethod
    def backward(ctx, g):
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        dx, dw, db = _bn_backward(ctx, _as_layout(g, ctx.channel_major), need_x, need_w, need_b)
        return dx, dw, db, None, None, None, None, None


def _bn_forward(ctx, x, weight, bias, running_mean, running_var, training, momentum, eps):
    """The forward of :class:`BatchNorm` on ``x`` seen as (N, C, L): returns
    the new (N, C, L) output ``x * scale + shift`` and stores in ``ctx`` what
    :func:`_bn_backward` needs."""
    xp = array_module(x)
    dtype = x.dtype
    x3 = _channel_view(x, ctx.channel_major)
    m = x3.shape[0] * x3.shape[2]
    gamma = None if weight is None else weight.astype(xp.float64)
    if training:
        xs, mu_s, mean, var = _batch_stats(x3)
        inv_std = 1.0 / xp.sqrt(xp.maximum(var, 0.0) + eps)
        if running_mean is not None:
            # In place on the buffers' arrays, so the module's tensors see the update.
            running_mean *= 1.0 - momentum
            running_mean += (momentum * mean).astype(running_mean.dtype, copy=False)
            running_var *= 1.0 - momentum
            running_var += (momentum * m / (m - 1) * var).astype(running_var.dtype, copy=False)
    else:
        mu_s = running_mean.astype(xp.float64)
        inv_std = 1.0 / xp.sqrt(running_var.astype(xp.float64) + eps)
        xs = x3
    scale = inv_std if gamma is None else gamma * inv_std
    shift = -mu_s * scale
    if bias is not None:
        shift += bias
    scale3 = _per_channel(scale, dtype)
    out = xs * scale3
    out += _per_channel(shift, dtype)
    need_x, need_w = ctx.needs_input_grad[:2]
    # Training: dx needs xs too (the b x term). Evaluation: only dgamma does.
    keep_xs = need_w or (need_x and training)
    ctx.save_for_backward(xs if keep_xs else None)
    ctx.stats = (mu_s, inv_std, gamma, scale3)
    ctx.training, ctx.shape, ctx.m = training, x.shape, m
    ctx.param_dtypes = (None if weight is None else weight.dtype, None if bias is None else bias.dtype)
    return out


def _bn_backward(ctx, g3, need_x, need_w, need_b):
    """dE/dx, dE/dgamma, dE/dbeta of :class:`BatchNorm` from ``g3`` = dE/dy
    as (N, C, L).

    Training: dx = a g + b x + c (see :class:`BatchNorm`) is evaluated as
    ``a (g + k x + c')`` with k = b / a = -s^2 S / M and c' = c / a = -sum g / M
    - k mu (no division: a cancels symbolically, so gamma = 0 is fine): four
    in-place passes over one new buffer, no temporary.
    """
    xs = ctx.saved_tensors[0]
    mu_s, inv_std, gamma, scale3 = ctx.stats
    dtype = g3.dtype
    sum_g = _channel_sum(g3) if (need_b or need_w or (need_x and ctx.training)) else None
    # S = sum g (x - mu): from sum g xs, shifted by the saved mean of xs.
    s_gx = _channel_dot(g3, xs) - mu_s * sum_g if (need_w or (need_x and ctx.training)) else None
    dx = dw = db = None
    if need_x:
        if ctx.training:
            m = ctx.m
            a = inv_std if gamma is None else gamma * inv_std
            k = -inv_std * inv_std * s_gx / m
            dx = xs * _per_channel(k, dtype)
            dx += _per_channel(-sum_g / m - k * mu_s, dtype)
            dx += g3
            dx *= _per_channel(a, dtype)
        else:
            dx = g3 * scale3
        dx = _unview(dx, ctx.shape, ctx.channel_major)
    w_dtype, b_dtype = ctx.param_dtypes
    if need_w:
        dw = (s_gx * inv_std).astype(w_dtype)
    if need_b:
        db = sum_g.astype(b_dtype)
    return dx, dw, db


def _check_batch_norm_args(name, input, running_mean, running_var, weight, bias, training, momentum, eps):
    """Validate :func:`batch_norm`'s arguments; returns the float eps."""
    _check_input(name, input, 2, "(N, C), (N, C, L) or (N, C, H, W)")
    c = input.shape[1]
    detail = f"one entry per channel of the input {tuple(input.shape)}"
    _check_param(name, "running_mean", running_mean, (c,), detail)
    _check_param(name, "running_var", running_var, (c,), detail)
    _check_param(name, "weight", weight, (c,), detail)
    _check_param(name, "bias", bias, (c,), detail)
    if (running_mean is None) != (running_var is None):
        raise ArgumentError(f"{name}: pass both running_mean and running_var, or neither")
    eps = _check_eps(name, eps)
    if momentum is None:
        raise ArgumentError(
            f"{name}: momentum=None (cumulative moving average) needs the number of batches seen, "
            "which the BatchNorm module tracks; pass momentum=1/num_batches_tracked explicitly")
    if not isinstance(momentum, numbers.Real):
        raise TypeError(f"{name}: momentum must be a number, received {momentum!r}")
    if training:
        per_channel = input.numel() // c if c else 0
        if per_channel <= 1:
            raise ArgumentError(f"{name}: expected more than 1 value per channel when training, got input of "
                                f"shape {tuple(input.shape)}")
    elif running_mean is None:
        raise ArgumentError(f"{name}: running_mean and running_var must be given in evaluation mode "
                            "(training=False)")
    return eps


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    r"""Batch normalization (Ioffe & Szegedy 2015) of each channel.

        y = (x - E[x]) / sqrt(Var[x] + eps) * weight + bias

    In training mode ``E`` and ``Var`` are the batch statistics of each channel
    over the batch and spatial dims (the biased variance), and ``running_mean``
    / ``running_var`` (when given) are updated **in place** as
    ``r <- (1 - momentum) r + momentum * stat``, with the *unbiased* batch
    variance, as PyTorch. In evaluation mode the running statistics are used
    and nothing is updated. See :class:`BatchNorm` for the backward.

    Args:
        input: ``(N, C)``, ``(N, C, L)`` or ``(N, C, H, W)`` (any ``(N, C, *)``).
        running_mean, running_var: ``(C,)`` buffers, or None (training only:
            then only batch statistics are used).
        weight, bias: optional ``(C,)`` affine parameters (gamma, beta).
        training: use batch statistics and update the running ones.
        momentum: factor of the running-average update. ``None`` (PyTorch's
            cumulative average) is not accepted here: it needs the number of
            batches seen, which the ``BatchNorm`` module tracks and turns into
            ``momentum = 1 / num_batches_tracked`` before calling this function.
        eps: added to the variance for numerical stability.

    Shape:
        input ``(N, C, *)``, output the same.
    """
    eps = _check_batch_norm_args("batch_norm", input, running_mean, running_var, weight, bias,
                                 training, momentum, eps)
    rm = None if running_mean is None else running_mean.array
    rv = None if running_var is None else running_var.array
    return BatchNorm.apply(input, weight, bias, rm, rv, bool(training), float(momentum), eps)


# --------------------------------------------------------------------------- layer norm, group norm
def _standardize(x2, eps):
    """Rows of a (R, D) array to zero mean and unit (biased) variance:
    returns x_hat and s = 1 / sqrt(var + eps) of shape (R, 1)."""
    xp = array_module(x2)
    if x2.size == 0:        # no rows, or empty rows: nothing to standardize (no 0/0 warnings)
        return x2.copy(), xp.ones((x2.shape[0], 1), dtype=x2.dtype)
    mean = x2.mean(axis=1, keepdims=True)
    xc = x2 - mean
    inv_std = 1.0 / xp.sqrt((xc * xc).mean(axis=1, keepdims=True) + eps)
    xc *= inv_std
    return xc, inv_std


def _standardize_backward(gh, x_hat, inv_std):
    """dE/dx of x_hat = (x - mean) s per row, given gh = dE/dx_hat (R, D):
    dx = s (gh - mean(gh) - x_hat mean(gh x_hat))."""
    if gh.size == 0:
        return gh.copy()
    dx = gh - gh.mean(axis=1, keepdims=True)
    dx -= x_hat * (gh * x_hat).mean(axis=1, keepdims=True)
    dx *= inv_std
    return dx


class LayerNorm(Function):
    """Layer normalization over the trailing D = prod(normalized_shape) values of each sample.

    x seen as (R, D):  x_hat = (x - mean) / sqrt(var + eps) per row,  y = gamma x_hat + beta
    (gamma, beta: (D,)).  With gh = g gamma:
    dx = s (gh - mean(gh) - x_hat mean(gh x_hat)),  dgamma = sum_rows g x_hat,  dbeta = sum_rows g.
    """

    @staticmethod
    def forward(ctx, x, weight, bias, n_norm, eps):
        d = math.prod(x.shape[x.ndim - n_norm:])
        x_hat, inv_std = _standardize(x.reshape(math.prod(x.shape[:x.ndim - n_norm]), d), eps)
        out = x_hat
        if weight is not None:
            out = out * weight.astype(x.dtype, copy=False).reshape(1, d)
        if bias is not None:
            out = out + bias.astype(x.dtype, copy=False).reshape(1, d)
        ctx.shape, ctx.d, ctx.norm_shape = x.shape, d, x.shape[x.ndim - n_norm:]
        ctx.save_for_backward(x_hat, inv_std, weight)
        return out.reshape(x.shape)

    @staticmethod
    def backward(ctx, g):
        x_hat, inv_std, weight = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        g2 = g.reshape(x_hat.shape)
        dx = dw = db = None
        if need_x:
            gh = g2 if weight is None else g2 * weight.astype(g.dtype, copy=False).reshape(1, ctx.d)
            dx = _standardize_backward(gh, x_hat, inv_std).reshape(ctx.shape)
        if need_w:
            dw = (g2 * x_hat).sum(axis=0).reshape(ctx.norm_shape)
        if need_b:
            db = g2.sum(axis=0).reshape(ctx.norm_shape)
        return dx, dw, db, None, None


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Layer normalization (Ba, Kiros & Hinton 2016) over the last dims of each sample.

        y = (x - E[x]) / sqrt(Var[x] + eps) * weight + bias

    with the mean and biased variance over the trailing ``normalized_shape``
    dims. ``weight``, ``bias``: optional, of shape ``normalized_shape``.

    Shape: input ``(*, *normalized_shape)``, output the same.
    """
    name = "layer_norm"
    if isinstance(normalized_shape, numbers.Integral):
        normalized_shape = (int(normalized_shape),)
    normalized_shape = tuple(normalized_shape)
    k = len(normalized_shape)
    _check_input(name, input, max(k, 1), f"(*, {', '.join(map(str, normalized_shape))})")
    if k == 0 or tuple(input.shape[input.ndim - k:]) != normalized_shape:
        raise ArgumentError(f"{name}: normalized_shape {normalized_shape} must be the trailing dims of the "
                            f"input, received input of shape {tuple(input.shape)}")
    _check_param(name, "weight", weight, normalized_shape, "normalized_shape")
    _check_param(name, "bias", bias, normalized_shape, "normalized_shape")
    return LayerNorm.apply(input, weight, bias, k, _check_eps(name, eps))


class RMSNorm(Function):
    """Root-mean-square normalization over the last k dims (Zhang & Sennrich 2019):

        r = 1 / sqrt(mean(x^2) + eps),  x_hat = x r,  y = x_hat * weight

    per row of x seen as (M, D), D = prod(normalized_shape). No mean is
    subtracted. Backward, with gh = g * weight:
        dx = r * (gh - x_hat * mean(gh * x_hat)),   dweight = sum_rows g * x_hat.
    """

    @staticmethod
    def forward(ctx, x, weight, k, eps):
        xp = array_module(x)
        norm_shape = x.shape[x.ndim - k:]
        x2 = x.reshape(-1, math.prod(norm_shape))
        r = 1 / xp.sqrt((x2 * x2).mean(axis=1, keepdims=True) + eps)
        x_hat = x2 * r
        out = x_hat if weight is None else x_hat * weight.reshape(1, -1)
        ctx.save_for_backward(x_hat, r, weight)
        ctx.shapes = (x.shape, norm_shape)
        return out.reshape(x.shape).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        x_hat, r, weight = ctx.saved_tensors
        x_shape, norm_shape = ctx.shapes
        g2 = g.reshape(x_hat.shape)
        dx = dw = None
        if ctx.needs_input_grad[0]:
            gh = g2 if weight is None else g2 * weight.reshape(1, -1)
            dx = (r * (gh - x_hat * (gh * x_hat).mean(axis=1, keepdims=True))).reshape(x_shape)
        if ctx.needs_input_grad[1]:
            dw = (g2 * x_hat).sum(axis=0).reshape(norm_shape)
        return dx, dw, None, None


def rms_norm(input, normalized_shape, weight=None, eps=None):
    """RMS normalization over the trailing ``normalized_shape`` dims:
    ``y = x / sqrt(mean(x^2) + eps) * weight`` (``eps=None``: the dtype's machine
    epsilon, as PyTorch). Shape: input ``(*, *normalized_shape)``, output the same.
    """
    name = "rms_norm"
    if isinstance(normalized_shape, numbers.Integral):
        normalized_shape = (int(normalized_shape),)
    normalized_shape = tuple(normalized_shape)
    k = len(normalized_shape)
    _check_input(name, input, max(k, 1), f"(*, {', '.join(map(str, normalized_shape))})")
    if k == 0 or tuple(input.shape[input.ndim - k:]) != normalized_shape:
        raise ArgumentError(f"{name}: normalized_shape {normalized_shape} must be the trailing dims of the "
                            f"input, received input of shape {tuple(input.shape)}")
    _check_param(name, "weight", weight, normalized_shape, "normalized_shape")
    eps = float(np.finfo(input.dtype).eps) if eps is None else _check_eps(name, eps)
    return RMSNorm.apply(input, weight, k, eps)


class GroupNorm(Function):
    """Group normalization: each sample's C channels in G groups of C/G, each group
    standardized over its channels and positions, then a per-channel affine map.

    x: (N, C, *) seen as (N G, C/G L) rows for the statistics and as (N, C, L) for the
    affine part. With gh = g gamma_c, the row formula of :class:`LayerNorm` gives dx;
    dgamma_c = sum_{n, l} g x_hat,  dbeta_c = sum_{n, l} g.
    """

    @staticmethod
    def forward(ctx, x, weight, bias, groups, eps):
        n, c = x.shape[:2]
        L = math.prod(x.shape[2:])          # explicit sizes: a reshape with -1 fails when N = 0
        x_hat, inv_std = _standardize(x.reshape(n * groups, c // groups * L), eps)
        out = x_hat.reshape(n, c, L)
        if weight is not None:
            out = out * _per_channel(weight, x.dtype)
        if bias is not None:
            out = out + _per_channel(bias, x.dtype)
        ctx.shape, ctx.groups = x.shape, groups
        ctx.save_for_backward(x_hat, inv_std, weight)
        return out.reshape(x.shape)

    @staticmethod
    def backward(ctx, g):
        x_hat, inv_std, weight = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        n, c = ctx.shape[:2]
        g3 = g.reshape(n, c, math.prod(ctx.shape[2:]))
        dx = dw = db = None
        if need_x:
            gh = g3 if weight is None else g3 * _per_channel(weight, g.dtype)
            dx = _standardize_backward(gh.reshape(x_hat.shape), x_hat, inv_std).reshape(ctx.shape)
        if need_w:
            dw = (g3 * x_hat.reshape(g3.shape)).sum(axis=(0, 2))
        if need_b:
            db = g3.sum(axis=(0, 2))
        return dx, dw, db, None, None


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """Group normalization (Wu & He 2018): the channels of each sample split into
    ``num_groups`` groups, each standardized over its channels and positions
    (biased variance), then ``y = x_hat * weight_c + bias_c``.

    Shape: input ``(N, C, *)`` with C divisible by num_groups, weight/bias ``(C,)``.
    """
    name = "group_norm"
    _check_input(name, input, 2, "(N, C, *)")
    c = input.shape[1]
    if not isinstance(num_groups, numbers.Integral) or num_groups <= 0 or c % num_groups:
        raise ArgumentError(f"{name}: the number of channels ({c}) must be divisible by num_groups, "
                            f"received num_groups={num_groups!r}")
    detail = f"one entry per channel of the input {tuple(input.shape)}"
    _check_param(name, "weight", weight, (c,), detail)
    _check_param(name, "bias", bias, (c,), detail)
    return GroupNorm.apply(input, weight, bias, int(num_groups), _check_eps(name, eps))


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None, use_input_stats=True,
                  momentum=0.1, eps=1e-5):
    """Instance normalization (Ulyanov et al. 2016): every channel of every sample
    standardized over its own positions, then ``y = x_hat * weight_c + bias_c``.

    It is group normalization with one channel per group (the same op and
    backward). With ``running_mean``/``running_var`` given and
    ``use_input_stats``, they are updated in place with the batch average of
    the per-instance mean and unbiased variance (as PyTorch); with
    ``use_input_stats=False`` the running statistics normalize instead (batch
    norm in eval mode).

    Shape: input ``(N, C, *)``, weight/bias/running stats ``(C,)``.
    """
    name = "instance_norm"
    _check_input(name, input, 3, "(N, C, *)")
    if not use_input_stats:
        if running_mean is None or running_var is None:
            raise ArgumentError("instance_norm: Expected running_mean and running_var to be defined when "
                                "use_input_stats is false")
        return batch_norm(input, running_mean, running_var, weight, bias, False, momentum, eps)
    if running_mean is not None or running_var is not None:
        xp = array_module(input.array)
        n, c = input.shape[:2]
        x3 = input.array.reshape(n, c, math.prod(input.shape[2:]))
        count = x3.shape[2]
        mean = x3.mean(axis=2).mean(axis=0)
        var = x3.var(axis=2, ddof=1 if count > 1 else 0).mean(axis=0)
        for buf, stat in ((running_mean, mean), (running_var, var)):
            if buf is not None:
                buf.array[...] = ((1 - momentum) * buf.array + momentum * xp.asarray(stat)).astype(buf.dtype)
    return group_norm(input, input.shape[1], weight, bias, eps)


# --------------------------------------------------------------------------- local response norm
def _channel_window_sum(a, before, after):
    """s[:, c] = sum of a[:, c - before : c + after + 1] over the channel axis 1,
    with zeros outside [0, C) -- one shifted add per window position."""
    xp = array_module(a)
    c = a.shape[1]
    pad = [(0, 0)] * a.ndim
    pad[1] = (before, after)
    padded = xp.pad(a, pad)
    s = padded[:, 0:c].copy()
    for o in range(1, before + after + 1):
        s += padded[:, o:o + c]
    return s


class LocalResponseNorm(Function):
    """Local response normalization across channels (Krizhevsky et al. 2012):

        d_c = k + (alpha / n) sum_{c' = c - n//2}^{c + (n-1)//2} a_{c'}^2     (zero outside [0, C))
        b_c = a_c d_c^(-beta)

    Backward: a_j enters b_j directly and every d_c whose window holds j, i.e.
    c in [j - (n-1)//2, j + n//2] (the window mirrored), so

        dE/da_j = g_j d_j^(-beta) - (2 alpha beta / n) a_j sum_{c: j in window(c)} g_c a_c d_c^(-beta-1)
    """

    @staticmethod
    def forward(ctx, x, size, alpha, beta, k):
        xp = array_module(x)
        d = _channel_window_sum(x * x, size // 2, (size - 1) // 2)
        d *= alpha / size
        d += k
        d_pow = xp.power(d, -beta)
        ctx.params = (size, alpha, beta)
        ctx.save_for_backward(x, d, d_pow)
        return x * d_pow

    @staticmethod
    def backward(ctx, g):
        x, d, d_pow = ctx.saved_tensors
        size, alpha, beta = ctx.params
        t = g * x * d_pow / d                            # g_c a_c d_c^(-beta-1)
        s = _channel_window_sum(t, (size - 1) // 2, size // 2)
        dx = g * d_pow
        dx -= (2.0 * alpha * beta / size) * x * s
        return dx, None, None, None, None


def local_response_norm(input, size, alpha=1e-4, beta=0.75, k=1.0):
    """Local response normalization (AlexNet, Krizhevsky et al. 2012) across channels:

        b_c = a_c / (k + alpha / n * sum_{c'} a_{c'}^2) ** beta

    summing over the ``n = size`` channels ``c - n//2 .. c + (n-1)//2`` (zero
    padded at the edges), exactly as PyTorch.

    Shape: input ``(N, C, *)`` with at least 3 dims, output the same.
    """
    name = "local_response_norm"
    _check_input(name, input, 3, "(N, C, L), (N, C, H, W) or more dims")
    if not isinstance(size, numbers.Integral) or size < 1:
        raise ArgumentError(f"{name}: size must be a positive int, received {size!r}")
    if input.numel() == 0:
        return input
    return LocalResponseNorm.apply(input, int(size), float(alpha), float(beta), float(k))
