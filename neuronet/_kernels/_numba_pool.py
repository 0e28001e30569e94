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
3x the scalar-branch versions), and run in parallel over the planes
(``prange``; a plane is one (image, channel) map, which no two iterations
share, so the result does not depend on the thread count). Backward runs on the unsigned-integer view
of the float bits: ``bits * (o == k)`` is exactly the gradient or +0, even
for an infinite or NaN gradient (a float multiply would turn ``inf * 0``
into NaN).
"""
import numba
import numpy as np
from numba import prange


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
    """Write the gradient bits ``v`` at the window offset ``o`` and 0 at the other three."""
    r0[2 * j] = v * (o == 0)
    r0[2 * j + 1] = v * (o == 1)
    r1[2 * j] = v * (o == 2)
    r1[2 * j + 1] = v * (o == 3)


# Each kernel is a serial loop over a range of planes [p0, p1) (compiled and
# vectorized as an ordinary function) and a parallel driver that hands each
# thread a few contiguous ranges. A ``prange`` directly over the planes was
# measured slower on one thread than the serial loop (the outlined parfor body
# lost part of its vectorization). numba splits the ``prange`` statically among
# its threads, ``_PARTS`` parts in all: enough for any thread count up to it
# (asking numba for its thread count inside the kernel would stop the on-disk
# cache: it is a dynamic global).
_PARTS = 64
# Below this many input elements, or with one numba thread, a kernel runs the
# serial loop on the calling thread: waking the pool costs 30-50 us (measured:
# a LeNet C1 forward, 0.30 ms serial, took 0.34 ms through the driver on one
# thread).
_SERIAL_BELOW = 1 << 16

@numba.njit(cache=True, nogil=True, inline="always")
def _span(t, nt, P):
    """Planes [p0, p1) of part t of nt equal parts of range(P)."""
    return t * P // nt, (t + 1) * P // nt


@numba.njit(cache=True, nogil=True, boundscheck=False)
def _maxpool_planes(x, out, arg, p0, p1):
    ho, wo = out.shape[1], out.shape[2]
    for p in range(p0, p1):
        for i in range(ho):
            r0 = x[p, 2 * i]
            r1 = x[p, 2 * i + 1]
            orow = out[p, i]
            arow = arg[p, i]
            for j in range(wo):
                m, o = _window_max(r0, r1, j)
                orow[j] = m
                arow[j] = o


@numba.njit(cache=True, nogil=True, boundscheck=False, parallel=True)
def _maxpool2x2_parallel(x, out, arg):
    """The parallel driver of :func:`maxpool2x2`."""
    P = out.shape[0]
    nt = min(P, _PARTS)
    for t in prange(nt):
        p0, p1 = _span(t, nt, P)
        _maxpool_planes(x, out, arg, p0, p1)


@numba.njit(cache=True, nogil=True, boundscheck=False)
def _zero_odd_edges(gx, ho, wo, p0, p1):
    """0 on the trailing odd row / column of planes [p0, p1), which no window covers.
    A pass of its own: the same stores inside the scatter loop made it 2-3x slower."""
    H, W = gx.shape[1], gx.shape[2]
    if W > 2 * wo:
        for p in range(p0, p1):
            for i in range(H):
                gx[p, i, W - 1] = 0
    if H > 2 * ho:
        for p in range(p0, p1):
            for q in range(W):
                gx[p, H - 1, q] = 0


@numba.njit(cache=True, nogil=True, boundscheck=False)
def _scatter_planes(g, arg, gx, p0, p1):
    """gx[p, 2i + a, 2j + b] = g[p, i, j] if arg[p, i, j] == 2a + b else 0 (bits), planes
    [p0, p1), full windows only."""
    ho, wo = g.shape[1], g.shape[2]
    for p in range(p0, p1):
        for i in range(ho):
            r0 = gx[p, 2 * i]
            r1 = gx[p, 2 * i + 1]
            gr = g[p, i]
            ar = arg[p, i]
            for j in range(wo):
                o = np.int32(ar[j])
                _scatter_window(r0, r1, j, gr[j], o)


@numba.njit(cache=True, nogil=True, boundscheck=False)
def _maxpool_backward_planes(g, arg, gx, p0, p1):
    _scatter_planes(g, arg, gx, p0, p1)
    _zero_odd_edges(gx, g.shape[1], g.shape[2], p0, p1)


@numba.njit(cache=True, nogil=True, boundscheck=False, parallel=True)
def _maxpool2x2_backward_parallel(g, arg, gx):
    """The parallel driver of :func:`maxpool2x2_backward`."""
    P = g.shape[0]
    nt = min(P, _PARTS)
    for t in prange(nt):
        p0, p1 = _span(t, nt, P)
        _maxpool_backward_planes(g, arg, gx, p0, p1)


def maxpool2x2(x, out, arg):
    """out[p, i, j] = max_{a,b<2} x[p, 2i + a, 2j + b]; arg[p, i, j] = the winning 2a + b.

    The serial loop on one numba thread or a small array, else the parallel driver.
    """
    P = out.shape[0]
    if x.size < _SERIAL_BELOW or numba.get_num_threads() == 1:
        _maxpool_planes(x, out, arg, 0, P)
    else:
        _maxpool2x2_parallel(x, out, arg)


def maxpool2x2_backward(g, arg, gx):
    """gx[p, 2i + a, 2j + b] = g[p, i, j] if arg[p, i, j] == 2a + b else 0; a trailing
    odd row/column is 0. ``g``, ``gx``: unsigned-integer views of the float arrays.

    The serial loop on one numba thread or a small array, else the parallel driver.
    """
    P = g.shape[0]
    if gx.size < _SERIAL_BELOW or numba.get_num_threads() == 1:
        _maxpool_backward_planes(g, arg, gx, 0, P)
    else:
        _maxpool2x2_backward_parallel(g, arg, gx)
