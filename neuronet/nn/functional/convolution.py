"""Convolution: ``conv2d`` and ``conv_transpose2d`` (im2col + GEMM).

The course's equations, for one input map ``y^(l-1)``, one kernel ``w`` and
one output map ``x^l`` (stride 1, no padding; the code adds channels, batch,
stride ``s``, padding ``p``, dilation ``d`` and groups)::

    forward      x^l_ij          = sum_a sum_b w_ab y^(l-1)_(i+a)(j+b)  (+ bias)
    delta rule   dE/dw_ab        = sum_ij dE/dx^l_ij  y^(l-1)_(i+a)(j+b)
    chain rule   dE/dy^(l-1)_ij  = sum_ab dE/dx^l_(i-a)(j-b)  w_ab
    bias         dE/dbias        = sum over N, H, W of dE/dx^l

The chain rule is a *transposed* convolution of the output gradient with the
same weights; that is why ``conv_transpose2d``'s forward is ``conv2d``'s input
gradient and its backward is ``conv2d``'s forward.

Vectorization: the padded input is copied once to channel-major order
``(C, N, Hp, Wp)``; ``im2col`` lays every kernel window out as a column of
``cols: (C*kH*kW, N*Ho*Wo)`` (a loop over the kH*kW kernel offsets, each a
long strided copy), so the forward is one BLAS GEMM ``W (C_out, C*kH*kW) @
cols``, the delta rule is ``dE/dX (C_out, N*Ho*Wo) @ cols^T`` and the chain
rule is ``col2im(W^T @ dE/dX)``. Groups are a leading axis of a batched matmul.
Speed-ups, each explained where it lives: no im2col at all for 1x1 stride-1 kernels, the delta rule's long reduction
summed over cache-sized chunks (``_mm_nt``), no input gradient for a first
layer (``needs_input_grad``), and only the input and weight saved for backward;
the GEMMs walk the batch in L2-sized chunks (im2col -> GEMM, W^T G -> col2im);
``conv2d_cm`` takes and returns channel-major ``(C, N, H, W)`` activations so a
network can skip the transposes; im2col/col2im use optional numba loops
(``neuronet._kernels``) for NumPy arrays when numba is installed.
``_reference`` at the bottom has the same equations as plain loops (used by
the tests).
"""
from __future__ import annotations

import numpy as np

from ...autograd.function import Function
from ...backend import array_module
from ...tensor import Tensor
from ._im2col import (channel_major, cm_to_nchw, col2im, col2im_nchw, im2col, im2col_nchw,
                      nchw_to_cm, out_size, pad_last2, pair)
from ._errors import ArgumentError, DtypeError, DtypeNotSupported

__all__ = ["conv1d", "conv2d", "conv2d_cm", "conv_transpose1d", "conv_transpose2d"]


# ----------------------------------------------------------------- validation
def _check_tensor(op, name, t, optional=False):
    if t is None and optional:
        return
    if not isinstance(t, Tensor):
        raise TypeError(f"{op}: expected {name} to be a Tensor, received {type(t).__name__}")
    if t.dtype.kind not in "fiu":
        raise DtypeNotSupported(f"{op}: expected a floating-point or integer {name}, received dtype {t.dtype}")


def _check_common(op, input, weight, bias, groups, out_channels):
    """Rank, dtype, groups and bias checks shared by both ops; returns (x4d_shape, unbatched)."""
    _check_tensor(op, "input", input)
    _check_tensor(op, "weight", weight)
    _check_tensor(op, "bias", bias, optional=True)
    if input.ndim not in (3, 4):
        raise ArgumentError(f"{op}: expected 3D (unbatched C, H, W) or 4D (batched N, C, H, W) input, "
                            f"received input of shape {tuple(input.shape)}")
    if weight.ndim != 4:
        raise ArgumentError(f"{op}: expected a 4D weight, received weight of shape {tuple(weight.shape)}")
    if input.dtype != weight.dtype or (bias is not None and bias.dtype != input.dtype):
        got = f"input {input.dtype}, weight {weight.dtype}" + (
            f", bias {bias.dtype}" if bias is not None else "")
        raise DtypeError(f"{op}: input, weight and bias must have the same dtype, received {got}")
    if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or groups < 1:
        raise ArgumentError(f"{op}: groups must be a positive integer, received groups={groups!r}")
    if weight.shape[0] % groups:
        raise ArgumentError(f"{op}: weight.shape[0]={weight.shape[0]} must be divisible by "
                            f"groups={groups} (weight {tuple(weight.shape)})")
    if bias is not None and bias.shape != (out_channels,):
        raise ArgumentError(f"{op}: expected bias of shape ({out_channels},) (one per output channel, "
                            f"weight {tuple(weight.shape)}, groups={groups}), "
                            f"received bias of shape {tuple(bias.shape)}")
    unbatched = input.ndim == 3
    shape = (1,) + input.shape if unbatched else input.shape
    return shape, unbatched


def _grouped(a, groups):
    """``(G*m, ...) -> (G, m, prod(...))``: the group axis leads a batched matmul."""
    return a.reshape(groups, a.shape[0] // groups, -1)


def _mm(a, b):
    """Batched ``a (G, m, k) @ b (G, k, n)``; plain 2-D GEMM when G == 1."""
    if a.shape[0] == 1:
        return (a[0] @ b[0])[None]
    return a @ b


def _to_cm(g):
    """``(N, C, H, W) -> (C, N*H*W)`` contiguous (the GEMM layout of a gradient/input)."""
    xp = array_module(g)
    return xp.ascontiguousarray(g.transpose(1, 0, 2, 3)).reshape(g.shape[1], -1)


def _from_cm(a_cm):
    """``(C, N, H, W) -> (N, C, H, W)``, contiguous, as the caller expects."""
    xp = array_module(a_cm)
    return xp.ascontiguousarray(a_cm.transpose(1, 0, 2, 3))


# ------------------------------------------------------------------- conv2d
class Conv2d(Function):
    """2-D convolution (cross-correlation, as in PyTorch), one autograd node.

    Shapes::

        x:    (N, C_in, H, W)        (or unbatched (C_in, H, W))
        w:    (C_out, C_in/groups, kH, kW)
        bias: (C_out,)
        out:  (N, C_out, H_out, W_out)
        H_out = floor((H + 2p - d(kH - 1) - 1) / s) + 1   (same for W)

    Forward, for output channel ``o`` in group ``g`` (input channels ``c`` of
    that group), with ``y`` the zero-padded input::

        x^l[n,o,i,j] = sum_c sum_a sum_b w[o,c,a,b] y[n,c, i*s+a*d, j*s+b*d] + bias[o]

    i.e. ``x^l_ij = sum_a sum_b w_ab y^(l-1)_(i+a)(j+b)``, computed as
    ``W (C_out, C*kH*kW) @ cols (C*kH*kW, N*H_out*W_out)`` per group.

    Backward (``G = dE/dx^l``):

    - delta rule, ``dE/dw_ab = sum_ij dE/dx^l_ij y^(l-1)_(i+a)(j+b)``:
      ``dW = G (C_out, N*H_out*W_out) @ cols^T``;
    - chain rule, ``dE/dy^(l-1)_ij = sum_ab dE/dx^l_(i-a)(j-b) w_ab`` (a
      transposed convolution): ``dcols = W^T @ G``, then ``col2im`` adds each
      column back onto the input positions its window read, and the padding
      is cropped off;
    - bias: ``dE/dbias[o] = sum_{n,i,j} G[n,o,i,j]``.

    The GEMMs run in channel-major order ``(C, N, H, W)``; this node converts
    at its entrance and exit (:class:`Conv2dChannelMajor` is the same node
    without the conversions, for networks that keep that layout). The shared
    work is in :func:`_conv_forward_cm` / :func:`_conv_backward_cm`, which
    also say what is saved for backward.
    """

    @staticmethod
    def forward(ctx, x, w, b, stride, pads, dilation, groups, unbatched):
        if unbatched:
            x = x[None]
        ctx.unbatched = unbatched
        ctx.batch_major = groups == 1
        if ctx.batch_major:
            out = _conv_forward_nchw(ctx, x, w, b, stride, pads, dilation)
        else:
            x_cm = channel_major(x, pads)                                    # (C, N, Hp, Wp)
            out = _from_cm(_conv_forward_cm(ctx, x_cm, w, stride, dilation, groups))  # (N, O, Ho, Wo)
            if b is not None:
                out += b.reshape(-1, 1, 1)
            ctx.crop = (x.shape[2:], pads)
        return out[0] if unbatched else out

    @staticmethod
    def backward(ctx, grad):
        need_b = ctx.needs_input_grad[2]
        if ctx.unbatched:
            grad = grad[None]
        if ctx.batch_major:
            dx, dw, db = _conv_backward_nchw(ctx, grad)
        else:
            db = grad.sum(axis=(0, 2, 3)) if need_b else None
            dx_cm, dw = _conv_backward_cm(ctx, channel_major(grad))           # (C, N, Hp, Wp)
            dx = None
            if dx_cm is not None:
                (H, W), (t, _, l, _) = ctx.crop
                dx = _from_cm(dx_cm[:, :, t:t + H, l:l + W])
        if dx is not None and ctx.unbatched:
            dx = dx[0]
        return dx, dw, db


class Conv2dChannelMajor(Function):
    """:class:`Conv2d` on channel-major activations: ``x_cm (C_in, N, H, W) ->
    (C_out, N, H_out, W_out)``, the same equations and the same kernels,
    without the two ``(N, C) <-> (C, N)`` transposes per direction.

    Channel-major is the GEMM's own layout (``cols`` is ``(C*kH*kW, N*Ho*Wo)``
    and ``W @ cols`` is ``(C_out, N*Ho*Wo)``), so a network that keeps its
    activations in it (LeNet-5's fast forward) transposes only at its ends.
    Elementwise layers and pooling over the last two axes do not care which
    of the two leading axes is the batch.
    """

    @staticmethod
    def forward(ctx, x_cm, w, b, stride, pads, dilation, groups):
        x_pad = pad_last2(x_cm, pads)
        out = _conv_forward_cm(ctx, x_pad, w, stride, dilation, groups)   # (O, N, Ho, Wo)
        if b is not None:
            out += b.reshape(-1, 1, 1, 1)
        ctx.crop = (x_cm.shape[2:], pads)
        return out

    @staticmethod
    def backward(ctx, grad):
        xp = array_module(grad)
        need_b = ctx.needs_input_grad[2]
        db = grad.sum(axis=(1, 2, 3)) if need_b else None
        dx_cm, dw = _conv_backward_cm(ctx, xp.ascontiguousarray(grad))
        if dx_cm is not None:
            (H, W), (t, _, l, _) = ctx.crop
            if dx_cm.shape[2:] != (H, W):
                dx_cm = xp.ascontiguousarray(dx_cm[:, :, t:t + H, l:l + W])
        return dx_cm, dw, db


# Columns up to this size are kept from forward for the delta rule instead of
# being rebuilt from the input in backward. Off (0): measured on LeNet-5 (2
# cores, batch 64/256) rebuilding them chunk by chunk in the cache costs no
# more than reading kept ones back from main memory, and keeping them costs
# kH*kW times the input in memory (and, with glibc's default malloc, fresh
# page faults every step). Kept as a switch (tested both ways) for devices
# where recomputation is dearer.
_SAVE_COLUMNS_BYTES = 0

# The GEMMs walk the batch in chunks of images whose columns (or column
# gradients) fit in the L2 cache: im2col writes a chunk and the GEMM reads it
# back from the cache, and in backward ``W^T @ G`` writes a chunk that col2im
# reads there, instead of streaming the full ``(C*kH*kW, N*Ho*Wo)`` matrix
# through main memory twice. It also bounds the temporary memory (a batch
# of 1000 never holds 25x its input in columns).
_CHUNK_BYTES = 1 << 22


# The channel-major path also caps a chunk at about this many GEMM columns
# (images * Ho*Wo; 0: no cap). LeNet's GEMMs are tiny (6 or 16 rows) and
# long: measured on 2 cores, OpenBLAS threads ``(6, 25) @ (25, 50176)`` and
# the weight gradient's ``(6, 25088) @ (25088, 25)`` so badly that they ran
# 1.5x and 4x slower than the same work in pieces of ~6400 columns.
_GEMM_COLS = 6400


# On a GPU there is no L2 to fit and every chunk is a kernel launch (a CPU's
# chunks split a ResNet-20 conv into ~19 launches): one chunk per batch, only
# bounded so the columns of a huge batch do not exhaust device memory.
_GPU_CHUNK_BYTES = 1 << 30


def _image_chunks(n_images, bytes_per_image, cols_per_image=0, xp=np):
    """``[(n0, n1), ...]`` covering ``range(n_images)``, each about ``_CHUNK_BYTES``
    and, when ``cols_per_image`` is given, at most about ``_GEMM_COLS`` columns
    (with CuPy: about ``_GPU_CHUNK_BYTES``, no column cap)."""
    if xp is not np:
        step = max(1, _GPU_CHUNK_BYTES // max(1, bytes_per_image))
        return [(n0, min(n_images, n0 + step)) for n0 in range(0, n_images, step)]
    step = max(1, _CHUNK_BYTES // max(1, bytes_per_image))
    if cols_per_image and _GEMM_COLS:
        step = min(step, max(1, _GEMM_COLS // cols_per_image))
    return [(n0, min(n_images, n0 + step)) for n0 in range(0, n_images, step)]


def _conv_forward_cm(ctx, x_cm, w, stride, dilation, groups):
    """Shared forward: padded ``x_cm (C, N, Hp, Wp)`` -> ``(O, N, Ho, Wo)`` contiguous, no bias.

    Saves for backward, only what it will need: the weight (for the chain
    rule) and, for the delta rule, either the columns themselves (when they
    are at most ``_SAVE_COLUMNS_BYTES``) or the padded input to rebuild them
    from (one more im2col in backward, memory at the input's size).
    """
    xp = array_module(x_cm)
    C, N, hp, wp = x_cm.shape
    O, Cg, kh, kw = w.shape
    kernel = (kh, kw)
    ho, wo = out_size(hp, kh, stride[0], dilation[0]), out_size(wp, kw, stride[1], dilation[1])
    wide = _use_wide(kernel, stride, wp, wo)
    need_x, need_w = ctx.needs_input_grad[:2]
    K, P = C * kh * kw, ho * wo
    keep = need_w and K * N * P * x_cm.dtype.itemsize <= _SAVE_COLUMNS_BYTES
    cols_kept = None
    if groups > 1 or wide or kernel == (1, 1):
        # Grouped, wide-grid and 1x1 layers: one batched GEMM over all columns.
        cols = _grouped(_columns(x_cm, kernel, stride, dilation, (ho, wo), wide), groups)
        out = _mm(_grouped(w, groups), cols).reshape(O, N, ho, -1)      # (O, N, Ho, Wg)
        if wide:
            out = xp.ascontiguousarray(out[..., :wo])
        cols_kept = cols if keep else None
    else:
        w2 = w.reshape(O, K)
        out = xp.empty((O, N * P), dtype=x_cm.dtype)
        if keep:
            cols_kept = xp.empty((C, kh, kw, N, ho, wo), dtype=x_cm.dtype)
            flat = cols_kept.reshape(K, N * P)
        for n0, n1 in _image_chunks(N, K * P * x_cm.dtype.itemsize, P, xp):
            if keep:
                im2col(x_cm[:, n0:n1], kernel, stride, dilation, (ho, wo), out=cols_kept[:, :, :, n0:n1])
                cols = flat[:, n0 * P:n1 * P]
            else:
                cols = im2col(x_cm[:, n0:n1], kernel, stride, dilation, (ho, wo)).reshape(K, -1)
            out[:, n0 * P:n1 * P] = w2 @ cols
        out = out.reshape(O, N, ho, wo)
        if keep:
            cols_kept = cols_kept.reshape(1, K, N * P)
    ctx.saved_cols = cols_kept is not None
    ctx.save_for_backward(cols_kept if cols_kept is not None else (x_cm if need_w else None),
                          w if need_x else None)
    ctx.geometry = (x_cm.shape, w.shape, stride, dilation, groups, (ho, wo), wide)
    return out


def _conv_backward_cm(ctx, g_cm):
    """Shared backward: ``g_cm = dE/dout (O, N, Ho, Wo)`` contiguous ->
    ``(dx_cm (C, N, Hp, Wp) or None, dW or None)`` (``dx_cm`` still padded)."""
    xp = array_module(g_cm)
    saved, w = ctx.saved_tensors
    (C, N, hp, wp), w_shape, stride, dilation, groups, (ho, wo), wide = ctx.geometry
    need_x, need_w = ctx.needs_input_grad[:2]
    kernel = w_shape[2:]
    O, K, P = w_shape[0], C * kernel[0] * kernel[1], ho * wo
    dx_cm = dw = None
    if not (need_x or need_w):
        return dx_cm, dw
    if groups > 1 or wide or tuple(kernel) == (1, 1):
        if wide:    # dE/dx^l on the columns' grid (O, N, Ho, Wp), zero on the junk columns
            g_cm = pad_last2(g_cm, (0, 0, 0, wp - wo))
        g = _grouped(g_cm.reshape(O, -1), groups)                       # (G, O/G, N*Ho*Wg)
        if need_w:
            # Delta rule: dW = G @ cols^T, the columns kept from forward or rebuilt.
            cols = saved if ctx.saved_cols else _grouped(
                _columns(saved, kernel, stride, dilation, (ho, wo), wide), groups)
            dw = _mm_nt(g, cols).reshape(w_shape)
            del cols
        if need_x:
            # Chain rule: dcols = W^T @ G, then col2im sums each column back
            # onto the input pixels its window read (a transposed convolution).
            dcols = _mm(_grouped(w, groups).transpose(0, 2, 1), g)       # (G, Cg*kH*kW, N*Ho*Wg)
            dx_cm = _decolumns(dcols.reshape(C, *kernel, N, ho, -1), (hp, wp), stride, dilation, wide)
        return dx_cm, dw
    g = g_cm.reshape(O, N * P)
    chunks = _image_chunks(N, K * P * g_cm.dtype.itemsize, P, xp)
    if need_w:
        # Delta rule: dW = G @ cols^T, over the kept columns or, chunk by
        # chunk, over columns rebuilt from the saved input.
        # Accumulated transposed, dW^T += cols @ G^T, per chunk: with K >> O
        # rows on the left OpenBLAS splits the work better (measured 1.6x on
        # C3), and see _GEMM_COLS for why in chunks even when the columns were kept.
        dwt = xp.zeros((K, O), dtype=g.dtype)
        for n0, n1 in chunks:
            if ctx.saved_cols:
                cols = saved[0, :, n0 * P:n1 * P]
            else:
                cols = im2col(saved[:, n0:n1], kernel, stride, dilation, (ho, wo)).reshape(K, -1)
            dwt += cols @ g[:, n0 * P:n1 * P].T
        dw = dwt.T
        dw = xp.ascontiguousarray(dw).reshape(w_shape)
    if need_x:
        # Chain rule: dcols = W^T @ G, then col2im adds each column back onto
        # the input pixels its window read (a transposed convolution); per
        # chunk, so each chunk of dcols is read back from the cache.
        wt = w.reshape(O, K).T
        dx_cm = xp.zeros((C, N, hp, wp), dtype=g.dtype)
        for n0, n1 in chunks:
            dcols = (wt @ g[:, n0 * P:n1 * P]).reshape(C, *kernel, n1 - n0, ho, wo)
            col2im(dcols, (hp, wp), stride, dilation, out=dx_cm[:, n0:n1])
    return dx_cm, dw


def _conv_forward_nchw(ctx, x, w, b, stride, pads, dilation):
    """Batch-major forward (groups 1): ``x (N, C, H, W)`` unpadded -> ``(N, O, Ho, Wo)`` + bias.

    Per chunk of images: ``cols = im2col_nchw(x)`` (``(C*kH*kW, n*Ho*Wo)``, the
    padding's zeros written by the kernel, not read from a padded copy), one
    GEMM ``W @ cols -> (O, n*Ho*Wo)``, and its transpose (plus bias) into the
    chunk's images of the output; all three passes touch the chunk while it is
    in the cache. Saves for backward the input itself (no copy: the caller's
    array, unpadded) and the weight, only where their gradient partner is needed.
    """
    xp = array_module(x)
    x = xp.ascontiguousarray(x)
    N, C, H, W = x.shape
    O, _, kh, kw = w.shape
    t, bt, l, r = pads
    ho = out_size(H + t + bt, kh, stride[0], dilation[0])
    wo = out_size(W + l + r, kw, stride[1], dilation[1])
    K, P = C * kh * kw, ho * wo
    w2 = w.reshape(O, K)
    out = xp.empty((N, O, P), dtype=x.dtype)
    for n0, n1 in _image_chunks(N, K * P * x.dtype.itemsize, xp=xp):
        cols = im2col_nchw(x, n0, n1, (kh, kw), stride, pads, dilation, (ho, wo)).reshape(K, -1)
        cm_to_nchw((w2 @ cols).reshape(O, n1 - n0, P), n0, b, out)
        del cols
    need_x, need_w = ctx.needs_input_grad[:2]
    ctx.save_for_backward(x if need_w else None, w if need_x else None)
    ctx.geometry = (x.shape, w.shape, stride, pads, dilation, (ho, wo))
    return out.reshape(N, O, ho, wo)


def _conv_backward_nchw(ctx, grad):
    """Batch-major backward: ``grad = dE/dout (N, O, Ho, Wo)`` -> ``(dx, dW, dbias)``.

    One pass over chunks of images, each chunk's work done while it is in the
    cache: the output gradient's chunk channel-major ``G (O, n*Ho*Wo)``; the
    delta rule ``dW += G @ cols^T`` over the columns rebuilt from the saved
    (unpadded) input; the chain rule ``dcols = W^T @ G`` scattered back by
    ``col2im_nchw`` straight into the chunk's images of ``dx`` (the padding
    cropped in the kernel, no padded gradient array); ``dbias += G.sum``.
    """
    xp = array_module(grad)
    x, w = ctx.saved_tensors
    (N, C, H, W), w_shape, stride, pads, dilation, (ho, wo) = ctx.geometry
    need_x, need_w, need_b = ctx.needs_input_grad[:3]
    if not (need_x or need_w or need_b):
        return None, None, None
    O, _, kh, kw = w_shape
    K, P = C * kh * kw, ho * wo
    g3 = xp.ascontiguousarray(grad).reshape(N, O, P)
    dx = xp.empty((N, C, H, W), dtype=grad.dtype) if need_x else None
    dwt = xp.zeros((K, O), dtype=grad.dtype) if need_w else None     # dW^T, see below
    db = xp.zeros(O, dtype=grad.dtype) if need_b else None
    wt = w.reshape(O, K).T if need_x else None
    for n0, n1 in _image_chunks(N, K * P * grad.dtype.itemsize, xp=xp):
        n = n1 - n0
        g = nchw_to_cm(g3, n0, xp.empty((O, n, P), dtype=grad.dtype)).reshape(O, n * P)
        if need_b:
            db += g.sum(axis=1)
        if need_w:
            # Delta rule: dE/dw_ab = sum_ij dE/dx^l_ij y^(l-1)_(i+a)(j+b).
            cols = im2col_nchw(x, n0, n1, (kh, kw), stride, pads, dilation, (ho, wo))
            # Accumulated transposed, dW^T += cols @ G^T: with the long K rows
            # on the left OpenBLAS runs it 1.1-1.75x faster than G @ cols^T
            # (measured on 2 cores, 16..128 channels, chunk-sized GEMMs).
            dwt += cols.reshape(K, -1) @ g.T
            del cols
        if need_x:
            # Chain rule: dE/dy^(l-1)_ij = sum_ab dE/dx^l_(i-a)(j-b) w_ab, a transposed convolution.
            col2im_nchw((wt @ g).reshape(C, kh, kw, n, ho, wo), n0, stride, pads, dilation, dx)
    dw = xp.ascontiguousarray(dwt.T).reshape(w_shape) if need_w else None
    return dx, dw, db


# --------------------------------------------------------- conv_transpose2d
class ConvTranspose2d(Function):
    """2-D transposed convolution ("deconvolution"): the adjoint of ``conv2d``.

    Shapes::

        x:    (N, C_in, H, W)        (or unbatched (C_in, H, W))
        w:    (C_in, C_out/groups, kH, kW)
        bias: (C_out,)
        out:  (N, C_out, H_out, W_out)
        H_out = (H - 1) s - 2p + d(kH - 1) + output_padding + 1   (same for W)

    Forward: every input pixel scatters its value times the kernel onto the
    output, which is exactly the chain rule of ``conv2d`` applied to ``x``::

        out[n, o, i*s + a*d - p, j*s + b*d - p] += sum_c x[n,c,i,j] w[c,o,a,b]   (+ bias[o])

    computed as ``col2im(W^T @ X)``, then cropped by ``p`` (``output_padding``
    extra rows/columns at the bottom/right only receive the bias).

    Backward (``G = dE/dout``): ``conv2d``'s forward reads the same windows,
    so ``cols = im2col(pad(G, p))``;
    input gradient ``dE/dx = W @ cols`` (a convolution of G with w),
    weight gradient ``dE/dw = X @ cols^T`` (delta rule with the roles of input
    and output map swapped), ``dE/dbias[o] = sum_{n,i,j} G[n,o,i,j]``.
    """

    @staticmethod
    def forward(ctx, x, w, b, stride, padding, output_padding, groups, dilation, unbatched):
        if unbatched:
            x = x[None]
        N, C, H, W = x.shape
        _, Og, kh, kw = w.shape
        (sh, sw), (ph, pw), (oh, ow), (dh, dw_) = stride, padding, output_padding, dilation
        full_h, full_w = (H - 1) * sh + dh * (kh - 1) + 1, (W - 1) * sw + dw_ * (kw - 1) + 1
        ho, wo = full_h - 2 * ph + oh, full_w - 2 * pw + ow
        x_cm = _grouped(_to_cm(x), groups)                              # (G, C/G, N*H*W)
        dcols = _mm(_grouped(w, groups).transpose(0, 2, 1), x_cm)       # (G, Og*kH*kW, N*H*W)
        out = _decolumns(dcols.reshape(Og * groups, kh, kw, N, H, W),
                         (full_h + oh, full_w + ow), stride, dilation)  # (C_out, N, Hf, Wf)
        del dcols
        out = out[:, :, ph:ph + ho, pw:pw + wo]
        if b is not None:
            out = out + b.reshape(-1, 1, 1, 1)
        need_x, need_w = ctx.needs_input_grad[:2]
        ctx.save_for_backward(x_cm if need_w else None, w if need_x else None)
        ctx.geometry = (x.shape, w.shape, stride, padding, dilation, groups, unbatched)
        out = _from_cm(out)
        return out[0] if unbatched else out

    @staticmethod
    def backward(ctx, grad):
        x_cm, w = ctx.saved_tensors
        (N, C, H, W), w_shape, stride, (ph, pw), dilation, groups, unbatched = ctx.geometry
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        kernel = w_shape[2:]
        if unbatched:
            grad = grad[None]
        db = grad.sum(axis=(0, 2, 3)) if need_b else None
        dx = dw = None
        if need_x or need_w:
            g_cm = channel_major(grad, (ph, ph, pw, pw))                # (C_out, N, Ho+2p, Wo+2p)
            cols = _grouped(_columns(g_cm, kernel, stride, dilation, (H, W)), groups)
            del g_cm
            if need_w:
                dw = _mm_nt(x_cm, cols).reshape(w_shape)
            if need_x:
                dx = _mm(_grouped(w, groups), cols).reshape(C, N, H, W)
                dx = _from_cm(dx)
                if unbatched:
                    dx = dx[0]
        return dx, dw, db


# ------------------------------------------------------------- shared kernels
def _use_wide(kernel, stride, wp, wo):
    """Whether stride-1 columns go on the padded-width grid (``_im2col.im2col(wide=True)``).

    The wide grid turns N*Ho short row copies into N long ones, at the price
    of ``Wp/Wo`` times more GEMM columns. Measured on 2 cores (LeNet C1/C3 at
    batch 64/256, a ResNet 3x3 at batch 128) it never beat the exact grid:
    numpy's strided copies are already bandwidth-bound there and the extra
    GEMM columns cost more. Kept switchable (and tested) for other machines
    and for CuPy, but off.
    """
    return False


def _columns(x_cm, kernel, stride, dilation, out_hw, wide=False):
    """im2col matrix ``(C*kH*kW, N*Ho*Wg)`` of ``x_cm (C, N, Hp, Wp)``.

    A 1x1 kernel at stride 1 needs no im2col: the input itself is the matrix.
    """
    C = x_cm.shape[0]
    kernel, stride = tuple(kernel), tuple(stride)
    if kernel == (1, 1) and stride == (1, 1):
        ho, wo = out_hw
        if x_cm.shape[2:] != (ho, wo):
            x_cm = x_cm[:, :, :ho, :wo]
        return x_cm.reshape(C, -1)
    cols = im2col(x_cm, kernel, stride, dilation, out_hw, wide=wide)
    return cols.reshape(C * kernel[0] * kernel[1], -1)


def _decolumns(dcols, padded_hw, stride, dilation, wide=False):
    """col2im: ``(C, kH, kW, N, Ho, Wg) -> (C, N, Hp, Wp)``, window sums."""
    C, kh, kw, N, ho, wo = dcols.shape
    if (kh, kw) == (1, 1) and tuple(stride) == (1, 1) and tuple(padded_hw) == (ho, wo):
        return dcols.reshape(C, N, ho, wo)
    return col2im(dcols, padded_hw, stride, dilation, wide=wide)


_CHUNK_FLOATS = 1 << 17   # ~512 KiB of float32 per chunk pair: stays in L2


def _mm_nt(a, b):
    """``a (G, m, M) @ b (G, k, M)^T -> (G, m, k)``: the delta rule's long reduction.

    With M (pixels x batch) in the tens of thousands and m, k small, one BLAS
    call streams both operands through the cache once per output block and is
    several times slower than summing GEMMs over cache-sized chunks of M, so
    the reduction runs as a batched matmul over chunks, then a sum.
    """
    G, m, M = a.shape
    k = b.shape[1]
    s = max(1024, _CHUNK_FLOATS // (m + k))
    nc = M // s
    if nc < 2 or array_module(a) is not np:      # a GPU: one GEMM, no cache to fit
        return _mm(b, a.transpose(0, 2, 1)).transpose(0, 2, 1)
    main = nc * s
    ac = a[:, :, :main].reshape(G, m, nc, s).transpose(0, 2, 3, 1)     # (G, nc, s, m)
    bc = b[:, :, :main].reshape(G, k, nc, s).transpose(0, 2, 1, 3)     # (G, nc, k, s)
    out = (bc @ ac).sum(axis=1)                                         # (G, k, m)
    if main < M:
        out += b[:, :, main:] @ a[:, :, main:].transpose(0, 2, 1)
    return out.transpose(0, 2, 1)


# --------------------------------------------------------------- public API
def _padding2d(op, padding, kernel, stride, dilation):
    """``padding`` (int, pair, 'same' or 'valid') -> ``(top, bottom, left, right)``."""
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0, 0, 0)
        if padding == "same":
            if stride != (1, 1):
                raise ArgumentError(f"{op}: padding='same' is not supported for strided convolutions "
                                    f"(as in PyTorch), received stride={stride}")
            pads = []
            for k, d in zip(kernel, dilation):
                total = d * (k - 1)
                # PyTorch puts the odd extra row/column at the bottom/right.
                pads += [total // 2, total - total // 2]
            return tuple(pads)
        raise ArgumentError(f"{op}: padding must be an int, a pair, 'same' or 'valid', "
                            f"received padding={padding!r}")
    ph, pw = pair(op, "padding", padding, minimum=0)
    return (ph, ph, pw, pw)


def _checked_weight(op, weight):
    _check_tensor(op, "weight", weight)
    if weight.ndim != 4:
        raise ArgumentError(f"{op}: expected a 4D weight (C_out, C_in/groups, kH, kW), "
                            f"received weight of shape {tuple(weight.shape)}")
    return weight


def _conv2d_geometry(op, shape, chw, weight, stride, padding, dilation, groups):
    """Validate conv2d's window arguments for an input of ``shape`` holding
    ``chw = (C, H, W)``; return ``(stride, pads, dilation)``."""
    C, H, W = chw
    O, Cg, kh, kw = weight.shape
    if C != Cg * groups:
        raise ArgumentError(f"{op}: expected input with {Cg * groups} channels (weight {tuple(weight.shape)}, "
                            f"groups={groups}), received input of shape {tuple(shape)}")
    stride = pair(op, "stride", stride)
    dilation = pair(op, "dilation", dilation)
    pads = _padding2d(op, padding, (kh, kw), stride, dilation)
    hp, wp = H + pads[0] + pads[1], W + pads[2] + pads[3]
    eh, ew = dilation[0] * (kh - 1) + 1, dilation[1] * (kw - 1) + 1
    if eh > hp or ew > wp:
        raise ArgumentError(f"{op}: kernel size {kh}x{kw} (dilated {eh}x{ew}) is larger than the padded "
                            f"input {hp}x{wp} (input of shape {tuple(shape)}, padding={padding!r}); "
                            f"expected a kernel no larger than the padded input")
    return stride, pads, dilation


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution over a batch of multi-channel images (see :class:`Conv2d`).

    x^l_ij = sum_a sum_b w_ab y^(l-1)_(i+a)(j+b) + bias, over every input
    channel of the group, at stride ``s``, zero padding ``p``, dilation ``d``.

    Args:
        input:    (N, C_in, H, W) or unbatched (C_in, H, W)
        weight:   (C_out, C_in/groups, kH, kW)
        bias:     (C_out,) or None
        stride:   int or (sH, sW), > 0
        padding:  int or (pH, pW) >= 0, or 'valid' (no padding) or 'same'
                  (output as large as the input; stride must be 1; an odd
                  total padding puts the extra row/column at the bottom/right)
        dilation: int or (dH, dW), > 0 (spacing between kernel taps)
        groups:   C_in and C_out split into ``groups`` independent blocks

    Shape:
        output (N, C_out, H_out, W_out),
        H_out = floor((H + 2p - d(kH - 1) - 1) / s) + 1, likewise W_out.

    Example::

        >>> x = nt.randn(8, 3, 32, 32); w = nt.randn(16, 3, 5, 5)
        >>> F.conv2d(x, w, padding=2).shape
        (8, 16, 32, 32)
    """
    (N, C, H, W), unbatched = _check_common("conv2d", input, weight, bias, groups,
                                           _checked_weight("conv2d", weight).shape[0])
    stride, pads, dilation = _conv2d_geometry("conv2d", input.shape, (C, H, W), weight, stride,
                                              padding, dilation, groups)
    return Conv2d.apply(input, weight, bias, stride, pads, dilation, groups, unbatched)


def _single(op, name, value):
    """An int or a 1-tuple -> the int (conv1d's window arguments)."""
    if isinstance(value, (tuple, list)):
        if len(value) != 1:
            raise ArgumentError(f"{op}: {name} must be an int or a 1-tuple, received {tuple(value)}")
        value = value[0]
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{op}: {name} must be an int, received {value!r}")
    return int(value)


def _as_2d_input(op, input, weight):
    """(N, C, L) / (C, L) input and (O, C/g, K) weight -> the 4-D views conv2d takes."""
    _check_tensor(op, "input", input)
    _check_tensor(op, "weight", weight)
    if weight.ndim != 3:
        raise ArgumentError(f"{op}: expected a 3D weight (C_out, C_in/groups, kL), received weight of shape "
                            f"{tuple(weight.shape)}")
    if input.ndim not in (2, 3):
        raise ArgumentError(f"{op}: expected a 3D input (N, C_in, L) or an unbatched 2D input (C_in, L), "
                            f"received input of shape {tuple(input.shape)}")
    return input.unsqueeze(-2), weight.unsqueeze(-2)


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D convolution over a batch of multi-channel sequences: :func:`conv2d`
    on the sequences seen as images of height 1 (same forward and backward).

    Args:
        input:    (N, C_in, L) or unbatched (C_in, L)
        weight:   (C_out, C_in/groups, kL)
        bias:     (C_out,) or None
        stride, dilation: int > 0;  padding: int >= 0, 'valid' or 'same'
        groups:   C_in and C_out split into ``groups`` independent blocks

    Shape:
        output (N, C_out, L_out), L_out = floor((L + 2p - d(kL - 1) - 1) / s) + 1.
    """
    op = "conv1d"
    x4, w4 = _as_2d_input(op, input, weight)
    stride = _single(op, "stride", stride)
    dilation = _single(op, "dilation", dilation)
    if not isinstance(padding, str):
        padding = (0, _single(op, "padding", padding))
    return conv2d(x4, w4, bias, (1, stride), padding, (1, dilation), groups).squeeze(-2)


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """1-D transposed convolution: :func:`conv_transpose2d` on height-1 images.

    input (N, C_in, L) or (C_in, L); weight (C_in, C_out/groups, kL);
    L_out = (L - 1) s - 2p + d(kL - 1) + output_padding + 1.
    """
    op = "conv_transpose1d"
    x4, w4 = _as_2d_input(op, input, weight)
    return conv_transpose2d(x4, w4, bias, (1, _single(op, "stride", stride)), (0, _single(op, "padding", padding)),
                            (0, _single(op, "output_padding", output_padding)), groups,
                            (1, _single(op, "dilation", dilation))).squeeze(-2)


def conv2d_cm(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """:func:`conv2d` on channel-major activations (see :class:`Conv2dChannelMajor`).

    The same convolution, with the batch and channel axes of input and output
    swapped: for networks that keep activations channel-major between layers
    so that no layer transposes (the GEMM layout of im2col). Pooling and
    elementwise ops work on such tensors unchanged (they see ``C`` as the
    batch), and ``x.permute(1, 0, 2, 3)`` converts at the network's ends.

    Args:
        input:  (C_in, N, H, W)
        weight, bias, stride, padding, dilation, groups: as in :func:`conv2d`

    Shape:
        output (C_out, N, H_out, W_out), H_out and W_out as in :func:`conv2d`;
        ``conv2d_cm(x.permute(1, 0, 2, 3), w, b).permute(1, 0, 2, 3)`` equals
        ``conv2d(x, w, b)``.
    """
    op = "conv2d_cm"
    _checked_weight(op, weight)
    _check_tensor(op, "input", input)
    if input.ndim != 4:
        raise ArgumentError(f"{op}: expected a 4D channel-major input (C_in, N, H, W), "
                            f"received input of shape {tuple(input.shape)}")
    C, N, H, W = input.shape
    _check_common(op, input, weight, bias, groups, weight.shape[0])
    stride, pads, dilation = _conv2d_geometry(op, input.shape, (C, H, W), weight, stride, padding,
                                              dilation, groups)
    return Conv2dChannelMajor.apply(input, weight, bias, stride, pads, dilation, groups)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """2-D transposed convolution (see :class:`ConvTranspose2d`): the gradient of
    ``conv2d`` with respect to its input, used as an upsampling layer.

    Args:
        input:          (N, C_in, H, W) or unbatched (C_in, H, W)
        weight:         (C_in, C_out/groups, kH, kW)
        bias:           (C_out,) or None
        stride:         int or pair, > 0
        padding:        int or pair, >= 0: rows/columns cropped from each side
                        (``d(k-1) - p`` zero padding in the equivalent conv)
        output_padding: int or pair, extra size on the bottom/right; must be
                        smaller than either the stride or the dilation
        groups, dilation: as in :func:`conv2d`

    Shape:
        output (N, C_out, H_out, W_out),
        H_out = (H - 1) s - 2p + d(kH - 1) + output_padding + 1, likewise W_out.
    """
    op = "conv_transpose2d"
    _check_tensor(op, "weight", weight)
    if weight.ndim != 4:
        raise ArgumentError(f"{op}: expected a 4D weight (C_in, C_out/groups, kH, kW), "
                            f"received weight of shape {tuple(weight.shape)}")
    Cin, Og, kh, kw = weight.shape
    (N, C, H, W), unbatched = _check_common(op, input, weight, bias, groups, Og * groups)
    if C != Cin:
        raise ArgumentError(f"{op}: expected input with {Cin} channels (weight {tuple(weight.shape)}: "
                            f"(C_in, C_out/groups, kH, kW)), received input of shape {tuple(input.shape)}")
    if isinstance(padding, str):
        raise ArgumentError(f"{op}: padding must be an int or a pair of ints, received padding={padding!r}")
    stride = pair(op, "stride", stride)
    padding = pair(op, "padding", padding, minimum=0)
    output_padding = pair(op, "output_padding", output_padding, minimum=0)
    dilation = pair(op, "dilation", dilation)
    for ax, name in ((0, "height"), (1, "width")):
        if output_padding[ax] >= stride[ax] and output_padding[ax] >= dilation[ax]:
            raise ArgumentError(f"{op}: output padding must be smaller than either stride or dilation, "
                                f"received output_padding={output_padding}, stride={stride}, "
                                f"dilation={dilation} ({name})")
    ho = (H - 1) * stride[0] - 2 * padding[0] + dilation[0] * (kh - 1) + output_padding[0] + 1
    wo = (W - 1) * stride[1] - 2 * padding[1] + dilation[1] * (kw - 1) + output_padding[1] + 1
    if ho < 1 or wo < 1:
        raise ArgumentError(f"{op}: input of shape {tuple(input.shape)} with weight {tuple(weight.shape)}, "
                            f"stride={stride}, padding={padding}, dilation={dilation}, "
                            f"output_padding={output_padding} gives output size {ho}x{wo}; "
                            f"expected a positive output size")
    return ConvTranspose2d.apply(input, weight, bias, stride, padding, output_padding, groups,
                                 dilation, unbatched)


# ----------------------------------------------------------------- _reference
# Naive loops, straight from the slide, on NumPy arrays (N, C, H, W). Slow;
# used only by the tests to witness the vectorized kernels above.
def _ref_pads(padding, kernel, dilation):
    if padding == "valid":
        return (0, 0, 0, 0)
    if padding == "same":
        (th, tw) = (dilation[0] * (kernel[0] - 1), dilation[1] * (kernel[1] - 1))
        return (th // 2, th - th // 2, tw // 2, tw - tw // 2)
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    return (ph, ph, pw, pw)


def _ref_pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def conv2d_reference(y, w, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """x^l_ij = sum_a sum_b w_ab y^(l-1)_(i*s+a*d)(j*s+b*d) (+ bias), by loops."""
    (sh, sw), (dh, dw) = _ref_pair(stride), _ref_pair(dilation)
    O, Cg, kh, kw = w.shape
    t, b, l, r = _ref_pads(padding, (kh, kw), (dh, dw))
    yp = np.pad(y, ((0, 0), (0, 0), (t, b), (l, r)))
    N, C, hp, wp = yp.shape
    ho, wo = (hp - dh * (kh - 1) - 1) // sh + 1, (wp - dw * (kw - 1) - 1) // sw + 1
    og = O // groups
    x = np.zeros((N, O, ho, wo), dtype=y.dtype)
    for n in range(N):
        for o in range(O):
            chans = slice((o // og) * Cg, (o // og + 1) * Cg)   # the input channels of o's group
            for i in range(ho):
                for j in range(wo):
                    s = 0.0
                    for a in range(kh):
                        for bb in range(kw):
                            s += w[o, :, a, bb] @ yp[n, chans, i * sh + a * dh, j * sw + bb * dw]
                    x[n, o, i, j] = s + (bias[o] if bias is not None else 0.0)
    return x


def conv2d_weight_grad_reference(y, gx, w_shape, stride=1, padding=0, dilation=1, groups=1):
    """Delta rule: dE/dw_ab = sum_ij dE/dx^l_ij y^(l-1)_(i*s+a*d)(j*s+b*d), by loops."""
    (sh, sw), (dh, dw) = _ref_pair(stride), _ref_pair(dilation)
    O, Cg, kh, kw = w_shape
    t, b, l, r = _ref_pads(padding, (kh, kw), (dh, dw))
    yp = np.pad(y, ((0, 0), (0, 0), (t, b), (l, r)))
    N, _, ho, wo = gx.shape
    og = O // groups
    dw_ = np.zeros(w_shape, dtype=y.dtype)
    for o in range(O):
        for c in range(Cg):
            cin = (o // og) * Cg + c
            for a in range(kh):
                for bb in range(kw):
                    s = 0.0
                    for n in range(N):
                        for i in range(ho):
                            for j in range(wo):
                                s += gx[n, o, i, j] * yp[n, cin, i * sh + a * dh, j * sw + bb * dw]
                    dw_[o, c, a, bb] = s
    return dw_


def conv2d_input_grad_reference(gx, w, y_shape, stride=1, padding=0, dilation=1, groups=1):
    """Chain rule: dE/dy^(l-1)_ij = sum_ab dE/dx^l_(i-a)(j-b) w_ab, by loops.

    With stride and dilation the output position fed by input row ``h`` and
    kernel row ``a`` is ``i = (h + p - a*d) / s`` when that is a whole number
    inside the output.
    """
    (sh, sw), (dh, dw) = _ref_pair(stride), _ref_pair(dilation)
    O, Cg, kh, kw = w.shape
    t, _, l, _ = _ref_pads(padding, (kh, kw), (dh, dw))
    N, C, H, W = y_shape
    _, _, ho, wo = gx.shape
    og = O // groups
    dy = np.zeros(y_shape, dtype=gx.dtype)
    for n in range(N):
        for c in range(C):
            g = c // Cg
            for h in range(H):
                for x in range(W):
                    s = 0.0
                    for a in range(kh):
                        for bb in range(kw):
                            ni, nj = h + t - a * dh, x + l - bb * dw
                            if ni % sh or nj % sw:
                                continue
                            i, j = ni // sh, nj // sw
                            if 0 <= i < ho and 0 <= j < wo:
                                for o in range(g * og, (g + 1) * og):
                                    s += gx[n, o, i, j] * w[o, c - g * Cg, a, bb]
                    dy[n, c, h, x] = s
    return dy


def conv_transpose2d_reference(x, w, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                               dilation=1):
    """out[n, o, i*s + a*d - p, j*s + b*d - p] += x[n,c,i,j] w[c,o,a,b], by loops."""
    (sh, sw), (ph, pw) = _ref_pair(stride), _ref_pair(padding)
    (oh, ow), (dh, dw) = _ref_pair(output_padding), _ref_pair(dilation)
    N, C, H, W = x.shape
    _, og, kh, kw = w.shape
    cg = C // groups
    ho = (H - 1) * sh - 2 * ph + dh * (kh - 1) + oh + 1
    wo = (W - 1) * sw - 2 * pw + dw * (kw - 1) + ow + 1
    out = np.zeros((N, og * groups, ho, wo), dtype=x.dtype)
    for n in range(N):
        for c in range(C):
            g = c // cg
            for i in range(H):
                for j in range(W):
                    for a in range(kh):
                        for bb in range(kw):
                            r, q = i * sh + a * dh - ph, j * sw + bb * dw - pw
                            if 0 <= r < ho and 0 <= q < wo:
                                for o in range(og):
                                    out[n, g * og + o, r, q] += x[n, c, i, j] * w[c, o, a, bb]
    if bias is not None:
        out += bias.reshape(1, -1, 1, 1)
    return out
