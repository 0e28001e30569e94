"""Sliding-window rearrangements: ``unfold`` (im2col: every k_h x k_w patch as
a column), its adjoint ``fold`` (col2im: columns summed back into an image),
and ``channel_shuffle`` (ShuffleNet).

``unfold`` is a grouped convolution with one-hot kernels: output channel
c * k_h k_w + i k_w + j of a convolution with groups = C picks input channel c
at kernel offset (i, j). So it reuses conv2d's forward and hand-written
backward; ``fold``, the adjoint (transpose) of ``unfold``, is the matching
transposed convolution. The one-hot weight never requires grad.
"""
from __future__ import annotations

import numpy as np

from ...backend import array_module
from ...tensor import Tensor
from .convolution import conv2d, conv_transpose2d
from .padding import pad
from ._errors import ArgumentError

__all__ = ["unfold", "fold", "channel_shuffle", "native_channel_shuffle"]


def _pair(op, name, v, minimum):
    if isinstance(v, (tuple, list)):
        if len(v) != 2:
            raise ArgumentError(f"{op}: {name} must be an int or a pair, received {tuple(v)}")
        v = tuple(int(a) for a in v)
    else:
        v = (int(v), int(v))
    if min(v) < minimum:
        raise ArgumentError(f"{op}: {name} must be >= {minimum}, received {v}")
    return v


def _one_hot_kernels(channels, kernel, like):
    """(C k_h k_w, 1, k_h, k_w): kernel number i k_w + j of every channel is 1 at (i, j)."""
    kh, kw = kernel
    eye = np.eye(kh * kw, dtype=like.dtype).reshape(kh * kw, 1, kh, kw)
    w = np.tile(eye, (channels, 1, 1, 1))
    return Tensor._wrap(array_module(like.array).asarray(w))     # on the input's device


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """unfold(input, kernel_size, dilation=1, padding=0, stride=1): the sliding
    k_h x k_w patches of each image as columns (im2col).

    Shape: ``(N, C, H, W) -> (N, C k_h k_w, L)``, L = H_out W_out with
    ``H_out = floor((H + 2 p - d (k - 1) - 1) / s) + 1``; rows ordered (c, i, j).
    An unbatched ``(C, H, W)`` gives ``(C k_h k_w, L)``.
    """
    op = "unfold"
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: input must be a neuronet Tensor, received {type(input).__name__}")
    if input.ndim not in (3, 4):
        raise RuntimeError(f"{op}: Input Error: Only 3D or 4D input Tensors are supported (got {input.ndim}D)")
    k = _pair(op, "kernel_size", kernel_size, 1)
    d = _pair(op, "dilation", dilation, 1)
    p = _pair(op, "padding", padding, 0)
    s = _pair(op, "stride", stride, 1)
    x = input if input.ndim == 4 else input.unsqueeze(0)
    c = x.shape[1]
    cols = conv2d(x, _one_hot_kernels(c, k, x), None, s, p, d, c)
    cols = cols.reshape(cols.shape[0], cols.shape[1], -1)
    return cols if input.ndim == 4 else cols.squeeze(0)


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1): the
    adjoint of :func:`unfold` -- each column's k_h x k_w values added back at
    their patch's place (overlaps summed; col2im).

    Shape: ``(N, C k_h k_w, L) -> (N, C, H, W)`` with ``(H, W) = output_size``
    and L the number of patches unfold would produce; unbatched ``(C k_h k_w, L)``.
    """
    op = "fold"
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: input must be a neuronet Tensor, received {type(input).__name__}")
    if input.ndim not in (2, 3):
        raise RuntimeError(f"{op}: Input Error: Only unbatched (2D) or batched (3D) input Tensors are "
                           f"supported (got {input.ndim}D)")
    out_hw = _pair(op, "output_size", output_size, 1)
    k = _pair(op, "kernel_size", kernel_size, 1)
    d = _pair(op, "dilation", dilation, 1)
    p = _pair(op, "padding", padding, 0)
    s = _pair(op, "stride", stride, 1)
    x = input if input.ndim == 3 else input.unsqueeze(0)
    n, ckk, L = x.shape
    if ckk % (k[0] * k[1]):
        raise RuntimeError(f"{op}: Expected size of input's dimension 1 to be divisible by the product of "
                           f"kernel_size, but got input.size(1)={ckk} and kernel_size={k}")
    blocks = [(out_hw[i] + 2 * p[i] - d[i] * (k[i] - 1) - 1) // s[i] + 1 for i in range(2)]
    if blocks[0] * blocks[1] != L:
        raise RuntimeError(f"{op}: Given output_size={out_hw}, kernel_size={k}, dilation={d}, padding={p}, "
                           f"stride={s}, expected size of input's dimension 2 to match the calculated number "
                           f"of sliding blocks {blocks[0]} * {blocks[1]} = {blocks[0] * blocks[1]}, but got "
                           f"input.size(2)={L}.")
    c = ckk // (k[0] * k[1])
    grid = x.reshape(n, ckk, blocks[0], blocks[1])
    # conv_transpose2d's natural size; output_padding adds the rows/columns no patch reaches.
    natural = [(blocks[i] - 1) * s[i] - 2 * p[i] + d[i] * (k[i] - 1) + 1 for i in range(2)]
    extra = tuple(out_hw[i] - natural[i] for i in range(2))
    if min(extra) < 0:
        raise RuntimeError(f"{op}: output_size {out_hw} is too small for the given patches")
    if all(e < max(si, di) for e, si, di in zip(extra, s, d)):
        out = conv_transpose2d(grid, _one_hot_kernels(c, k, x), None, s, p, extra, c, d)
    else:   # rows/columns beyond conv_transpose2d's reach get no patch: zero-pad them
        out = conv_transpose2d(grid, _one_hot_kernels(c, k, x), None, s, p, 0, c, d)
        out = pad(out, (0, extra[1], 0, extra[0]))
    return out if input.ndim == 3 else out.squeeze(0)


def channel_shuffle(input, groups):
    """channel_shuffle(input, groups): (N, g k, *) -> channels reordered from
    (g, k) to (k, g) order (Zhang et al. 2018, ShuffleNet). A pure rearrangement."""
    op = "channel_shuffle"
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: input must be a neuronet Tensor, received {type(input).__name__}")
    if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or groups <= 0:
        raise ArgumentError(f"{op}: Number of groups to divide channels in must be positive. Value of groups:{groups}")
    if input.ndim < 3:
        raise RuntimeError(f"{op}: channel_shuffle expects input to have at least 3 dimensions, but got input "
                           f"with sizes {list(input.shape)}")
    n, c, *rest = input.shape
    if c % groups:
        raise RuntimeError(f"{op}: Number of channels must be divisible by groups. Got {c} channels and "
                           f"{groups} groups.")
    x = input.reshape(n, groups, c // groups, *rest)
    return x.transpose(1, 2).reshape(n, c, *rest)


native_channel_shuffle = channel_shuffle
