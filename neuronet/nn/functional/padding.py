"""Padding: grow (or crop) the last dims of a tensor, PyTorch's ``F.pad``.

``pad`` lists (before, after) amounts starting from the LAST dim:
``(left, right)`` pads W, ``(left, right, top, bottom)`` pads W then H, ...

Modes, for one padded dim of size n and output index k in [-before, n + after):
    'constant'   out[k] = x[k] if 0 <= k < n else value   (negative amounts crop)
    'reflect'    out[k] = x[r(k)],  r(k) = |k| mirrored at both ends (edge not repeated):
                 ... x2 x1 | x0 x1 x2 ... x(n-1) | x(n-2) x(n-3) ...
    'replicate'  out[k] = x[clip(k, 0, n - 1)]  (the edge value repeated)
    'circular'   out[k] = x'[k mod n'], x' = x cropped by any negative amounts first
                 (as PyTorch), n' its size: the tensor tiled periodically
Backward: every output position k got its value from one input position
src(k), so dE/dx[i] = sum of g[k] over all k with src(k) = i -- the padded
border's gradients are folded back onto the input positions they copied.
"""
from __future__ import annotations

import numpy as np

from ...autograd.function import Function
from ...backend import array_module
from ...tensor import Tensor
from ._errors import ArgumentError, NotSupported

__all__ = ["pad"]

_MODES = ("constant", "reflect", "replicate", "circular")


def source_index(n: int, before: int, after: int, mode: str) -> np.ndarray:
    """For one dim of size n, the input index each output position reads (non-constant modes).

    Returns an int64 NumPy array of length n + before + after (index arithmetic
    stays on the host; it is tiny).
    """
    if mode == "circular":
        start, stop = max(-before, 0), n - max(-after, 0)        # crop first
        size = stop - start
        k = np.arange(-max(before, 0), size + max(after, 0))
        return start + np.mod(k, size) if size else k
    k = np.arange(-before, n + after)
    if mode == "replicate":
        return np.clip(k, 0, n - 1)
    k = np.abs(k)                                                 # reflect at 0
    return np.where(k >= n, 2 * (n - 1) - k, k)                   # reflect at n - 1


def _runs(idx: np.ndarray):
    """Split a source-index map into runs of step +1, -1 or 0: (k0, k1, i0, step).

    A run copies a contiguous (possibly reversed or repeated) block, so its
    gradient folds back with one slice operation.
    """
    k0, L = 0, len(idx)
    while k0 < L:
        step = int(idx[k0 + 1] - idx[k0]) if k0 + 1 < L else 1
        if step not in (-1, 0, 1):
            step = 1
        k1 = k0 + 1
        while k1 < L and idx[k1] - idx[k1 - 1] == step:
            k1 += 1
        yield k0, k1, int(idx[k0]), step
        k0 = k1


def _fold(g, idx, n, axis):
    """Sum the gradient g (size len(idx) along ``axis``) back onto n input positions."""
    xp = array_module(g)
    shape = list(g.shape)
    shape[axis] = n
    out = xp.zeros(shape, dtype=g.dtype)

    def at(sl):
        return (slice(None),) * axis + (sl,)

    for k0, k1, i0, step in _runs(idx):
        block = g[at(slice(k0, k1))]
        if step == 1:
            out[at(slice(i0, i0 + k1 - k0))] += block
        elif step == -1:
            # x[i0], x[i0-1], ... were read in reverse: flip the block back.
            out[at(slice(i0 - (k1 - k0) + 1, i0 + 1))] += xp.flip(block, axis=axis)
        else:
            out[at(slice(i0, i0 + 1))] += block.sum(axis=axis, keepdims=True)
    return out


class Pad(Function):
    """out = pad(x); dE/dx gathers each output gradient back to its source (module docstring).

    ``pairs`` maps each padded axis to its (before, after) amounts.
    constant: forward writes x (cropped where an amount is negative) into a
              ``value``-filled output; backward slices the same window out of g.
    others:   forward gathers along each padded axis with its source index map;
              backward folds g back along the axes in reverse order.
    """

    @staticmethod
    def forward(ctx, x, pairs, mode, value):
        xp = array_module(x)
        ctx.mode = mode
        ctx.in_shape = x.shape
        if mode == "constant":
            out_shape = list(x.shape)
            src = [slice(None)] * x.ndim
            dst = [slice(None)] * x.ndim
            for axis, (b, a) in pairs.items():
                n = x.shape[axis]
                out_shape[axis] = n + b + a
                src[axis] = slice(max(-b, 0), n - max(-a, 0))
                dst[axis] = slice(max(b, 0), max(b, 0) + n - max(-b, 0) - max(-a, 0))
            out = xp.full(out_shape, value, dtype=x.dtype)
            out[tuple(dst)] = x[tuple(src)]
            ctx.windows = (tuple(src), tuple(dst))
            return out
        out = x
        maps = {}
        for axis, (b, a) in pairs.items():
            idx = source_index(x.shape[axis], b, a, mode)
            maps[axis] = idx
            out = xp.take(out, xp.asarray(idx), axis=axis)
        ctx.maps = maps
        return out

    @staticmethod
    def backward(ctx, g):
        xp = array_module(g)
        if ctx.mode == "constant":
            src, dst = ctx.windows
            gx = xp.zeros(ctx.in_shape, dtype=g.dtype)
            gx[src] = g[dst]
            return gx, None, None, None
        for axis in sorted(ctx.maps, reverse=True):
            g = _fold(g, ctx.maps[axis], ctx.in_shape[axis], axis)
        return g, None, None, None


def _check(input, pad, mode, value):
    if not isinstance(input, Tensor):
        raise TypeError(f"pad: expected input to be a neuronet.Tensor, received {type(input).__name__}")
    if not isinstance(pad, (tuple, list)) or any(
            isinstance(p, bool) or not isinstance(p, (int, np.integer)) for p in pad):
        raise TypeError(f"pad: pad must be a tuple of ints (left, right, top, bottom, ...), received {pad!r}")
    if len(pad) % 2:
        raise ArgumentError(f"pad: padding length must be divisible by 2 (a (before, after) pair per dim), "
                            f"received pad={tuple(pad)} of length {len(pad)}")
    if len(pad) // 2 > input.ndim:
        raise ArgumentError(f"pad: padding length should be less than or equal to two times the input "
                            f"dimension, received pad of length {len(pad)} for input of shape {tuple(input.shape)}")
    if mode not in _MODES:
        raise NotSupported(f"pad: mode must be one of {', '.join(repr(m) for m in _MODES)}, received {mode!r}")
    if mode != "constant":
        if value is not None and value != 0:
            raise ArgumentError(f"pad: padding mode {mode!r} doesn't take in value argument, received value={value!r}")
        npad, ndim = len(pad) // 2, input.ndim
        if not (1 <= npad <= 3 and ndim in (npad + 1, npad + 2)):
            raise NotSupported(
                f"pad: mode {mode!r} pads the last 1, 2 or 3 dims of a batched or unbatched input: "
                f"pad of length 2 for a 2-D or 3-D input, 4 for 3-D or 4-D, 6 for 4-D or 5-D; "
                f"received pad of length {len(pad)} for input of shape {tuple(input.shape)}")
    elif value is not None and (isinstance(value, bool)
                                or not isinstance(value, (int, float, np.integer, np.floating))):
        raise TypeError(f"pad: value must be a number, received {value!r}")


def pad(input: Tensor, pad, mode: str = "constant", value: float | None = None) -> Tensor:
    """pad(input, pad, mode='constant', value=None): pad (or crop) the last len(pad)//2 dims.

    pad:   (left, right[, top, bottom[, front, back]]) -- from the last dim backwards
    mode:  'constant' (any number of dims; negative amounts crop), 'reflect',
           'replicate', 'circular' (the last 1-3 dims of a 2-D..5-D input)
    value: fill for 'constant' (default 0)

    Shape: each padded dim of size n becomes n + before + after.

    >>> x = neuronet.zeros(1, 3, 32, 32)
    >>> pad(x, (2, 2, 2, 2)).shape           # (1, 3, 36, 36): LeNet-5's 28 -> 32 trick
    """
    _check(input, pad, mode, value)
    pairs = {}
    for j in range(len(pad) // 2):
        axis = input.ndim - 1 - j
        b, a = int(pad[2 * j]), int(pad[2 * j + 1])
        n = input.shape[axis]
        out = n + b + a
        where = f"dim {axis} (size {n}) of input of shape {tuple(input.shape)}"
        if mode == "constant":
            if out < 0:
                raise ArgumentError(f"pad: padding ({b}, {a}) crops more than {where}")
        elif mode == "reflect":
            if b >= n or a >= n:
                raise ArgumentError(f"pad: reflect padding must be less than the size of the padded dim, "
                                    f"received ({b}, {a}) for {where}")
            if out < 1:
                raise ArgumentError(f"pad: padding ({b}, {a}) leaves no element of {where}")
        elif mode == "replicate":
            if n == 0 or out < 1:
                raise ArgumentError(f"pad: padding ({b}, {a}) leaves no element of {where}")
        else:  # circular
            cropped = n + min(b, 0) + min(a, 0)
            if cropped < 0:
                raise ArgumentError(f"pad: padding ({b}, {a}) crops more than {where}")
            if b > cropped or a > cropped:
                raise ArgumentError(f"pad: circular padding ({b}, {a}) would wrap around more than once "
                                    f"for {where} (at most its size after cropping, {cropped})")
        if b or a:
            pairs[axis] = (b, a)
    if not pairs:
        return Pad.apply(input, {}, "constant", 0)      # a copy, as PyTorch (never an alias)
    return Pad.apply(input, pairs, mode, 0 if value is None else value)
