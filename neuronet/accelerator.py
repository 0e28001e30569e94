"""``neuronet.accelerator``: the device-agnostic questions of ``torch.accelerator``.

The only accelerator neuronet drives is an NVIDIA GPU through CuPy, so the
answers come from :mod:`neuronet.cuda`.
"""
from __future__ import annotations

from . import backend, cuda

__all__ = ["is_available", "current_accelerator", "device_count", "current_device_index",
           "synchronize"]


def is_available() -> bool:
    """True when a GPU is usable (CuPy installed, a GPU visible)."""
    return cuda.is_available()


def current_accelerator(check_available: bool = False):
    """``device(type='cuda')`` when a GPU is usable, else None (never 'cpu')."""
    return backend.Device("cuda") if cuda.is_available() else None


def device_count() -> int:
    return cuda.device_count()


def current_device_index() -> int:
    return cuda.current_device()


def synchronize(device=None):
    cuda.synchronize(device)
