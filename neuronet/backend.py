"""The array-module switch: NumPy on the CPU, CuPy on a GPU, one code path.

Every op takes its array module from the data it is given::

    xp = backend.array_module(x)      # numpy or cupy
    y = xp.maximum(x, 0)

so the same kernel runs on both. CuPy is optional: importing this module never
requires it, and ``device('cuda')`` fails with a clear message when it is not
installed or no GPU is visible.
"""
from __future__ import annotations

import sys

import numpy as np

__all__ = [
    "Device", "device", "array_module", "cupy_available", "to_device",
    "device_of", "manual_seed", "generator", "scatter_add", "default_dtype",
    "CudaUnavailableError", "require_cuda", "manual_seed_cuda", "get_default_device",
    "set_default_device",
]

_cupy = None
_cupy_checked = False


def _get_cupy():
    """Import CuPy once, lazily; None when absent or when no GPU is usable."""
    global _cupy, _cupy_checked
    if not _cupy_checked:
        _cupy_checked = True
        try:
            import cupy  # noqa: F401
            cupy.cuda.runtime.getDeviceCount()
            _cupy = cupy
        except Exception:  # ImportError, or CUDA present without a device
            _cupy = None
    return _cupy


def use_cupy_module(module):
    """Make ``module`` the array module of ``cuda`` devices (or None: no GPU).

    For the test suite's CPU stand-in of CuPy (tests/cupy_standin), which
    runs the whole GPU path without a GPU; real code never calls this.
    """
    global _cupy, _cupy_checked
    _cupy, _cupy_checked = module, True
    for xp in [k for k in _generators if k is not np]:
        del _generators[xp]


def cupy_available() -> bool:
    """True when CuPy imports and at least one GPU is visible."""
    return _get_cupy() is not None


class CudaUnavailableError(RuntimeError, AssertionError):
    """Raised when GPU work is asked for on a machine that cannot do it.

    A RuntimeError, as the brief error users expect; also an AssertionError,
    which is what PyTorch raises ("Torch not compiled with CUDA enabled"), so
    ``except AssertionError`` written for PyTorch still catches it.
    """


def _cuda_unavailable_reason() -> str:
    try:
        import cupy  # noqa: F401
    except Exception as e:  # ImportError, or a CuPy built for another CUDA
        return (f"CuPy is not installed or does not import ({type(e).__name__}: {e}); "
                "install the build for your CUDA version, e.g. pip install cupy-cuda12x")
    try:
        n = cupy.cuda.runtime.getDeviceCount()
    except Exception as e:
        return f"CuPy is installed but the CUDA runtime reports no usable GPU ({type(e).__name__}: {e})"
    return "CuPy is installed but no GPU is visible" if n == 0 else "CUDA initialization failed"


def require_cuda():
    """Return CuPy, or raise :class:`CudaUnavailableError` saying why there is no GPU."""
    cp = _get_cupy()
    if cp is None:
        raise CudaUnavailableError(
            "neuronet was asked for a CUDA device but CUDA is not available: "
            + _cuda_unavailable_reason()
            + ". Check neuronet.cuda.is_available() first, or stay on 'cpu'.")
    return cp


class Device:
    """Where a tensor's data lives: ``Device('cpu')`` or ``Device('cuda')``.

    Compares equal to its string name, so ``t.device == 'cpu'`` works.
    """

    __slots__ = ("type", "index")

    def __init__(self, spec: "str | Device" = "cpu", index: int | None = None):
        if isinstance(spec, Device):
            self.type, self.index = spec.type, spec.index
            return
        if not isinstance(spec, str):
            raise TypeError(f"device must be a string like 'cpu' or 'cuda', received {spec!r}")
        name, _, idx = spec.partition(":")
        if name not in ("cpu", "cuda"):
            raise ValueError(f"unknown device {spec!r}: expected 'cpu' or 'cuda' (optionally 'cuda:N')")
        self.type = name
        self.index = int(idx) if idx else index

    @property
    def xp(self):
        """The array module for this device (numpy or cupy)."""
        if self.type == "cpu":
            return np
        return require_cuda()

    def __eq__(self, other):
        if isinstance(other, str):
            try:
                other = Device(other)
            except (ValueError, TypeError):
                return False
        return isinstance(other, Device) and self.type == other.type and (
            self.index is None or other.index is None or self.index == other.index)

    def __hash__(self):
        return hash(self.type)

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self):
        return f"device(type='{self.type}'" + (f", index={self.index})" if self.index is not None else ")")


device = Device


def _late_cupy(arrays):
    """CuPy, looked up now because one of ``arrays`` is a CuPy array made
    before neuronet was asked for a GPU; None otherwise. No CuPy array can
    exist while CuPy is not imported: then this is one dict lookup."""
    if not _cupy_checked and "cupy" in sys.modules:
        for a in arrays:
            if type(a).__module__.startswith("cupy"):
                return _get_cupy()
    return None


def array_module(*arrays):
    """numpy, or cupy if any of ``arrays`` is a CuPy array."""
    cp = _cupy
    if cp is None and not _cupy_checked:
        cp = _late_cupy(arrays)
    if cp is not None:
        for a in arrays:
            if isinstance(a, cp.ndarray):
                return cp
    return np


def device_of(array) -> Device:
    cp = _cupy if _cupy_checked else _late_cupy((array,))
    if cp is not None and isinstance(array, cp.ndarray):
        return Device("cuda", array.device.id)
    return Device("cpu")


def to_device(array, dev: "str | Device"):
    """Move an ndarray to ``dev`` (no copy when it is already there)."""
    dev = Device(dev)
    if dev.type == "cpu":
        cp = _cupy if _cupy_checked else _late_cupy((array,))
        if cp is not None and isinstance(array, cp.ndarray):
            return cp.asnumpy(array)
        return np.asarray(array)
    cp = dev.xp
    if dev.index is None:           # 'cuda': the current GPU, or where it already is
        return array if isinstance(array, cp.ndarray) else cp.asarray(array)
    if isinstance(array, cp.ndarray) and array.device.id == dev.index:
        return array
    with cp.cuda.Device(dev.index):  # 'cuda:N': allocate (or copy across) on GPU N
        return cp.array(array, copy=True) if isinstance(array, cp.ndarray) else cp.asarray(array)


# Value checks that need the data on the host (a target class out of range)
# stall a GPU once per call. On the CPU they always run; on a GPU only when
# debug_checks is on (NEURONET_DEBUG_CHECKS=1), as PyTorch's CUDA kernels
# report such errors only with CUDA_LAUNCH_BLOCKING / device-side asserts.
debug_checks = __import__("os").environ.get("NEURONET_DEBUG_CHECKS", "0") not in ("", "0")


def host_checks(xp) -> bool:
    """Whether value checks that read device data back should run for ``xp``."""
    return xp is np or debug_checks


# The device factories and tensor() use when none is given (PyTorch's
# torch.set_default_device); 'cpu' unless changed.
default_device = Device("cpu")


def set_default_device(dev):
    """Make ``dev`` ('cpu', 'cuda', 'cuda:N' or None for 'cpu') the device new tensors go to."""
    global default_device
    dev = Device("cpu" if dev is None else dev)
    if dev.type == "cuda":
        require_cuda()
    default_device = dev


def get_default_device() -> Device:
    return default_device


def to_numpy(array):
    return to_device(array, "cpu")


# ---------------------------------------------------------------- random state
# One generator per array module, reseeded together by manual_seed, so that a
# seeded run draws the same dropout masks and initial weights every time.
_generators: dict = {}
_seed = None


def manual_seed(seed: int):
    """Seed every random draw neuronet makes (init, dropout, shuffling)."""
    global _seed
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise TypeError(f"manual_seed expects an int, received {seed!r}")
    _seed = int(seed)
    _generators.clear()
    _generators[np] = np.random.default_rng(_seed)


def manual_seed_cuda(seed: int):
    """Seed only the GPU generator (``neuronet.cuda.manual_seed``); a no-op
    without a GPU, as PyTorch's, so seeding code runs unchanged on the CPU."""
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise TypeError(f"manual_seed expects an int, received {seed!r}")
    cp = _get_cupy()
    if cp is not None:
        _generators[cp] = cp.random.default_rng(int(seed))


def generator(xp=np):
    """The module-wide random generator for ``xp`` (numpy.random.Generator-like)."""
    g = _generators.get(xp)
    if g is None:
        if xp is np:
            g = np.random.default_rng(_seed)
        else:
            g = xp.random.default_rng(_seed)
        _generators[xp] = g
    return g


def seed_from_state(state: dict) -> int:
    """A GPU generator seed that a NumPy bit-generator ``state`` defines."""
    inner = state.get("state", {}) if isinstance(state, dict) else {}
    inner = inner if isinstance(inner, dict) else {"state": inner}
    words = [int(inner.get(k, 0)) % (1 << 64) for k in ("state", "inc")]
    return int(np.random.SeedSequence(words).generate_state(1, np.uint64)[0] >> np.uint64(1))


def _reseed_device_generators(state: dict):
    """Restart the GPU generators at a seed drawn from the NumPy ``state``.

    CuPy's generators keep their state on the GPU (one cuRAND state per
    thread) with no portable form to save. So a saved state is the NumPy one,
    and taking or restoring it also restarts the GPU stream from a seed that
    state defines: a run resumed from a checkpoint draws the same GPU numbers
    as the run that wrote it.
    """
    seed = seed_from_state(state)
    for xp in [k for k in _generators if k is not np]:
        _generators[xp] = xp.random.default_rng(seed)
    if _cupy is not None:
        _generators[_cupy] = _cupy.random.default_rng(seed)


def get_rng_state() -> dict:
    """Serializable state of the NumPy generator (JSON-able, for checkpoints);
    on a GPU it also restarts the GPU stream from a seed this state defines
    (see :func:`_reseed_device_generators`)."""
    state = generator(np).bit_generator.state
    _reseed_device_generators(state)
    return state


def set_rng_state(state: dict):
    g = np.random.default_rng()
    g.bit_generator.state = state
    _generators[np] = g
    _reseed_device_generators(state)


def scatter_add(target, index, values):
    """``target[index] += values`` with repeated indices accumulated.

    Used only off the hot paths (advanced-index backward, embedding-like ops).
    """
    xp = array_module(target)
    if xp is np:
        np.add.at(target, index, values)
    else:  # pragma: no cover - needs a GPU
        import cupyx
        cupyx.scatter_add(target, index, values)
    return target


# The default floating dtype (a numpy.dtype): the one place it is kept;
# neuronet.get_default_dtype()/set_default_dtype() read and write it.
default_dtype = np.dtype(np.float32)


# ---------------------------------------------------------------- allocator
def _tune_malloc():
    """Keep freed activation buffers in the process instead of handing them
    back to the OS after every step.

    glibc's malloc returns large blocks to the kernel (munmap / heap trimming)
    as soon as they are freed, so each training step maps its activations anew
    and pays a page fault per 4 KiB page touched -- measured at about half of a
    LeNet-5 step (3,250 faults per step at batch 64). Raising the mmap and trim
    thresholds makes the next step reuse the same pages (1 fault per step).
    Peak memory is unchanged; memory is just not returned between steps.
    Set NEURONET_MALLOC_TUNING=0 to leave the allocator alone.
    """
    import os
    import sys
    if os.environ.get("NEURONET_MALLOC_TUNING", "1") == "0" or not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes
        libc = ctypes.CDLL("libc.so.6")
        M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
        ok_mmap = libc.mallopt(M_MMAP_THRESHOLD, 32 << 20)     # glibc's maximum on 64-bit
        ok_trim = libc.mallopt(M_TRIM_THRESHOLD, 1 << 30)
        return bool(ok_mmap and ok_trim)
    except (OSError, AttributeError):   # not glibc (musl, macOS): nothing to tune
        return False


malloc_tuned = _tune_malloc()
