"""Resizing feature maps: ``interpolate`` (nearest, nearest-exact, linear,
bilinear, bicubic, trilinear, area) and ``pixel_shuffle`` / ``pixel_unshuffle``.

Every interpolation mode is linear in the input and acts on each spatial axis
separately: along an axis of length L_in it is an (L_out, L_in) matrix M whose
row o holds the weights output o gives to the input positions (nearest: a
single 1; linear: 1 - t and t on the two neighbours; bicubic: Keys' four
taps; area: 1/|bin| on a bin). So

    forward:   y = x x_1 M_1 x_2 M_2 ...       (one matrix product per axis)
    backward:  dE/dx = g x_1 M_1^T x_2 M_2^T ... (the transposed matrices)

The matrices are built once per call from the coordinate rules of PyTorch
(``area_pixel_compute_source_index``): with align_corners=False the source
coordinate of output o is s = (o + 1/2) * scale - 1/2, scale = L_in / L_out
(or 1 / scale_factor when that was given); with align_corners=True,
s = o * (L_in - 1) / (L_out - 1), which keeps the corner pixels aligned.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from ...autograd.function import Function
from ...backend import array_module
from ...tensor import Tensor
from ._errors import ArgumentError, DtypeNotSupported

__all__ = ["interpolate", "upsample", "upsample_nearest", "upsample_bilinear", "pixel_shuffle",
           "pixel_unshuffle"]

_MODES = {"nearest": (3, 4, 5), "nearest-exact": (3, 4, 5), "area": (3, 4, 5), "linear": (3,),
          "bilinear": (4,), "bicubic": (4,), "trilinear": (5,)}
_INTERPOLATING = ("linear", "bilinear", "bicubic", "trilinear")
_CUBIC_A = -0.75     # Keys' cubic convolution parameter, as PyTorch


# ---------------------------------------------------------------- taps and matrices
# Each output position o along an axis reads a few input positions ("taps"):
# out[o] = sum_t w_t[o] * in[idx_t[o]]. For finite inputs the taps are applied as
# one dense (L_out, L_in) matrix (a GEMM, fast); an input holding inf/NaN takes
# the taps one by one, so a non-finite value reaches only the outputs whose
# taps read it -- as PyTorch, where a zero-weight tap on an inf still gives NaN
# (0 * inf) but the rows that never read it stay finite.
def _coordinate_scale(L_in, L_out, align_corners, scale_factor):
    if align_corners:
        return (L_in - 1) / (L_out - 1) if L_out > 1 else 0.0
    return 1.0 / scale_factor if scale_factor is not None else L_in / L_out


def _nearest_taps(L_in, L_out, scale_factor, exact):
    # PyTorch computes the nearest index in float32 (nearest_idx with a float scale).
    scale = np.float32(1.0 / scale_factor if scale_factor is not None else L_in / L_out)
    o = np.arange(L_out, dtype=np.float32)
    src = np.floor((o + np.float32(0.5)) * scale if exact else o * scale).astype(np.int64)
    if not exact and L_out == 2 * L_in:
        src = np.arange(L_out) // 2
    if L_out == L_in:
        src = np.arange(L_out)
    return [(np.minimum(src, L_in - 1), np.ones(L_out), None)]


def _linear_taps(L_in, L_out, align_corners, scale_factor):
    scale = _coordinate_scale(L_in, L_out, align_corners, scale_factor)
    o = np.arange(L_out, dtype=np.float64)
    src = o * scale if align_corners else np.maximum((o + 0.5) * scale - 0.5, 0.0)
    i0 = np.minimum(np.floor(src).astype(np.int64), L_in - 1)
    i1 = np.minimum(i0 + 1, L_in - 1)
    t = src - i0
    return [(i0, 1.0 - t, None), (i1, t, None)]


def _cubic_weight(d):
    """Keys (1981) cubic convolution kernel at distance |d| (a = -0.75)."""
    A = _CUBIC_A
    d = np.abs(d)
    near = ((A + 2) * d - (A + 3)) * d * d + 1
    far = ((A * d - 5 * A) * d + 8 * A) * d - 4 * A
    return np.where(d <= 1, near, np.where(d < 2, far, 0.0))


def _cubic_taps(L_in, L_out, align_corners, scale_factor):
    scale = _coordinate_scale(L_in, L_out, align_corners, scale_factor)
    o = np.arange(L_out, dtype=np.float64)
    src = o * scale if align_corners else (o + 0.5) * scale - 0.5      # not clamped for cubic
    i = np.floor(src).astype(np.int64)
    t = src - i
    # taps i-1 .. i+2, indices clamped to the border
    return [(np.clip(i + k, 0, L_in - 1), _cubic_weight(t - k), None) for k in (-1, 0, 1, 2)]


def _area_taps(L_in, L_out):
    """Adaptive average pooling bins [floor(o L_in / L_out), ceil((o + 1) L_in / L_out));
    taps past a short bin's end are masked out (not read at all)."""
    o = np.arange(L_out)
    start, end = (o * L_in) // L_out, -((-(o + 1) * L_in) // L_out)
    w = 1.0 / (end - start)
    return [(np.minimum(start + j, L_in - 1), w, (start + j) < end) for j in range(int((end - start).max()))]


def _aa_taps(mode, L_in, L_out, align_corners, scale_factor):
    """Antialiased resampling taps (PyTorch's ``antialias=True``, as PIL): when shrinking by
    ``scale`` > 1 the filter -- triangle for bilinear, Keys' cubic with a = -0.5 for
    bicubic -- is stretched by ``scale``, so each output averages every input it
    covers; the weights of an output are normalized to sum to 1."""
    size = 2 if mode == "bilinear" else 4
    scale = _coordinate_scale(L_in, L_out, align_corners, scale_factor)
    support = size / 2 * scale if scale >= 1 else size / 2
    inv = 1.0 / scale if scale >= 1 else 1.0
    o = np.arange(L_out, dtype=np.float64)
    center = scale * (o + 0.5)
    xmin = np.maximum((center - support + 0.5).astype(np.int64), 0)
    xsize = np.minimum((center + support + 0.5).astype(np.int64), L_in) - xmin

    def filt(x):
        x = np.abs(x)
        if mode == "bilinear":
            return np.where(x < 1, 1 - x, 0.0)
        a = -0.5
        near = ((a + 2) * x - (a + 3)) * x * x + 1
        far = ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
        return np.where(x < 1, near, np.where(x < 2, far, 0.0))

    span = int(xsize.max())
    j = np.arange(span)[None, :]
    valid = j < xsize[:, None]
    w = np.where(valid, filt((j + xmin[:, None] - center[:, None] + 0.5) * inv), 0.0)
    total = w.sum(1, keepdims=True)
    w = np.divide(w, total, out=np.zeros_like(w), where=total != 0)
    idx = np.minimum(xmin[:, None] + j, L_in - 1)
    return [(idx[:, k], w[:, k], valid[:, k]) for k in range(span)]


def _taps(mode, L_in, L_out, align_corners, scale_factor, antialias=False):
    if antialias:
        return _aa_taps(mode, L_in, L_out, align_corners, scale_factor)
    if mode in ("nearest", "nearest-exact"):
        return _nearest_taps(L_in, L_out, scale_factor, mode == "nearest-exact")
    if mode == "area":
        return _area_taps(L_in, L_out)
    if mode == "bicubic":
        return _cubic_taps(L_in, L_out, align_corners, scale_factor)
    return _linear_taps(L_in, L_out, align_corners, scale_factor)


def _dense(taps, L_in):
    """The (L_out, L_in) matrix of a list of taps."""
    L_out = len(taps[0][0])
    M = np.zeros((L_out, L_in))
    for idx, w, valid in taps:
        np.add.at(M, (np.arange(L_out), idx), w if valid is None else w * valid)
    return M


class _Matrices(tuple):
    """The per-axis (L_out, L_in) matrices Resample multiplies by (what the ONNX
    exporter reads), carrying the ``taps`` they were made of."""

    def __new__(cls, taps, spatial):
        self = super().__new__(cls, (_dense(t, L) for t, L in zip(taps, spatial)))
        self.taps = tuple(taps)
        return self


def _apply_taps(a, taps, axis):
    """sum_t w_t * a[idx_t] along ``axis``, masked taps not read (the non-finite path)."""
    xp = array_module(a)
    shape = [1] * a.ndim
    shape[axis] = -1
    out = None
    for idx, w, valid in taps:
        term = xp.take(a, xp.asarray(idx), axis=axis) * xp.asarray(w, dtype=a.dtype).reshape(shape)
        if valid is not None:
            term = xp.where(xp.asarray(valid).reshape(shape), term, a.dtype.type(0))
        out = term if out is None else out + term
    return out


# ---------------------------------------------------------------- the op
def _along(a, M, axis):
    """Contract ``a``'s ``axis`` with the matrix M (L_out, L_in): result axis has length L_out."""
    xp = array_module(a)
    return xp.moveaxis(xp.tensordot(a, M, axes=([axis], [1])), -1, axis)


class Resample(Function):
    """y = x contracted along each spatial axis k with M_k (L_out_k, L_in_k);
    dE/dx = g contracted with each M_k^T (see the module docstring).

    x: (N, C, *spatial_in) -> y: (N, C, *spatial_out). ``matrices`` (a
    ``_Matrices``) also holds each M_k's taps, applied one by one when x holds inf/NaN.
    """

    @staticmethod
    def forward(ctx, x, matrices):
        xp = array_module(x)
        ms = [xp.asarray(M, dtype=x.dtype) for M in matrices]
        ctx.matrices = ms
        out = x
        taps = getattr(matrices, "taps", None)
        if taps is None or bool(xp.isfinite(x).all()):
            for k, M in enumerate(ms):
                out = _along(out, M, 2 + k)
        else:
            with np.errstate(invalid="ignore"):      # 0 * inf = NaN is the point here
                for k, t in enumerate(taps):
                    out = _apply_taps(out, t, 2 + k)
        return xp.ascontiguousarray(out)

    @staticmethod
    def backward(ctx, g):
        out = g
        for k, M in enumerate(ctx.matrices):
            out = _along(out, M.T, 2 + k)
        return array_module(g).ascontiguousarray(out), None


def _per_axis(value, n, name):
    if isinstance(value, (tuple, list)):
        if len(value) != n:
            raise ArgumentError(f"interpolate: Input and {name} must have the same number of spatial dimensions, "
                                f"but got input with spatial dimensions of {n} and {name} of {tuple(value)}. "
                                f"Please provide input tensor in (N, C, d1, d2, ...,dK) format and {name} in "
                                f"(o1, o2, ...,oK) format.")
        return tuple(value)
    return (value,) * n


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """interpolate(input, size=None, scale_factor=None, mode='nearest', align_corners=None,
    recompute_scale_factor=None, antialias=False): resize the spatial dims.

    Args:
        input: ``(N, C, L)``, ``(N, C, H, W)`` or ``(N, C, D, H, W)``.
        size: the output's spatial size (int or one per spatial dim), or
        scale_factor: multiplier(s); the output size is floor(L_in * scale_factor).
        mode: 'nearest' (PyTorch's legacy rule src = floor(o * scale)),
            'nearest-exact' (src = floor((o + 1/2) * scale)), 'linear' (3-D),
            'bilinear' / 'bicubic' (4-D), 'trilinear' (5-D), 'area' (adaptive average).
        align_corners: for the interpolating modes only (default False).
        recompute_scale_factor: with scale_factor, map coordinates with
            L_in / L_out instead of 1 / scale_factor.
        antialias: with 'bilinear'/'bicubic' on 4-D input, low-pass filter while
            shrinking (each output averages all inputs under its stretched kernel).

    Shape: ``(N, C, *in) -> (N, C, *out)``; backward is the transposed resampling.
    """
    op = "interpolate"
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: input must be a neuronet Tensor, received {type(input).__name__}")
    if mode not in _MODES:
        raise NotImplementedError(f"{op}: mode {mode!r} is not supported; expected one of {sorted(_MODES)}")
    if input.ndim not in (3, 4, 5):
        raise NotImplementedError(f"Input Error: Only 3D, 4D and 5D input Tensors supported (got {input.ndim}D) "
                                  f"for the modes: nearest | linear | bilinear | bicubic | trilinear | area "
                                  f"| nearest-exact (got {mode})")
    if input.ndim not in _MODES[mode]:
        want = {3: "3D", 4: "4D", 5: "5D"}[_MODES[mode][0]]
        raise NotImplementedError(f"{op}: mode {mode!r} needs a {want} input, received a {input.ndim}D input "
                                  f"of shape {tuple(input.shape)}")
    if input.dtype.kind != "f":
        raise DtypeNotSupported(f"{op}: expected a floating-point input, received dtype {input.dtype}")
    if align_corners is not None and mode not in _INTERPOLATING:
        raise ArgumentError("align_corners option can only be set with the interpolating modes: "
                            "linear | bilinear | bicubic | trilinear")
    if antialias and not (mode in ("bilinear", "bicubic") and input.ndim == 4):
        raise ArgumentError("Anti-alias option is restricted to bilinear and bicubic modes and requires a 4-D "
                            f"tensor as input, received mode={mode!r} and a {input.ndim}-D input")
    align_corners = bool(align_corners)
    n = input.ndim - 2
    spatial = tuple(input.shape[2:])
    if (size is None) == (scale_factor is None):
        raise ArgumentError("only one of size or scale_factor should be defined" if size is not None
                            else "either size or scale_factor should be defined")
    if size is not None:
        out = _per_axis(size, n, "size")
        if any(isinstance(s, bool) or not isinstance(s, numbers.Integral) or s <= 0 for s in out):
            raise ArgumentError(f"{op}: size must be positive ints, received {size!r}")
        out = tuple(int(s) for s in out)
        factors = (None,) * n
    else:
        factors = tuple(float(f) for f in _per_axis(scale_factor, n, "scale_factor"))
        if any(not f > 0 or math.isinf(f) for f in factors):
            raise ArgumentError(f"{op}: scale_factor must be positive and finite, received {scale_factor!r}")
        out = tuple(int(math.floor(L * f)) for L, f in zip(spatial, factors))
        if any(s <= 0 for s in out):
            raise ArgumentError(f"{op}: scale_factor {scale_factor!r} gives an empty output for input size "
                                f"{spatial}")
        if recompute_scale_factor:
            factors = (None,) * n
    if mode == "area":
        factors = (None,) * n
    taps = tuple(_taps(mode, L_in, L_out, align_corners, f, bool(antialias))
                 for L_in, L_out, f in zip(spatial, out, factors))
    return Resample.apply(input, _Matrices(taps, spatial))


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    """The deprecated name of :func:`interpolate`."""
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None):
    """``interpolate(input, size, scale_factor, mode='nearest')`` (deprecated name)."""
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input, size=None, scale_factor=None):
    """``interpolate(input, size, scale_factor, mode='bilinear', align_corners=True)`` (deprecated name)."""
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


# ---------------------------------------------------------------- pixel shuffle
def _check_shuffle(op, input, factor, name):
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: input must be a neuronet Tensor, received {type(input).__name__}")
    if isinstance(factor, bool) or not isinstance(factor, numbers.Integral) or factor <= 0:
        raise RuntimeError(f"{op}: {name} must be greater than 0, but got {factor!r}")
    if input.ndim < 3:
        raise RuntimeError(f"{op}: expected an input with at least 3 dims (*, C, H, W), received shape "
                           f"{tuple(input.shape)}")
    return int(factor)


def pixel_shuffle(input, upscale_factor):
    """pixel_shuffle(input, r): (*, C r^2, H, W) -> (*, C, H r, W r), out[c, h r + i, w r + j] =
    in[c r^2 + i r + j, h, w] (Shi et al. 2016, sub-pixel convolution). A pure
    rearrangement: its backward is the inverse rearrangement (pixel_unshuffle)."""
    op = "pixel_shuffle"
    r = _check_shuffle(op, input, upscale_factor, "upscale_factor")
    *lead, c, h, w = input.shape
    if c % (r * r):
        raise RuntimeError(f"{op}: expected the channel dimension ({c}) to be divisible by the square of "
                           f"upscale_factor ({r * r})")
    k = len(lead)
    x = input.reshape(*lead, c // (r * r), r, r, h, w)
    x = x.permute(*range(k), k, k + 3, k + 1, k + 4, k + 2)
    return x.reshape(*lead, c // (r * r), h * r, w * r)


def pixel_unshuffle(input, downscale_factor):
    """pixel_unshuffle(input, r): (*, C, H r, W r) -> (*, C r^2, H, W), the inverse of
    :func:`pixel_shuffle`."""
    op = "pixel_unshuffle"
    r = _check_shuffle(op, input, downscale_factor, "downscale_factor")
    *lead, c, hr, wr = input.shape
    if hr % r or wr % r:
        raise RuntimeError(f"{op}: expected the height ({hr}) and width ({wr}) to be divisible by "
                           f"downscale_factor ({r})")
    k = len(lead)
    x = input.reshape(*lead, c, hr // r, r, wr // r, r)
    x = x.permute(*range(k), k, k + 2, k + 4, k + 1, k + 3)
    return x.reshape(*lead, c * r * r, hr // r, wr // r)
