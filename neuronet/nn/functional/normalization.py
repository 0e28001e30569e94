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

from ...autograd.function import Function
from ...backend import array_module
from ...tensor import Tensor

__all__ = ["batch_norm", "layer_norm", "group_norm", "local_response_norm"]


# --------------------------------------------------------------------------- validation
def _check_input(name, input, min_ndim, expected):
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}: input must be a neuronet Tensor, received {type(input).__name__}")
    if input.dtype.kind != "f":
        raise TypeError(f"{name}: input must be floating point, received dtype {input.dtype}")
    if input.ndim < min_ndim:
        raise ValueError(f"{name}: expected input of shape {expected}, received shape {tuple(input.shape)} "
                         f"({input.ndim} dimension(s))")


def _check_param(name, what, value, shape, detail):
    """``value`` must be None or a float Tensor of ``shape``; returns it."""
    if value is None:
        return None
    if not isinstance(value, Tensor):
        raise TypeError(f"{name}: {what} must be a neuronet Tensor or None, received {type(value).__name__}")
    if tuple(value.shape) != tuple(shape):
        raise ValueError(f"{name}: {what} must have shape {tuple(shape)} ({detail}), "
                         f"received shape {tuple(value.shape)}")
    return value


def _check_eps(name, eps):
    if not isinstance(eps, numbers.Real) or not eps >= 0:
        raise ValueError(f"{name}: eps must be a non-negative number, received {eps!r}")
    return float(eps)


# --------------------------------------------------------------------------- batch norm
def _channel_view(x):
    """(N, C, *) -> (N, C, L): a view for contiguous data, so each channel is
    reduced over axes (0, 2) whatever the number of spatial dims."""
    return x.reshape(x.shape[0], x.shape[1], -1)


def _per_channel(v, dtype):
    """A (C,) array as (1, C, 1), to broadcast against the (N, C, L) view."""
    return v.astype(dtype, copy=False).reshape(1, -1, 1)


class BatchNorm(Function):
    """Batch normalization over axes (N, spatial) of each channel c.

    x: (N, C, *) seen as (N, C, L), M = N L values per channel; gamma, beta: (C,).

    Training (batch statistics, biased variance):

        mu = (1/M) sum x,  var = (1/M) sum (x - mu)^2,  s = 1 / sqrt(var + eps)
        x_hat = (x - mu) s,   y = gamma x_hat + beta

    Backward (Ioffe & Szegedy 2015, with g = dE/dy):

        dbeta  = sum g,   dgamma = sum g x_hat
        dx     = (gamma s / M) (M g - sum g - x_hat sum g x_hat)

    computed as ``gamma s g - k1 (x - mu) - k2`` with per-channel k1, k2, so the
    backward makes two reductions and three elementwise passes. The running
    statistics are updated in place with the unbiased variance:
    ``r <- (1 - momentum) r + momentum * stat``.

    Evaluation (running statistics): a per-channel affine map
    ``y = x gamma / sqrt(rvar + eps) + (beta - rmean gamma / sqrt(rvar + eps))``.
    """

    @staticmethod
    def forward(ctx, x, weight, bias, running_mean, running_var, training, momentum, eps):
        xp = array_module(x)
        shape, dtype = x.shape, x.dtype
        x3 = _channel_view(x)
        m = x3.shape[0] * x3.shape[2]
        gamma = None if weight is None else _per_channel(weight, dtype)
        if training:
            mean = x3.mean(axis=(0, 2), keepdims=True)
            xc = x3 - mean
            var = (xc * xc).mean(axis=(0, 2), keepdims=True)
            inv_std = 1.0 / xp.sqrt(var + eps)
            scale = inv_std if gamma is None else gamma * inv_std
            out = xc * scale
            if running_mean is not None:
                # In place on the buffers' arrays, so the module's tensors see the update.
                running_mean *= 1.0 - momentum
                running_mean += (momentum * mean.reshape(-1)).astype(running_mean.dtype, copy=False)
                running_var *= 1.0 - momentum
                running_var += (momentum * m / (m - 1) * var.reshape(-1)).astype(running_var.dtype, copy=False)
            ctx.save_for_backward(xc, inv_std, scale)
        else:
            inv_std = 1.0 / xp.sqrt(_per_channel(running_var, dtype) + eps)
            mean = _per_channel(running_mean, dtype)
            scale = inv_std if gamma is None else gamma * inv_std
            out = x3 * scale
            out -= mean * scale
            # Only dgamma needs the input: sum g (x - rmean) / sqrt(rvar + eps).
            ctx.save_for_backward(x3 if ctx.needs_input_grad[1] else None, mean, inv_std, scale)
        if bias is not None:
            out += _per_channel(bias, dtype)
        ctx.training, ctx.shape, ctx.m = training, shape, m
        return out.reshape(shape)

    @staticmethod
    def backward(ctx, g):
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        g3 = _channel_view(g)
        sum_g = g3.sum(axis=(0, 2), keepdims=True) if (need_b or (need_x and ctx.training)) else None
        dx = dw = db = None
        if ctx.training:
            xc, inv_std, scale = ctx.saved_tensors
            if need_x or need_w:
                sum_gxc = (g3 * xc).sum(axis=(0, 2), keepdims=True)
            if need_x:
                k1 = scale * inv_std * inv_std * sum_gxc / ctx.m
                k2 = scale * sum_g / ctx.m
                dx = g3 * scale
                dx -= xc * k1
                dx -= k2
            if need_w:
                dw = (sum_gxc * inv_std).reshape(-1)
        else:
            x3, mean, inv_std, scale = ctx.saved_tensors
            if need_x:
                dx = g3 * scale
            if need_w:
                dw = ((g3 * (x3 - mean)).sum(axis=(0, 2), keepdims=True) * inv_std).reshape(-1)
        if need_b:
            db = sum_g.reshape(-1)
        if dx is not None:
            dx = dx.reshape(ctx.shape)
        return dx, dw, db, None, None, None, None, None


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
    name = "batch_norm"
    _check_input(name, input, 2, "(N, C), (N, C, L) or (N, C, H, W)")
    c = input.shape[1]
    detail = f"one entry per channel of the input {tuple(input.shape)}"
    _check_param(name, "running_mean", running_mean, (c,), detail)
    _check_param(name, "running_var", running_var, (c,), detail)
    _check_param(name, "weight", weight, (c,), detail)
    _check_param(name, "bias", bias, (c,), detail)
    if (running_mean is None) != (running_var is None):
        raise ValueError(f"{name}: pass both running_mean and running_var, or neither")
    eps = _check_eps(name, eps)
    if momentum is None:
        raise ValueError(
            f"{name}: momentum=None (cumulative moving average) needs the number of batches seen, "
            "which the BatchNorm module tracks; pass momentum=1/num_batches_tracked explicitly")
    if not isinstance(momentum, numbers.Real):
        raise TypeError(f"{name}: momentum must be a number, received {momentum!r}")
    if training:
        per_channel = input.numel() // c if c else 0
        if per_channel <= 1:
            raise ValueError(f"{name}: expected more than 1 value per channel when training, got input of "
                             f"shape {tuple(input.shape)}")
    elif running_mean is None:
        raise ValueError(f"{name}: running_mean and running_var must be given in evaluation mode "
                         "(training=False)")
    rm = None if running_mean is None else running_mean.array
    rv = None if running_var is None else running_var.array
    return BatchNorm.apply(input, weight, bias, rm, rv, bool(training), float(momentum), eps)


# --------------------------------------------------------------------------- layer norm, group norm
def _standardize(x2, eps):
    """Rows of a (R, D) array to zero mean and unit (biased) variance:
    returns x_hat and s = 1 / sqrt(var + eps) of shape (R, 1)."""
    xp = array_module(x2)
    mean = x2.mean(axis=1, keepdims=True)
    xc = x2 - mean
    inv_std = 1.0 / xp.sqrt((xc * xc).mean(axis=1, keepdims=True) + eps)
    xc *= inv_std
    return xc, inv_std


def _standardize_backward(gh, x_hat, inv_std):
    """dE/dx of x_hat = (x - mean) s per row, given gh = dE/dx_hat (R, D):
    dx = s (gh - mean(gh) - x_hat mean(gh x_hat))."""
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
        x_hat, inv_std = _standardize(x.reshape(-1, d), eps)
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
        g2 = g.reshape(-1, ctx.d)
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
        raise ValueError(f"{name}: normalized_shape {normalized_shape} must be the trailing dims of the "
                         f"input, received input of shape {tuple(input.shape)}")
    _check_param(name, "weight", weight, normalized_shape, "normalized_shape")
    _check_param(name, "bias", bias, normalized_shape, "normalized_shape")
    return LayerNorm.apply(input, weight, bias, k, _check_eps(name, eps))


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
        x_hat, inv_std = _standardize(x.reshape(n * groups, -1), eps)
        out = x_hat.reshape(n, c, -1)
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
        g3 = g.reshape(n, c, -1)
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
        raise ValueError(f"{name}: the number of channels ({c}) must be divisible by num_groups, "
                         f"received num_groups={num_groups!r}")
    detail = f"one entry per channel of the input {tuple(input.shape)}"
    _check_param(name, "weight", weight, (c,), detail)
    _check_param(name, "bias", bias, (c,), detail)
    return GroupNorm.apply(input, weight, bias, int(num_groups), _check_eps(name, eps))


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
        raise ValueError(f"{name}: size must be a positive int, received {size!r}")
    if input.numel() == 0:
        return input
    return LocalResponseNorm.apply(input, int(size), float(alpha), float(beta), float(k))
