"""Lookup-table ops: ``embedding`` (a learned vector per token id) and
``one_hot``.

An embedding is a linear layer applied to one-hot inputs, computed as a row
gather: ``out[..., :] = weight[input[...], :]``. Its backward is the matching
scatter-add of the upstream gradient into the rows that were looked up (a row
used k times receives the sum of k gradients; rows not used receive 0).
"""
from __future__ import annotations

import numpy as np

from ...autograd.function import Function
from ...backend import array_module, scatter_add
from ...tensor import Tensor, stack
from ._errors import ArgumentError

__all__ = ["embedding", "embedding_bag", "one_hot"]


def _check_indices(op, input, what="input"):
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: {what} must be a neuronet Tensor of integer indices, received "
                        f"{type(input).__name__}")
    if input.dtype.kind not in "iu":
        raise RuntimeError(f"{op}: expected {what} of an integer dtype (Long or Int), received dtype "
                           f"{input.dtype}")


class Embedding(Function):
    """out[i...] = weight[idx[i...]]:  idx (*) int, weight (V, D) -> out (*, D).

    dE/dweight[v] = sum of g[i...] over every position with idx[i...] = v
    (divided by the number of such positions with ``scale_grad_by_freq``),
    and 0 for v = ``padding_idx``. The indices are not differentiable.
    """

    @staticmethod
    def forward(ctx, idx, weight, padding_idx, scale_grad_by_freq):
        ctx.save_for_backward(idx)
        ctx.params = (weight.shape, padding_idx, scale_grad_by_freq)
        return weight[idx]

    @staticmethod
    def backward(ctx, g):
        (idx,) = ctx.saved_tensors
        w_shape, padding_idx, by_freq = ctx.params
        xp = array_module(g)
        flat = idx.reshape(-1)
        rows = g.reshape(flat.shape[0], w_shape[1])
        if by_freq:
            counts = xp.bincount(flat, minlength=w_shape[0])
            rows = rows / counts[flat][:, None].astype(g.dtype)
        gw = xp.zeros(w_shape, dtype=g.dtype)
        scatter_add(gw, flat, rows)
        if padding_idx is not None:
            gw[padding_idx] = 0
        return None, gw, None, None


def _renorm_(weight, idx, max_norm, norm_type):
    """Rescale, in place and without gradient, the looked-up rows whose
    ``norm_type``-norm exceeds ``max_norm`` to norm ``max_norm`` (PyTorch's
    embedding_renorm_, with its 1e-7 guard)."""
    xp = array_module(weight.array)
    rows = xp.unique(idx.reshape(-1))
    w = weight.array[rows]
    norms = (xp.abs(w) ** norm_type).sum(axis=1) ** (1.0 / norm_type)
    scale = xp.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0).astype(w.dtype)
    weight.array[rows] = w * scale[:, None]
    weight._vc[0] += 1          # the weight changed in place: count it, as PyTorch does


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0, scale_grad_by_freq=False,
              sparse=False):
    """embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0,
    scale_grad_by_freq=False, sparse=False): the rows of ``weight`` at ``input``.

    Args:
        input: int tensor of any shape ``(*)``, values in ``[0, V)``.
        weight: ``(V, D)``, one D-vector per index.
        padding_idx: this row gets no gradient (negative counts from the end).
        max_norm: looked-up rows with a larger ``norm_type``-norm are first
            rescaled in ``weight`` itself (in place) to that norm.
        scale_grad_by_freq: divide each row's gradient by how often the
            index occurs in ``input``.
        sparse: sparse gradients are not supported (a dense gradient is made).

    Shape: output ``(*, D)``.
    """
    op = "embedding"
    _check_indices(op, input)
    if not isinstance(weight, Tensor):
        raise TypeError(f"{op}: weight must be a neuronet Tensor, received {type(weight).__name__}")
    if weight.ndim != 2:
        raise RuntimeError(f"{op}: 'weight' must be 2-D (num_embeddings, embedding_dim), received shape "
                           f"{tuple(weight.shape)}")
    if sparse:
        raise NotImplementedError("embedding: sparse=True (sparse gradients) is not supported by neuronet; "
                                  "use sparse=False")
    V = weight.shape[0]
    if padding_idx is not None:
        if not -V <= padding_idx < V:
            raise ArgumentError(f"{op}: padding_idx must be within num_embeddings ({V}), received {padding_idx}")
        padding_idx = int(padding_idx) % V
    idx = input.array
    if idx.size:
        lo, hi = int(idx.min()), int(idx.max())
        if lo < 0 or hi >= V:
            raise IndexError(f"{op}: index out of range in self: indices must be in [0, {V}) for a weight "
                             f"with {V} rows, received values in [{lo}, {hi}]")
    if max_norm is not None and idx.size:
        _renorm_(weight, idx, float(max_norm), float(norm_type))
    return Embedding.apply(idx.astype(np.int64, copy=False), weight, padding_idx, bool(scale_grad_by_freq))


def embedding_bag(input, weight, offsets=None, max_norm=None, norm_type=2, scale_grad_by_freq=False, mode="mean",
                  sparse=False, per_sample_weights=None, include_last_offset=False, padding_idx=None):
    """embedding_bag(input, weight, offsets=None, ..., mode='mean', per_sample_weights=None,
    include_last_offset=False, padding_idx=None): the sum, mean or max of each
    bag of embeddings, without building the (n, D) rows per bag.

    Bags: a 2-D ``input`` (B, L) holds B bags of L indices; a 1-D ``input`` is
    cut into bags at ``offsets`` (B,) (starting positions; with
    ``include_last_offset`` the last entry is the end). Indices equal to
    ``padding_idx`` are left out (and not counted by 'mean'); an empty bag
    gives zeros. ``per_sample_weights`` (shaped like input) scales each row,
    with mode='sum' only.

    Sum and mean are one product ``A @ rows`` with A (B, n) the bag-membership
    matrix (weights / counts), so their backward is the matrix product's; max
    takes each bag's elementwise max.

    Shape: output (B, D).
    """
    op = "embedding_bag"
    _check_indices(op, input)
    if mode not in ("sum", "mean", "max"):
        raise ArgumentError(f"{op}: mode has to be one of sum, mean or max, received {mode!r}")
    if per_sample_weights is not None and mode != "sum":
        raise NotImplementedError(f"{op}: per_sample_weights was not None. per_sample_weights is only supported "
                                  f"for mode='sum' (got mode='{mode}'). Please open a feature request on GitHub.")
    xp = array_module(input.array)
    if input.ndim == 2:
        if offsets is not None:
            raise ArgumentError(f"{op}: if input is 2D, then offsets has to be None, as input is treated "
                                "is a mini-batch of fixed length sequences.")
        n_bags, length = input.shape
        starts = np.arange(n_bags) * length
        flat = input.reshape(-1)
        if per_sample_weights is not None:
            per_sample_weights = per_sample_weights.reshape(-1)
    elif input.ndim == 1:
        if offsets is None:
            raise ArgumentError(f"{op}: offsets has to be a 1D Tensor but got None")
        _check_indices(op, offsets, "offsets")
        starts = np.asarray(backend_to_numpy(offsets.array), dtype=np.int64)
        if starts.size and starts[0] != 0:
            raise ArgumentError(f"{op}: offsets[0] has to be 0, i.e., the first sequence in the mini-batch has to "
                                f"start from position 0; received offsets[0] = {int(starts[0])}")
        if starts.size > 1 and (np.diff(starts) < 0).any():
            raise ArgumentError(f"{op}: offsets must be non-decreasing, received {starts.tolist()}")
        if include_last_offset:
            starts = starts[:-1]
        flat = input
    else:
        raise ArgumentError(f"{op}: input has to be 1D or 2D Tensor, but got Tensor of dimension {input.ndim}")
    n = flat.shape[0]
    V = weight.shape[0]
    if padding_idx is not None:
        padding_idx = int(padding_idx) % V
    ends = np.append(starts[1:], n) if not (input.ndim == 1 and include_last_offset) else \
        np.asarray(backend_to_numpy(offsets.array), dtype=np.int64)[1:]
    rows = embedding(flat, weight, None, max_norm, norm_type, scale_grad_by_freq)     # (n, D)
    keep = np.ones(n, dtype=bool) if padding_idx is None else backend_to_numpy(flat.array) != padding_idx
    if mode == "max":
        out = []
        for a, b in zip(starts, ends):
            idx = np.nonzero(keep[a:b])[0] + a
            out.append(rows[xp.asarray(idx)].amax(0) if idx.size else rows[0] * 0)
        return stack(out, 0)
    A = np.zeros((len(starts), n), dtype=weight.dtype)
    for bag, (a, b) in enumerate(zip(starts, ends)):
        A[bag, a:b] = keep[a:b]
        if mode == "mean":
            count = keep[a:b].sum()
            A[bag, a:b] /= max(count, 1)
    A = Tensor._wrap(xp.asarray(A))
    if per_sample_weights is not None:
        rows = rows * per_sample_weights.reshape(-1, 1)
    return A @ rows


def backend_to_numpy(a):
    """Host copy of a small index array (offsets, a padding mask) for the bag bookkeeping."""
    return a.get() if hasattr(a, "get") else np.asarray(a)


def one_hot(tensor, num_classes=-1):
    """one_hot(tensor, num_classes=-1): int64 tensor of shape ``(*, num_classes)``
    with a 1 at each index of ``tensor`` (shape ``(*)``); ``num_classes=-1``
    takes ``tensor.max() + 1``. No gradient."""
    op = "one_hot"
    _check_indices(op, tensor, "tensor")
    idx = tensor.array
    xp = array_module(idx)
    if idx.size and int(idx.min()) < 0:
        raise RuntimeError("one_hot: Class values must be non-negative.")
    if num_classes == -1:
        if not idx.size:
            raise RuntimeError("one_hot: Can not infer total number of classes from empty tensor.")
        num_classes = int(idx.max()) + 1
    elif idx.size and int(idx.max()) >= num_classes:
        raise RuntimeError(f"one_hot: Class values must be smaller than num_classes ({num_classes}), "
                           f"received {int(idx.max())}.")
    out = (idx[..., None] == xp.arange(num_classes)).astype(np.int64)
    return Tensor._wrap(out)
