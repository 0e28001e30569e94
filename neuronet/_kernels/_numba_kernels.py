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


def _direct_conv_applies(groups, kernel, stride, dilation, same_dtype, channels, **_):
    # Stride 1, dilation 1, ungrouped, one dtype: the loops' case.
    return (groups == 1 and tuple(stride) == (1, 1) and tuple(dilation) == (1, 1) and same_dtype
            and _direct_conv_wins(kernel, channels))


def _direct_conv_wins(kernel, channels):
    """Where the direct loops were measured faster than im2col + OpenBLAS GEMM, forward and
    backward (2-core EPYC, 1 and 2 threads): 3x3 and 5x5 filters, up to 128 channels in and
    out -- LeNet-5's C1/C3 1.4-3x, ResNet-20's layers 1.3-2.6x, VGG's 64/128-channel layers
    1.2-2.1x. Wider layers are untested here and keep the GEMM."""
    return tuple(kernel) in ((3, 3), (5, 5)) and max(channels) <= 128


@register("conv2d", "numba-direct", needs="numba", priority=2, when=_direct_conv_applies)
class DirectConv2d:
    """Kernel ``"numba-direct"`` of ``conv2d``: the correlation computed directly on
    channel-major activations (no im2col), the input gradient as the same loops on
    the flipped filters, the weight gradient as dot products of shifted runs.
    Takes the input in either layout and hands the output on channel-major."""

    @staticmethod
    def forward(ctx, x, w, b, stride, pads, dilation, groups):
        conv = numba_module()[2]
        x_cm = np.ascontiguousarray(x.transpose(1, 0, 2, 3))         # (C, N, H, W)
        w = np.ascontiguousarray(w)
        out = conv.conv2d_cm(x_cm, w, None if b is None else np.ascontiguousarray(b), pads)
        need_x, need_w = ctx.needs_input_grad[:2]
        ctx.save_for_backward(x_cm if need_w else None, w if need_x else None)
        ctx.geometry = (x.shape[2:], w.shape[2:], pads)
        return out.transpose(1, 0, 2, 3)                              # (N, O, Ho, Wo) view

    @staticmethod
    def backward(ctx, grad):
        conv = numba_module()[2]
        x_cm, w = ctx.saved_tensors
        in_hw, kernel, pads = ctx.geometry
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        g_cm = np.ascontiguousarray(grad.transpose(1, 0, 2, 3))       # (O, N, Ho, Wo)
        db = g_cm.sum(axis=(1, 2, 3)) if need_b else None
        dx = conv.conv2d_cm_input_grad(g_cm, w, pads, in_hw).transpose(1, 0, 2, 3) \
            if need_x else None
        dw = conv.conv2d_cm_weight_grad(x_cm, g_cm, pads, kernel) if need_w else None
        return dx, dw, db
