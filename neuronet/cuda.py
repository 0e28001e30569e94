"""``neuronet.cuda``: what ``torch.cuda`` answers, from CuPy.

Every answer is the truth about this machine: ``is_available()`` is True
exactly when CuPy imports and sees a GPU. Without one, the questions that
have a harmless answer get it (``device_count() == 0``,
``memory_allocated() == 0``, seeding and ``empty_cache()`` do nothing), and
the ones that need a GPU (``current_device()``, ``get_device_name()``,
``synchronize()``) raise :class:`neuronet.backend.CudaUnavailableError`,
a RuntimeError that says why (as PyTorch raises when it has no CUDA).
"""
from __future__ import annotations

from . import backend

__all__ = ["is_available", "device_count", "current_device", "set_device", "get_device_name",
           "manual_seed", "manual_seed_all", "synchronize", "empty_cache", "memory_allocated",
           "max_memory_allocated", "memory_reserved", "is_bf16_supported"]


def is_available() -> bool:
    """True when CuPy is installed and at least one GPU is visible."""
    return backend.cupy_available()


def device_count() -> int:
    """The number of visible GPUs (0 without CuPy or without a GPU)."""
    cp = backend._get_cupy()
    return 0 if cp is None else int(cp.cuda.runtime.getDeviceCount())


def _index(device) -> int:
    """A GPU index from None (the current one), an int, 'cuda:N' or a device."""
    cp = backend.require_cuda()
    if device is None:
        return int(cp.cuda.runtime.getDevice())
    if isinstance(device, int):
        return device
    dev = backend.Device(device)
    if dev.type != "cuda":
        raise ValueError(f"expected a cuda device, received {device!r}")
    return int(cp.cuda.runtime.getDevice()) if dev.index is None else dev.index


def current_device() -> int:
    """The index of the GPU new CUDA tensors go to."""
    return _index(None)


def set_device(device):
    """Make ``device`` (an index, 'cuda:N' or a device) the current GPU."""
    cp = backend.require_cuda()
    cp.cuda.Device(_index(device)).use()


def get_device_name(device=None) -> str:
    """The GPU's product name, e.g. 'NVIDIA H100 80GB HBM3'."""
    cp = backend.require_cuda()
    name = cp.cuda.runtime.getDeviceProperties(_index(device))["name"]
    return name.decode() if isinstance(name, bytes) else str(name)


def manual_seed(seed: int):
    """Seed the GPU's random generator (nothing to seed without a GPU)."""
    backend.manual_seed_cuda(seed)


def manual_seed_all(seed: int):
    """Seed every GPU's generator (neuronet keeps one for all GPUs)."""
    backend.manual_seed_cuda(seed)


def synchronize(device=None):
    """Wait until every kernel queued on the GPU has finished."""
    cp = backend.require_cuda()
    with cp.cuda.Device(_index(device)):
        cp.cuda.Device().synchronize()


def empty_cache():
    """Hand the GPU memory CuPy keeps cached for reuse back to the driver."""
    cp = backend._get_cupy()
    if cp is not None:
        cp.get_default_memory_pool().free_all_blocks()
        cp.get_default_pinned_memory_pool().free_all_blocks()


def memory_allocated(device=None) -> int:
    """Bytes held by live GPU arrays (0 without a GPU)."""
    cp = backend._get_cupy()
    return 0 if cp is None else int(cp.get_default_memory_pool().used_bytes())


def memory_reserved(device=None) -> int:
    """Bytes CuPy holds from the driver, in use or cached (0 without a GPU)."""
    cp = backend._get_cupy()
    return 0 if cp is None else int(cp.get_default_memory_pool().total_bytes())


def max_memory_allocated(device=None) -> int:
    """CuPy keeps no peak counter; this is the current reserved total, an upper
    bound of what is allocated now (0 without a GPU)."""
    return memory_reserved(device)


def is_bf16_supported() -> bool:
    """False: NumPy and CuPy have no bfloat16 type."""
    return False


# torch.cuda.amp (PyTorch's older spelling of torch.amp)
from . import amp  # noqa: E402,F401
