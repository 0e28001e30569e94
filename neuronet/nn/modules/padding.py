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


def _quad(padding, name):
    if isinstance(padding, int):
        return (padding,) * 4
    padding = tuple(padding)
    if len(padding) != 4 or not all(isinstance(p, int) for p in padding):
        raise ValueError(f"{name}: padding must be an int or 4 ints (left, right, top, bottom), "
                         f"received {padding}")
    return padding


class _Pad2d(Module):
    _mode = "constant"

    def __init__(self, padding):
        super().__init__()
        self.padding = _quad(padding, type(self).__name__)

    def _pad(self, x):
        return F.pad(x, self.padding, mode=self._mode)

    def forward(self, input):
        check_spatial_input(input)
        return run_unbatched(self._pad, input)

    def extra_repr(self):
        return f"{self.padding}"


class ConstantPad2d(_Pad2d):
    """Pad the last two dims with ``value``."""

    def __init__(self, padding, value):
        super().__init__(padding)
        self.value = value

    def _pad(self, x):
        return F.pad(x, self.padding, mode="constant", value=self.value)

    def extra_repr(self):
        return f"padding={self.padding}, value={self.value}"


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


def _pair_pad(padding, name):
    if isinstance(padding, int):
        return (padding, padding)
    padding = tuple(padding)
    if len(padding) != 2 or not all(isinstance(p, int) for p in padding):
        raise ValueError(f"{name}: padding must be an int or 2 ints (left, right), received {padding}")
    return padding


class _Pad1d(Module):
    """Pads the last dim of (N, C, L) or (C, L)."""

    _mode = "constant"

    def __init__(self, padding):
        super().__init__()
        self.padding = _pair_pad(padding, type(self).__name__)

    def _pad(self, x):
        return F.pad(x, self.padding, mode=self._mode)

    def forward(self, input):
        check_tensor(input)
        if input.ndim not in (2, 3):
            raise NotSupported(f"{type(self).__name__}: expected 2D (C, L) or 3D (N, C, L) input, received a "
                               f"{input.ndim}-D input of shape {tuple(input.shape)}")
        return self._pad(input)

    def extra_repr(self):
        return f"{self.padding}"


class ConstantPad1d(_Pad1d):
    """Pad the last dim with ``value``."""

    def __init__(self, padding, value):
        super().__init__(padding)
        self.value = value

    def _pad(self, x):
        return F.pad(x, self.padding, mode="constant", value=self.value)

    def extra_repr(self):
        return f"padding={self.padding}, value={self.value}"


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
