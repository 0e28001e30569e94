"""``pad_sequence``: a list of variable-length sequences as one padded batch."""
from __future__ import annotations

from ...tensor import Tensor, stack
from ..functional.padding import pad

__all__ = ["pad_sequence"]


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
