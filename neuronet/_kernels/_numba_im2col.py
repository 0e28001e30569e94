"""The Numba loops behind :mod:`neuronet._kernels` (imported only when numba is).

Stride 1, dilation 1 only (the case LeNet and most 3x3/5x5 layers hit): the
innermost loop is then a unit-stride run that LLVM vectorizes; measured about
2x NumPy's strided copies on LeNet-5's C3 (6x14x14 -> 5x5 windows). With a
general stride the compiled loop was no faster than NumPy, so those shapes
keep the NumPy path. Same index equations as ``neuronet.nn.functional._im2col``.
"""
import numba


@numba.njit(cache=True, nogil=True, boundscheck=False)
def im2col_unit(x, cols):
    """cols[c, a, b, n, i, j] = x[c, n, i + a, j + b]"""
    C, kh, kw, N, ho, wo = cols.shape
    for c in range(C):
        for a in range(kh):
            for b in range(kw):
                for n in range(N):
                    for i in range(ho):
                        src = x[c, n, i + a]
                        dst = cols[c, a, b, n, i]
                        for j in range(wo):
                            dst[j] = src[j + b]


@numba.njit(cache=True, nogil=True, boundscheck=False)
def col2im_unit(cols, out):
    """out[c, n, i + a, j + b] += cols[c, a, b, n, i, j]

    When one channel's planes ``out[c]`` fit in the L2 cache (a chunk of
    LeNet's), in the columns' own order (c, a, b, n): ``cols`` is read once,
    front to back (measured 1.45x the (c, n, a, i, b) order on LeNet's C3).
    Otherwise plane by plane, so each plane is fetched once. Each pixel sums
    its windows in (a, b) order either way: the same result.
    """
    C, kh, kw, N, ho, wo = cols.shape
    if N * out.shape[2] * out.shape[3] * out.itemsize > (1 << 18):
        for c in range(C):
            for n in range(N):
                for a in range(kh):
                    for i in range(ho):
                        dst = out[c, n, i + a]
                        for b in range(kw):
                            src = cols[c, a, b, n, i]
                            for j in range(wo):
                                dst[j + b] += src[j]
        return
    for c in range(C):
        for a in range(kh):
            for b in range(kw):
                for n in range(N):
                    for i in range(ho):
                        dst = out[c, n, i + a]
                        src = cols[c, a, b, n, i]
                        for j in range(wo):
                            dst[j + b] += src[j]


# ---------------------------------------------------------------------------
# Batch-major (N, C, H, W) kernels for conv2d's chunked core: padding, stride
# and dilation handled in the index arithmetic (no padded copy of the input),
# one chunk of images [n0, n0 + n) at a time, parallel over both cores
# (``prange``: im2col over rows of the column matrix, col2im over (image,
# channel) planes, which no two iterations share).

_u = numba.uint64


@numba.njit(cache=True, nogil=True, inline="always")
def _valid_range(off, stride, size, n_out):
    """``[lo, hi)``: the output positions ``j`` whose input index ``j*stride + off``
    lies in ``[0, size)``."""
    lo = 0 if off >= 0 else (-off + stride - 1) // stride
    hi = 0 if size - 1 - off < 0 else (size - 1 - off) // stride + 1
    if hi > n_out:
        hi = n_out
    if lo > hi:
        lo = hi
    return lo, hi


# Inner loops index 1-D row views with ``range`` variables or unsigned
# (``uint64``) offsets: numba then skips its negative-index wraparound test and
# LLVM vectorizes the copy (a signed ``j + b`` index, or strided slices of the
# rows, measured 3-5x slower).
@numba.njit(cache=True, nogil=True, boundscheck=False, parallel=True)
def im2col_nchw(x, n0, sh, sw, ph, pw, dh, dw, cols):
    """cols[c, a, b, n, i, j] = x[n0 + n, c, i*sh + a*dh - ph, j*sw + b*dw - pw] (0 outside)."""
    C, kh, kw, nn, ho, wo = cols.shape
    H, W = x.shape[2], x.shape[3]
    for c in numba.prange(C):
        for a in range(kh):
            ilo, ihi = _valid_range(a * dh - ph, sh, H, ho)
            r0 = ilo * sh + a * dh - ph
            for b in range(kw):
                jlo, jhi = _valid_range(b * dw - pw, sw, W, wo)
                q0 = jlo * sw + b * dw - pw
                m = jhi - jlo
                for n in range(nn):
                    for i in range(ho):
                        dst = cols[c, a, b, n, i]
                        if i < ilo or i >= ihi:
                            for j in range(wo):
                                dst[j] = 0
                            continue
                        src = x[n0 + n, c, r0 + (i - ilo) * sh]
                        for j in range(jlo):
                            dst[j] = 0
                        for j in range(jhi, wo):
                            dst[_u(j)] = 0
                        if sw == 1:
                            for j in range(m):
                                dst[_u(jlo + j)] = src[_u(q0 + j)]
                        else:
                            for j in range(m):
                                dst[_u(jlo + j)] = src[_u(q0 + j * sw)]


@numba.njit(cache=True, nogil=True, boundscheck=False, parallel=True)
def col2im_nchw(dcols, n0, sh, sw, ph, pw, dh, dw, dx):
    """dx[n0 + n, c] = sum over windows of dcols[c, a, b, n, i, j] at
    (i*sh + a*dh - ph, j*sw + b*dw - pw); positions in the padding are dropped.
    Overwrites the chunk's planes of ``dx`` (no zeroing needed beforehand)."""
    C, kh, kw, nn, ho, wo = dcols.shape
    H, W = dx.shape[2], dx.shape[3]
    for t in numba.prange(nn * C):
        n = t // C
        c = t - n * C
        for r in range(H):
            row = dx[n0 + n, c, r]
            for q in range(W):
                row[q] = 0
        for a in range(kh):
            ilo, ihi = _valid_range(a * dh - ph, sh, H, ho)
            r0 = ilo * sh + a * dh - ph
            for b in range(kw):
                jlo, jhi = _valid_range(b * dw - pw, sw, W, wo)
                q0 = jlo * sw + b * dw - pw
                m = jhi - jlo
                for i in range(ihi - ilo):
                    src = dcols[c, a, b, n, ilo + i]
                    dst = dx[n0 + n, c, r0 + i * sh]
                    if sw == 1:
                        for j in range(m):
                            dst[_u(q0 + j)] += src[_u(jlo + j)]
                    else:
                        for j in range(m):
                            dst[_u(q0 + j * sw)] += src[_u(jlo + j)]


@numba.njit(cache=True, nogil=True, boundscheck=False, parallel=True)
def cm_to_nchw(res, n0, bias, has_bias, out):
    """out[n0 + n, o, p] = res[o, n, p] (+ bias[o])."""
    O, nn, P = res.shape
    for t in numba.prange(nn * O):
        n = t // O
        o = t - n * O
        dst = out[n0 + n, o]
        src = res[o, n]
        if has_bias:
            bo = bias[o]
            for p in range(P):
                dst[p] = src[p] + bo
        else:
            for p in range(P):
                dst[p] = src[p]


@numba.njit(cache=True, nogil=True, boundscheck=False, parallel=True)
def nchw_to_cm(g, n0, out):
    """out[o, n, p] = g[n0 + n, o, p]."""
    O, nn, P = out.shape
    for t in numba.prange(nn * O):
        n = t // O
        o = t - n * O
        dst = out[o, n]
        src = g[n0 + n, o]
        for p in range(P):
            dst[p] = src[p]
