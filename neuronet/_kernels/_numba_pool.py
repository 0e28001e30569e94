"""The Numba loops behind :func:`neuronet._kernels.maxpool2x2` /
:func:`neuronet._kernels.maxpool2x2_backward` (imported only when numba is).

2x2 max pooling with stride 2 (no padding, no dilation; LeNet's), over the
last two axes of a ``(planes, H, W)`` array, so the batch-major
``(N, C, H, W)`` and the channel-major ``(C, N, H, W)`` layouts are the same
loop. Forward computes the max and the offset ``a*2 + b`` of its window
position in one pass (the NumPy path needs a pass per offset and, in
backward, another set of compares); backward writes every input position
exactly once (the gradient at the recorded offset, 0 elsewhere), so there is
no zero-fill pass. Same scan rule as
``neuronet.nn.functional.pooling._max_track``: row-major order, strict ``>``
(the first maximum wins ties), a NaN replaces anything (the last NaN wins),
as PyTorch's CPU kernel.

Both loops are written branch-free so LLVM vectorizes them (measured 5x and
3x the scalar-branch versions). Backward runs on the unsigned-integer view
of the float bits: ``bits * (o == k)`` is exactly the gradient or +0, even
for an infinite or NaN gradient (a float multiply would turn ``inf * 0``
into NaN).
"""
import numba
import numpy as np


@numba.njit(inline="always")
def _window_max(r0, r1, j):
    """Max of the 2x2 window at column pair j of rows r0, r1, and its offset 2a + b
    (row-major scan, strict ``>``, a NaN replaces anything), branch-free."""
    m = r0[2 * j]
    o = np.uint8(0)
    v = r0[2 * j + 1]
    u = (v > m) | (v != v)
    m = v if u else m
    o = np.uint8(1) if u else o
    v = r1[2 * j]
    u = (v > m) | (v != v)
    m = v if u else m
    o = np.uint8(2) if u else o
    v = r1[2 * j + 1]
    u = (v > m) | (v != v)
    m = v if u else m
    o = np.uint8(3) if u else o
    return m, o


@numba.njit(inline="always")
def _scatter_window(r0, r1, j, v, o):
    """Write the gradient bits ``v`` at the window offset ``o`` and 0 at the other three
    (``o == 4``: all four get 0)."""
    r0[2 * j] = v * (o == 0)
    r0[2 * j + 1] = v * (o == 1)
    r1[2 * j] = v * (o == 2)
    r1[2 * j + 1] = v * (o == 3)


@numba.njit(cache=True, nogil=True, boundscheck=False)
def maxpool2x2(x, out, arg):
    """out[p, i, j] = max_{a,b<2} x[p, 2i + a, 2j + b]; arg[p, i, j] = the winning 2a + b."""
    P, ho, wo = out.shape
    for p in range(P):
        for i in range(ho):
            r0 = x[p, 2 * i]
            r1 = x[p, 2 * i + 1]
            orow = out[p, i]
            arow = arg[p, i]
            for j in range(wo):
                m, o = _window_max(r0, r1, j)
                orow[j] = m
                arow[j] = o


@numba.njit(cache=True, nogil=True, boundscheck=False)
def maxpool2x2_backward(g, arg, gx):
    """gx[p, 2i + a, 2j + b] = g[p, i, j] if arg[p, i, j] == 2a + b else 0; a trailing
    odd row/column is 0. ``g``, ``gx``: unsigned-integer views of the float arrays."""
    P, ho, wo = g.shape
    H, W = gx.shape[1], gx.shape[2]
    for p in range(P):
        for i in range(ho):
            r0 = gx[p, 2 * i]
            r1 = gx[p, 2 * i + 1]
            gr = g[p, i]
            ar = arg[p, i]
            for j in range(wo):
                o = np.int32(ar[j])
                _scatter_window(r0, r1, j, gr[j], o)
            if W > 2 * wo:
                r0[W - 1] = 0
                r1[W - 1] = 0
        if H > 2 * ho:
            for q in range(W):
                gx[p, H - 1, q] = 0


@numba.njit(cache=True, nogil=True, boundscheck=False)
def maxpool2x2_bias_relu(x, bias, per, out, arg):
    """out[p, i, j] = max(0, max_{a,b<2} x[p, 2i + a, 2j + b] + bias[p // per]) (NaN stays
    NaN); arg[p, i, j] = the winning 2a + b (the rule of :func:`maxpool2x2`)."""
    P, ho, wo = out.shape
    z = out.dtype.type(0)
    for p in range(P):
        bp = bias[p // per]
        for i in range(ho):
            r0 = x[p, 2 * i]
            r1 = x[p, 2 * i + 1]
            orow = out[p, i]
            arow = arg[p, i]
            for j in range(wo):
                m, o = _window_max(r0, r1, j)
                m = m + bp
                orow[j] = z if m < z else m      # NaN < 0 is False: NaN passes, as max(x, 0)
                arow[j] = o


@numba.njit(cache=True, nogil=True, boundscheck=False)
def maxpool2x2_relu_backward(g, gbits, y, arg, gx, dbp):
    """Backward of :func:`maxpool2x2_bias_relu`: dz = g where not y <= 0 (PyTorch's ReLU
    rule: a NaN y passes), else 0; ``dbp[p] = sum_{i,j} dz[p]`` (float64); ``gx`` (bits)
    gets dz at each window's ``arg`` offset, 0 elsewhere (a trailing odd row/column too).
    ``g`` and ``gbits`` are the float and unsigned-integer views of the same array."""
    P, ho, wo = g.shape
    H, W = gx.shape[1], gx.shape[2]
    for p in range(P):
        acc = 0.0
        for i in range(ho):
            r0 = gx[p, 2 * i]
            r1 = gx[p, 2 * i + 1]
            gr = gbits[p, i]
            gf = g[p, i]
            yr = y[p, i]
            ar = arg[p, i]
            for j in range(wo):
                live = not (yr[j] <= 0)
                acc += gf[j] if live else 0.0
                o = np.int32(ar[j]) if live else np.int32(4)
                _scatter_window(r0, r1, j, gr[j], o)
            if W > 2 * wo:
                r0[W - 1] = 0
                r1[W - 1] = 0
        if H > 2 * ho:
            for q in range(W):
                gx[p, H - 1, q] = 0
        dbp[p] = acc
