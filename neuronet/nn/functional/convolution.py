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
a convolution hands its output on channel-major (a strided view) so the next
layers keep that layout without transposes (:class:`Conv2d`). Which kernel
runs -- layout, compiled numba loops for im2col/col2im -- is decided by the
seam, ``neuronet._kernels``. The same equations as plain loops, the tests'
witnesses, are in ``tests/conv_reference.py``.
"""
from __future__ import annotations

import numpy as np

from ... import _kernels
from ..._memory_format import is_channel_major
from ...autograd.function import Function
from ...backend import array_module
from ...tensor import Tensor
from ._im2col import (channel_major, cm_to_nchw, col2im, col2im_nchw, im2col, im2col_nchw,
                      nchw_to_cm, out_size, pad_last2, pair)
from ._errors import ArgumentError, DtypeError, DtypeNotSupported

__all__ = ["conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d"]


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

    Three kernels compute it, chosen by the seam (``neuronet._kernels``, op
    ``"conv2d"``) from the shapes and the input's memory layout; they give the
    same values up to float rounding:

    - ``"numba-direct"`` (compiled; 3x3 and 5x5 filters, stride 1, up to 128
      channels -- where it was measured to win): the sums above computed
      directly on channel-major activations, no columns at all; the chain rule
      as the same loops over the flipped filters; output handed on channel-major.
    - ``"gemm-channel-major"`` (any input): the GEMMs run in their own layout,
      channel-major ``(C, N, H, W)``. A channel-major input -- an ``(N, C, H,
      W)`` view of a ``(C, N, H, W)`` array, which is what this kernel returns
      -- is read in place, and the output is handed on the same way, so the
      ReLU and pooling after a convolution keep that layout and the next
      convolution needs no transpose (what PyTorch's ``channels_last`` does
      for its kernels). A single-channel image batch is in both layouts.
    - ``"gemm-batch-major"`` (a C-contiguous multi-channel input, groups 1):
      per cache-sized chunk of images, im2col straight from the unpadded
      input, the GEMM, and the transpose back into the chunk's images; the
      output is C-contiguous.
    """

    @staticmethod
    def forward(ctx, x, w, b, stride, pads, dilation, groups, unbatched):
        if unbatched:
            x = x[None]
        ctx.unbatched = unbatched
        ctx.kernel = _kernels.select("conv2d", x, w, b, channel_major=is_channel_major(x),
                                     groups=groups, kernel=tuple(w.shape[2:]), stride=stride,
                                     dilation=dilation, channels=(x.shape[1], w.shape[0]),
                                     same_dtype=x.dtype == w.dtype and (b is None or b.dtype == w.dtype))
        out = ctx.kernel.forward(ctx, x, w, b, stride, pads, dilation, groups)
        return out[0] if unbatched else out

    @staticmethod
    def backward(ctx, grad):
        if ctx.unbatched:
            grad = grad[None]
        dx, dw, db = ctx.kernel.backward(ctx, grad)
        if dx is not None and ctx.unbatched:
            dx = dx[0]
        return dx, dw, db


@_kernels.register("conv2d", "gemm-channel-major")
class _GemmChannelMajor:
    """Kernel ``"gemm-channel-major"`` of ``conv2d`` (see :class:`Conv2d`)."""

    @staticmethod
    def forward(ctx, x, w, b, stride, pads, dilation, groups):
        xp = array_module(x)
        x_cm = x.transpose(1, 0, 2, 3)                                  # (C, N, H, W), a view
        x_pad = pad_last2(x_cm, pads) if any(pads) else xp.ascontiguousarray(x_cm)
        out = _conv_forward_cm(ctx, x_pad, w, stride, dilation, groups)  # (O, N, Ho, Wo)
        if b is not None:
            out += b.reshape(-1, 1, 1, 1)
        ctx.crop = (x.shape[2:], pads)
        return out.transpose(1, 0, 2, 3)                                # (N, O, Ho, Wo) view

    @staticmethod
    def backward(ctx, grad):
        xp = array_module(grad)
        g_cm = xp.ascontiguousarray(grad.transpose(1, 0, 2, 3))        # (O, N, Ho, Wo)
        db = g_cm.sum(axis=(1, 2, 3)) if ctx.needs_input_grad[2] else None
        dx_cm, dw = _conv_backward_cm(ctx, g_cm)                        # (C, N, Hp, Wp)
        dx = None
        if dx_cm is not None:
            (H, W), (t, _, l, _) = ctx.crop
            if dx_cm.shape[2:] != (H, W):
                dx_cm = xp.ascontiguousarray(dx_cm[:, :, t:t + H, l:l + W])
            dx = dx_cm.transpose(1, 0, 2, 3)
        return dx, dw, db


@_kernels.register("conv2d", "gemm-batch-major", priority=1,
                   when=lambda channel_major, groups, **_: groups == 1 and not channel_major)
class _GemmBatchMajor:
    """Kernel ``"gemm-batch-major"`` of ``conv2d`` (see :class:`Conv2d`)."""

    @staticmethod
    def forward(ctx, x, w, b, stride, pads, dilation, groups):
        return _conv_forward_nchw(ctx, x, w, b, stride, pads, dilation)

    @staticmethod
    def backward(ctx, grad):
        return _conv_backward_nchw(ctx, grad)


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
    """Channel-major forward: padded ``x_cm (C, N, Hp, Wp)`` -> ``(O, N, Ho, Wo)`` contiguous, no bias.

    Saves for backward only what it will need: the weight (for the chain
    rule) and the padded input, from which the delta rule rebuilds the
    columns chunk by chunk in the cache (measured on LeNet-5 no slower than
    reading kept columns back from memory, at 1/(kH*kW) of their size).
    """
    xp = array_module(x_cm)
    C, N, hp, wp = x_cm.shape
    O, Cg, kh, kw = w.shape
    kernel = (kh, kw)
    ho, wo = out_size(hp, kh, stride[0], dilation[0]), out_size(wp, kw, stride[1], dilation[1])
    need_x, need_w = ctx.needs_input_grad[:2]
    K, P = C * kh * kw, ho * wo
    if groups > 1 or kernel == (1, 1):
        # Grouped and 1x1 layers: one batched GEMM over all columns.
        cols = _grouped(_columns(x_cm, kernel, stride, dilation, (ho, wo)), groups)
        out = _mm(_grouped(w, groups), cols).reshape(O, N, ho, wo)
    else:
        w2 = w.reshape(O, K)
        out = xp.empty((O, N * P), dtype=x_cm.dtype)
        for n0, n1 in _image_chunks(N, K * P * x_cm.dtype.itemsize, P, xp):
            cols = im2col(x_cm[:, n0:n1], kernel, stride, dilation, (ho, wo)).reshape(K, -1)
            out[:, n0 * P:n1 * P] = w2 @ cols
        out = out.reshape(O, N, ho, wo)
    ctx.save_for_backward(x_cm if need_w else None, w if need_x else None)
    ctx.geometry = (x_cm.shape, w.shape, stride, dilation, groups, (ho, wo))
    return out


def _conv_backward_cm(ctx, g_cm):
    """Channel-major backward: ``g_cm = dE/dout (O, N, Ho, Wo)`` contiguous ->
    ``(dx_cm (C, N, Hp, Wp) or None, dW or None)`` (``dx_cm`` still padded)."""
    xp = array_module(g_cm)
    x_cm, w = ctx.saved_tensors
    (C, N, hp, wp), w_shape, stride, dilation, groups, (ho, wo) = ctx.geometry
    need_x, need_w = ctx.needs_input_grad[:2]
    kernel = w_shape[2:]
    O, K, P = w_shape[0], C * kernel[0] * kernel[1], ho * wo
    dx_cm = dw = None
    if not (need_x or need_w):
        return dx_cm, dw
    if groups > 1 or tuple(kernel) == (1, 1):
        g = _grouped(g_cm.reshape(O, -1), groups)                       # (G, O/G, N*Ho*Wo)
        if need_w:
            # Delta rule: dW = G @ cols^T, the columns rebuilt from the saved input.
            cols = _grouped(_columns(x_cm, kernel, stride, dilation, (ho, wo)), groups)
            dw = _mm_nt(g, cols).reshape(w_shape)
            del cols
        if need_x:
            # Chain rule: dcols = W^T @ G, then col2im sums each column back
            # onto the input pixels its window read (a transposed convolution).
            dcols = _mm(_grouped(w, groups).transpose(0, 2, 1), g)       # (G, Cg*kH*kW, N*Ho*Wo)
            dx_cm = _decolumns(dcols.reshape(C, *kernel, N, ho, wo), (hp, wp), stride, dilation)
        return dx_cm, dw
    g = g_cm.reshape(O, N * P)
    chunks = _image_chunks(N, K * P * g_cm.dtype.itemsize, P, xp)
    if need_w:
        # Delta rule: dW = G @ cols^T over columns rebuilt chunk by chunk from
        # the saved input, accumulated transposed, dW^T += cols @ G^T: with
        # K >> O rows on the left OpenBLAS splits the work better (measured
        # 1.6x on LeNet's C3); see _GEMM_COLS for why in chunks.
        dwt = xp.zeros((K, O), dtype=g.dtype)
        for n0, n1 in chunks:
            cols = im2col(x_cm[:, n0:n1], kernel, stride, dilation, (ho, wo)).reshape(K, -1)
            dwt += cols @ g[:, n0 * P:n1 * P].T
        dw = xp.ascontiguousarray(dwt.T).reshape(w_shape)
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
def _columns(x_cm, kernel, stride, dilation, out_hw):
    """im2col matrix ``(C*kH*kW, N*Ho*Wo)`` of ``x_cm (C, N, Hp, Wp)``.

    A 1x1 kernel at stride 1 needs no im2col: the input itself is the matrix.
    """
    C = x_cm.shape[0]
    kernel, stride = tuple(kernel), tuple(stride)
    if kernel == (1, 1) and stride == (1, 1):
        ho, wo = out_hw
        if x_cm.shape[2:] != (ho, wo):
            x_cm = x_cm[:, :, :ho, :wo]
        return x_cm.reshape(C, -1)
    cols = im2col(x_cm, kernel, stride, dilation, out_hw)
    return cols.reshape(C * kernel[0] * kernel[1], -1)


def _decolumns(dcols, padded_hw, stride, dilation):
    """col2im: ``(C, kH, kW, N, Ho, Wo) -> (C, N, Hp, Wp)``, window sums."""
    C, kh, kw, N, ho, wo = dcols.shape
    if (kh, kw) == (1, 1) and tuple(stride) == (1, 1) and tuple(padded_hw) == (ho, wo):
        return dcols.reshape(C, N, ho, wo)
    return col2im(dcols, padded_hw, stride, dilation)


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
