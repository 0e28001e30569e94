"""Sliding windows over the last two axes: the shared kernels of convolution
and pooling (NumPy or CuPy, one code path).

A window of a ``kH x kW`` kernel with stride ``s`` and dilation ``d`` placed at
output position ``(i, j)`` reads the (padded) input at

    rows  i*s_h + a*d_h,  a = 0..kH-1
    cols  j*s_w + b*d_w,  b = 0..kW-1

and the number of positions along an axis of padded size ``P`` is

    out = floor((P - d*(k-1) - 1) / s) + 1.

API (all arrays are ``xp`` arrays of the caller's module):

- ``pair(op, name, value)``            int or pair -> ``(int, int)``, validated
- ``out_size(padded, k, s, d)``        the formula above for one axis
- ``pad_last2(x, pads, value=0)``      pad the last two axes by ``(top, bottom, left, right)``
- ``channel_major(x, pads)``           ``(N, C, H, W) -> (C, N, H+t+b, W+l+r)`` contiguous, zero padded
- ``window_view(x, k, s, d, out_hw)``  ``(..., Hp, Wp) -> (..., kH, kW, Ho, Wo)`` strided view, no copy
- ``im2col(x_cm, k, s, d, out_hw, out=None)``
                                       ``(C, N, Hp, Wp) -> (C, kH, kW, N, Ho, Wo)`` contiguous copy
- ``col2im(cols, padded_hw, s, d, out=None)``
                                       the adjoint of ``im2col``: sums every window's column
                                       back into a ``(C, N, Hp, Wp)`` array
- ``im2col_nchw(x, n0, n1, k, s, pads, d, out_hw, out=None)``
                                       columns ``(C, kH, kW, n, Ho, Wo)`` of images ``n0:n1`` of
                                       an unpadded batch-major ``x (N, C, H, W)``, zeros in the
                                       padding (no padded copy of the whole input)
- ``col2im_nchw(dcols, n0, s, pads, d, dx)``
                                       its adjoint: window sums written into ``dx[n0:n0+n]``
                                       ``(N, C, H, W)``, the padding dropped
- ``cm_to_nchw(res, n0, bias, out)`` / ``nchw_to_cm(g, n0, out)``
                                       a chunk ``(O, n, P)`` <-> images ``n0:n0+n`` of ``(N, O, P)``

``window_view`` is read-only in spirit: windows overlap, so writing through it
would write one input element several times. ``col2im`` therefore adds the
``kH*kW`` shifted, strided slices one kernel offset at a time (a loop over the
kernel, never over pixels or batch items), which avoids ``np.add.at``.

Each copy/scatter loop is a kernel of the seam (``neuronet._kernels``): the
portable NumPy/CuPy version is registered here, the compiled ones there; the
functions above ask the seam which one runs.
"""
from __future__ import annotations

import numbers

from ... import _kernels
from ...backend import array_module
from ._errors import ArgumentError

__all__ = ["pair", "out_size", "pad_last2", "channel_major", "window_view", "im2col", "col2im",
           "im2col_nchw", "col2im_nchw", "cm_to_nchw", "nchw_to_cm"]


def pair(op: str, name: str, value, minimum: int = 1):
    """``value`` (an int or a pair of ints) as a tuple ``(h, w)``, each >= ``minimum``.

    Raises TypeError/ValueError naming ``op`` and ``name`` with what was received.
    """
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        out = (int(value), int(value))
    elif (isinstance(value, (tuple, list)) and len(value) == 2
          and all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in value)):
        out = (int(value[0]), int(value[1]))
    elif isinstance(value, (tuple, list)) and len(value) == 1 and isinstance(value[0], numbers.Integral):
        out = (int(value[0]), int(value[0]))
    else:
        raise TypeError(f"{op}: expected {name} to be an int or a pair of ints, received {value!r}")
    if min(out) < minimum:
        what = "positive" if minimum == 1 else ("non-negative" if minimum == 0 else f">= {minimum}")
        raise ArgumentError(f"{op}: {name} must be {what}, received {name}={value!r}")
    return out


def out_size(padded: int, k: int, s: int, d: int) -> int:
    """Number of window positions along one axis: floor((P - d(k-1) - 1)/s) + 1."""
    return (padded - d * (k - 1) - 1) // s + 1


def pad_last2(x, pads, value=0):
    """``x (..., H, W)`` padded by ``pads = (top, bottom, left, right)`` with ``value``."""
    t, b, l, r = pads
    if not (t or b or l or r):
        return x
    xp = array_module(x)
    H, W = x.shape[-2:]
    out = xp.full(x.shape[:-2] + (H + t + b, W + l + r), value, dtype=x.dtype)
    out[..., t:t + H, l:l + W] = x
    return out


def channel_major(x, pads=(0, 0, 0, 0)):
    """``x (N, C, H, W)`` -> ``(C, N, H+t+b, W+l+r)``, C-contiguous, zero padded.

    One copy that both transposes and pads. Channel-major order makes the
    im2col matrix ``(C*kH*kW, N*Ho*Wo)`` a plain reshape and the group axis
    the leading one.
    """
    xp = array_module(x)
    xt = x.transpose(1, 0, 2, 3)
    t, b, l, r = pads
    if not (t or b or l or r):
        return xp.ascontiguousarray(xt)
    N, C, H, W = x.shape
    out = xp.zeros((C, N, H + t + b, W + l + r), dtype=x.dtype)
    out[:, :, t:t + H, l:l + W] = xt
    return out


def window_view(x, kernel, stride, dilation, out_hw):
    """Strided view ``(..., kH, kW, Ho, Wo)`` of ``x (..., Hp, Wp)``; no copy.

    ``view[..., a, b, i, j] = x[..., i*s_h + a*d_h, j*s_w + b*d_w]``.
    """
    xp = array_module(x)
    (kh, kw), (sh, sw), (dh, dw), (ho, wo) = kernel, stride, dilation, out_hw
    hp, wp = x.shape[-2:]
    if ho < 1 or wo < 1 or (ho - 1) * sh + (kh - 1) * dh >= hp or (wo - 1) * sw + (kw - 1) * dw >= wp:
        # as_strided does no bounds checking: refuse a view that would read past the end.
        raise ArgumentError(f"window_view: {ho}x{wo} windows of a {kh}x{kw} kernel (stride "
                            f"{stride}, dilation {dilation}) do not fit in a {hp}x{wp} input")
    st = x.strides
    shape = x.shape[:-2] + (kh, kw, ho, wo)
    strides = st[:-2] + (st[-2] * dh, st[-1] * dw, st[-2] * sh, st[-1] * sw)
    return xp.lib.stride_tricks.as_strided(x, shape=shape, strides=strides)


def im2col(x_cm, kernel, stride, dilation, out_hw, out=None):
    """Columns ``(C, kH, kW, N, Ho, Wo)`` (contiguous) of ``x_cm (C, N, Hp, Wp)``.

    ``cols[c, a, b, n, i, j] = x_cm[c, n, i*s_h + a*d_h, j*s_w + b*d_w]``; its
    reshape ``(C*kH*kW, N*Ho*Wo)`` is the im2col matrix.

    ``out``: an optional ``(C, kH, kW, N, Ho, Wo)`` array (a view is fine) to
    write into instead of a new one.
    """
    xp = array_module(x_cm)
    C, N = x_cm.shape[:2]
    (kh, kw), (ho, wo) = kernel, out_hw
    cols = xp.empty((C, kh, kw, N, ho, wo), dtype=x_cm.dtype) if out is None else out
    run = _kernels.select("im2col", x_cm, cols, stride=stride, dilation=dilation)
    return run(x_cm, cols, kernel, stride, dilation, out_hw)


@_kernels.register("im2col", "strided-copy")
def _im2col_strided(x_cm, cols, kernel, stride, dilation, out_hw):
    # One strided copy of the whole window view, reordered (measured a
    # little faster than one copy per kernel offset, and one call).
    view = window_view(x_cm, kernel, stride, dilation, out_hw)      # (C, N, kH, kW, Ho, Wo)
    cols[...] = view.transpose(0, 2, 3, 1, 4, 5)
    return cols


def col2im(cols, padded_hw, stride, dilation, out=None):
    """Adjoint of :func:`im2col`: ``(C, kH, kW, N, Ho, Wo) -> (C, N, Hp, Wp)``.

    ``out[c, n, i*s_h + a*d_h, j*s_w + b*d_w] += cols[c, a, b, n, i, j]``,
    summed over every window that covers an input element. ``out``: an
    optional ``(C, N, Hp, Wp)`` array (a view is fine) to add into instead of
    a new zero one.
    """
    xp = array_module(cols)
    C, kh, kw, N, ho, wo = cols.shape
    if out is None:
        out = xp.zeros((C, N) + tuple(padded_hw), dtype=cols.dtype)
    run = _kernels.select("col2im", cols, out, stride=stride, dilation=dilation)
    return run(cols, out, stride, dilation)


@_kernels.register("col2im", "strided-add")
def _col2im_strided(cols, out, stride, dilation):
    # One strided add per kernel offset (a loop over the kernel, never over
    # pixels or images): windows overlap, so no single vectorized write can do it.
    C, kh, kw, N, ho, wo = cols.shape
    (sh, sw), (dh, dw) = stride, dilation
    for a in range(kh):
        r0 = a * dh
        for b in range(kw):
            c0 = b * dw
            out[:, :, r0:r0 + sh * (ho - 1) + 1:sh, c0:c0 + sw * (wo - 1) + 1:sw] += cols[:, a, b]
    return out


def im2col_nchw(x, n0, n1, kernel, stride, pads, dilation, out_hw, out=None):
    """Columns ``(C, kH, kW, n, Ho, Wo)`` of images ``n0:n1`` of ``x (N, C, H, W)`` (unpadded).

    ``cols[c, a, b, n, i, j] = x[n0 + n, c, i*s_h + a*d_h - t, j*s_w + b*d_w - l]``, zero where
    that index falls in the padding ``pads = (t, b, l, r)``: the same columns as
    ``im2col(channel_major(x[n0:n1], pads), ...)``, without a padded copy of the batch
    (the compiled kernel reads ``x`` in place; the portable one pads only the chunk).
    ``out``: an optional contiguous ``(C, kH, kW, n, Ho, Wo)`` array to write into.
    """
    xp = array_module(x)
    C = x.shape[1]
    (kh, kw), (ho, wo) = kernel, out_hw
    cols = xp.empty((C, kh, kw, n1 - n0, ho, wo), dtype=x.dtype) if out is None else out
    run = _kernels.select("im2col_nchw", x, cols)
    return run(x, n0, cols, kernel, stride, pads, dilation, out_hw)


@_kernels.register("im2col_nchw", "pad-chunk")
def _im2col_nchw_padded(x, n0, cols, kernel, stride, pads, dilation, out_hw):
    xc = pad_last2(x[n0:n0 + cols.shape[3]], pads)                        # (n, C, Hp, Wp)
    cols[...] = window_view(xc, kernel, stride, dilation, out_hw).transpose(1, 2, 3, 0, 4, 5)
    return cols


def col2im_nchw(dcols, n0, stride, pads, dilation, dx):
    """Adjoint of :func:`im2col_nchw`: ``dx[n0 + n, c, r, q] = sum`` of ``dcols[c, a, b, n, i, j]``
    over the windows with ``r = i*s_h + a*d_h - t``, ``q = j*s_w + b*d_w - l``; window
    positions in the padding are dropped. Overwrites ``dx[n0:n0+n]`` (``dx (N, C, H, W)``)."""
    run = _kernels.select("col2im_nchw", dcols, dx)
    return run(dcols, n0, stride, pads, dilation, dx)


@_kernels.register("col2im_nchw", "pad-chunk")
def _col2im_nchw_padded(dcols, n0, stride, pads, dilation, dx):
    C, kh, kw, n, ho, wo = dcols.shape
    H, W = dx.shape[2:]
    t, b, l, r = pads
    # The padded grid must hold every window (the bottom/right pads may be cut short).
    hp = max(H + t + b, (ho - 1) * stride[0] + (kh - 1) * dilation[0] + 1)
    wp = max(W + l + r, (wo - 1) * stride[1] + (kw - 1) * dilation[1] + 1)
    buf = col2im(dcols, (hp, wp), stride, dilation)                    # (C, n, Hp, Wp)
    dx[n0:n0 + n] = buf[:, :, t:t + H, l:l + W].transpose(1, 0, 2, 3)
    return dx


def cm_to_nchw(res, n0, bias, out):
    """``out[n0 + n, o, p] = res[o, n, p] + bias[o]`` (no bias when None): a GEMM result
    ``res (O, n, P)`` into its images of the batch-major ``out (N, O, P)``."""
    return _kernels.select("cm_to_nchw", res, out, bias)(res, n0, bias, out)


@_kernels.register("cm_to_nchw", "transpose-copy")
def _cm_to_nchw_copy(res, n0, bias, out):
    n = res.shape[1]
    out[n0:n0 + n] = res.transpose(1, 0, 2)
    if bias is not None:
        out[n0:n0 + n] += bias.reshape(-1, 1)
    return out


def nchw_to_cm(g, n0, out):
    """``out[o, n, p] = g[n0 + n, o, p]``: images ``n0:n0+n`` of ``g (N, O, P)`` channel-major."""
    return _kernels.select("nchw_to_cm", g, out)(g, n0, out)


@_kernels.register("nchw_to_cm", "transpose-copy")
def _nchw_to_cm_copy(g, n0, out):
    out[...] = g[n0:n0 + out.shape[1]].transpose(1, 0, 2)
    return out
