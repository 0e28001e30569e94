"""The kernel seam: the one place that decides which implementation of an op runs.

An op body (``nn.functional``) holds the mathematics and the autograd
bookkeeping. For its inner loops it asks this registry::

    im2col = _kernels.select("im2col", x_cm, cols, stride=stride, dilation=dilation)
    im2col(x_cm, cols, kernel, stride, dilation, out_hw)

and gets the first registered implementation that can take the call. Each
implementation is registered with

- ``op``       the operation's name (``"im2col"``, ``"maxpool2x2"``, ``"conv2d"`` ...);
- ``name``     its own (``"numba"``, ``"numpy-strided"``, ``"gemm-channel-major"`` ...);
- ``needs``    which arrays it accepts: ``"numba"`` (float32/float64 NumPy arrays, numba
               importable and not disabled), ``"numpy"`` (NumPy arrays of any dtype) or
               ``None`` (any array module: NumPy or CuPy -- the portable fallback);
- ``when``     a predicate over the call's keyword facts (strides, shapes, layout) saying
               where it is correct or where it was measured to win;
- ``priority`` higher is tried first (compiled kernels 10, portable code 0).

Every op keeps one portable implementation whose predicate always holds, so
the choice never changes what is computed, only how fast. Tests run each op
with every kernel forced (:func:`force`); :func:`last` says which one served
the latest call.

``numba`` is imported lazily, on the first compiled-kernel call, so
``import neuronet`` stays fast and a process that never meets a compiled
kernel never loads LLVM; compiled code is cached on disk (``cache=True``).
``NEURONET_NUMBA=0`` in the environment (or :func:`set_enabled`) turns the
compiled kernels off.
"""
from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

__all__ = ["Kernel", "register", "select", "names", "force", "last", "enabled", "set_enabled",
           "numba_module"]

_state = {"wanted": os.environ.get("NEURONET_NUMBA", "1") != "0", "mods": None}
_NEEDS = (None, "numpy", "numba")
_FLOAT = (np.dtype(np.float32), np.dtype(np.float64))


@dataclass(frozen=True)
class Kernel:
    op: str
    name: str
    fn: Callable
    needs: Optional[str]
    when: Optional[Callable]
    priority: int


_registry: dict = {}     # op -> [Kernel], highest priority first
_forced: dict = {}       # op -> name
_last: dict = {}         # op -> name of the kernel that served the latest call


def register(op, name, *, needs=None, when=None, priority=None):
    """Decorator: register ``fn`` as implementation ``name`` of ``op`` (see the module doc)."""
    if needs not in _NEEDS:
        raise ValueError(f"_kernels.register({op!r}, {name!r}): needs must be one of {_NEEDS}, "
                         f"received {needs!r}")
    prio = (10 if needs == "numba" else 0) if priority is None else priority

    def add(fn):
        entries = [k for k in _registry.get(op, []) if k.name != name]
        entries.append(Kernel(op, name, fn, needs, when, prio))
        entries.sort(key=lambda k: -k.priority)     # stable: equal priorities keep their order
        _registry[op] = entries
        return fn
    return add


def _accepts(kernel, arrays):
    if kernel.needs is None:
        return True
    if any(type(a) is not np.ndarray for a in arrays):
        return False
    if kernel.needs == "numpy":
        return True
    return enabled() and all(a.dtype in _FLOAT for a in arrays)


def _eligible(kernel, arrays, facts):
    # The predicate first: numba (and LLVM) load only when a compiled kernel would run.
    return (kernel.when is None or bool(kernel.when(**facts))) and _accepts(kernel, arrays)


def select(op, *arrays, **facts):
    """The implementation of ``op`` for a call on ``arrays`` (every array argument;
    ``None`` entries are skipped) described by ``facts``."""
    arrays = [a for a in arrays if a is not None]
    entries = _registry.get(op)
    if not entries:
        raise KeyError(f"_kernels.select: no kernel registered for op {op!r}")
    forced = _forced.get(op)
    if forced is not None:
        kernel = next((k for k in entries if k.name == forced), None)
        if kernel is None or not _eligible(kernel, arrays, facts):
            raise RuntimeError(f"_kernels: kernel {forced!r} was forced for {op!r} but cannot "
                               f"take this call ({_describe(arrays, facts)})")
    else:
        kernel = next((k for k in entries if _eligible(k, arrays, facts)), None)
        if kernel is None:
            raise RuntimeError(f"_kernels: no kernel of {op!r} takes this call "
                               f"({_describe(arrays, facts)}); registered: {names(op)}")
    _last[op] = kernel.name
    return kernel.fn


def _describe(arrays, facts):
    arr = ", ".join(f"{type(a).__module__}.{type(a).__name__} {getattr(a, 'dtype', '?')}"
                    for a in arrays)
    return f"arrays [{arr}], facts {facts}"


def names(op):
    """Names of ``op``'s implementations, in the order they are tried."""
    return [k.name for k in _registry.get(op, [])]


def ops():
    """Every op with a registered kernel."""
    return sorted(_registry)


@contextlib.contextmanager
def force(op, name):
    """Within the block, ``op`` runs only kernel ``name`` (a call it cannot take raises)."""
    if name not in names(op):
        raise KeyError(f"_kernels.force: {op!r} has no kernel {name!r}; registered: {names(op)}")
    prev = _forced.get(op)
    _forced[op] = name
    try:
        yield
    finally:
        if prev is None:
            _forced.pop(op, None)
        else:
            _forced[op] = prev


def last(op):
    """Name of the kernel that served the latest call of ``op`` (None before any)."""
    return _last.get(op)


# ------------------------------------------------------------------ numba
def numba_module():
    """The compiled kernels' modules ``(im2col, pool, conv)`` (imports numba on first
    use); None when numba is not installed."""
    if _state["mods"] is None:
        try:
            import numba
            # The parallel kernels use numba's own thread pool: OpenMP's
            # spin-waiting threads were measured 10x slower on a shared
            # 2-core machine (they fight OpenBLAS's). An explicit
            # NUMBA_THREADING_LAYER in the environment still wins.
            pin = "NUMBA_THREADING_LAYER" not in os.environ
            if pin:
                numba.config.THREADING_LAYER = "workqueue"
            from . import _numba_conv as conv_mod
            from . import _numba_im2col as im2col_mod
            from . import _numba_pool as pool_mod
            _state["mods"] = (im2col_mod, pool_mod, conv_mod)
            if pin and os.environ.get("NEURONET_PIN_THREADS", "1") != "0":
                _pin_numba_workers()
        except ImportError:      # numba not installed: the portable kernels serve
            _state["mods"] = False
    return _state["mods"] or None


def _pin_numba_workers():
    """One workqueue worker per CPU (see ``_numba_threads``); a failure (no ``gettid``
    symbol, a sandbox refusing affinity) leaves the scheduler's placement."""
    try:
        from . import _numba_threads
        _state["pinned"] = _numba_threads.pin_workers()
    except Exception as err:            # noqa: BLE001 -- placement is an optimization only
        _state["pinned"] = f"not pinned: {type(err).__name__}: {err}"


def enabled():
    """Whether compiled kernels may be chosen: numba importable and not disabled."""
    return _state["wanted"] and numba_module() is not None


def set_enabled(flag):
    """Allow (True) or forbid (False) the compiled kernels; returns the previous setting."""
    prev = _state["wanted"]
    _state["wanted"] = bool(flag)
    return prev


from . import _numba_kernels  # noqa: E402,F401  (registers the compiled kernels)
