"""Pooling: max, average, adaptive, and max-unpooling over (H, W) windows, NCHW.

Every op slides a kH x kW window with stride s, zero-or-minus-infinity padding
p and dilation d over each (H, W) plane of ``x: (N, C, H, W)`` (or an
unbatched ``(C, H, W)``, as PyTorch accepts), and reduces it::

    max:  y[n, c, i, j] = max_{a < kH, b < kW} x[n, c, i*sH - pH + a*dH, j*sW - pW + b*dW]
          dE/dx = dE/dy at the window's argmax, 0 elsewhere (summed over windows)
    avg:  y[n, c, i, j] = (1 / |window|) * sum_{a, b} x[n, c, i*sH - pH + a, j*sW - pW + b]
          dE/dx = dE/dy / |window| spread over every position of the window

    H_out = floor_or_ceil((H + 2*pH - dH*(kH - 1) - 1) / sH) + 1      (same for W)

With ``ceil_mode`` the last window may hang over the bottom/right edge, but it
must start inside the input or the left padding (PyTorch's rule), else the
output loses that row.

How it is vectorized: window offset (a, b) selects the same position in every
window at once, the strided view ``x[:, :, a*dH::sH, b*dW::sW]`` of shape
``(N, C, H_out, W_out)``. The kernels loop over the kH*kW offsets (never over
pixels or batch items), combining views with ``maximum`` / ``+``. The backward
writes through the same views of the gradient buffer; within one view every
position is distinct, so ``+=`` accumulates overlapping windows exactly and no
scatter-add is needed.

Max pooling keeps PyTorch's tie rule: the first maximum in the window's
row-major scan wins (strict ``>`` while scanning offsets in order), and a NaN
beats everything (the last NaN wins), so gradients route to the same element
PyTorch's CPU kernel picks.
"""
from __future__ import annotations

import numpy as np

from ... import _kernels
from ..._memory_format import is_channel_major
from ...autograd.function import Function
from ...backend import array_module
from ...tensor import Tensor
from .activation import relu
from .upsampling import _apply_taps, _area_taps
from ._errors import ArgumentError, DtypeError, DtypeNotSupported

__all__ = [
    "max_pool2d", "max_pool2d_with_indices", "avg_pool2d",
    "adaptive_max_pool2d", "adaptive_max_pool2d_with_indices", "adaptive_avg_pool2d",
    "max_unpool2d",
    "max_pool1d", "max_pool1d_with_indices", "avg_pool1d", "adaptive_max_pool1d", "adaptive_max_pool1d_with_indices",
    "adaptive_avg_pool1d", "max_unpool1d", "lp_pool1d", "lp_pool2d",
]


# ------------------------------------------------------------------ arguments
def _is_int(v):
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def _pair(value, name, op):
    """An int or a pair of ints -> a tuple (h, w)."""
    if _is_int(value):
        return int(value), int(value)
    if isinstance(value, (tuple, list)) and len(value) == 2 and all(_is_int(v) for v in value):
        return int(value[0]), int(value[1])
    raise TypeError(f"{op}: {name} must be an int or a pair of ints, received {value!r}")


def _hw(pair):
    return f"{pair[0]}x{pair[1]}"


def _as_pad_str(p):
    return str(p[0]) if p[0] == p[1] else str(p)


def _check_input(op, input, integers=False):
    """Validate ``input`` (Tensor, float -- or integer with ``integers`` --, 3-D or 4-D, non-empty planes)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: input must be a neuronet Tensor, received {type(input).__name__}")
    if input.ndim not in (3, 4):
        raise ArgumentError(f"{op}: expected a 4-D input (N, C, H, W) or an unbatched 3-D input "
                            f"(C, H, W), received shape {tuple(input.shape)} ({input.ndim}-D)")
    if input.dtype.kind != "f" and not (integers and input.dtype.kind in "iu"):
        kinds = "a floating-point or integer" if integers else "a floating-point"
        raise DtypeNotSupported(f"{op}: expected {kinds} input, received dtype {input.dtype}")
    if any(s == 0 for s in input.shape[-3:]):
        raise ArgumentError(f"{op}: expected non-empty channel and spatial dimensions, "
                            f"received input shape {tuple(input.shape)}")


def _batched(input):
    """Add the batch axis to an unbatched (C, H, W) input; say whether it was added."""
    return (input.unsqueeze(0), True) if input.ndim == 3 else (input, False)


def _out_len(L, k, s, p, d, ceil_mode):
    """PyTorch's ``pooling_output_shape`` for one axis."""
    num = L + 2 * p - d * (k - 1) - 1 + ((s - 1) if ceil_mode else 0)
    out = num // s + 1
    # ceil_mode: the last window must start inside the input or its left padding.
    if ceil_mode and (out - 1) * s >= L + p:
        out -= 1
    return out


def _window_args(op, input, kernel_size, stride, padding, dilation, ceil_mode):
    """Validate the window hyper-parameters; return them with (H_out, W_out)."""
    k = _pair(kernel_size, "kernel_size", op)
    s = k if stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0) \
        else _pair(stride, "stride", op)
    p = _pair(padding, "padding", op)
    d = _pair(dilation, "dilation", op)
    if min(k) <= 0:
        raise ArgumentError(f"{op}: kernel_size must be positive, received {kernel_size!r}")
    if min(s) <= 0:
        raise ArgumentError(f"{op}: stride must be positive, received {stride!r}")
    if min(d) <= 0:
        raise ArgumentError(f"{op}: dilation must be positive, received {dilation!r}")
    if min(p) < 0:
        raise ArgumentError(f"{op}: padding must be non-negative, received {padding!r}")
    if p[0] > k[0] // 2 or p[1] > k[1] // 2:
        raise ArgumentError(f"{op}: padding must be at most half the kernel size, received "
                            f"padding={_as_pad_str(p)} for kernel_size={_hw(k)}")
    H, W = input.shape[-2:]
    span = (d[0] * (k[0] - 1) + 1, d[1] * (k[1] - 1) + 1)
    padded = (H + 2 * p[0], W + 2 * p[1])
    if span[0] > padded[0] or span[1] > padded[1]:
        dil = "" if d == (1, 1) else f" (dilation {_hw(d)}: spans {_hw(span)})"
        raise ArgumentError(f"{op}: kernel {_hw(k)}{dil} is larger than the padded input "
                            f"{_hw(padded)} (input {tuple(input.shape)}, padding {_as_pad_str(p)})")
    out = (_out_len(H, k[0], s[0], p[0], d[0], ceil_mode),
           _out_len(W, k[1], s[1], p[1], d[1], ceil_mode))
    if min(out) < 1:  # pragma: no cover - implied by the check above; kept as a guard
        raise ArgumentError(f"{op}: output size {_hw(out)} would be < 1 for input {tuple(input.shape)}")
    return k, s, p, d, out


# ------------------------------------------------------------- window helpers
def _views(a, k, s, d, out):
    """Yield (offset, view): for offset o = a*kW + b the (N, C, H_out, W_out)
    strided view holding window position (a, b) of every window of ``a``."""
    (kH, kW), (sH, sW), (dH, dW), (Ho, Wo) = k, s, d, out
    for i in range(kH):
        for j in range(kW):
            yield i * kW + j, a[:, :, i * dH:i * dH + (Ho - 1) * sH + 1:sH,
                                j * dW:j * dW + (Wo - 1) * sW + 1:sW]


def _extent(L, k, s, p, d, out):
    """Length of the padded axis the windows need: top padding + input, or
    further when a ceil_mode window hangs over the far edge."""
    return max(p + L, (out - 1) * s + d * (k - 1) + 1)


def _needs_padding(shape, k, s, p, d, out):
    H, W = shape[-2:]
    return (p != (0, 0) or _extent(H, k[0], s[0], 0, d[0], out[0]) > H
            or _extent(W, k[1], s[1], 0, d[1], out[1]) > W)


def _padded(x, k, s, p, d, out, fill):
    """``x`` inside a buffer filled with ``fill`` (-inf for max, 0 for avg)
    that all windows fit in; ``x`` itself when no window leaves it."""
    if not _needs_padding(x.shape, k, s, p, d, out):
        return x
    xp = array_module(x)
    N, C, H, W = x.shape
    Hp = _extent(H, k[0], s[0], p[0], d[0], out[0])
    Wp = _extent(W, k[1], s[1], p[1], d[1], out[1])
    buf = xp.full((N, C, Hp, Wp), fill, dtype=x.dtype)
    buf[:, :, p[0]:p[0] + H, p[1]:p[1] + W] = x
    return buf


def _unpadded_grad(gbuf, x_shape, p):
    """Crop the padded gradient buffer back to the input's (H, W)."""
    H, W = x_shape[-2:]
    if gbuf.shape[-2:] == (H, W):
        return gbuf
    return gbuf[:, :, p[0]:p[0] + H, p[1]:p[1] + W].copy()


def _lowest(dtype):
    """The fill that never wins a max: -inf for floats, the smallest integer for ints."""
    return -np.inf if np.dtype(dtype).kind == "f" else np.iinfo(dtype).min


def _offset_dtype(k):
    return np.uint8 if k[0] * k[1] <= 256 else np.int32


def _max_track(x, k, s, p, d, out_hw):
    """Max over each window and the offset (a*kW + b) of its first maximum.

    Scans offsets in row-major order with a strict ``>`` (first maximum wins)
    and lets a NaN replace anything (the last NaN wins), as PyTorch's kernel.
    Returns ``(out, arg)``, both (N, C, H_out, W_out); ``arg`` is uint8 for
    windows of up to 256 positions.
    """
    xp = array_module(x)
    xpad = _padded(x, k, s, p, d, out_hw, _lowest(x.dtype))
    arg = xp.zeros(x.shape[:2] + tuple(out_hw), dtype=_offset_dtype(k))
    views = _views(xpad, k, s, d, out_hw)
    _, first = next(views)
    out = first.copy()
    # On the CPU: a fast scan, then a look for NaN (a host read) that sends us
    # to the exact scan. On a GPU that look would stall the stream every
    # forward, so the NaN-exact scan runs straight away (one more elementwise
    # pass per offset, no synchronisation).
    exact = xp is not np and out.dtype.kind == "f"
    if not exact:
        for o, v in views:
            # Three passes per offset; ``maximum`` lets a NaN through, so a NaN
            # anywhere shows in ``out`` and sends us to the exact scan below.
            upd = v > out
            xp.copyto(arg, xp.asarray(o, dtype=arg.dtype), where=upd)
            xp.maximum(out, v, out=out)
        exact = out.dtype.kind == "f" and bool(xp.isnan(out).any())
    if exact:
        arg[...] = 0
        out = first.copy()
        for o, v in _views(xpad, k, s, d, out_hw):
            upd = v > out
            upd |= v != v                  # NaN beats everything, the last NaN wins
            xp.copyto(out, v, where=upd)
            xp.copyto(arg, xp.asarray(o, dtype=arg.dtype), where=upd)
    if xpad is not x:
        # A window whose real elements are all -inf: the -inf padding seen
        # first would have "won"; PyTorch reports the first in-input position.
        stuck = out == _lowest(x.dtype)
        if xp is not np or bool(stuck.any()):         # on a GPU: no host read, always the where
            first = xp.asarray(_first_valid_offset(x.shape, k, s, p, d, out_hw), dtype=arg.dtype)
            arg = xp.where(stuck, first, arg)
    return out, arg


def _first_valid_offset(shape, k, s, p, d, out_hw):
    """(H_out, W_out) offsets of each window's first position inside the input."""
    def first(L, k, s, p, d, out):
        pos = np.arange(out)[:, None] * s - p + np.arange(k)[None, :] * d
        return np.argmax((pos >= 0) & (pos < L), axis=1)
    fh = first(shape[-2], k[0], s[0], p[0], d[0], out_hw[0])
    fw = first(shape[-1], k[1], s[1], p[1], d[1], out_hw[1])
    return fh[:, None] * k[1] + fw[None, :]


def _flat_indices(arg, in_hw, k, s, p, d):
    """Window offsets -> flat indices into each input (H, W) plane (int64)."""
    xp = array_module(arg)
    Ho, Wo = arg.shape[-2:]
    a = arg.astype(np.int64)
    rows = (xp.arange(Ho, dtype=np.int64) * s[0] - p[0])[:, None] + (a // k[1]) * d[0]
    cols = (xp.arange(Wo, dtype=np.int64) * s[1] - p[1])[None, :] + (a % k[1]) * d[1]
    return rows * in_hw[1] + cols


def _masker(g):
    """``mask -> g where mask, else 0``. ``g * mask`` is the fast form (several
    times faster than ``where`` into a strided view), but 0 * inf = NaN would
    leak a non-finite upstream gradient into positions that were not the max,
    so such gradients take ``where``."""
    xp = array_module(g)
    if xp is np and bool(xp.isfinite(g).all()):     # on a GPU: ``where`` always, no host read
        return lambda mask: g * mask
    return lambda mask: xp.where(mask, g, 0)


def _route_max_grad(g, arg, x_shape, k, s, p, d):
    """dE/dx: each dE/dy added at its window's argmax offset, 0 elsewhere."""
    xp = array_module(g)
    N, C, H, W = x_shape
    out_hw = g.shape[-2:]
    gbuf = xp.zeros((N, C, _extent(H, k[0], s[0], p[0], d[0], out_hw[0]),
                     _extent(W, k[1], s[1], p[1], d[1], out_hw[1])), dtype=g.dtype)
    masked = _masker(g)
    for o, gv in _views(gbuf, k, s, d, out_hw):
        gv += masked(arg == o)
    return _unpadded_grad(gbuf, x_shape, p)


# ---------------------------------------------------------------- max pooling
class _MaxPool2d(Function):
    """y_ij = max over window (i, j);  dE/dx = dE/dy at the argmax, 0 elsewhere.

    x: (N, C, H, W) -> y: (N, C, H_out, W_out) [, indices: int64, same shape].

    One rule -- the first maximum in row-major scan order wins ties, a NaN
    wins over anything (the last NaN) -- and three kernels, chosen by the seam
    (``neuronet._kernels``, op ``"max_pool2d"``):

    * ``"numba-2x2"``: 2x2/2 windows that tile the input, float NumPy arrays:
      one compiled pass computes the max and its uint8 offset; backward
      writes each input position once from it.
    * ``"numpy-tiled"``: windows that tile the input (kernel == stride, no
      padding or dilation, no ceil overhang) on NumPy arrays: forward is a
      chain of pairwise ``maximum`` over the kH*kW strided views; backward
      recomputes, at pooled resolution, which position equals the max, from
      the saved ``x`` and ``y`` instead of storing a full-size mask. (Its NaN
      and finiteness looks would read back to the host on a GPU.)
    * ``"tracked"`` (everything, NumPy or CuPy): scan the offsets tracking the
      argmax offset; save only that small uint8 map; backward adds dE/dy
      through the strided views of the gradient buffer where it points.

    The activations keep their memory layout: a channel-major ``(N, C, H, W)``
    view (what a convolution hands on) is pooled plane by plane without a copy.
    """

    @staticmethod
    def forward(ctx, x, k, s, p, d, out_hw, return_indices):
        ctx.geom = (x.shape, k, s, p, d)
        tiled = (k == s and p == (0, 0) and d == (1, 1)
                 and not _needs_padding(x.shape, k, s, p, d, out_hw))
        ctx.kernel = _kernels.select("max_pool2d", x, tiled=tiled, kernel=k,
                                     return_indices=return_indices)
        return ctx.kernel.forward(ctx, x, k, s, p, d, out_hw, return_indices)

    @staticmethod
    def backward(ctx, g):
        return ctx.kernel.backward(ctx, g)


def _leading_planes(x):
    """``x (A, B, H, W)`` as contiguous planes ``(A*B, H, W)`` without a copy when ``x`` is
    C-contiguous or a channel-major view (its first two axes swapped); the second result
    says which (``True``: planes in ``(B, A)`` order)."""
    xp = array_module(x)
    H, W = x.shape[-2:]
    if not x.flags.c_contiguous and is_channel_major(x):
        return x.transpose(1, 0, 2, 3).reshape(-1, H, W), True
    return xp.ascontiguousarray(x).reshape(-1, H, W), False


def _from_planes(y3, lead, swapped):
    """Inverse of :func:`_leading_planes` for per-plane results ``(A*B, h, w)``: a view shaped
    ``lead + (h, w)`` in the input's own layout."""
    hw = y3.shape[1:]
    if swapped:
        return y3.reshape((lead[1], lead[0]) + hw).transpose(1, 0, 2, 3)
    return y3.reshape(tuple(lead) + hw)


class _CompiledPool2x2:
    """Kernel ``"numba-2x2"`` of ``max_pool2d``: see :class:`_MaxPool2d`."""

    @staticmethod
    def forward(ctx, x, k, s, p, d, out_hw, return_indices):
        x3, swapped = _leading_planes(x)
        out3, arg3 = _kernels.select("maxpool2x2", x3)(x3)
        ctx.planes = (x.shape[:-2], swapped)
        ctx.save_for_backward(arg3)
        return _from_planes(out3, x.shape[:-2], swapped)

    @staticmethod
    def backward(ctx, g):
        (arg3,) = ctx.saved_tensors
        lead, swapped = ctx.planes
        x_shape = ctx.geom[0]
        if swapped:
            g3 = array_module(g).ascontiguousarray(g.transpose(1, 0, 2, 3)).reshape(arg3.shape)
        else:
            g3 = array_module(g).ascontiguousarray(g).reshape(arg3.shape)
        gx3 = _kernels.select("maxpool2x2_backward", g3)(g3, arg3, x_shape[-2:])
        return _from_planes(gx3, lead, swapped)


class _TiledPool:
    """Kernel ``"numpy-tiled"`` of ``max_pool2d``: see :class:`_MaxPool2d`."""

    @staticmethod
    def forward(ctx, x, k, s, p, d, out_hw, return_indices):
        xp = array_module(x)
        views = [v for _, v in _views(x, k, s, d, out_hw)]
        out = views[0].copy() if len(views) == 1 else xp.maximum(views[0], views[1])
        for v in views[2:]:
            xp.maximum(out, v, out=out)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x_shape, k, s, p, d = ctx.geom
        x, out = ctx.saved_tensors
        xp = array_module(g)
        if bool(xp.isnan(out).any()):
            # ``==`` cannot find a NaN maximum: take the exact scanning path.
            _, arg = _max_track(x, k, s, p, d, out.shape[-2:])
            return _route_max_grad(g, arg, x_shape, k, s, p, d)
        gx = xp.zeros(x_shape, dtype=g.dtype)
        finite = bool(xp.isfinite(g).all())     # see _masker
        last = k[0] * k[1] - 1
        taken = None        # windows whose max position has been found
        for (o, v), (_, gv) in zip(_views(x, k, s, d, out.shape[-2:]),
                                   _views(gx, k, s, d, out.shape[-2:])):
            if o == last:   # no NaN: a window with no earlier hit has its max here
                hit = ~taken if taken is not None else xp.ones(out.shape, dtype=bool)
            elif taken is None:
                hit = taken = v == out
            else:
                hit = v == out
                xp.greater(hit, taken, out=hit)   # hit and not taken: first max wins ties
                taken |= hit
            if finite:
                xp.multiply(g, hit, out=gv)
            else:
                xp.copyto(gv, g, where=hit)
        return gx


class _TrackedPool:
    """Kernel ``"tracked"`` of ``max_pool2d`` (any window, NumPy or CuPy): see :class:`_MaxPool2d`."""

    @staticmethod
    def forward(ctx, x, k, s, p, d, out_hw, return_indices):
        out, arg = _max_track(x, k, s, p, d, out_hw)
        ctx.save_for_backward(arg)
        if return_indices:
            return out, _flat_indices(arg, x.shape[-2:], k, s, p, d)
        return out

    @staticmethod
    def backward(ctx, g):
        x_shape, k, s, p, d = ctx.geom
        (arg,) = ctx.saved_tensors
        return _route_max_grad(g, arg, x_shape, k, s, p, d)


_kernels.register("max_pool2d", "numba-2x2", needs="numba",
                  when=lambda tiled, kernel, return_indices: tiled and kernel == (2, 2)
                  and not return_indices)(_CompiledPool2x2)
_kernels.register("max_pool2d", "numpy-tiled", needs="numpy", priority=5,
                  when=lambda tiled, kernel, return_indices: tiled and not return_indices)(_TiledPool)
_kernels.register("max_pool2d", "tracked")(_TrackedPool)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    r"""2-D max pooling over an input of several planes (``torch.nn.functional.max_pool2d``).

    .. math::
        y_{n,c,i,j} = \max_{a<k_H,\, b<k_W} x_{n,c,\, i s_H - p_H + a d_H,\; j s_W - p_W + b d_W}

    Padding positions count as :math:`-\infty` (never the max). Backward routes
    each :math:`\partial E/\partial y_{ij}` to the window's argmax (the first
    maximum in row-major scan order, as PyTorch), zero elsewhere; overlapping
    windows accumulate.

    Args:
        input: ``(N, C, H, W)`` or unbatched ``(C, H, W)``.
        kernel_size, stride (default: ``kernel_size``), padding, dilation:
            an int or an (h, w) pair. ``padding <= kernel_size // 2``.
        ceil_mode: ceil instead of floor in the output-size formula (the last
            window must still start inside the input or its left padding).
        return_indices: also return, for each output, the flat index
            ``h * W + w`` of its maximum within the input plane (int64, no
            gradient), as :func:`max_unpool2d` expects.

    Shape:
        ``H_out = floor_or_ceil((H + 2 p_H - d_H (k_H - 1) - 1) / s_H) + 1``, same for W.

    Example::

        >>> y = F.max_pool2d(x, 2)                      # (N, C, 28, 28) -> (N, C, 14, 14)
        >>> y, idx = F.max_pool2d(x, 3, 2, 1, return_indices=True)
    """
    op = "max_pool2d"
    _check_input(op, input, integers=True)      # integers: as PyTorch (no gradient)
    k, s, p, d, out_hw = _window_args(op, input, kernel_size, stride, padding, dilation, ceil_mode)
    x4, unbatched = _batched(input)
    res = _MaxPool2d.apply(x4, k, s, p, d, out_hw, bool(return_indices))
    if unbatched:
        res = tuple(r.squeeze(0) for r in res) if return_indices else res.squeeze(0)
    return res


def max_pool2d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode=False, return_indices=True):
    """:func:`max_pool2d` returning ``(output, indices)`` (PyTorch's name)."""
    return max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


# ------------------------------------------------------------ average pooling
def _avg_divisor(L, k, s, p, out, count_include_pad):
    """Per-output divisor along one axis, PyTorch's rule: the window clipped to
    the padded input (a ceil_mode overhang beyond it never counts), and further
    to the input itself unless ``count_include_pad``."""
    start = np.arange(out) * s - p
    end = np.minimum(start + k, L + p)
    if count_include_pad:
        return end - start
    return np.minimum(end, L) - np.maximum(start, 0)


class _AvgPool2d(Function):
    """y_ij = (1/D_ij) sum over window (i, j);  dE/dx = sum over windows of dE/dy_ij / D_ij.

    x: (N, C, H, W) -> y: (N, C, H_out, W_out). ``div`` is the divisor D: a
    scalar, or an (H_out, W_out) array when it varies near the borders.
    Windows that tile the input broadcast the gradient back in one copy;
    otherwise it is added through the kH*kW strided views of a zero buffer.
    """

    @staticmethod
    def forward(ctx, x, k, s, p, out_hw, div):
        xp = array_module(x)
        d = (1, 1)
        xpad = _padded(x, k, s, p, d, out_hw, 0)
        acc = None
        for _, v in _views(xpad, k, s, d, out_hw):
            acc = v.copy() if acc is None else xp.add(acc, v, out=acc)
        if x.dtype.kind in "iu":
            # integers, as PyTorch: the integer sum divided with truncation toward zero
            div = div if np.isscalar(div) else xp.asarray(div)
            q = xp.abs(acc) // xp.asarray(div, dtype=acc.dtype)
            return xp.where(acc < 0, -q, q).astype(x.dtype, copy=False)
        if not np.isscalar(div):
            div = xp.asarray(div, dtype=x.dtype)
        ctx.geom = (x.shape, k, s, p, out_hw, div)
        ctx.tiled = k == s and xpad is x and x.shape[-2:] == (out_hw[0] * k[0], out_hw[1] * k[1])
        return xp.divide(acc, div, out=acc).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        xp = array_module(g)
        x_shape, k, s, p, out_hw, div = ctx.geom
        gs = (g / div).astype(g.dtype, copy=False)
        N, C, Ho, Wo = g.shape
        if ctx.tiled:
            full = xp.broadcast_to(gs[:, :, :, None, :, None], (N, C, Ho, k[0], Wo, k[1]))
            return full.reshape(x_shape)
        H, W = x_shape[-2:]
        gbuf = xp.zeros((N, C, _extent(H, k[0], s[0], p[0], 1, Ho),
                         _extent(W, k[1], s[1], p[1], 1, Wo)), dtype=g.dtype)
        for _, gv in _views(gbuf, k, s, (1, 1), out_hw):
            gv += gs
        return _unpadded_grad(gbuf, x_shape, p)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    r"""2-D average pooling (``torch.nn.functional.avg_pool2d``).

    .. math::
        y_{n,c,i,j} = \frac{1}{D_{ij}} \sum_{a<k_H,\, b<k_W} x_{n,c,\, i s_H - p_H + a,\; j s_W - p_W + b}

    with zero padding. The divisor :math:`D_{ij}` is ``divisor_override`` if
    given; else the window's size clipped to the padded input
    (``count_include_pad=True``: zero padding counts, a ceil_mode overhang does
    not); else the number of real input elements in the window. Backward:
    :math:`\partial E/\partial x` receives :math:`\partial E/\partial y_{ij} / D_{ij}`
    at every position of window (i, j).

    Args:
        input: ``(N, C, H, W)`` or unbatched ``(C, H, W)``.
        kernel_size, stride (default: ``kernel_size``), padding: int or pair;
            ``padding <= kernel_size // 2``.
        ceil_mode, count_include_pad, divisor_override (non-zero int): as above.

    Shape:
        ``H_out = floor_or_ceil((H + 2 p_H - k_H) / s_H) + 1``, same for W.

    Example::

        >>> y = F.avg_pool2d(x, 2)                       # LeNet-5's subsampling
    """
    op = "avg_pool2d"
    _check_input(op, input, integers=True)      # integers: as PyTorch (truncating division, no gradient)
    k, s, p, _, out_hw = _window_args(op, input, kernel_size, stride, padding, 1, ceil_mode)
    if divisor_override is not None:
        if not _is_int(divisor_override):
            raise TypeError(f"{op}: divisor_override must be an int, received {divisor_override!r}")
        if divisor_override == 0:
            raise ArgumentError(f"{op}: divisor_override must be non-zero, received 0")
        div = int(divisor_override) if input.dtype.kind in "iu" else float(divisor_override)
    else:
        H, W = input.shape[-2:]
        dh = _avg_divisor(H, k[0], s[0], p[0], out_hw[0], count_include_pad)
        dw = _avg_divisor(W, k[1], s[1], p[1], out_hw[1], count_include_pad)
        div = dh[:, None] * dw[None, :]
        if (div == div.flat[0]).all():
            div = int(div.flat[0]) if input.dtype.kind in "iu" else float(div.flat[0])
    x4, unbatched = _batched(input)
    out = _AvgPool2d.apply(x4, k, s, p, out_hw, div)
    return out.squeeze(0) if unbatched else out


# ----------------------------------------------------------- adaptive pooling
def _adaptive_size(op, input, output_size):
    """Normalize ``output_size`` (int, pair, None entries = keep the input's)."""
    H, W = input.shape[-2:]
    if output_size is None or _is_int(output_size):
        pair = (output_size, output_size)
    elif isinstance(output_size, (tuple, list)) and len(output_size) == 2:
        pair = tuple(output_size)
    else:
        raise TypeError(f"{op}: output_size must be an int or a pair of ints (or None), "
                        f"received {output_size!r}")
    out = []
    for v, L in zip(pair, (H, W)):
        if v is None:
            out.append(L)
        elif _is_int(v):
            if v < 0:
                raise ArgumentError(f"{op}: output_size must be >= 0, received {output_size!r}")
            out.append(int(v))
        else:
            raise TypeError(f"{op}: output_size must be an int or a pair of ints (or None), "
                            f"received {output_size!r}")
    return tuple(out)


def _bins(L, out):
    """PyTorch's adaptive bins: [floor(i L / out), ceil((i + 1) L / out))."""
    i = np.arange(out)
    return (i * L) // out, -((-(i + 1) * L) // out)


class _AdaptiveMaxPool2d(Function):
    """y_ij = max over bin (i, j);  dE/dx = dE/dy at the bin's argmax.

    For bins that do not tile the input (H % H_out != 0), bins have different
    sizes and may overlap. The kernel loops over the largest bin's offsets,
    gathering row ``min(start + a, end - 1)`` (a short bin repeats its last
    row, which never wins a strict ``>`` again) and tracks the flat index of
    the maximum; backward scatters dE/dy with ``bincount``, which sums the
    contributions of overlapping bins.
    """

    @staticmethod
    def forward(ctx, x, out_hw):
        xp = array_module(x)
        N, C, H, W = x.shape
        (h0, h1), (w0, w1) = _bins(H, out_hw[0]), _bins(W, out_hw[1])
        ctx.x_shape = x.shape
        if 0 in out_hw:  # PyTorch allows an empty output
            ctx.save_for_backward(xp.zeros((N, C) + tuple(out_hw), dtype=np.int64))
            return xp.zeros((N, C) + tuple(out_hw), dtype=x.dtype), ctx.saved_tensors[0]
        out = idx = None
        for a in range(int((h1 - h0).max())):
            r = np.minimum(h0 + a, h1 - 1)
            xr = x[:, :, xp.asarray(r), :]
            for b in range(int((w1 - w0).max())):
                c = np.minimum(w0 + b, w1 - 1)
                v = xr[:, :, :, xp.asarray(c)]
                flat = xp.asarray(r[:, None] * W + c[None, :], dtype=np.int64)
                if out is None:
                    out, idx = v, xp.broadcast_to(flat, v.shape).copy()
                    continue
                upd = v > out
                upd |= v != v
                xp.copyto(out, v, where=upd)
                xp.copyto(idx, flat, where=upd)
        ctx.save_for_backward(idx)
        return out, idx

    @staticmethod
    def backward(ctx, g):
        xp = array_module(g)
        (idx,) = ctx.saved_tensors
        N, C, H, W = ctx.x_shape
        plane = xp.arange(N * C, dtype=np.int64)[:, None] * (H * W)
        flat = (idx.reshape(N * C, -1) + plane).ravel()
        gx = xp.bincount(flat, weights=g.ravel(), minlength=N * C * H * W)
        return gx.astype(g.dtype, copy=False).reshape(ctx.x_shape)


def adaptive_max_pool2d(input, output_size, return_indices=False):
    r"""Max pooling to a fixed output size (``torch.nn.functional.adaptive_max_pool2d``).

    Output (i, j) is the max over rows ``[floor(i H / H_out), ceil((i+1) H / H_out))``
    and the same bins of columns; backward routes dE/dy to that max (first in
    scan order). When the bins tile the input (H % H_out == 0) this is
    :func:`max_pool2d` with kernel = stride = H / H_out.

    Args:
        input: ``(N, C, H, W)`` or unbatched ``(C, H, W)``.
        output_size: int or (H_out, W_out); a ``None`` entry keeps the input's size.
        return_indices: also return flat int64 indices into each input plane.

    Shape: ``(N, C, H, W) -> (N, C, H_out, W_out)``.
    """
    op = "adaptive_max_pool2d"
    _check_input(op, input)
    out_hw = _adaptive_size(op, input, output_size)
    H, W = input.shape[-2:]
    if 0 not in out_hw and H % out_hw[0] == 0 and W % out_hw[1] == 0:
        k = (H // out_hw[0], W // out_hw[1])
        return max_pool2d(input, k, k, 0, 1, False, return_indices)
    x4, unbatched = _batched(input)
    out, idx = _AdaptiveMaxPool2d.apply(x4, out_hw)
    if unbatched:
        out, idx = out.squeeze(0), idx.squeeze(0)
    return (out, idx) if return_indices else out


def adaptive_max_pool2d_with_indices(input, output_size, return_indices=True):
    """:func:`adaptive_max_pool2d` returning ``(output, indices)`` (PyTorch's name)."""
    return adaptive_max_pool2d(input, output_size, True)


def _bin_matrix(L, out, dtype, xp):
    """(out, L) averaging matrix: row i holds 1/|bin i| on bin i's columns."""
    start, end = _bins(L, out)
    pos = np.arange(L)[None, :]
    inside = (pos >= start[:, None]) & (pos < end[:, None])
    return xp.asarray(inside / (end - start)[:, None], dtype=dtype)


class _AdaptiveAvgPool2d(Function):
    """y = A_H x A_W^T per plane, A the (out, L) bin-averaging matrices;
    dE/dx = A_H^T (dE/dy) A_W.

    Averaging over a rectangular bin is separable (mean over its rows, then
    its columns), so the uneven, possibly overlapping bins of a non-tiling
    size become two small GEMMs over the whole batch.
    """

    @staticmethod
    def forward(ctx, x, out_hw):
        xp = array_module(x)
        H, W = x.shape[-2:]
        Ah = _bin_matrix(H, out_hw[0], x.dtype, xp)
        Aw = _bin_matrix(W, out_hw[1], x.dtype, xp)
        ctx.mats = (Ah, Aw)
        if not bool(xp.isfinite(x).all()):
            # inf/NaN: sum each bin only (0 * inf in the GEMM would spread NaN to every bin)
            t = _apply_taps(x, _area_taps(H, out_hw[0]), 2)
            return xp.ascontiguousarray(_apply_taps(t, _area_taps(W, out_hw[1]), 3))
        t = xp.tensordot(x, Ah, axes=([2], [1]))           # (N, C, W, H_out)
        return xp.tensordot(t, Aw, axes=([2], [1]))        # (N, C, H_out, W_out)

    @staticmethod
    def backward(ctx, g):
        xp = array_module(g)
        Ah, Aw = ctx.mats
        t = xp.tensordot(g, Ah, axes=([2], [0]))           # (N, C, W_out, H)
        return xp.tensordot(t, Aw, axes=([2], [0]))        # (N, C, H, W)


def adaptive_avg_pool2d(input, output_size):
    r"""Average pooling to a fixed output size (``torch.nn.functional.adaptive_avg_pool2d``).

    Output (i, j) is the mean over rows ``[floor(i H / H_out), ceil((i+1) H / H_out))``
    and the same bins of columns; backward spreads dE/dy_ij / |bin| over the
    bin. When the bins tile the input this is :func:`avg_pool2d` with
    kernel = stride = H / H_out (``output_size=1``: global average pooling).

    Args:
        input: ``(N, C, H, W)`` or unbatched ``(C, H, W)``.
        output_size: int or (H_out, W_out); a ``None`` entry keeps the input's size.

    Shape: ``(N, C, H, W) -> (N, C, H_out, W_out)``.
    """
    op = "adaptive_avg_pool2d"
    _check_input(op, input)
    out_hw = _adaptive_size(op, input, output_size)
    H, W = input.shape[-2:]
    if 0 not in out_hw and H % out_hw[0] == 0 and W % out_hw[1] == 0:
        k = (H // out_hw[0], W // out_hw[1])
        return avg_pool2d(input, k, k)
    x4, unbatched = _batched(input)
    out = _AdaptiveAvgPool2d.apply(x4, out_hw)
    return out.squeeze(0) if unbatched else out


# --------------------------------------------------------------- max unpooling
class _MaxUnpool2d(Function):
    """y.flat[idx] = x (zeros elsewhere);  dE/dx = (dE/dy).flat[idx], per plane.

    x, idx: (N, C, H, W) -> y: (N, C, H_out, W_out). The inverse-direction
    partner of max pooling (SegNet: Badrinarayanan et al. 2017): a scatter
    forward, a gather backward.
    """

    @staticmethod
    def forward(ctx, x, indices, out_hw):
        xp = array_module(x)
        N, C = x.shape[:2]
        flat_idx = indices.reshape(N * C, -1)
        rows = xp.arange(N * C)[:, None]
        y = xp.zeros((N * C, out_hw[0] * out_hw[1]), dtype=x.dtype)
        y[rows, flat_idx] = x.reshape(N * C, -1)
        ctx.x_shape = x.shape
        ctx.save_for_backward(flat_idx)
        return y.reshape((N, C) + tuple(out_hw))

    @staticmethod
    def backward(ctx, g):
        xp = array_module(g)
        (flat_idx,) = ctx.saved_tensors
        g2 = g.reshape(flat_idx.shape[0], -1)
        return xp.take_along_axis(g2, flat_idx, axis=1).reshape(ctx.x_shape), None


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    r"""Partial inverse of :func:`max_pool2d` (``torch.nn.functional.max_unpool2d``).

    Puts each input value at the position its max came from,
    ``y[n, c].flat[indices[n, c, i, j]] = x[n, c, i, j]``, zeros elsewhere;
    backward gathers ``dE/dx[n, c, i, j] = dE/dy[n, c].flat[indices[n, c, i, j]]``.

    Args:
        input: ``(N, C, H, W)`` or unbatched ``(C, H, W)``, the pooled values.
        indices: int64 tensor of ``input``'s shape, from ``max_pool2d(..., return_indices=True)``.
        kernel_size, stride (default: ``kernel_size``), padding: the pooling's.
        output_size: ``(H_out, W_out)`` (or with leading N, C) to undo a pooling
            that dropped rows; must lie within ``stride`` of the default.

    Shape:
        ``H_out = (H - 1) s_H - 2 p_H + k_H``, same for W (the default).
    """
    op = "max_unpool2d"
    _check_input(op, input)
    if not isinstance(indices, Tensor):
        raise TypeError(f"{op}: indices must be a neuronet Tensor, received {type(indices).__name__}")
    if indices.dtype.kind not in "iu":
        raise DtypeError(f"{op}: indices must be an integer tensor (int64, from max_pool2d with "
                         f"return_indices=True), received dtype {indices.dtype}")
    if indices.shape != input.shape:
        raise ArgumentError(f"{op}: indices must have the input's shape {tuple(input.shape)}, "
                            f"received indices of shape {tuple(indices.shape)}")
    k = _pair(kernel_size, "kernel_size", op)
    s = k if stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0) \
        else _pair(stride, "stride", op)
    p = _pair(padding, "padding", op)
    if min(k) <= 0 or min(s) <= 0 or min(p) < 0:
        raise ArgumentError(f"{op}: kernel_size and stride must be positive and padding non-negative, "
                            f"received kernel_size={kernel_size!r}, stride={stride!r}, padding={padding!r}")
    H, W = input.shape[-2:]
    default = ((H - 1) * s[0] - 2 * p[0] + k[0], (W - 1) * s[1] - 2 * p[1] + k[1])
    if output_size is None:
        out_hw = default
    else:
        size = tuple(output_size)
        if len(size) == 4:
            size = size[2:]
        if len(size) != 2 or not all(_is_int(v) for v in size):
            raise ArgumentError(f"{op}: output_size must be (H_out, W_out) or (N, C, H_out, W_out), "
                                f"received {output_size!r}")
        for dim in range(2):
            lo, hi = default[dim] - s[dim], default[dim] + s[dim]
            if not lo < size[dim] < hi:
                raise ArgumentError(f"{op}: invalid output_size {output_size!r} (dim {dim} must be "
                                    f"between {lo} and {hi}, exclusive)")
        out_hw = (int(size[0]), int(size[1]))
    if min(out_hw) < 1:
        raise ArgumentError(f"{op}: output size {_hw(out_hw)} would be < 1 for input {tuple(input.shape)}, "
                            f"kernel_size={_hw(k)}, stride={_hw(s)}, padding={_hw(p)}")
    idx = indices.array
    if idx.size:
        lo, hi = int(idx.min()), int(idx.max())
        if lo < 0 or hi >= out_hw[0] * out_hw[1]:
            bad = lo if lo < 0 else hi
            raise ArgumentError(f"{op}: found an invalid max index {bad} (each output plane is "
                                f"{_hw(out_hw)}, so indices must lie in [0, {out_hw[0] * out_hw[1]}))")
    x4, unbatched = _batched(input)
    idx = idx.astype(np.int64, copy=False)
    out = _MaxUnpool2d.apply(x4, Tensor._wrap(idx[None] if unbatched else idx), out_hw)
    return out.squeeze(0) if unbatched else out


# ----------------------------------------------------------- 1-D pooling
# A sequence (N, C, L) is pooled as an image (N, C, 1, L) with a 1 x k window:
# the same forward, backward and index layout (h * W + w = w for H = 1).
def _single(value, name, op):
    if isinstance(value, (tuple, list)) and len(value) == 1:
        value = value[0]
    if not _is_int(value):
        raise TypeError(f"{op}: {name} must be an int or a 1-tuple of ints, received {value!r}")
    return int(value)


def _as_image(op, input):
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: input must be a neuronet Tensor, received {type(input).__name__}")
    if input.ndim not in (2, 3):
        raise ArgumentError(f"{op}: expected a 3-D input (N, C, L) or an unbatched 2-D input (C, L), "
                            f"received shape {tuple(input.shape)} ({input.ndim}-D)")
    return input.unsqueeze(-2)


def _as_sequence(res):
    return tuple(r.squeeze(-2) for r in res) if isinstance(res, tuple) else res.squeeze(-2)


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """1-D max pooling: :func:`max_pool2d` over ``(N, C, L)`` (or ``(C, L)``) with a
    window of ``kernel_size`` positions. ``L_out = floor_or_ceil((L + 2p - d(k - 1) - 1) / s) + 1``;
    ``return_indices`` gives int64 positions in ``[0, L)``."""
    op = "max_pool1d"
    k = _single(kernel_size, "kernel_size", op)
    s = k if stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0) \
        else _single(stride, "stride", op)
    return _as_sequence(max_pool2d(_as_image(op, input), (1, k), (1, s), (0, _single(padding, "padding", op)),
                                   (1, _single(dilation, "dilation", op)), ceil_mode, return_indices))


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """1-D average pooling: :func:`avg_pool2d` over ``(N, C, L)`` (or ``(C, L)``);
    ``L_out = floor_or_ceil((L + 2p - k) / s) + 1``."""
    op = "avg_pool1d"
    k = _single(kernel_size, "kernel_size", op)
    s = k if stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0) \
        else _single(stride, "stride", op)
    return _as_sequence(avg_pool2d(_as_image(op, input), (1, k), (1, s), (0, _single(padding, "padding", op)),
                                   ceil_mode, count_include_pad))


def adaptive_max_pool1d(input, output_size, return_indices=False):
    """Max pooling of ``(N, C, L)`` to ``L_out = output_size`` positions (the bins of
    :func:`adaptive_max_pool2d`)."""
    op = "adaptive_max_pool1d"
    return _as_sequence(adaptive_max_pool2d(_as_image(op, input), (1, _single(output_size, "output_size", op)),
                                            return_indices))


def adaptive_avg_pool1d(input, output_size):
    """Average pooling of ``(N, C, L)`` to ``L_out = output_size`` positions (the bins of
    :func:`adaptive_avg_pool2d`)."""
    op = "adaptive_avg_pool1d"
    return _as_sequence(adaptive_avg_pool2d(_as_image(op, input), (1, _single(output_size, "output_size", op))))


def max_pool1d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                            return_indices=True):
    """:func:`max_pool1d` returning ``(output, indices)`` (PyTorch's name)."""
    return max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def adaptive_max_pool1d_with_indices(input, output_size, return_indices=True):
    """:func:`adaptive_max_pool1d` returning ``(output, indices)`` (PyTorch's name)."""
    return adaptive_max_pool1d(input, output_size, True)


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Partial inverse of :func:`max_pool1d`: :func:`max_unpool2d` on height-1 images.
    ``(N, C, L) -> (N, C, L_out)``, ``L_out = (L - 1) s - 2 p + k`` by default."""
    op = "max_unpool1d"
    k = _single(kernel_size, "kernel_size", op)
    s = k if stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0) \
        else _single(stride, "stride", op)
    if output_size is not None:
        output_size = (1, int(tuple(output_size)[-1]))
    return _as_sequence(max_unpool2d(_as_image(op, input), _as_image(op, indices), (1, k), (1, s),
                                     (0, _single(padding, "padding", op)), output_size))


def lp_pool2d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """Power-average pooling: ``(sum over the window of x^p)^(1/p)`` (p = ``norm_type``;
    p = 1 is sum pooling, p -> inf max pooling), computed as
    ``(avg_pool2d(x^p) * k_h k_w)^(1/p)`` with negative sums clamped to 0, as PyTorch."""
    kh, kw = _pair(kernel_size, "kernel_size", "lp_pool2d")
    out = avg_pool2d(input.pow(norm_type), (kh, kw), stride, 0, ceil_mode)
    return (out.sign() * relu(out.abs())).mul(kh * kw).pow(1.0 / norm_type)


def lp_pool1d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """1-D :func:`lp_pool2d`: ``(sum over the window of x^p)^(1/p)`` over ``(N, C, L)``."""
    k = _single(kernel_size, "kernel_size", "lp_pool1d")
    out = avg_pool1d(input.pow(norm_type), k, stride, 0, ceil_mode)
    return (out.sign() * relu(out.abs())).mul(k).pow(1.0 / norm_type)
