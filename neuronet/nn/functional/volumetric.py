"""3-D (volumetric) layers: ``conv3d``, ``max_pool3d``, ``avg_pool3d``,
``adaptive_avg_pool3d`` for video and medical volumes, ``(N, C, D, H, W)``.

The 2-D ops use tuned im2col kernels; these use the plain formulation on a
strided window view (no copy) of the padded input,
``win[n, c, d, h, w, i, j, k] = x_pad[n, c, d s_d + i d_d, h s_h + j d_h, w s_w + k d_w]``:

    conv3d:   y[n, o, d, h, w] = b[o] + sum_{c, i, j, k} W[o, c, i, j, k] win[n, c, d, h, w, i, j, k]
              dW = sum_{n, d, h, w} g win   (delta rule),  dx: g . W scattered back per kernel offset
    pooling:  the max / mean over the window's (i, j, k); backward routes g to the max
              (first in scan order) or spreads g / count.
"""
from __future__ import annotations

import numpy as np

from ...autograd.function import Function
from ...backend import array_module
from ...tensor import Tensor
from .padding import pad
from .upsampling import interpolate
from ._errors import ArgumentError

__all__ = ["conv3d", "max_pool3d", "avg_pool3d", "adaptive_avg_pool3d"]


def _triple(op, name, v, minimum):
    if isinstance(v, (tuple, list)):
        if len(v) != 3:
            raise ArgumentError(f"{op}: {name} must be an int or 3 ints, received {tuple(v)}")
        v = tuple(int(a) for a in v)
    else:
        v = (int(v),) * 3
    if min(v) < minimum:
        raise ArgumentError(f"{op}: {name} must be >= {minimum}, received {v}")
    return v


def _windows(xp_arr, kernel, stride, dilation, out):
    """(N, C, Do, Ho, Wo, kd, kh, kw) view of the padded input (no copy)."""
    xp = array_module(xp_arr)
    n, c = xp_arr.shape[:2]
    s = xp_arr.strides
    shape = (n, c) + tuple(out) + tuple(kernel)
    strides = (s[0], s[1]) + tuple(s[2 + a] * stride[a] for a in range(3)) + \
        tuple(s[2 + a] * dilation[a] for a in range(3))
    return xp.lib.stride_tricks.as_strided(xp_arr, shape=shape, strides=strides)


def _out_sizes(op, spatial, kernel, stride, pads, dilation):
    out = tuple((spatial[a] + 2 * pads[a] - dilation[a] * (kernel[a] - 1) - 1) // stride[a] + 1 for a in range(3))
    if min(out) <= 0:
        raise RuntimeError(f"{op}: the kernel {kernel} (dilation {dilation}) does not fit the padded input "
                           f"{tuple(spatial[a] + 2 * pads[a] for a in range(3))}")
    return out


def _pad(x, pads, value=0):
    xp = array_module(x)
    if not any(pads):
        return x
    return xp.pad(x, ((0, 0), (0, 0)) + tuple((p, p) for p in pads), constant_values=value)


def _scatter_windows(dxp, contrib_at, kernel, stride, dilation, out):
    """dxp[:, :, d s + i dd, ...] += contrib_at(i, j, k) for every kernel offset (the window view's transpose)."""
    for i in range(kernel[0]):
        for j in range(kernel[1]):
            for k in range(kernel[2]):
                sl = tuple(slice(o * dil, o * dil + st * (n - 1) + 1, st)
                           for o, dil, st, n in zip((i, j, k), dilation, stride, out))
                dxp[(slice(None), slice(None)) + sl] += contrib_at(i, j, k)


def _unpad(a, pads):
    if not any(pads):
        return a
    return a[(slice(None), slice(None)) + tuple(slice(p, a.shape[2 + i] - p) for i, p in enumerate(pads))]


class Conv3d(Function):
    """y = conv3d(x, W) + b (see the module docstring). x (N, C, D, H, W),
    W (O, C/g, kd, kh, kw), b (O,) -> y (N, O, Do, Ho, Wo)."""

    @staticmethod
    def forward(ctx, x, w, b, stride, pads, dilation, groups):
        xp = array_module(x)
        xpad = _pad(x, pads)
        out = _out_sizes("conv3d", x.shape[2:], w.shape[2:], stride, pads, dilation)
        win = _windows(xpad, w.shape[2:], stride, dilation, out)
        n, c = x.shape[:2]
        o, cg = w.shape[:2]
        win_g = win.reshape((n, groups, cg) + win.shape[2:])
        w_g = w.reshape((groups, o // groups) + w.shape[1:])
        y = xp.einsum("ngcdhwijk,gocijk->ngodhw", win_g, w_g, optimize=True).reshape((n, o) + out)
        if b is not None:
            y = y + b.reshape(1, -1, 1, 1, 1)
        ctx.save_for_backward(xpad, w)
        ctx.params = (x.shape, stride, pads, dilation, groups, out)
        return xp.ascontiguousarray(y.astype(x.dtype, copy=False))

    @staticmethod
    def backward(ctx, g):
        xpad, w = ctx.saved_tensors
        x_shape, stride, pads, dilation, groups, out = ctx.params
        xp = array_module(g)
        n, c = x_shape[:2]
        o, cg = w.shape[:2]
        g_g = g.reshape((n, groups, o // groups) + out)
        w_g = w.reshape((groups, o // groups) + w.shape[1:])
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        dx = dw = db = None
        if need_w:
            win = _windows(xpad, w.shape[2:], stride, dilation, out)
            win_g = win.reshape((n, groups, cg) + win.shape[2:])
            dw = xp.einsum("ngodhw,ngcdhwijk->gocijk", g_g, win_g, optimize=True).reshape(w.shape)
        if need_x:
            dxp = xp.zeros(xpad.shape, dtype=g.dtype)

            def contrib(i, j, k):
                part = xp.einsum("ngodhw,goc->ngcdhw", g_g, w_g[..., i, j, k], optimize=True)
                return part.reshape((n, c) + out)
            _scatter_windows(dxp, contrib, w.shape[2:], stride, dilation, out)
            dx = xp.ascontiguousarray(_unpad(dxp, pads))
        if need_b:
            db = g.sum(axis=(0, 2, 3, 4))
        return dx, dw, db, None, None, None, None


def _batched5(op, input):
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: input must be a neuronet Tensor, received {type(input).__name__}")
    if input.ndim not in (4, 5):
        raise RuntimeError(f"{op}: expected a 5-D input (N, C, D, H, W) or an unbatched 4-D input (C, D, H, W), "
                           f"received shape {tuple(input.shape)}")
    return (input.unsqueeze(0), True) if input.ndim == 4 else (input, False)


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """3-D convolution: input (N, C_in, D, H, W) or (C_in, D, H, W), weight
    (C_out, C_in/groups, kd, kh, kw), bias (C_out,) -> (N, C_out, D_out, H_out, W_out),
    ``D_out = floor((D + 2p - d(k - 1) - 1) / s) + 1`` (likewise H, W). padding: ints or 'valid'/'same'."""
    op = "conv3d"
    x, unbatched = _batched5(op, input)
    if not isinstance(weight, Tensor) or weight.ndim != 5:
        raise RuntimeError(f"{op}: expected a 5-D weight (C_out, C_in/groups, kd, kh, kw), received "
                           f"{tuple(weight.shape) if isinstance(weight, Tensor) else type(weight).__name__}")
    if x.shape[1] != weight.shape[1] * groups or weight.shape[0] % groups:
        raise RuntimeError(f"{op}: expected input with {weight.shape[1] * groups} channels (weight "
                           f"{tuple(weight.shape)}, groups={groups}), received input of shape {tuple(input.shape)}")
    stride = _triple(op, "stride", stride, 1)
    dilation = _triple(op, "dilation", dilation, 1)
    if isinstance(padding, str):
        if padding == "valid":
            pads = (0, 0, 0, 0, 0, 0)
        elif padding == "same":
            if stride != (1, 1, 1):
                raise ArgumentError(f"{op}: padding='same' is not supported for strided convolutions")
            totals = [dilation[a] * (weight.shape[2 + a] - 1) for a in range(3)]
            if any(t % 2 for t in totals):
                # PyTorch pads the odd extra plane at the end: pad explicitly, then convolve unpadded
                spec = []
                for t in reversed(totals):
                    spec += [t // 2, t - t // 2]
                return conv3d(pad(input, tuple(spec)), weight, bias, 1, 0, dilation, groups)
            pads = tuple(t // 2 for t in totals)
        else:
            raise ArgumentError(f"{op}: padding must be ints, 'valid' or 'same', received {padding!r}")
        pads = pads[:3]
    else:
        pads = _triple(op, "padding", padding, 0)
    y = Conv3d.apply(x, weight, bias, stride, pads, dilation, groups)
    return y.squeeze(0) if unbatched else y


class Pool3d(Function):
    """Max or mean over each window (see the module docstring)."""

    @staticmethod
    def forward(ctx, x, kernel, stride, pads, dilation, mode, count_include_pad):
        xp = array_module(x)
        fill = -np.inf if mode == "max" else 0
        xpad = _pad(x, pads, fill)
        out = _out_sizes(f"{mode}_pool3d", x.shape[2:], kernel, stride, pads, dilation)
        win = _windows(xpad, kernel, stride, dilation, out)
        flat = win.reshape(win.shape[:5] + (-1,))
        ctx.params = (x.shape, xpad.shape, kernel, stride, pads, dilation, out, mode)
        if mode == "max":
            arg = flat.argmax(axis=-1)
            ctx.save_for_backward(arg)
            return xp.ascontiguousarray(xp.take_along_axis(flat, arg[..., None], -1)[..., 0])
        if count_include_pad:
            div = xp.asarray(float(np.prod(kernel)), dtype=x.dtype)
        else:
            ones = _pad(xp.ones((1, 1) + x.shape[2:], dtype=x.dtype), pads)
            div = _windows(ones, kernel, stride, dilation, out).sum(axis=(-3, -2, -1))
        ctx.save_for_backward(div)
        return xp.ascontiguousarray((flat.sum(axis=-1) / div).astype(x.dtype, copy=False))

    @staticmethod
    def backward(ctx, g):
        x_shape, pad_shape, kernel, stride, pads, dilation, out, mode = ctx.params
        xp = array_module(g)
        dxp = xp.zeros((x_shape[0], x_shape[1]) + tuple(pad_shape[2:]), dtype=g.dtype)
        if mode == "max":
            (arg,) = ctx.saved_tensors
            kk = kernel[1] * kernel[2]
            _scatter_windows(dxp, lambda i, j, k: g * (arg == i * kk + j * kernel[2] + k), kernel, stride,
                             dilation, out)
        else:
            (div,) = ctx.saved_tensors
            share = g / div
            _scatter_windows(dxp, lambda i, j, k: share, kernel, stride, dilation, out)
        return xp.ascontiguousarray(_unpad(dxp, pads)), None, None, None, None, None, None


def _pool_args(op, kernel_size, stride, padding, dilation, ceil_mode):
    k = _triple(op, "kernel_size", kernel_size, 1)
    s = k if stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0) else \
        _triple(op, "stride", stride, 1)
    p = _triple(op, "padding", padding, 0)
    if any(pi > ki // 2 for pi, ki in zip(p, k)):
        raise RuntimeError(f"{op}: pad should be at most half of effective kernel size, but got pad={p} and "
                           f"kernel_size={k}")
    if ceil_mode:
        raise NotImplementedError(f"{op}: ceil_mode=True is not supported by neuronet for 3-D pooling")
    return k, s, p, _triple(op, "dilation", dilation, 1)


def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """3-D max pooling of (N, C, D, H, W) (or (C, D, H, W)); padding counts as -inf.
    ``return_indices`` is not supported (raises)."""
    op = "max_pool3d"
    if return_indices:
        raise NotImplementedError(f"{op}: return_indices=True is not supported by neuronet")
    x, unbatched = _batched5(op, input)
    k, s, p, d = _pool_args(op, kernel_size, stride, padding, dilation, ceil_mode)
    y = Pool3d.apply(x, k, s, p, d, "max", True)
    return y.squeeze(0) if unbatched else y


def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """3-D average pooling of (N, C, D, H, W) (or (C, D, H, W)) with zero padding;
    ``count_include_pad=False`` divides by the number of real elements per window."""
    op = "avg_pool3d"
    x, unbatched = _batched5(op, input)
    k, s, p, d = _pool_args(op, kernel_size, stride, padding, 1, ceil_mode)
    y = Pool3d.apply(x, k, s, p, d, "avg", bool(count_include_pad))
    if divisor_override is not None:
        y = y * (float(np.prod(k)) / divisor_override) if count_include_pad else \
            y * _count(x, k, s, p) / divisor_override
    return y.squeeze(0) if unbatched else y


def _count(x, k, s, p):
    xp = array_module(x.array)
    ones = _pad(xp.ones((1, 1) + tuple(x.shape[2:]), dtype=x.dtype), p)
    out = _out_sizes("avg_pool3d", x.shape[2:], k, s, p, (1, 1, 1))
    return Tensor._wrap(_windows(ones, k, s, (1, 1, 1), out).sum(axis=(-3, -2, -1)))


def adaptive_avg_pool3d(input, output_size):
    """Average pooling of (N, C, D, H, W) to ``output_size`` (int or 3 ints, None = keep):
    bin i along an axis covers ``[floor(i L / L_out), ceil((i + 1) L / L_out))`` --
    the same matrices as ``interpolate(mode='area')``."""
    op = "adaptive_avg_pool3d"
    x, unbatched = _batched5(op, input)
    sizes = output_size if isinstance(output_size, (tuple, list)) else (output_size,) * 3
    if len(sizes) != 3:
        raise ArgumentError(f"{op}: output_size must be an int or 3 ints, received {output_size!r}")
    sizes = tuple(int(L) if v is None else int(v) for v, L in zip(sizes, x.shape[2:]))
    y = interpolate(x, size=sizes, mode="area")
    return y.squeeze(0) if unbatched else y
