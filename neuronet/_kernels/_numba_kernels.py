"""The compiled (numba) implementations, registered with the seam.

Each wrapper has the signature of the op's portable implementation (the
callers in ``nn.functional`` document the equations) and reaches the loops
through :func:`numba_module`, so numba is imported on the first call only.
The registry hands them float32/float64 NumPy arrays only.
"""
from __future__ import annotations

import numpy as np

from . import numba_module, register


def _unit(stride=(1, 1), dilation=(1, 1), **_):
    # The loops for a unit stride and dilation vectorize; with a general
    # stride the compiled loop measured no faster than NumPy's strided copy.
    return tuple(stride) == (1, 1) and tuple(dilation) == (1, 1)


@register("im2col", "numba", needs="numba", when=_unit)
def im2col(x_cm, cols, kernel, stride, dilation, out_hw):
    """``cols[c, a, b, n, i, j] = x_cm[c, n, i + a, j + b]``."""
    numba_module()[0].im2col_unit(x_cm, cols)
    return cols


@register("col2im", "numba", needs="numba", when=_unit)
def col2im(cols, out, stride, dilation):
    """``out[c, n, i + a, j + b] += cols[c, a, b, n, i, j]``."""
    numba_module()[0].col2im_unit(cols, out)
    return out


@register("im2col_nchw", "numba", needs="numba")
def im2col_nchw(x, n0, cols, kernel, stride, pads, dilation, out_hw):
    """Columns of images ``n0:`` of an unpadded ``x (N, C, H, W)``, zeros in the padding."""
    numba_module()[0].im2col_nchw(x, n0, stride[0], stride[1], pads[0], pads[2], dilation[0],
                                  dilation[1], cols)
    return cols


@register("col2im_nchw", "numba", needs="numba")
def col2im_nchw(dcols, n0, stride, pads, dilation, dx):
    """Window sums of ``dcols (C, kH, kW, n, Ho, Wo)`` into ``dx[n0:n0+n]``, padding dropped."""
    numba_module()[0].col2im_nchw(dcols, n0, stride[0], stride[1], pads[0], pads[2], dilation[0],
                                  dilation[1], dx)
    return dx


@register("cm_to_nchw", "numba", needs="numba")
def cm_to_nchw(res, n0, bias, out):
    """``out[n0 + n, o] = res[o, n] (+ bias[o])``."""
    numba_module()[0].cm_to_nchw(res, n0, res[:, 0, 0] if bias is None else bias, bias is not None,
                                 out)
    return out


@register("nchw_to_cm", "numba", needs="numba")
def nchw_to_cm(g, n0, out):
    """``out[o, n] = g[n0 + n, o]``."""
    numba_module()[0].nchw_to_cm(g, n0, out)
    return out


@register("maxpool2x2", "numba", needs="numba")
def maxpool2x2(x3):
    """``x3 (P, H, W)`` contiguous -> ``(out, arg)`` ``(P, H // 2, W // 2)``: each 2x2/2
    window's max and the uint8 offset ``2a + b`` of its first maximum (the last NaN)."""
    P, H, W = x3.shape
    out = np.empty((P, H // 2, W // 2), dtype=x3.dtype)
    arg = np.empty(out.shape, dtype=np.uint8)
    numba_module()[1].maxpool2x2(x3, out, arg)
    return out, arg


@register("maxpool2x2_backward", "numba", needs="numba")
def maxpool2x2_backward(g3, arg3, hw):
    """``dE/dx (P, H, W)``: each ``g3`` value at its window's ``arg3`` offset, 0 elsewhere."""
    gx = np.empty((g3.shape[0],) + tuple(hw), dtype=g3.dtype)
    bits = np.uint32 if g3.dtype.itemsize == 4 else np.uint64
    numba_module()[1].maxpool2x2_backward(np.ascontiguousarray(g3).view(bits), arg3, gx.view(bits))
    return gx
