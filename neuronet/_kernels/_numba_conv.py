"""Direct 2-D convolution in Numba on channel-major activations (imported only
when numba is): no im2col, no col2im, no GEMM.

Layout: ``x (C, N, H, W)``, ``w (O, C, kH, kW)``, ``out (O, N, Ho, Wo)``, all
C-contiguous float32 or float64 (one dtype throughout); stride 1, dilation 1,
groups 1, any zero padding ``(top, bottom, left, right)`` (a negative pad crops).

The wide grid. A block of images is copied once, zero-padded, into a per-thread
buffer in which every image has ``Hs`` rows of ``Ws`` columns (``wide_grid``:
``H + max(top, bottom)`` by ``W + max(left, right)``: neighbouring rows and
stacked images share their zero padding). An output row is computed at all
``Ws`` columns, so a block's outputs are one contiguous run of positions and
filter tap ``(a, b)`` reads the same run shifted by ``a * Ws + b``. The innermost
loop is that run (hundreds to thousands long: LLVM vectorizes it fully; rows of
10 or 14 pixels never fill a 16-lane vector), with the taps unrolled inside it
(their count is a compile-time constant: the length of a tuple argument) and
two output channels per pass, so each input load feeds two FMAs. The junk
columns and rows are computed and dropped when the run is copied out.

- :func:`conv2d_cm` (driver :func:`conv2d_forward`): ``out[o, n, i, j] =
  sum_{c,a,b} w[o, c, a, b] * x[c, n, i + a - top, j + b - left]`` (0 outside the
  image) ``(+ bias[o])``.
- :func:`conv2d_cm_input_grad`: the same kernel on ``g = dE/dout`` with the
  flipped filters ``w_t[c, o, a, b] = w[o, c, kH-1-a, kW-1-b]`` and pads
  ``kH-1-top, ...`` (the chain rule as a full correlation; on the shared-padding
  grid it has no junk positions).
- :func:`conv2d_cm_weight_grad` (driver :func:`conv2d_weight_grad`): ``dw[o, c,
  a, b] = sum_{n,i,j} g[o, n, i, j] * x[c, n, i + a - top, j + b - left]``: dot
  products of the gradient's wide run (0 on the junk positions) with the
  input's shifted runs over a stacked block of images, a whole 3x3 filter of
  two output channels per pass (18 accumulators in registers), other filters
  one row of taps a pass; per part of the batch in float64, the parts summed.

Threads. Each driver cuts its work into items -- a block of images (the weight
gradient: a fixed part of the batch) for a group of output channels -- and its
threads claim them one at a time from an atomic counter until none are left, so
a thread that gets less of its core (OpenBLAS's workers spin for about 0.1 s after
each of its calls; a data-loading thread) takes fewer items instead of holding up
the others as numba's static split of a ``prange`` does. The output channels are
split only when the image blocks are too few to go round (``channel_groups``).
Every output number is computed by one item in an order that does not depend on
the item or the thread, so any thread count gives the same bits. (Two threads
scale 1.6-1.9x on LeNet-5's and ResNet-20's layers when numba's two workers run on
different CPUs; the workqueue layer's sleeping workers are often both woken onto
one CPU, and OpenBLAS's spinning worker takes the other: see the report of the
2-thread scaling issue.)

Measured on a 2-core AVX-512 EPYC, one thread each, against im2col + OpenBLAS:
1.3-3.2x on each of LeNet-5's and ResNet-20's layers in each direction (the
report of issue 13 has the table).
"""
import numba
import numpy as np
from numba import prange, types
from numba.extending import intrinsic


@intrinsic
def _claim(typingctx, counter):
    """``counter[0] += 1`` as one atomic step, returning the old value: the next work
    item for whichever thread asks first (``counter``: a 1-element int64 array)."""
    if not (isinstance(counter, types.Array) and counter.dtype == types.int64):
        return None

    def codegen(context, builder, sig, args):
        data = context.make_array(sig.args[0])(context, builder, args[0]).data
        return builder.atomic_rmw("add", data, context.get_constant(types.int64, 1), "monotonic")
    return types.int64(counter), codegen


@numba.njit(cache=True, nogil=True, inline="always")
def _span(t, nt, n):
    return t * n // nt, (t + 1) * n // nt


@numba.njit(cache=True, nogil=True, boundscheck=False)
def _stack_images(x, n0, nb, pt, pl, hp, buf):
    """buf[c, k*hp + pt + i, pl + j] = x[c, n0 + k, i, j] for k < nb (each image padded
    to hp rows and buf's width, stacked), 0 elsewhere (a spare last row too). Flat
    indices throughout: a view per row costs its reference counting."""
    C, N, H, W = x.shape
    rows, wp = buf.shape[1], buf.shape[2]
    xf = x.ravel()
    bf = buf.ravel()
    bf[:] = 0
    i0, i1 = max(0, -pt), min(H, hp - pt)
    j0, j1 = max(0, -pl), min(W, wp - pl)
    for c in range(C):
        for k in range(nb):
            for i in range(i0, i1):
                src = ((c * N + n0 + k) * H + i) * W
                dst = (c * rows + k * hp + i + pt) * wp + pl
                for j in range(j0, j1):
                    bf[np.uint64(dst + j)] = xf[np.uint64(src + j)]


@numba.njit(cache=True, nogil=True, boundscheck=False)
def _crop_out(acc, a0, wp, out, o, n):
    """out[o, n, i, j] = acc[a0 + i*wp + j]: the valid columns of the wide run."""
    _, N, ho, wo = out.shape
    of = out.ravel()
    base = (o * N + n) * ho * wo
    for i in range(ho):
        for j in range(wo):
            of[np.uint64(base + i * wo + j)] = acc[np.uint64(a0 + i * wp + j)]


@numba.njit(cache=True, nogil=True, boundscheck=False, fastmath={"contract"})
def _taps(acc, xf, x0, w, o, c, L, wp, kh_t, kw_t):
    """acc[p] += sum_{a,b} w[o, c, a, b] * xf[x0 + p + a*wp + b] for p < L; the (a, b)
    loops have constant trip counts (the tuples' lengths), so LLVM unrolls them inside
    the vectorized p loop. Offsets into flat arrays rather than views: a view per call
    costs its reference counting (measured 3x on 64-channel layers). Unsigned
    indices: numba's negative-index wraparound on a signed one stops the vectorizer."""
    KH = len(kh_t)
    KW = len(kw_t)
    for p in range(L):
        s = acc[p]
        for a in range(KH):
            for b in range(KW):
                s += w[o, c, a, b] * xf[np.uint64(x0 + p + a * wp + b)]
        acc[p] = s


@numba.njit(cache=True, nogil=True, boundscheck=False, fastmath={"contract"})
def _taps2(acc, xf, x0, w, o, c, L, wp, kh_t, kw_t):
    """:func:`_taps` for outputs o and o + 1 at once (acc[:L] and acc[L:2L]): each x load
    feeds two FMAs. Measured 1.5-1.9x :func:`_taps` with 3x3 filters; slower with 5x5
    (50 weights do not stay in registers), so used for kH*kW <= 9 only. Two
    outputs, not four: with four, LLVM gives up on the vectorization (too many
    runtime alias checks). Larger filters use :func:`_taps2_row`."""
    KH = len(kh_t)
    KW = len(kw_t)
    for p in range(L):
        s = acc[np.uint64(p)]
        t = acc[np.uint64(L + p)]
        for a in range(KH):
            for b in range(KW):
                xv = xf[np.uint64(x0 + p + a * wp + b)]
                s += w[o, c, a, b] * xv
                t += w[o + 1, c, a, b] * xv
        acc[np.uint64(p)] = s
        acc[np.uint64(L + p)] = t


@numba.njit(cache=True, nogil=True, boundscheck=False, fastmath={"contract"})
def _taps2_row(acc, xf, x0, w, o, c, a, L, wp, kw_t):
    """:func:`_taps2` for the one filter row ``a``: the larger filters (5x5) one row a
    pass, two outputs (10 weights stay in registers; measured 1.4-1.5x :func:`_taps`
    on LeNet's C3 and its input gradient, even with the accumulators' extra passes)."""
    KW = len(kw_t)
    for p in range(L):
        s = acc[np.uint64(p)]
        t = acc[np.uint64(L + p)]
        for b in range(KW):
            xv = xf[np.uint64(x0 + p + a * wp + b)]
            s += w[o, c, a, b] * xv
            t += w[o + 1, c, a, b] * xv
        acc[np.uint64(p)] = s
        acc[np.uint64(L + p)] = t


@numba.njit(cache=True, nogil=True, boundscheck=False)
def _forward_worker(x, w, bias, has_bias, pt, pl, out, block, hs, ws, kh_t, kw_t, n_blocks, groups,
                    counter):
    """One thread's share of :func:`conv2d_forward`: claims items until none are left.
    Item ``b * groups + q`` is image block ``b`` (of ``n_blocks``, sizes differing by at
    most one image, each at most ``block``) for output-channel group ``q`` (pairs of
    channels split evenly; the last group takes an odd last channel). The images are
    stacked on one wide grid per item (small maps: one long run instead of several short
    ones; the kH - 1 rows between two images are computed and dropped). Every output
    number is summed in the same order whatever the item or thread that computes it."""
    C, N = x.shape[0], x.shape[1]
    O, _, ho, wo = out.shape
    KH = len(kh_t)
    KW = len(kw_t)
    hp, wp = hs, ws
    rows = (block - 1) * hp + ho + KH       # the last run's taps read up to here
    plane = rows * wp
    buf = np.empty((C, rows, wp), x.dtype)
    xf = buf.ravel()
    acc = np.empty(2 * block * hp * wp, x.dtype)
    pairs = O // 2
    while True:
        item = _claim(counter)
        if item >= n_blocks * groups:
            break
        q = item % groups
        m0, m1 = _span(item // groups, n_blocks, N)
        k0, k1 = _span(q, groups, pairs)
        nb = m1 - m0
        L = ((nb - 1) * hp + ho) * wp
        _stack_images(x, m0, nb, pt, pl, hp, buf)
        for k in range(k0, k1):
            o = 2 * k
            b0 = bias[o] if has_bias else 0
            b1 = bias[o + 1] if has_bias else 0
            for p in range(L):
                acc[p] = b0
                acc[L + p] = b1
            for c in range(C):
                if KH * KW <= 9:
                    _taps2(acc, xf, c * plane, w, o, c, L, wp, kh_t, kw_t)
                else:
                    for a in range(KH):
                        _taps2_row(acc, xf, c * plane, w, o, c, a, L, wp, kw_t)
            for m in range(nb):
                _crop_out(acc, m * hp * wp, wp, out, o, m0 + m)
                _crop_out(acc, L + m * hp * wp, wp, out, o + 1, m0 + m)
        if q == groups - 1 and O % 2:
            o = O - 1
            b0 = bias[o] if has_bias else 0
            for p in range(L):
                acc[p] = b0
            for c in range(C):
                _taps(acc, xf, c * plane, w, o, c, L, wp, kh_t, kw_t)
            for m in range(nb):
                _crop_out(acc, m * hp * wp, wp, out, o, m0 + m)


@numba.njit(cache=True, nogil=True, boundscheck=False, parallel=True)
def conv2d_forward(x, w, bias, has_bias, pt, pl, out, block, hs, ws, kh_t, kw_t, groups, threads,
                   counter):
    """out (O, N, Ho, Wo) := the correlation of x (C, N, H, W), zero-padded by pt rows
    on top and pl columns on the left, with w (O, C, kH, kW), plus bias[o] when
    has_bias; at most ``block`` images stacked per run (see :func:`forward_block`) on
    the wide grid of ``hs`` rows and ``ws`` columns per image (see :func:`wide_grid`);
    the output channels in ``groups`` groups (see :func:`channel_groups`). ``kh_t``,
    ``kw_t``: tuples of length kH and kW (their values unused).

    ``threads`` workers claim the (image block, channel group) items one at a time
    from ``counter`` (a zeroed 1-element int64 array, made by the caller: an array
    made in here would be filled by a parallel loop of its own, one more wake-up of
    the threads, measured 80 us a call): a thread slowed by another process
    (OpenBLAS's spinning workers, a data-loading thread) takes fewer items instead of
    holding up the rest, as a static split of the range would."""
    N = x.shape[1]
    n_blocks = (N + block - 1) // block
    for t in prange(max(1, min(threads, n_blocks * groups))):
        _forward_worker(x, w, bias, has_bias, pt, pl, out, block, hs, ws, kh_t, kw_t, n_blocks,
                        groups, counter)


@numba.njit(cache=True, nogil=True, boundscheck=False, fastmath={"contract", "reassoc"})
def _dots3(gf, g0, xf, x0, L):
    """sum_{p<L} gf[g0 + p] * xf[x0 + p + k] for k = 0, 1, 2 (vectorized reductions)."""
    s0 = gf.dtype.type(0)
    s1 = gf.dtype.type(0)
    s2 = gf.dtype.type(0)
    for p in range(L):
        g = gf[np.uint64(g0 + p)]
        q = x0 + p
        s0 += g * xf[np.uint64(q)]
        s1 += g * xf[np.uint64(q + 1)]
        s2 += g * xf[np.uint64(q + 2)]
    return s0, s1, s2


@numba.njit(cache=True, nogil=True, boundscheck=False, fastmath={"contract", "reassoc"})
def _dots5(gf, g0, xf, x0, L):
    """sum_{p<L} gf[g0 + p] * xf[x0 + p + k] for k = 0..4 (vectorized reductions)."""
    s0 = gf.dtype.type(0)
    s1 = gf.dtype.type(0)
    s2 = gf.dtype.type(0)
    s3 = gf.dtype.type(0)
    s4 = gf.dtype.type(0)
    for p in range(L):
        g = gf[np.uint64(g0 + p)]
        q = x0 + p
        s0 += g * xf[np.uint64(q)]
        s1 += g * xf[np.uint64(q + 1)]
        s2 += g * xf[np.uint64(q + 2)]
        s3 += g * xf[np.uint64(q + 3)]
        s4 += g * xf[np.uint64(q + 4)]
    return s0, s1, s2, s3, s4


@numba.njit(cache=True, nogil=True, boundscheck=False, fastmath={"contract", "reassoc"})
def _dot(gf, g0, xf, x0, L):
    s = gf.dtype.type(0)
    for p in range(L):
        s += gf[np.uint64(g0 + p)] * xf[np.uint64(x0 + p)]
    return s


@numba.njit(cache=True, nogil=True, boundscheck=False)
def _tap_row(gf, g0, xf, x0, L, KW, dw, o, c, a):
    """dw[o, c, a, b] += sum_{p<L} gf[g0 + p] * xf[x0 + p + b] for b < KW, five or three
    taps a pass (that many accumulators in registers)."""
    b = 0
    while KW - b >= 5:
        s0, s1, s2, s3, s4 = _dots5(gf, g0, xf, x0 + b, L)
        dw[o, c, a, b] += s0
        dw[o, c, a, b + 1] += s1
        dw[o, c, a, b + 2] += s2
        dw[o, c, a, b + 3] += s3
        dw[o, c, a, b + 4] += s4
        b += 5
    while KW - b >= 3:
        s0, s1, s2 = _dots3(gf, g0, xf, x0 + b, L)
        dw[o, c, a, b] += s0
        dw[o, c, a, b + 1] += s1
        dw[o, c, a, b + 2] += s2
        b += 3
    while b < KW:
        dw[o, c, a, b] += _dot(gf, g0, xf, x0 + b, L)
        b += 1


@numba.njit(cache=True, nogil=True, boundscheck=False, fastmath={"contract", "reassoc"})
def _dots2x3(gf, g0, g1, xf, x0, L):
    """sum_{p<L} gf[gk + p] * xf[x0 + p + b] for gk = g0, g1 (two outputs) and b = 0, 1, 2:
    each x load feeds two FMAs (measured 1.4x :func:`_dots3` for each output alone)."""
    z = gf.dtype.type(0)
    s0 = s1 = s2 = t0 = t1 = t2 = z
    for p in range(L):
        g = gf[np.uint64(g0 + p)]
        h = gf[np.uint64(g1 + p)]
        q = x0 + p
        x0_ = xf[np.uint64(q)]
        x1_ = xf[np.uint64(q + 1)]
        x2_ = xf[np.uint64(q + 2)]
        s0 += g * x0_
        s1 += g * x1_
        s2 += g * x2_
        t0 += h * x0_
        t1 += h * x1_
        t2 += h * x2_
    return s0, s1, s2, t0, t1, t2


@numba.njit(cache=True, nogil=True, boundscheck=False, fastmath={"contract", "reassoc"})
def _dots2x5(gf, g0, g1, xf, x0, L):
    """:func:`_dots2x3` with five taps (ten accumulators)."""
    z = gf.dtype.type(0)
    s0 = s1 = s2 = s3 = s4 = t0 = t1 = t2 = t3 = t4 = z
    for p in range(L):
        g = gf[np.uint64(g0 + p)]
        h = gf[np.uint64(g1 + p)]
        q = x0 + p
        x0_ = xf[np.uint64(q)]
        x1_ = xf[np.uint64(q + 1)]
        x2_ = xf[np.uint64(q + 2)]
        x3_ = xf[np.uint64(q + 3)]
        x4_ = xf[np.uint64(q + 4)]
        s0 += g * x0_
        s1 += g * x1_
        s2 += g * x2_
        s3 += g * x3_
        s4 += g * x4_
        t0 += h * x0_
        t1 += h * x1_
        t2 += h * x2_
        t3 += h * x3_
        t4 += h * x4_
    return s0, s1, s2, s3, s4, t0, t1, t2, t3, t4


@numba.njit(cache=True, nogil=True, boundscheck=False, fastmath={"contract", "reassoc"})
def _dots2x9(gf, g0, g1, xf, x0, L, wp, dw, o, c):
    """A whole 3x3 filter for outputs o and o + 1 in one pass: dw[o + k, c, a, b] +=
    sum_{p<L} gf[gk + p] * xf[x0 + p + a*wp + b] (18 accumulators in registers; each
    x load feeds two FMAs; measured 2x three :func:`_dots2x3` row passes)."""
    z = gf.dtype.type(0)
    s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = s8 = z
    t0 = t1 = t2 = t3 = t4 = t5 = t6 = t7 = t8 = z
    for p in range(L):
        g = gf[np.uint64(g0 + p)]
        h = gf[np.uint64(g1 + p)]
        q = x0 + p
        r = q + wp
        u = r + wp
        a0 = xf[np.uint64(q)]
        a1 = xf[np.uint64(q + 1)]
        a2 = xf[np.uint64(q + 2)]
        b0 = xf[np.uint64(r)]
        b1 = xf[np.uint64(r + 1)]
        b2 = xf[np.uint64(r + 2)]
        c0 = xf[np.uint64(u)]
        c1 = xf[np.uint64(u + 1)]
        c2 = xf[np.uint64(u + 2)]
        s0 += g * a0
        s1 += g * a1
        s2 += g * a2
        s3 += g * b0
        s4 += g * b1
        s5 += g * b2
        s6 += g * c0
        s7 += g * c1
        s8 += g * c2
        t0 += h * a0
        t1 += h * a1
        t2 += h * a2
        t3 += h * b0
        t4 += h * b1
        t5 += h * b2
        t6 += h * c0
        t7 += h * c1
        t8 += h * c2
    dw[o, c, 0, 0] += s0
    dw[o, c, 0, 1] += s1
    dw[o, c, 0, 2] += s2
    dw[o, c, 1, 0] += s3
    dw[o, c, 1, 1] += s4
    dw[o, c, 1, 2] += s5
    dw[o, c, 2, 0] += s6
    dw[o, c, 2, 1] += s7
    dw[o, c, 2, 2] += s8
    dw[o + 1, c, 0, 0] += t0
    dw[o + 1, c, 0, 1] += t1
    dw[o + 1, c, 0, 2] += t2
    dw[o + 1, c, 1, 0] += t3
    dw[o + 1, c, 1, 1] += t4
    dw[o + 1, c, 1, 2] += t5
    dw[o + 1, c, 2, 0] += t6
    dw[o + 1, c, 2, 1] += t7
    dw[o + 1, c, 2, 2] += t8


@numba.njit(cache=True, nogil=True, boundscheck=False)
def _tap_row2(gf, g0, g1, xf, x0, L, KW, dw, o, c, a):
    """:func:`_tap_row` for outputs o (gradient run at g0) and o + 1 (at g1) at once."""
    b = 0
    while KW - b >= 5:
        s0, s1, s2, s3, s4, t0, t1, t2, t3, t4 = _dots2x5(gf, g0, g1, xf, x0 + b, L)
        dw[o, c, a, b] += s0
        dw[o, c, a, b + 1] += s1
        dw[o, c, a, b + 2] += s2
        dw[o, c, a, b + 3] += s3
        dw[o, c, a, b + 4] += s4
        dw[o + 1, c, a, b] += t0
        dw[o + 1, c, a, b + 1] += t1
        dw[o + 1, c, a, b + 2] += t2
        dw[o + 1, c, a, b + 3] += t3
        dw[o + 1, c, a, b + 4] += t4
        b += 5
    while KW - b >= 3:
        s0, s1, s2, t0, t1, t2 = _dots2x3(gf, g0, g1, xf, x0 + b, L)
        dw[o, c, a, b] += s0
        dw[o, c, a, b + 1] += s1
        dw[o, c, a, b + 2] += s2
        dw[o + 1, c, a, b] += t0
        dw[o + 1, c, a, b + 1] += t1
        dw[o + 1, c, a, b + 2] += t2
        b += 3
    while b < KW:
        dw[o, c, a, b] += _dot(gf, g0, xf, x0 + b, L)
        dw[o + 1, c, a, b] += _dot(gf, g1, xf, x0 + b, L)
        b += 1


@numba.njit(cache=True, nogil=True, boundscheck=False)
def _weight_grad_worker(x, g, pt, pl, parts, block, hs, ws, groups, counter):
    """One thread's share of :func:`conv2d_weight_grad`: claims items until none are
    left. Item ``p * groups + q``: ``parts[p, o]`` (float64) := the weight gradient of
    part ``p`` of the images for the output channels ``o`` of group ``q`` (pairs split
    evenly, the last group takes an odd last channel). A part's images are stacked
    ``block`` at a time (blocks differing by at most one image) on one wide grid: the
    dot products then run over several images at once (long vectorized runs; the zero
    gradient on the junk rows and columns keeps the images apart). Each ``dw[o, c]`` of
    a part is the same sequence of dot products whatever the grouping or the thread."""
    C, N = x.shape[0], x.shape[1]
    O, _, ho, wo = g.shape
    P = parts.shape[0]
    KH, KW = parts.shape[3], parts.shape[4]
    hp, wp = hs, ws
    rows = (block - 1) * hp + ho + KH
    plane = rows * wp
    lw = block * hp * wp
    buf = np.empty((C, rows, wp), x.dtype)
    gw = np.zeros((O, lw), g.dtype)      # zero on the junk positions, never written
    xf = buf.ravel()
    gf = gw.ravel()
    g1 = g.ravel()
    pairs = O // 2
    while True:
        item = _claim(counter)
        if item >= P * groups:
            break
        q = item % groups
        p = item // groups
        n0, n1 = _span(p, P, N)
        k0, k1 = _span(q, groups, pairs)
        odd = q == groups - 1 and O % 2 == 1
        o0, o1 = 2 * k0, (O if odd else 2 * k1)
        dw = parts[p]
        dw[o0:o1] = 0
        n_blocks = (n1 - n0 + block - 1) // block
        for bi in range(n_blocks):
            r0, r1 = _span(bi, n_blocks, n1 - n0)
            m0, nb = n0 + r0, r1 - r0
            _stack_images(x, m0, nb, pt, pl, hp, buf)
            for o in range(o0, o1):
                for k in range(nb):
                    for i in range(ho):
                        src = ((o * N + m0 + k) * ho + i) * wo
                        dst = o * lw + (k * hp + i) * wp
                        for j in range(wo):
                            gf[np.uint64(dst + j)] = g1[np.uint64(src + j)]
            L = ((nb - 1) * hp + ho) * wp
            for c in range(C):
                for k in range(k0, k1):
                    o = 2 * k
                    if KH == 3 and KW == 3:
                        _dots2x9(gf, o * lw, (o + 1) * lw, xf, c * plane, L, wp, dw, o, c)
                        continue
                    for a in range(KH):
                        _tap_row2(gf, o * lw, (o + 1) * lw, xf, c * plane + a * wp, L, KW, dw, o, c, a)
                if odd:
                    for a in range(KH):
                        _tap_row(gf, (O - 1) * lw, xf, c * plane + a * wp, L, KW, dw, O - 1, c, a)


@numba.njit(cache=True, nogil=True, boundscheck=False)
def _sum_parts(pf, df, e0, e1):
    """df[e] := sum over p of pf[p, e] (in part order, in float64) for e in [e0, e1)."""
    tmp = np.empty(e1 - e0, np.float64)
    for e in range(e0, e1):
        tmp[e - e0] = pf[0, e]
    for p in range(1, pf.shape[0]):
        for e in range(e0, e1):
            tmp[e - e0] += pf[p, e]
    for e in range(e0, e1):
        df[e] = tmp[e - e0]


# Elements of the weight gradient summed over the parts per task.
_SUM_CHUNK = 4096


@numba.njit(cache=True, nogil=True, boundscheck=False, parallel=True)
def conv2d_weight_grad(x, g, pt, pl, parts, dw, block, hs, ws, groups, threads, counter):
    """dw (O, C, kH, kW) := ``sum_{n, i, j} g[o, n, i, j] * x[c, n, i + a - pt, j + b - pl]``
    with x (C, N, H, W), g = dE/dout (O, N, Ho, Wo), summed per part of the images into
    ``parts`` (P, O, C, kH, kW) float64 (P <= N parts: a count that does not depend on
    the threads, so neither do the bits), then over the parts in order. At most
    ``block`` images are stacked per pass (see :func:`stack_block`) on the wide grid
    ``hs`` x ``ws`` (see :func:`wide_grid`); the output channels in ``groups`` groups.
    ``threads`` workers claim (part, channel group) items from ``counter`` (see
    :func:`conv2d_forward`); the sum over the parts is split among them too."""
    P = parts.shape[0]
    for t in prange(max(1, min(threads, P * groups))):
        _weight_grad_worker(x, g, pt, pl, parts, block, hs, ws, groups, counter)
    E = dw.size
    pf = parts.reshape(P, E)
    df = dw.reshape(E)
    n_chunks = (E + _SUM_CHUNK - 1) // _SUM_CHUNK
    if n_chunks <= 1:                   # small filters: not worth waking the threads again
        _sum_parts(pf, df, 0, E)
    else:
        for t in prange(n_chunks):
            _sum_parts(pf, df, t * _SUM_CHUNK, min(E, (t + 1) * _SUM_CHUNK))


# ---------------------------------------------------------------------------
# NumPy-facing wrappers: shapes, allocation, the flipped filters, the part sums.

# The weight gradient is summed in this many parts of the batch (at most): a
# count that does not depend on the number of threads, so neither does the
# result. The float64 partial sums take at most about PARTS_BYTES.
WEIGHT_GRAD_PARTS = 16
PARTS_BYTES = 1 << 25


# Images stacked on one wide grid per pass of the weight gradient: about this
# many bytes of padded input (kept in the L2 cache with the gradient's copy).
STACK_BYTES = 1 << 18


def wide_grid(H, W, kernel, pads):
    """``(Hs, Ws)``: rows and columns per image on the wide grid, for an input ``H x W``.

    Stacked images and consecutive rows share their zero padding: the bottom pad
    of one is the top pad of the next, so ``Hs = H + max(top, bottom)`` rows
    suffice (``Ws`` likewise), not ``H + top + bottom``; the "full" correlation of
    the input gradient (pads ``k - 1`` on both sides) then has no junk rows or
    columns at all. Where that does not hold (a negative pad, or both pads of a
    side at least the kernel) each image keeps its own ``H + top + bottom``.
    """
    kh, kw = kernel
    t, b, l, r = pads
    if min(pads) >= 0 and min(t, b) <= kh - 1 and min(l, r) <= kw - 1:
        return H + max(t, b), W + max(l, r)
    return H + t + b, W + l + r


def stack_block(C, grid, itemsize):
    """Images per stacked block of the weight gradient: about ``STACK_BYTES`` of padded
    input (``grid = (Hs, Ws)``), at least 1."""
    hs, ws = grid
    return max(1, STACK_BYTES // (C * hs * ws * itemsize))


# The forward stacks images whose own run (Ho * Ws) is shorter than this, up to
# about this many positions per run.
FORWARD_SHORT_RUN = 512
FORWARD_RUN = 2048


def forward_block(C, ho, grid, itemsize):
    """Images stacked per run of the forward kernel: 1 when an image's run is long
    already, else up to ``FORWARD_RUN`` positions and ``STACK_BYTES`` of input."""
    hs, ws = grid
    if ho * ws >= FORWARD_SHORT_RUN:
        return 1
    return max(1, min(FORWARD_RUN // (hs * ws), STACK_BYTES // (C * hs * ws * itemsize)))


# Work items wanted per thread: with fewer image blocks (or parts) than that, the
# output channels are split into groups too, of at least GROUP_PAIRS pairs.
ITEMS_PER_THREAD = 8
GROUP_PAIRS = 2


def channel_groups(out_channels, items, threads):
    """Groups to split the output channels into, so that ``items`` image blocks (or
    parts) times the groups make about ``ITEMS_PER_THREAD`` items per thread (claimed
    one at a time: the last ones even out the threads' finishing times). Each group
    re-stacks its images, so a group keeps at least ``GROUP_PAIRS`` pairs of channels.
    The result does not depend on it: each output number is computed by one item, in
    an order that does not depend on the item."""
    if threads <= 1 or items <= 0:
        return 1
    want = -(-ITEMS_PER_THREAD * threads // items)
    return max(1, min(want, out_channels // (2 * GROUP_PAIRS)))


def _threads():
    return numba.get_num_threads()


def _check(op, arrays, **shapes):
    """The loops index flat memory without bounds checks: refuse anything but
    C-contiguous float32/float64 NumPy arrays of one dtype and consistent shapes."""
    dtype = arrays[0][1].dtype
    for name, a in arrays:
        if type(a) is not np.ndarray or a.dtype not in (np.float32, np.float64):
            raise TypeError(f"{op}: {name} must be a float32 or float64 NumPy array, "
                            f"got {type(a).__name__} of dtype {getattr(a, 'dtype', None)}")
        if a.dtype != dtype:
            raise TypeError(f"{op}: {name} has dtype {a.dtype}, expected {dtype} (one dtype "
                            f"for all arrays)")
        if not a.flags.c_contiguous:
            raise ValueError(f"{op}: {name} must be C-contiguous")
    for name, (got, expected) in shapes.items():
        if tuple(got) != tuple(expected):
            raise ValueError(f"{op}: expected {name} of shape {tuple(expected)}, got {tuple(got)}")


def _out_size(op, H, W, kernel, pads):
    (kh, kw), (t, b, l, r) = kernel, pads
    ho, wo = H + t + b - kh + 1, W + l + r - kw + 1
    if kh < 1 or kw < 1 or ho < 1 or wo < 1:
        raise ValueError(f"{op}: a {kh}x{kw} filter with pads {tuple(pads)} (top, bottom, "
                         f"left, right) does not fit a {H}x{W} input")
    return ho, wo


def _taps_tuples(kh, kw):
    return (0,) * kh, (0,) * kw


def flip_weights(w):
    """``w_t[c, o, a, b] = w[o, c, kH-1-a, kW-1-b]`` (contiguous): the filters of the
    input gradient's correlation."""
    return np.ascontiguousarray(w.transpose(1, 0, 2, 3)[:, :, ::-1, ::-1])


def conv2d_cm(x, w, bias=None, pads=(0, 0, 0, 0), out=None):
    """``x (C, N, H, W)``, ``w (O, C, kH, kW)``, ``bias (O,)`` or None, ``pads = (top,
    bottom, left, right)`` -> ``(O, N, Ho, Wo)``, ``Ho = H + top + bottom - kH + 1``."""
    C, N, H, W = x.shape
    O, _, kh, kw = w.shape
    t, b, l, r = pads
    ho, wo = _out_size("conv2d_cm", H, W, (kh, kw), pads)
    if out is None:
        out = np.empty((O, N, ho, wo), dtype=x.dtype)
    has_bias = bias is not None
    _check("conv2d_cm", [("x", x), ("w", w), ("out", out)] + ([("bias", bias)] if has_bias else []),
           w=(w.shape, (O, C, kh, kw)), out=(out.shape, (O, N, ho, wo)),
           bias=((O,) if bias is None else bias.shape, (O,)))
    grid = wide_grid(H, W, (kh, kw), pads)
    block = max(1, min(forward_block(C, ho, grid, x.itemsize), N))
    threads = _threads()
    groups = channel_groups(O, -(-N // block), threads)
    conv2d_forward(x, w, bias if has_bias else w[:, 0, 0, 0], has_bias, t, l, out,
                   block, *grid, *_taps_tuples(kh, kw), groups, threads, np.zeros(1, np.int64))
    return out


def conv2d_cm_input_grad(g, w, pads, in_hw, w_flipped=None):
    """``dE/dx (C, N, H, W)`` from ``g = dE/dout (O, N, Ho, Wo)``: the forward kernel on
    ``g`` with the flipped filters, padded ``(kH-1-top, kH-1-bottom, kW-1-left,
    kW-1-right)`` (a negative pad crops)."""
    O, N, ho, wo = g.shape
    _, C, kh, kw = w.shape
    t, b, l, r = pads
    H, W = in_hw
    wt = flip_weights(w) if w_flipped is None else w_flipped
    _check("conv2d_cm_input_grad", [("g", g), ("w", w), ("w_flipped", wt)],
           g=(g.shape, (O, N) + _out_size("conv2d_cm_input_grad", H, W, (kh, kw), pads)),
           w_flipped=(wt.shape, (C, O, kh, kw)))
    dx = np.empty((C, N, H, W), dtype=g.dtype)
    flipped = (kh - 1 - t, kh - 1 - b, kw - 1 - l, kw - 1 - r)
    grid = wide_grid(ho, wo, (kh, kw), flipped)
    block = max(1, min(forward_block(O, H, grid, g.itemsize), N))
    threads = _threads()
    groups = channel_groups(C, -(-N // block), threads)
    conv2d_forward(g, wt, wt[:, 0, 0, 0], False, flipped[0], flipped[2], dx,
                   block, *grid, *_taps_tuples(kh, kw), groups, threads, np.zeros(1, np.int64))
    return dx


def conv2d_cm_weight_grad(x, g, pads, kernel):
    """``dE/dw (O, C, kH, kW)`` (x's dtype) from ``x (C, N, H, W)`` and ``g (O, N, Ho, Wo)``,
    summed in float64."""
    C, N, H, W = x.shape
    O = g.shape[0]
    kh, kw = kernel
    _check("conv2d_cm_weight_grad", [("x", x), ("g", g)],
           g=(g.shape, (O, N) + _out_size("conv2d_cm_weight_grad", H, W, kernel, pads)))
    n_parts = max(1, min(N, WEIGHT_GRAD_PARTS, PARTS_BYTES // (8 * O * C * kh * kw)))
    parts = np.empty((n_parts, O, C, kh, kw), dtype=np.float64)
    dw = np.empty((O, C, kh, kw), dtype=x.dtype)
    grid = wide_grid(H, W, kernel, pads)
    threads = _threads()
    block = min(stack_block(C, grid, x.itemsize), -(-N // n_parts))     # no larger than a part
    conv2d_weight_grad(x, g, pads[0], pads[2], parts, dw, max(1, block), *grid,
                       channel_groups(O, n_parts, threads), threads, np.zeros(1, np.int64))
    return dw
