"""Padding layers over ``F.pad``: ``ZeroPad1d/2d``, ``ConstantPad1d/2d``,
``ReflectionPad1d/2d``, ``ReplicationPad1d/2d``, ``CircularPad1d/2d``.
``padding`` is an int, (left, right) for the 1-D layers or
(left, right, top, bottom) for the 2-D ones."""
from __future__ import annotations

from .. import functional as F
from .module import Module
from ._utils import check_spatial_input, check_tensor, run_unbatched
from ..functional._errors import NotSupported

__all__ = ["ZeroPad1d", "ZeroPad2d", "ConstantPad1d", "ConstantPad2d", "ReflectionPad1d", "ReflectionPad2d",
           "ReplicationPad1d", "ReplicationPad2d", "CircularPad1d", "CircularPad2d"]


class _PadNd(Module):
    """``F.pad(x, padding, mode=_mode)``; ``_sides`` names the padding's entries."""

    _mode = "constant"
    _sides = ()

    def __init__(self, padding):
        super().__init__()
        n = len(self._sides)
        if isinstance(padding, int):
            padding = (padding,) * n
        padding = tuple(padding)
        if len(padding) != n or not all(isinstance(p, int) for p in padding):
            raise ValueError(f"{type(self).__name__}: padding must be an int or {n} ints "
                             f"({', '.join(self._sides)}), received {padding}")
        self.padding = padding

    def _pad(self, x):
        return F.pad(x, self.padding, mode=self._mode)

    def extra_repr(self):
        return f"{self.padding}"


class _ConstantValue:
    """The constant-padding layers: ``_pad`` fills with ``value``."""

    def __init__(self, padding, value):
        super().__init__(padding)
        self.value = value

    def _pad(self, x):
        return F.pad(x, self.padding, mode="constant", value=self.value)

    def extra_repr(self):
        return f"padding={self.padding}, value={self.value}"


class _Pad2d(_PadNd):
    """Pads the last two dims of (N, C, H, W) or (C, H, W)."""

    _sides = ("left", "right", "top", "bottom")

    def forward(self, input):
        check_spatial_input(input)
        return run_unbatched(self._pad, input)


class _Pad1d(_PadNd):
    """Pads the last dim of (N, C, L) or (C, L)."""

    _sides = ("left", "right")

    def forward(self, input):
        check_tensor(input)
        if input.ndim not in (2, 3):
            raise NotSupported(f"{type(self).__name__}: expected 2D (C, L) or 3D (N, C, L) input, received a "
                               f"{input.ndim}-D input of shape {tuple(input.shape)}")
        return self._pad(input)


class ConstantPad2d(_ConstantValue, _Pad2d):
    """Pad the last two dims with ``value``."""


class ZeroPad2d(ConstantPad2d):
    """Pad the last two dims with zeros."""

    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self):
        return f"{self.padding}"


class ReflectionPad2d(_Pad2d):
    """Pad by mirroring the input without repeating the edge (pad < input size)."""
    _mode = "reflect"


class ReplicationPad2d(_Pad2d):
    """Pad by repeating the edge values."""
    _mode = "replicate"


class CircularPad2d(_Pad2d):
    """Pad by wrapping around (the input tiled periodically)."""
    _mode = "circular"


class ConstantPad1d(_ConstantValue, _Pad1d):
    """Pad the last dim with ``value``."""


class ZeroPad1d(ConstantPad1d):
    """Pad the last dim with zeros."""

    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self):
        return f"{self.padding}"


class ReflectionPad1d(_Pad1d):
    """Pad the last dim by mirroring without repeating the edge."""
    _mode = "reflect"


class ReplicationPad1d(_Pad1d):
    """Pad the last dim by repeating the edge values."""
    _mode = "replicate"


class CircularPad1d(_Pad1d):
    """Pad the last dim by wrapping around."""
    _mode = "circular"
