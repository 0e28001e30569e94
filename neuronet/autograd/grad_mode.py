"""Whether ops record the graph: ``no_grad``, ``enable_grad``, ``set_grad_enabled``."""
from __future__ import annotations

import functools

_state = {"enabled": True}


def is_grad_enabled() -> bool:
    return _state["enabled"]


class set_grad_enabled:
    """Context manager (and decorator) that turns graph recording on or off."""

    def __init__(self, mode: bool):
        self.prev = _state["enabled"]
        self.mode = bool(mode)
        _state["enabled"] = self.mode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _state["enabled"] = self.prev
        return False


class no_grad:
    """Inside ``with no_grad():`` ops record nothing: no graph, no saved buffers.

    Usable as a decorator too::

        @neuronet.no_grad()
        def evaluate(model, x): ...
    """

    _enabled = False

    def __enter__(self):
        self.prev = _state["enabled"]
        _state["enabled"] = self._enabled
        return self

    def __exit__(self, *exc):
        _state["enabled"] = self.prev
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__():
                return fn(*args, **kwargs)
        return wrapper


class enable_grad(no_grad):
    """Turn recording back on inside a ``no_grad`` block."""

    _enabled = True


class inference_mode(no_grad):
    """``with neuronet.inference_mode():`` -- as ``no_grad`` here (neuronet has no
    separate inference tensors); ``inference_mode(False)`` leaves recording as it is.
    Usable as ``@inference_mode()`` and as a bare ``@inference_mode`` decorator."""

    def __init__(self, mode=True):
        if callable(mode):          # bare decorator: @inference_mode
            self.mode = True
            self._fn = mode
        else:
            self.mode = bool(mode)
            self._fn = None

    def __enter__(self):
        self.prev = _state["enabled"]
        if self.mode:
            _state["enabled"] = False
        return self

    def __call__(self, *args, **kwargs):
        if self._fn is not None:
            with inference_mode(True):
                return self._fn(*args, **kwargs)
        fn = args[0]
        mode = self.mode

        @functools.wraps(fn)
        def wrapper(*a, **k):
            with inference_mode(mode):
                return fn(*a, **k)
        return wrapper


def is_inference_mode_enabled() -> bool:
    return False
