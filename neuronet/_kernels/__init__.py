"""Optional compiled kernels (Numba) for the memory-bound loops NumPy runs
slowly: im2col / col2im on short rows (a 10-pixel-wide LeNet map makes NumPy
copy 10 elements per inner loop).

Used only for NumPy (CPU) arrays, only when ``numba`` is importable (the
``fast`` extra) and the environment does not set ``NEURONET_NUMBA=0``;
everything has a pure NumPy path (``neuronet.nn.functional._im2col``), which
CuPy arrays always take. ``numba`` is imported lazily, on the first kernel
call, so ``import neuronet`` stays fast; compiled code is cached on disk
(``cache=True``).

API:

- ``enabled()``                 whether the compiled path is on (numba importable, not disabled)
- ``usable(stride, dilation, *arrays)``  enabled, stride/dilation 1, float NumPy arrays
- ``im2col(x_cm, cols)``, ``col2im(cols, out)``  the kernels (stride/dilation 1)
- ``im2col_nchw(x, n0, stride, pads, dilation, cols)``, ``col2im_nchw(dcols, n0, stride, pads, dilation, dx)``
                                the batch-major kernels of conv2d's chunked core: any stride,
                                padding and dilation, parallel over the cores
- ``cm_to_nchw(res, n0, bias, out)``, ``nchw_to_cm(g, n0, out)``  the chunk transposes
- ``maxpool2x2(x)``, ``maxpool2x2_backward(g, arg, x_shape)``
                                2x2/2 max pooling over the last two axes, with a uint8 argmax
- ``maxpool2x2_bias_relu(x_cm, bias)``  the same pooling on channel-major ``(C, N, H, W)``
                                followed by ``+ bias[c]`` and ReLU, in the same pass
- ``maxpool2x2_relu_backward(g, y, arg, x_shape)``  its backward: ``(dx, dbias)`` in one pass
- ``set_enabled(flag)``         force the path on/off (tests run both); returns the previous value
- ``arrays_ok(*arrays)``        enabled and every array a float32/float64 NumPy array
"""
from __future__ import annotations

import os

import numpy as np

__all__ = ["enabled", "usable", "arrays_ok", "set_enabled", "im2col", "col2im", "im2col_nchw",
           "col2im_nchw", "cm_to_nchw", "nchw_to_cm", "maxpool2x2", "maxpool2x2_backward",
           "maxpool2x2_bias_relu", "maxpool2x2_relu_backward"]

_state = {"wanted": os.environ.get("NEURONET_NUMBA", "1") != "0", "mod": None, "tried": False}


def _module():
    if not _state["tried"]:
        _state["tried"] = True
        try:
            import numba
            # The parallel kernels use numba's own thread pool: OpenMP's
            # spin-waiting threads were measured 10x slower on a shared
            # 2-core machine (they fight OpenBLAS's). An explicit
            # NUMBA_THREADING_LAYER in the environment still wins.
            if "NUMBA_THREADING_LAYER" not in os.environ:
                numba.config.THREADING_LAYER = "workqueue"
            from . import _numba_im2col as mod
            from . import _numba_pool as pool
        except ImportError:      # numba not installed: the NumPy path serves
            mod = pool = None
        _state["mod"], _state["pool"] = mod, pool
    return _state["mod"]


def enabled():
    return _state["wanted"] and _module() is not None


def set_enabled(flag):
    prev = _state["wanted"]
    _state["wanted"] = bool(flag)
    return prev


def arrays_ok(*arrays):
    """Whether the compiled kernels can take these arrays: enabled, every one a
    float32/float64 NumPy array."""
    return enabled() and all(type(a) is np.ndarray and a.dtype in (np.float32, np.float64)
                             for a in arrays)


def usable(stride, dilation, *arrays):
    """Whether the compiled loop serves this call: enabled, stride and dilation
    1 (the only case it is faster), every array a float32/float64 NumPy array."""
    return (tuple(stride) == (1, 1) and tuple(dilation) == (1, 1) and enabled()
            and all(type(a) is np.ndarray and a.dtype in (np.float32, np.float64) for a in arrays))


def im2col(x_cm, cols):
    """``cols[c, a, b, n, i, j] = x_cm[c, n, i + a, j + b]`` (stride/dilation 1, cols preallocated)."""
    _module().im2col_unit(x_cm, cols)
    return cols


def col2im(cols, out):
    """``out[c, n, i + a, j + b] += cols[c, a, b, n, i, j]`` (stride/dilation 1, out preallocated)."""
    _module().col2im_unit(cols, out)
    return out


def im2col_nchw(x, n0, stride, pads, dilation, cols):
    """``cols[c, a, b, n, i, j] = x[n0 + n, c, i*s_h + a*d_h - t, j*s_w + b*d_w - l]``, 0 in the
    padding; ``x (N, C, H, W)`` unpadded, ``pads = (t, b, l, r)``."""
    _module().im2col_nchw(x, n0, stride[0], stride[1], pads[0], pads[2], dilation[0], dilation[1],
                          cols)
    return cols


def col2im_nchw(dcols, n0, stride, pads, dilation, dx):
    """The adjoint: ``dx[n0 + n, c]`` := window sums of ``dcols (C, kH, kW, n, Ho, Wo)``, padding
    dropped (the chunk's planes are overwritten)."""
    _module().col2im_nchw(dcols, n0, stride[0], stride[1], pads[0], pads[2], dilation[0],
                          dilation[1], dx)
    return dx


def cm_to_nchw(res, n0, bias, out):
    """``out[n0 + n, o] = res[o, n] (+ bias[o])``; ``res (O, n, P)``, ``out (N, O, P)``."""
    _module().cm_to_nchw(res, n0, res[:, 0, 0] if bias is None else bias, bias is not None, out)
    return out


def nchw_to_cm(g, n0, out):
    """``out[o, n] = g[n0 + n, o]``; ``g (N, O, P)``, ``out (O, n, P)``."""
    _module().nchw_to_cm(g, n0, out)
    return out



def maxpool2x2(x):
    """``x (..., H, W)`` -> ``(out, arg)``, both ``(..., H // 2, W // 2)``: the max of each
    2x2/2 window and the offset ``2a + b`` (uint8) of its first maximum (a NaN wins, the
    last one)."""
    lead, (H, W) = x.shape[:-2], x.shape[-2:]
    x3 = np.ascontiguousarray(x).reshape(-1, H, W)
    out = np.empty((x3.shape[0], H // 2, W // 2), dtype=x.dtype)
    arg = np.empty(out.shape, dtype=np.uint8)
    _module()
    _state["pool"].maxpool2x2(x3, out, arg)
    shape = lead + out.shape[1:]
    return out.reshape(shape), arg.reshape(shape)


def maxpool2x2_backward(g, arg, x_shape):
    """dE/dx of shape ``x_shape``: each ``g`` at its window's ``arg`` offset, 0 elsewhere."""
    H, W = x_shape[-2:]
    g3 = np.ascontiguousarray(g).reshape(-1, *g.shape[-2:])
    gx = np.empty((g3.shape[0], H, W), dtype=g.dtype)
    bits = np.uint32 if g.dtype.itemsize == 4 else np.uint64
    _module()
    _state["pool"].maxpool2x2_backward(g3.view(bits), arg.reshape(g3.shape), gx.view(bits))
    return gx.reshape(x_shape)


def maxpool2x2_bias_relu(x_cm, bias):
    """``x_cm (C, N, H, W)`` -> ``(out, arg)``, ``(C, N, H // 2, W // 2)``:
    ``out = max(0, maxpool2x2(x_cm) + bias[c])`` and the pooling's uint8 offsets."""
    C, N, H, W = x_cm.shape
    x3 = np.ascontiguousarray(x_cm).reshape(C * N, H, W)
    out = np.empty((C * N, H // 2, W // 2), dtype=x_cm.dtype)
    arg = np.empty(out.shape, dtype=np.uint8)
    _module()
    _state["pool"].maxpool2x2_bias_relu(x3, np.ascontiguousarray(bias, dtype=x_cm.dtype),
                                        max(N, 1), out, arg)
    shape = (C, N) + out.shape[1:]
    return out.reshape(shape), arg.reshape(shape)


def maxpool2x2_relu_backward(g, y, arg, x_shape):
    """Backward of :func:`maxpool2x2_bias_relu` from ``g = dE/dy (C, N, Ho, Wo)``:
    ``(dE/dx (x_shape), dE/dbias (C,))``."""
    C, N = g.shape[:2]
    g3 = np.ascontiguousarray(g).reshape(C * N, *g.shape[2:])
    gx = np.empty((C * N,) + tuple(x_shape[2:]), dtype=g.dtype)
    dbp = np.empty(C * N, dtype=np.float64)
    bits = np.uint32 if g.dtype.itemsize == 4 else np.uint64
    _module()
    _state["pool"].maxpool2x2_relu_backward(g3, g3.view(bits), y.reshape(g3.shape),
                                            arg.reshape(g3.shape), gx.view(bits), dbp)
    return gx.reshape(x_shape), dbp.reshape(C, N).sum(axis=1).astype(g.dtype)
