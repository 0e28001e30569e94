"""3-D (volumetric) layers: ``conv3d``, ``conv_transpose3d``, ``max_pool3d``, ``avg_pool3d``,
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

__all__ = ["conv3d", "conv_transpose3d", "max_pool3d", "avg_pool3d", "adaptive_avg_pool3d"]


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


def _out_sizes(op, spatial, kernel, stride, pads, dilation, ceil_mode=False):
    """floor (or ceil) of (L + 2p - d(k - 1) - 1) / s, + 1; with ceil_mode the last window
    must start inside the input or its left padding (PyTorch's rule)."""
    out = []
    for a in range(3):
        span = spatial[a] + 2 * pads[a] - dilation[a] * (kernel[a] - 1) - 1
        n = (-(-span // stride[a]) if ceil_mode else span // stride[a]) + 1
        if ceil_mode and (n - 1) * stride[a] >= spatial[a] + pads[a]:
            n -= 1
        out.append(n)
    out = tuple(out)
    if min(out) <= 0:
        raise RuntimeError(f"{op}: the kernel {kernel} (dilation {dilation}) does not fit the padded input "
                           f"{tuple(spatial[a] + 2 * pads[a] for a in range(3))}")
    return out


def _pad(x, pads, value=0, extra=(0, 0, 0)):
    """``pads`` on both sides of each spatial axis, plus ``extra`` at the end (ceil_mode's overhang)."""
    xp = array_module(x)
    if not any(pads) and not any(extra):
        return x
    return xp.pad(x, ((0, 0), (0, 0)) + tuple((p, p + e) for p, e in zip(pads, extra)), constant_values=value)


def _overhang(spatial, kernel, stride, pads, dilation, out):
    """How far the last window reaches past the padded input, per axis (> 0 only with ceil_mode)."""
    return tuple(max((out[a] - 1) * stride[a] + dilation[a] * (kernel[a] - 1) + 1 - (spatial[a] + 2 * pads[a]), 0)
                 for a in range(3))


def _scatter_windows(dxp, contrib_at, kernel, stride, dilation, out):
    """dxp[:, :, d s + i dd, ...] += contrib_at(i, j, k) for every kernel offset (the window view's transpose)."""
    for i in range(kernel[0]):
        for j in range(kernel[1]):
            for k in range(kernel[2]):
                sl = tuple(slice(o * dil, o * dil + st * (n - 1) + 1, st)
                           for o, dil, st, n in zip((i, j, k), dilation, stride, out))
                dxp[(slice(None), slice(None)) + sl] += contrib_at(i, j, k)


def _unpad(a, pads, spatial=None):
    """The input's region of a padded buffer (``spatial``: the input's sizes; default: symmetric pads)."""
    if spatial is None:
        spatial = tuple(a.shape[2 + i] - 2 * p for i, p in enumerate(pads))
    if not any(pads) and tuple(a.shape[2:]) == tuple(spatial):
        return a
    return a[(slice(None), slice(None)) + tuple(slice(p, p + n) for p, n in zip(pads, spatial))]


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


class ConvTranspose3d(Function):
    """y = conv_transpose3d(x, W) + b: the input-gradient of conv3d (each input voxel
    scatters ``x * W`` into the output). x (N, C_in, D, H, W), W (C_in, C_out/g, kd, kh, kw).

    Forward: y_full[n, o, d s + i dil, ...] += sum_c x[n, c, d, h, w] W[c, o, i, j, k], then
    y = y_full cropped by ``padding`` at both ends (``output_padding`` extra planes at the end).
    Backward: with g placed back into the full buffer, ``win`` its window view (stride s,
    dilation dil), dx = sum_{o, ijk} W win (a conv3d of g), dW = sum_{n, dhw} x win.
    """

    @staticmethod
    def forward(ctx, x, w, b, stride, pads, out_pad, dilation, groups):
        xp = array_module(x)
        n, c = x.shape[:2]
        cg_out = w.shape[1]
        spatial = x.shape[2:]
        full = tuple((spatial[a] - 1) * stride[a] + dilation[a] * (w.shape[2 + a] - 1) + 1 + out_pad[a]
                     for a in range(3))
        x_g = x.reshape((n, groups, c // groups) + spatial)
        w_g = w.reshape((groups, c // groups, cg_out) + w.shape[2:])
        y_full = xp.zeros((n, groups * cg_out) + full, dtype=x.dtype)

        def contrib(i, j, k):
            part = xp.einsum("ngcdhw,gco->ngodhw", x_g, w_g[..., i, j, k], optimize=True)
            return part.reshape((n, groups * cg_out) + spatial)
        _scatter_windows(y_full, contrib, w.shape[2:], stride, dilation, spatial)
        out = tuple(full[a] - 2 * pads[a] for a in range(3))
        y = _unpad(y_full, pads, out)
        if b is not None:
            y = y + b.reshape(1, -1, 1, 1, 1)
        ctx.save_for_backward(x, w)
        ctx.params = (stride, pads, dilation, groups, full)
        return xp.ascontiguousarray(y.astype(x.dtype, copy=False))

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        stride, pads, dilation, groups, full = ctx.params
        xp = array_module(g)
        n, c = x.shape[:2]
        cg_out = w.shape[1]
        g_full = xp.zeros((n, g.shape[1]) + full, dtype=g.dtype)
        g_full[(slice(None), slice(None)) + tuple(slice(p, p + L) for p, L in zip(pads, g.shape[2:]))] = g
        win = _windows(g_full, w.shape[2:], stride, dilation, x.shape[2:])
        win_g = win.reshape((n, groups, cg_out) + win.shape[2:])
        w_g = w.reshape((groups, c // groups, cg_out) + w.shape[2:])
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        dx = dw = db = None
        if need_x:
            dx = xp.einsum("ngodhwijk,gcoijk->ngcdhw", win_g, w_g, optimize=True).reshape(x.shape)
            dx = xp.ascontiguousarray(dx)
        if need_w:
            x_g = x.reshape((n, groups, c // groups) + x.shape[2:])
            dw = xp.einsum("ngcdhw,ngodhwijk->gcoijk", x_g, win_g, optimize=True).reshape(w.shape)
        if need_b:
            db = g.sum(axis=(0, 2, 3, 4))
        return dx, dw, db, None, None, None, None, None


def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """3-D transposed convolution ("deconvolution"): input (N, C_in, D, H, W) or (C_in, D, H, W),
    weight (C_in, C_out/groups, kd, kh, kw), bias (C_out,) -> (N, C_out, D_out, H_out, W_out),
    ``D_out = (D - 1) s - 2p + d(k - 1) + output_padding + 1`` (likewise H, W)."""
    op = "conv_transpose3d"
    x, unbatched = _batched5(op, input)
    if not isinstance(weight, Tensor) or weight.ndim != 5:
        raise RuntimeError(f"{op}: expected a 5-D weight (C_in, C_out/groups, kd, kh, kw), received "
                           f"{tuple(weight.shape) if isinstance(weight, Tensor) else type(weight).__name__}")
    if x.shape[1] != weight.shape[0] or weight.shape[0] % groups:
        raise RuntimeError(f"{op}: expected input with {weight.shape[0]} channels (weight {tuple(weight.shape)}, "
                           f"groups={groups}), received input of shape {tuple(input.shape)}")
    if bias is not None and tuple(bias.shape) != (weight.shape[1] * groups,):
        raise RuntimeError(f"{op}: expected bias of shape ({weight.shape[1] * groups},), received "
                           f"{tuple(bias.shape)}")
    stride = _triple(op, "stride", stride, 1)
    dilation = _triple(op, "dilation", dilation, 1)
    pads = _triple(op, "padding", padding, 0)
    out_pad = _triple(op, "output_padding", output_padding, 0)
    if any(op_ >= max(s, d) for op_, s, d in zip(out_pad, stride, dilation)):
        raise RuntimeError(f"{op}: output padding must be smaller than either stride or dilation, received "
                           f"output_padding={out_pad}, stride={stride}, dilation={dilation}")
    out = tuple((x.shape[2 + a] - 1) * stride[a] - 2 * pads[a] + dilation[a] * (weight.shape[2 + a] - 1)
                + out_pad[a] + 1 for a in range(3))
    if min(out) <= 0:
        raise RuntimeError(f"{op}: output size {out} is too small (input {tuple(input.shape)}, padding {pads})")
    y = ConvTranspose3d.apply(x, weight, bias, stride, pads, out_pad, dilation, groups)
    return y.squeeze(0) if unbatched else y


class Pool3d(Function):
    """Max or mean over each window (see the module docstring)."""

    @staticmethod
    def forward(ctx, x, kernel, stride, pads, dilation, mode, count_include_pad, ceil_mode=False,
                return_indices=False):
        xp = array_module(x)
        fill = -np.inf if mode == "max" else 0
        out = _out_sizes(f"{mode}_pool3d", x.shape[2:], kernel, stride, pads, dilation, ceil_mode)
        extra = _overhang(x.shape[2:], kernel, stride, pads, dilation, out)
        xpad = _pad(x, pads, fill, extra)
        win = _windows(xpad, kernel, stride, dilation, out)
        flat = win.reshape(win.shape[:5] + (-1,))
        ctx.params = (x.shape, xpad.shape, kernel, stride, pads, dilation, out, mode)
        if mode == "max":
            # argmax: the first maximum in (i, j, k) scan order, and a NaN wins, as PyTorch
            arg = flat.argmax(axis=-1)
            ctx.save_for_backward(arg)
            y = xp.ascontiguousarray(xp.take_along_axis(flat, arg[..., None], -1)[..., 0])
            if return_indices:
                return y, _flat_index3(arg, x.shape[2:], kernel, stride, pads, dilation, xp)
            return y
        # divisor: the window's positions inside input + padding (count_include_pad, never
        # ceil_mode's overhang) or inside the input only
        ones = xp.ones((1, 1) + tuple(x.shape[2:]), dtype=x.dtype)
        if count_include_pad:
            ones = _pad(_pad(ones, pads, 1), (0, 0, 0), 0, extra)
        else:
            ones = _pad(ones, pads, 0, extra)
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
        return xp.ascontiguousarray(_unpad(dxp, pads, x_shape[2:])), None, None, None, None, None, None, None, None


def _flat_index3(arg, spatial, kernel, stride, pads, dilation, xp):
    """Window offsets (i kh kw + j kw + k) -> flat int64 indices into each (D, H, W) volume."""
    i, rem = arg // (kernel[1] * kernel[2]), arg % (kernel[1] * kernel[2])
    j, k = rem // kernel[2], rem % kernel[2]
    pos = []
    for a, off in enumerate((i, j, k)):
        shape = [1, 1, 1, 1, 1]
        shape[2 + a] = arg.shape[2 + a]
        start = (xp.arange(arg.shape[2 + a], dtype=np.int64) * stride[a] - pads[a]).reshape(shape)
        pos.append(start + off.astype(np.int64) * dilation[a])
    return (pos[0] * spatial[1] + pos[1]) * spatial[2] + pos[2]


def _pool_args(op, kernel_size, stride, padding, dilation, ceil_mode):
    k = _triple(op, "kernel_size", kernel_size, 1)
    s = k if stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0) else \
        _triple(op, "stride", stride, 1)
    p = _triple(op, "padding", padding, 0)
    if any(pi > ki // 2 for pi, ki in zip(p, k)):
        raise RuntimeError(f"{op}: pad should be at most half of effective kernel size, but got pad={p} and "
                           f"kernel_size={k}")
    return k, s, p, _triple(op, "dilation", dilation, 1)


def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """3-D max pooling of (N, C, D, H, W) (or (C, D, H, W)); padding counts as -inf.
    ``D_out = floor_or_ceil((D + 2p - d(k - 1) - 1) / s) + 1`` (likewise H, W);
    ``return_indices`` also returns each maximum's flat int64 index ``(d H + h) W + w``
    in its input volume."""
    op = "max_pool3d"
    x, unbatched = _batched5(op, input)
    k, s, p, d = _pool_args(op, kernel_size, stride, padding, dilation, ceil_mode)
    y = Pool3d.apply(x, k, s, p, d, "max", True, bool(ceil_mode), bool(return_indices))
    if unbatched:
        return tuple(t.squeeze(0) for t in y) if return_indices else y.squeeze(0)
    return y


def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """3-D average pooling of (N, C, D, H, W) (or (C, D, H, W)) with zero padding;
    ``count_include_pad=False`` divides by the number of real elements per window."""
    op = "avg_pool3d"
    x, unbatched = _batched5(op, input)
    k, s, p, d = _pool_args(op, kernel_size, stride, padding, 1, ceil_mode)
    y = Pool3d.apply(x, k, s, p, d, "avg", bool(count_include_pad), bool(ceil_mode))
    if divisor_override is not None:
        if ceil_mode:
            raise NotImplementedError(f"{op}: divisor_override with ceil_mode=True is not supported by neuronet")
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
