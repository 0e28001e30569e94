"""Optional compiled kernels (Numba) for the memory-bound loops NumPy runs
slowly: im2col / col2im on short rows (a 10-pixel-wide LeNet map makes NumPy
copy 10 elements per inner loop).

Used only for NumPy (CPU) arrays, only when ``numba`` is importable (the
``fast`` extra) and the environment does not set ``NEURONET_NUMBA=0``;
everything has a pure NumPy path (``neuronet.nn.functional._im2col``), which
CuPy arrays always take. ``numba`` is imported lazily, on the first kernel
call, so ``import neuronet`` stays fast; compiled code is cached on disk
(``cache=True``).

API:

- ``enabled()``                 whether the compiled path is on (numba importable, not disabled)
- ``usable(stride, dilation, *arrays)``  enabled, stride/dilation 1, float NumPy arrays
- ``im2col(x_cm, cols)``, ``col2im(cols, out)``  the kernels (stride/dilation 1)
- ``set_enabled(flag)``         force the path on/off (tests run both); returns the previous value
"""
from __future__ import annotations

import os

import numpy as np

__all__ = ["enabled", "usable", "set_enabled", "im2col", "col2im"]

_state = {"wanted": os.environ.get("NEURONET_NUMBA", "1") != "0", "mod": None, "tried": False}


def _module():
    if not _state["tried"]:
        _state["tried"] = True
        try:
            from . import _numba_im2col as mod
        except ImportError:      # numba not installed: the NumPy path serves
            mod = None
        _state["mod"] = mod
    return _state["mod"]


def enabled():
    return _state["wanted"] and _module() is not None


def set_enabled(flag):
    prev = _state["wanted"]
    _state["wanted"] = bool(flag)
    return prev


def usable(stride, dilation, *arrays):
    """Whether the compiled loop serves this call: enabled, stride and dilation
    1 (the only case it is faster), every array a float32/float64 NumPy array."""
    return (tuple(stride) == (1, 1) and tuple(dilation) == (1, 1) and enabled()
            and all(type(a) is np.ndarray and a.dtype in (np.float32, np.float64) for a in arrays))


def im2col(x_cm, cols):
    """``cols[c, a, b, n, i, j] = x_cm[c, n, i + a, j + b]`` (stride/dilation 1, cols preallocated)."""
    _module().im2col_unit(x_cm, cols)
    return cols


def col2im(cols, out):
    """``out[c, n, i + a, j + b] += cols[c, a, b, n, i, j]`` (stride/dilation 1, out preallocated)."""
    _module().col2im_unit(cols, out)
    return out
