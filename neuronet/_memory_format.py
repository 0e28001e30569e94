"""Memory formats: how a 4-D (or 5-D) tensor's elements are laid out in memory.

``neuronet.contiguous_format`` (NCHW row-major), ``neuronet.channels_last``
(NHWC in memory, still indexed as NCHW), ``neuronet.channels_last_3d`` (NDHWC)
and ``neuronet.preserve_format``. ``t.to(memory_format=neuronet.channels_last)``
and ``t.contiguous(memory_format=...)`` re-lay the data out (a copy with the
other strides; shape and values unchanged), ``t.is_contiguous(memory_format=...)``
tells the layout. Every op accepts any layout, so the format changes speed
only, never results -- as in PyTorch.
"""
from __future__ import annotations

__all__ = ["memory_format", "contiguous_format", "channels_last", "channels_last_3d", "preserve_format",
           "strides_match", "relayout", "is_channel_major"]


class memory_format:  # noqa: N801  (PyTorch's spelling: torch.memory_format)
    def __init__(self, name, order):
        self.name = name
        self.order = order        # dims from outermost to innermost in memory, or None

    def __repr__(self):
        return f"torch.{self.name}"

    def __reduce__(self):
        return (_by_name, (self.name,))


contiguous_format = memory_format("contiguous_format", None)
channels_last = memory_format("channels_last", (0, 2, 3, 1))
channels_last_3d = memory_format("channels_last_3d", (0, 2, 3, 4, 1))
preserve_format = memory_format("preserve_format", None)


def _by_name(name):
    return {f.name: f for f in (contiguous_format, channels_last, channels_last_3d, preserve_format)}[name]


def _order(fmt, ndim):
    if fmt is None or fmt is contiguous_format or fmt is preserve_format:
        return tuple(range(ndim))
    if not isinstance(fmt, memory_format):
        raise TypeError(f"memory_format must be a neuronet memory format (e.g. neuronet.channels_last), "
                        f"received {fmt!r}")
    if len(fmt.order) != ndim:
        raise RuntimeError(f"required rank {len(fmt.order)} tensor to use {fmt!r} format, received a "
                           f"{ndim}-d tensor")
    return fmt.order


def strides_match(array, fmt):
    """Whether ``array`` is laid out densely in ``fmt``'s order (size-1 dims don't count)."""
    order = _order(fmt, array.ndim)
    expected = array.itemsize
    for d in reversed(order):
        if array.shape[d] != 1 and array.strides[d] != expected:
            return False
        expected *= array.shape[d]
    return True


def relayout(array, fmt, xp):
    """A copy of ``array`` laid out in ``fmt``'s order (same shape and values)."""
    order = _order(fmt, array.ndim)
    inverse = [0] * len(order)
    for i, d in enumerate(order):
        inverse[d] = i
    return xp.ascontiguousarray(array.transpose(order)).transpose(inverse)


def is_channel_major(array):
    """Whether the 4-D array ``(N, C, H, W)`` is a view of C-contiguous ``(C, N, H, W)``
    memory -- the layout a convolution hands its output on in (the GEMM's own layout),
    which ReLU, pooling and batch norm keep. True of both layouts at once when ``N`` or
    ``C`` is 1 (then ``array.flags.c_contiguous`` is true too)."""
    return array.ndim == 4 and array.transpose(1, 0, 2, 3).flags.c_contiguous
