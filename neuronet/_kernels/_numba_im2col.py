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
    """out[c, n, i + a, j + b] += cols[c, a, b, n, i, j]"""
    C, kh, kw, N, ho, wo = cols.shape
    for c in range(C):
        for n in range(N):
            for a in range(kh):
                for i in range(ho):
                    dst = out[c, n, i + a]
                    for b in range(kw):
                        src = cols[c, a, b, n, i]
                        for j in range(wo):
                            dst[j + b] += src[j]
