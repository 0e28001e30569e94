"""Padding layers over ``F.pad``: ``ZeroPad2d``, ``ConstantPad2d``,
``ReflectionPad2d``, ``ReplicationPad2d``. ``padding`` is an int or
(left, right, top, bottom)."""
from __future__ import annotations

from .. import functional as F
from .module import Module
from ._utils import check_spatial_input, run_unbatched

__all__ = ["ZeroPad2d", "ConstantPad2d", "ReflectionPad2d", "ReplicationPad2d"]


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
