"""Variable-length sequences: ``pad_sequence`` (a list -> one padded batch),
``PackedSequence`` with ``pack_padded_sequence`` / ``pad_packed_sequence`` /
``pack_sequence`` (the recurrent layers run packed batches step by step on the
sequences still running, as PyTorch's).

Packed layout (time-major): the rows of time step t are the batch elements
whose length exceeds t, in order of decreasing length; ``batch_sizes[t]``
counts them. ``data`` is those rows concatenated over t, shape (sum of lengths, *).
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np

from ...tensor import Tensor, cat, stack, tensor
from ..functional.padding import pad

__all__ = ["pad_sequence", "PackedSequence", "pack_padded_sequence", "pad_packed_sequence", "pack_sequence"]


def pad_sequence(sequences, batch_first=False, padding_value=0.0, padding_side="right"):
    """Stack tensors of shapes ``(L_i, *)`` into ``(L_max, B, *)`` (``(B, L_max, *)``
    with ``batch_first``), filling with ``padding_value`` on ``padding_side``.
    Differentiable with respect to every sequence."""
    seqs = list(sequences)
    if not seqs:
        raise RuntimeError("pad_sequence: received an empty list of sequences")
    for i, s in enumerate(seqs):
        if not isinstance(s, Tensor):
            raise TypeError(f"pad_sequence: expected Tensors, element {i} is a {type(s).__name__}")
    if padding_side not in ("left", "right"):
        raise ValueError(f"Expected padding_side to be one of left or right, but got {padding_side}.")
    trailing = tuple(seqs[0].shape[1:])
    for i, s in enumerate(seqs):
        if s.ndim == 0 or tuple(s.shape[1:]) != trailing:
            raise RuntimeError(f"pad_sequence: every sequence must be (L_i, {', '.join(map(str, trailing))}), "
                               f"element {i} has shape {tuple(s.shape)}")
    longest = max(s.shape[0] for s in seqs)
    padded = []
    for s in seqs:
        extra = longest - s.shape[0]
        if extra:
            # F.pad lists the last dim first: pad only dim 0 (the time axis).
            spec = [0, 0] * len(trailing) + ([0, extra] if padding_side == "right" else [extra, 0])
            s = pad(s, tuple(spec), value=float(padding_value))
        padded.append(s)
    return stack(padded, 0 if batch_first else 1)


class PackedSequence(namedtuple("PackedSequence", ["data", "batch_sizes", "sorted_indices", "unsorted_indices"])):
    """A batch of variable-length sequences packed time-major (see the module docstring).

    data (sum L_i, *), batch_sizes (T,) int64, sorted_indices / unsorted_indices
    (B,) int64 or None (the permutation to decreasing length and its inverse).
    """

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if unsorted_indices is None and sorted_indices is not None:
            unsorted_indices = _invert(sorted_indices)
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args, **kwargs):
        return type(self)(self.data.to(*args, **kwargs), self.batch_sizes, self.sorted_indices,
                          self.unsorted_indices)

    @property
    def is_cuda(self):
        return self.data.device.type == "cuda"


def _invert(perm):
    inv = np.empty(perm.shape[0], dtype=np.int64)
    inv[np.asarray(perm.tolist(), dtype=np.int64)] = np.arange(perm.shape[0])
    return tensor(inv)


def _lengths_list(lengths):
    if isinstance(lengths, Tensor):
        if lengths.device.type != "cpu":
            raise RuntimeError("'lengths' argument should be a 1D CPU int64 tensor, but got 1D cuda Long tensor")
        lengths = lengths.tolist()
    return [int(v) for v in lengths]


def pack_padded_sequence(input, lengths, batch_first=False, enforce_sorted=True):
    """Pack a padded batch ``(T, B, *)`` (``(B, T, *)`` with batch_first) of
    sequences with the given ``lengths`` (B,). With ``enforce_sorted=False`` the
    batch is sorted by decreasing length first (and unsorted by the layers'
    outputs). Differentiable with respect to ``input``."""
    if not isinstance(input, Tensor):
        raise TypeError(f"pack_padded_sequence: input must be a Tensor, received {type(input).__name__}")
    lens = _lengths_list(lengths)
    B = input.shape[0 if batch_first else 1]
    if len(lens) != B:
        raise RuntimeError(f"Expected `len(lengths)` to be equal to batch_size, but got {len(lens)} (batch_size={B})")
    if min(lens) <= 0:
        raise RuntimeError("Length of all samples has to be greater than 0, but found an element in 'lengths' "
                           "that is <= 0")
    sorted_indices = None
    if enforce_sorted:
        if any(a < b for a, b in zip(lens, lens[1:])):
            raise RuntimeError("`lengths` array must be sorted in decreasing order when `enforce_sorted` is True. "
                               "You can pass `enforce_sorted=False` to pack_padded_sequence and/or pack_sequence "
                               "to sidestep this requirement if you do not need ONNX exportability.")
    else:
        order = sorted(range(B), key=lambda i: -lens[i])       # stable, as torch.sort(descending=True)
        sorted_indices = tensor(np.asarray(order, dtype=np.int64))
        lens = [lens[i] for i in order]
        input = input[order] if batch_first else input[:, order]
    if batch_first:
        input = input.transpose(0, 1)
    T = lens[0]
    if T > input.shape[0]:
        raise RuntimeError(f"pack_padded_sequence: a length {T} exceeds the padded length {input.shape[0]}")
    batch_sizes = [sum(1 for n in lens if n > t) for t in range(T)]
    data = cat([input[t, :b] for t, b in enumerate(batch_sizes)], 0)
    return PackedSequence(data, tensor(np.asarray(batch_sizes, dtype=np.int64)), sorted_indices)


def pad_packed_sequence(sequence, batch_first=False, padding_value=0.0, total_length=None):
    """The inverse of :func:`pack_padded_sequence`: ``(padded (T, B, *), lengths (B,) int64)``
    in the original batch order (``(B, T, *)`` with batch_first)."""
    data, batch_sizes, _, unsorted = sequence
    sizes = [int(b) for b in batch_sizes.tolist()]
    B, T = sizes[0], len(sizes)
    if total_length is not None:
        if total_length < T:
            raise ValueError(f"Expected total_length to be at least the length of the longest sequence in input, "
                             f"but got total_length={total_length} and max sequence length being {T}")
    trailing = tuple(data.shape[1:])
    rows, offset = [], 0
    for b in sizes:
        step = data[offset:offset + b]
        offset += b
        if b < B:
            step = pad(step, (0, 0) * len(trailing) + (0, B - b), value=float(padding_value))
        rows.append(step)
    out = stack(rows, 0)                                         # (T, B, *)
    if total_length is not None and total_length > T:
        out = pad(out, (0, 0) * (len(trailing) + 1) + (0, total_length - T), value=float(padding_value))
    lengths = np.array([sum(1 for s in sizes if s > i) for i in range(B)], dtype=np.int64)
    if unsorted is not None:
        order = unsorted.tolist()
        out = out[:, order]
        lengths = lengths[order]
    if batch_first:
        out = out.transpose(0, 1)
    return out, tensor(lengths)


def pack_sequence(sequences, enforce_sorted=True):
    """Pack a list of ``(L_i, *)`` tensors (see :func:`pack_padded_sequence`)."""
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)
