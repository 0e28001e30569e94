"""Spatial transformers (Jaderberg et al. 2015): ``affine_grid`` builds the
sampling grid of an affine map, ``grid_sample`` reads the input at the grid's
points by bilinear, nearest or bicubic interpolation.

Coordinates are normalized: -1 and +1 are the input's edges -- the centres of
the corner pixels with ``align_corners=True``, their outer edges with False
(the default). A grid point (x, y) reads input pixel coordinates

    ix = (x + 1) / 2 * (W - 1)           (align_corners=True)
    ix = ((x + 1) * W - 1) / 2           (align_corners=False), iy likewise.

Bilinear sampling, with x0 = floor(ix), t = ix - x0 (s likewise for y):

    out = v00 (1-t)(1-s) + v01 t (1-s) + v10 (1-t) s + v11 t s

Backward: dE/dinput scatters g times each corner's weight back to the corner
(the transpose of the gather); dE/dix = g . [(v01 - v00)(1 - s) + (v11 - v10) s]
(dE/diy likewise), times dix/dx = (W - 1)/2 or W/2. Out-of-range corners read
0 (padding_mode='zeros'); 'border' clamps ix, iy to the image (zero gradient
where clamped); 'reflection' mirrors them back in at the edges first (the
gradient's sign flips with each mirror). Bicubic reads the 4 x 4 taps around
(ix, iy) with Keys' cubic weights (a = -0.75) and applies the padding to each
tap's integer position, as PyTorch.
"""
from __future__ import annotations

import warnings

import numpy as np

from ...autograd.function import Function
from ...backend import array_module, scatter_add
from ...tensor import Tensor
from ._errors import ArgumentError

__all__ = ["affine_grid", "grid_sample"]


def _base_coords(n, align_corners, xp, dtype):
    """The normalized pixel centres along one axis, rounded exactly as PyTorch rounds them:
    ``linspace(-1, 1, n)`` -- each half stepped from its own end, ``start + step * i`` with
    one rounding (a fused multiply-add) -- then, without ``align_corners``, times ``n - 1``
    and divided by ``n``. A centre one ulp off moves an exact sample point across a pixel
    boundary and so changes the gradient with respect to the grid (an STN initialised
    to the identity samples exactly there)."""
    dt = xp.dtype(dtype)
    if n == 1:
        return xp.zeros(1, dtype=dt)
    step = dt.type(2) / dt.type(n - 1)
    # the wider type makes step * i exact (float32) or nearly so (float64 in long double)
    wide = xp.float64 if dt == xp.float32 else getattr(xp, "longdouble", xp.float64)
    i = xp.arange(n, dtype=wide)
    s = wide(step)
    coords = xp.where(xp.arange(n) < n // 2, wide(-1) + s * i, wide(1) - s * (wide(n - 1) - i))
    coords = coords.astype(dt)
    if align_corners:
        return coords
    return (coords * dt.type(n - 1)).astype(dt) / dt.type(n)


def affine_grid(theta, size, align_corners=None):
    """affine_grid(theta, size, align_corners=None): the sampling grid of the affine
    maps ``theta`` (N, 2, 3) for an output of ``size`` (N, C, H, W): grid[n, i, j] =
    theta[n] @ (x_j, y_i, 1) with (x_j, y_i) the normalized output pixel centres.
    Shape: (N, H, W, 2). For volumes, theta (N, 3, 4) and size (N, C, D, H, W) give
    grid[n, k, i, j] = theta[n] @ (x_j, y_i, z_k, 1), shape (N, D, H, W, 3).
    Differentiable with respect to theta."""
    op = "affine_grid"
    if not isinstance(theta, Tensor) or theta.dtype.kind != "f":
        raise TypeError(f"{op}: Expected theta to have floating point type, received "
                        f"{type(theta).__name__ if not isinstance(theta, Tensor) else theta.dtype}")
    size = tuple(int(s) for s in size)
    if len(size) not in (4, 5):
        raise NotImplementedError(f"{op}: only 4-D sizes (N, C, H, W) and 5-D sizes (N, C, D, H, W) are "
                                  f"supported (2-D and 3-D affine transforms), received size {list(size)}")
    k = len(size) - 2                       # spatial dims: 2 or 3
    N, spatial = size[0], size[2:]
    align_corners = _default_align(align_corners, op)
    if theta.ndim != 3 or tuple(theta.shape[1:]) != (k, k + 1) or theta.shape[0] != N:
        raise ArgumentError(f"Expected a batch of {k}D affine matrices of shape Nx{k}x{k + 1} for size "
                            f"{list(size)}. Got {list(theta.shape)}.")
    xp = array_module(theta.array)
    # one coordinate axis per spatial dim, x along the last (W), then y (H), then z (D)
    axes = [_base_coords(n, bool(align_corners), xp, theta.dtype) for n in spatial]
    coords = []
    for a in reversed(range(k)):
        shape = [1] * k
        shape[a] = spatial[a]
        coords.append(xp.broadcast_to(axes[a].reshape(shape), spatial))
    coords.append(xp.ones(spatial, dtype=theta.dtype))
    base = xp.stack(coords, -1).reshape(1, -1, k + 1)
    grid = Tensor._wrap(base) @ theta.transpose(1, 2)               # (N, prod(spatial), k)
    return grid.reshape(N, *spatial, k)


def _default_align(align_corners, op):
    if align_corners is None:
        # PyTorch's warning for the default, which changed in its version 1.3.0
        warnings.warn(f"Default grid_sample and affine_grid behavior has changed to align_corners=False since "
                      f"1.3.0. Please specify align_corners=True if the old behavior is desired. See the "
                      f"documentation of {op} for details.", UserWarning, stacklevel=3)
        return False
    return bool(align_corners)


def _unnormalize(coord, size, align_corners):
    if align_corners:
        return (coord + 1) / 2 * (size - 1), (size - 1) / 2
    return ((coord + 1) * size - 1) / 2, size / 2


def _reflect(c, size, align_corners, xp):
    """Coordinates mirrored into [0, size - 1] (align_corners) or [-0.5, size - 0.5], as
    PyTorch's 'reflection' padding; also d(out)/d(c) (+1 or -1 per point)."""
    lo2, hi2 = (0, 2 * (size - 1)) if align_corners else (-1, 2 * size - 1)
    if lo2 == hi2:
        return xp.zeros_like(c), xp.zeros_like(c)
    low, span = lo2 / 2, (hi2 - lo2) / 2
    d = c - low
    a = xp.abs(d)
    flips = xp.floor(a / span)
    extra = xp.fmod(a, span)
    even = (flips % 2) == 0
    out = xp.where(even, extra + low, span - extra + low)
    slope = xp.where(d < 0, -1, 1) * xp.where(even, 1, -1)
    return out, slope.astype(c.dtype, copy=False)


class GridSample(Function):
    """out[n, c, i, j] = input[n, c] read at grid[n, i, j] (see the module docstring).

    input (N, C, H, W), grid (N, Ho, Wo, 2) -> out (N, C, Ho, Wo).
    """

    @staticmethod
    def forward(ctx, x, grid, mode, padding_mode, align_corners):
        xp = array_module(x)
        N, C, H, W = x.shape
        ix, sx = _unnormalize(grid[..., 0], W, align_corners)
        iy, sy = _unnormalize(grid[..., 1], H, align_corners)
        clip_x = clip_y = None
        if padding_mode == "reflection":
            ix, slope_x = _reflect(ix, W, align_corners, xp)
            iy, slope_y = _reflect(iy, H, align_corners, xp)
        if padding_mode in ("border", "reflection"):
            clip_x = (ix >= 0) & (ix <= W - 1)          # gradient passes only where not clamped
            clip_y = (iy >= 0) & (iy <= H - 1)
            if padding_mode == "reflection":
                clip_x, clip_y = clip_x * slope_x, clip_y * slope_y
            ix, iy = xp.clip(ix, 0, W - 1), xp.clip(iy, 0, H - 1)
        n_idx = xp.arange(N).reshape(N, 1, 1)

        def read(yc, xc):
            valid = (xc >= 0) & (xc < W) & (yc >= 0) & (yc < H)
            v = x[n_idx, :, xp.clip(yc, 0, H - 1), xp.clip(xc, 0, W - 1)]        # (N, Ho, Wo, C)
            return v * valid[..., None], valid

        ctx.params = (x.shape, mode, sx, sy)
        if mode == "nearest":
            xn, yn = xp.rint(ix).astype(np.int64), xp.rint(iy).astype(np.int64)
            v, valid = read(yn, xn)
            ctx.save_for_backward(yn, xn, valid)
            return xp.ascontiguousarray(v.transpose(0, 3, 1, 2))
        x0, y0 = xp.floor(ix).astype(np.int64), xp.floor(iy).astype(np.int64)
        t, s = (ix - x0).astype(x.dtype), (iy - y0).astype(x.dtype)
        v00, m00 = read(y0, x0)
        v01, m01 = read(y0, x0 + 1)
        v10, m10 = read(y0 + 1, x0)
        v11, m11 = read(y0 + 1, x0 + 1)
        tt, ss = t[..., None], s[..., None]
        out = v00 * (1 - tt) * (1 - ss) + v01 * tt * (1 - ss) + v10 * (1 - tt) * ss + v11 * tt * ss
        ctx.save_for_backward(x0, y0, t, s, m00, m01, m10, m11, v00, v01, v10, v11, clip_x, clip_y)
        return xp.ascontiguousarray(out.transpose(0, 3, 1, 2))

    @staticmethod
    def backward(ctx, g):
        (N, C, H, W), mode, sx, sy = ctx.params
        xp = array_module(g)
        gl = g.transpose(0, 2, 3, 1)                                       # (N, Ho, Wo, C)
        n_idx = xp.arange(N).reshape(N, 1, 1)
        gx = xp.zeros((N, H, W, C), dtype=g.dtype) if ctx.needs_input_grad[0] else None

        def scatter(yc, xc, weight, valid):
            scatter_add(gx, (n_idx, xp.clip(yc, 0, H - 1), xp.clip(xc, 0, W - 1)),
                        gl * (weight * valid)[..., None])

        if mode == "nearest":
            yn, xn, valid = ctx.saved_tensors
            if gx is not None:
                scatter(yn, xn, xp.ones(yn.shape, dtype=g.dtype), valid)
            ggrid = xp.zeros(yn.shape + (2,), dtype=g.dtype) if ctx.needs_input_grad[1] else None
        else:
            x0, y0, t, s, m00, m01, m10, m11, v00, v01, v10, v11, clip_x, clip_y = ctx.saved_tensors
            if gx is not None:
                scatter(y0, x0, (1 - t) * (1 - s), m00)
                scatter(y0, x0 + 1, t * (1 - s), m01)
                scatter(y0 + 1, x0, (1 - t) * s, m10)
                scatter(y0 + 1, x0 + 1, t * s, m11)
            ggrid = None
            if ctx.needs_input_grad[1]:
                tt, ss = t[..., None], s[..., None]
                d_ix = (gl * ((v01 - v00) * (1 - ss) + (v11 - v10) * ss)).sum(-1) * sx
                d_iy = (gl * ((v10 - v00) * (1 - tt) + (v11 - v01) * tt)).sum(-1) * sy
                if clip_x is not None:
                    d_ix, d_iy = d_ix * clip_x, d_iy * clip_y
                ggrid = xp.stack([d_ix, d_iy], -1).astype(g.dtype, copy=False)
        if gx is not None:
            gx = xp.ascontiguousarray(gx.transpose(0, 3, 1, 2))
        return gx, ggrid, None, None, None


_CUBIC_A = -0.75     # Keys' cubic convolution parameter, as PyTorch


def _cubic_coefficients(t):
    """The 4 weights of taps floor(c) - 1 .. floor(c) + 2 at fraction t, and their d/dt (Keys 1981)."""
    A = _CUBIC_A

    def near(x):
        return ((A + 2) * x - (A + 3)) * x * x + 1

    def far(x):
        return ((A * x - 5 * A) * x + 8 * A) * x - 4 * A

    def d_near(x):
        return (3 * (A + 2) * x - 2 * (A + 3)) * x

    def d_far(x):
        return (3 * A * x - 10 * A) * x + 8 * A

    w = [far(t + 1), near(t), near(1 - t), far(2 - t)]
    dw = [d_far(t + 1), d_near(t), -d_near(1 - t), -d_far(2 - t)]
    return w, dw


def _tap_coordinates(c, size, padding_mode, align_corners, xp):
    """Integer tap positions mapped by the padding mode; ``valid`` False where 'zeros' reads 0."""
    if padding_mode == "reflection":
        c, _ = _reflect(c.astype(np.float64), size, align_corners, xp)
        c = xp.clip(c, 0, size - 1)
    elif padding_mode == "border":
        c = xp.clip(c, 0, size - 1)
    c = c.astype(np.int64)
    return xp.clip(c, 0, size - 1), (c >= 0) & (c < size)


class GridSampleBicubic(Function):
    """out[n, c, i, j] = sum over 4 x 4 taps around grid[n, i, j] of the input times
    the cubic weights wx_a(tx) wy_b(ty) (Keys' kernel, a = -0.75, as PyTorch); taps
    outside the input follow ``padding_mode``. dE/dinput: g w_a w_b scattered to the
    taps; dE/dgrid: g sum_ab v_ab w_a'(tx) w_b(ty) (x), likewise y, times the
    unnormalization scale.
    """

    @staticmethod
    def forward(ctx, x, grid, padding_mode, align_corners):
        xp = array_module(x)
        N, C, H, W = x.shape
        ix, sx = _unnormalize(grid[..., 0], W, align_corners)
        iy, sy = _unnormalize(grid[..., 1], H, align_corners)
        x0, y0 = xp.floor(ix), xp.floor(iy)
        tx, ty = (ix - x0).astype(x.dtype), (iy - y0).astype(x.dtype)
        wx, dwx = _cubic_coefficients(tx)
        wy, dwy = _cubic_coefficients(ty)
        n_idx = xp.arange(N).reshape(N, 1, 1)
        cols = [_tap_coordinates(x0 - 1 + a, W, padding_mode, align_corners, xp) for a in range(4)]
        rows = [_tap_coordinates(y0 - 1 + b, H, padding_mode, align_corners, xp) for b in range(4)]
        out = xp.zeros(ix.shape + (C,), dtype=x.dtype)
        values = {}
        for b, (yc, vy) in enumerate(rows):
            for a, (xc, vx) in enumerate(cols):
                v = x[n_idx, :, yc, xc] * (vx & vy)[..., None]            # (N, Ho, Wo, C)
                values[a, b] = v
                out += v * (wx[a] * wy[b])[..., None]
        ctx.params = (x.shape, sx, sy)
        ctx.taps = (rows, cols, wx, wy, dwx, dwy, values)
        return xp.ascontiguousarray(out.transpose(0, 3, 1, 2))

    @staticmethod
    def backward(ctx, g):
        (N, C, H, W), sx, sy = ctx.params
        rows, cols, wx, wy, dwx, dwy, values = ctx.taps
        xp = array_module(g)
        gl = g.transpose(0, 2, 3, 1)                                       # (N, Ho, Wo, C)
        n_idx = xp.arange(N).reshape(N, 1, 1)
        gx = xp.zeros((N, H, W, C), dtype=g.dtype) if ctx.needs_input_grad[0] else None
        d_ix = xp.zeros(gl.shape[:-1], dtype=g.dtype)
        d_iy = xp.zeros(gl.shape[:-1], dtype=g.dtype)
        for b, (yc, vy) in enumerate(rows):
            for a, (xc, vx) in enumerate(cols):
                if gx is not None:
                    scatter_add(gx, (n_idx, yc, xc), gl * ((wx[a] * wy[b]) * (vx & vy))[..., None])
                gv = (gl * values[a, b]).sum(-1)
                d_ix += gv * (dwx[a] * wy[b])
                d_iy += gv * (wx[a] * dwy[b])
        ggrid = None
        if ctx.needs_input_grad[1]:
            ggrid = xp.stack([d_ix * sx, d_iy * sy], -1).astype(g.dtype, copy=False)
        if gx is not None:
            gx = xp.ascontiguousarray(gx.transpose(0, 3, 1, 2))
        return gx, ggrid, None, None


def grid_sample(input, grid, mode="bilinear", padding_mode="zeros", align_corners=None):
    """grid_sample(input, grid, mode='bilinear', padding_mode='zeros', align_corners=None):
    the input read at the normalized points of ``grid`` (see the module docstring).

    input (N, C, H, W), grid (N, Ho, Wo, 2) holding (x, y) in [-1, 1] -> (N, C, Ho, Wo).
    mode: 'bilinear', 'nearest' or 'bicubic' (4 x 4 taps, Keys' cubic kernel);
    padding_mode: 'zeros', 'border' or 'reflection' (points outside mirrored back in at
    the borders). Differentiable with respect to input and grid (bilinear, bicubic).
    """
    op = "grid_sample"
    for name, t in (("input", input), ("grid", grid)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}: {name} must be a neuronet Tensor, received {type(t).__name__}")
    if mode not in ("bilinear", "nearest", "bicubic"):
        raise ArgumentError(f"{op}: mode must be 'bilinear', 'nearest' or 'bicubic', received {mode!r}")
    if padding_mode not in ("zeros", "border", "reflection"):
        raise ArgumentError(f"{op}: padding_mode must be 'zeros', 'border' or 'reflection', "
                            f"received {padding_mode!r}")
    if input.ndim != 4 or grid.ndim != 4 or grid.shape[-1] != 2 or grid.shape[0] != input.shape[0]:
        raise RuntimeError(f"{op}: expected input (N, C, H, W) and grid (N, H_out, W_out, 2) with the same N, "
                           f"received input {tuple(input.shape)} and grid {tuple(grid.shape)}")
    if input.dtype != grid.dtype:
        raise RuntimeError(f"{op}: expected input and grid to have the same dtype, received {input.dtype} and "
                           f"{grid.dtype}")
    if mode == "bicubic":
        return GridSampleBicubic.apply(input, grid, padding_mode, _default_align(align_corners, op))
    return GridSample.apply(input, grid, mode, padding_mode, _default_align(align_corners, op))
