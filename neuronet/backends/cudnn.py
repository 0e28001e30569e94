"""``neuronet.backends.cudnn``: PyTorch's cuDNN switches.

neuronet's convolutions are its own (im2col + matmul), so these flags are
stored for code that sets and reads them but do not change which kernel runs.
``is_available()`` is True only when CuPy can load cuDNN on a visible GPU.
"""
from __future__ import annotations

from .. import backend

__all__ = ["is_available", "version", "enabled", "benchmark", "deterministic", "allow_tf32"]

enabled = True
benchmark = False
deterministic = False
allow_tf32 = True


def _cudnn():
    if backend._get_cupy() is None:
        return None
    try:
        from cupy.cuda import cudnn
        return cudnn
    except Exception:  # CuPy built without cuDNN, or the library is missing
        return None


def is_available() -> bool:
    """True when CuPy imports, a GPU is visible and CuPy's cuDNN loads."""
    return _cudnn() is not None


def version():
    """cuDNN's version number, or None when it is unavailable."""
    c = _cudnn()
    return None if c is None else int(c.getVersion())
