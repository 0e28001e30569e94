"""``neuronet.amp``: PyTorch's mixed-precision API, for code written with it.

neuronet has no reduced-precision kernels, so :class:`autocast` regions run
in the tensors' own dtype (float32): results are those of full precision, and
enabling it with float16/bfloat16 warns once that nothing is cast.

:class:`GradScaler` is the real loss-scaling algorithm (it does not depend on
the kernels): ``scale(loss)`` multiplies by the scale, ``unscale_(opt)``
divides the gradients back and looks for inf/NaN, ``step(opt)`` skips the
update when some were found, ``update()`` halves the scale after such a step
and doubles it after ``growth_interval`` clean steps. ``enabled=False`` makes
every method a pass-through, as in PyTorch.
"""
from __future__ import annotations

import functools
import warnings


import numpy as np

from . import backend
from .autograd.grad_mode import no_grad

__all__ = ["autocast", "GradScaler", "is_autocast_available"]

_warned = False


def is_autocast_available(device_type):
    return device_type in ("cpu", "cuda")


class autocast:  # noqa: N801  (PyTorch's spelling)
    """``with autocast(device_type, dtype=None, enabled=True, cache_enabled=None):``
    -- accepted; computation stays in full precision (see the module docstring)."""

    def __init__(self, device_type="cuda", dtype=None, enabled=True, cache_enabled=None):
        if not isinstance(device_type, str):
            raise ValueError(f"autocast: expected device_type to be a str, received {type(device_type).__name__}")
        self.device_type = device_type
        self.fast_dtype = dtype
        self._enabled = bool(enabled)

    def __enter__(self):
        global _warned
        if self._enabled and not _warned:
            _warned = True
            warnings.warn("neuronet.autocast: neuronet has no reduced-precision kernels; the region runs "
                          "in full precision (results as without autocast)", stacklevel=2)
        return self

    def __exit__(self, *exc):
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with autocast(self.device_type, self.fast_dtype, self._enabled):
                return fn(*args, **kwargs)
        return wrapper


def _f32(x):
    """The scale lives in float32, as PyTorch's scale tensor does."""
    return float(np.float32(x))


class GradScaler:
    """Dynamic loss scaling (PyTorch's ``torch.amp.GradScaler`` semantics)."""

    def __init__(self, device="cuda", init_scale=2.0 ** 16, growth_factor=2.0, backoff_factor=0.5,
                 growth_interval=2000, enabled=True):
        if growth_factor <= 1.0:
            raise ValueError(f"GradScaler: growth_factor should be > 1, received {growth_factor}")
        if not 0.0 < backoff_factor < 1.0:
            raise ValueError(f"GradScaler: backoff_factor should be in (0, 1), received {backoff_factor}")
        self._enabled = bool(enabled)
        self._scale = _f32(init_scale)
        self._growth_factor = float(growth_factor)
        self._backoff_factor = float(backoff_factor)
        self._growth_interval = int(growth_interval)
        self._growth_tracker = 0
        self._per_optimizer = {}      # id(optimizer) -> {"unscaled": bool, "found_inf": bool}

    def is_enabled(self):
        return self._enabled

    def get_scale(self):
        return self._scale if self._enabled else 1.0

    def scale(self, outputs):
        """``outputs`` (a tensor or nested lists/tuples of them) times the current scale."""
        if not self._enabled:
            return outputs
        if isinstance(outputs, (list, tuple)):
            return type(outputs)(self.scale(o) for o in outputs)
        return outputs * self._scale

    def _state(self, optimizer):
        return self._per_optimizer.setdefault(id(optimizer), {"unscaled": False, "found_inf": False})

    def unscale_(self, optimizer):
        """Divide the optimizer's gradients by the scale, in place; note any inf/NaN."""
        if not self._enabled:
            return
        state = self._state(optimizer)
        if state["unscaled"]:
            raise RuntimeError("unscale_() has already been called on this optimizer since the last update().")
        inv = 1.0 / self._scale
        found = False
        with no_grad():
            for group in optimizer.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    g = p.grad.array
                    g *= inv
                    xp = backend.array_module(g)
                    found = found or not bool(xp.isfinite(g).all())
        state["unscaled"] = True
        state["found_inf"] = found

    def step(self, optimizer, *args, **kwargs):
        """``optimizer.step()`` unless the (unscaled) gradients hold inf/NaN."""
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        state = self._state(optimizer)
        if not state["unscaled"]:
            self.unscale_(optimizer)
        if state["found_inf"]:
            return None
        return optimizer.step(*args, **kwargs)

    def update(self, new_scale=None):
        """Back off after a skipped step, grow after ``growth_interval`` clean ones."""
        if not self._enabled:
            return
        if new_scale is not None:
            self._scale = _f32(new_scale.item() if hasattr(new_scale, "item") else new_scale)
        else:
            found = any(s["found_inf"] for s in self._per_optimizer.values())
            if found:
                self._scale = _f32(self._scale * self._backoff_factor)
                self._growth_tracker = 0
            else:
                self._growth_tracker += 1
                if self._growth_tracker == self._growth_interval:
                    self._scale = _f32(self._scale * self._growth_factor)
                    self._growth_tracker = 0
        self._per_optimizer = {}

    def state_dict(self):
        if not self._enabled:
            return {}
        return {"scale": self._scale, "growth_factor": self._growth_factor,
                "backoff_factor": self._backoff_factor, "growth_interval": self._growth_interval,
                "_growth_tracker": self._growth_tracker}

    def load_state_dict(self, state):
        if not self._enabled:
            return
        if not state:
            raise RuntimeError("The source state dict is empty, possibly because it was saved from a "
                               "disabled instance of GradScaler.")
        self._scale = _f32(state["scale"])
        self._growth_factor = float(state["growth_factor"])
        self._backoff_factor = float(state["backoff_factor"])
        self._growth_interval = int(state["growth_interval"])
        self._growth_tracker = int(state["_growth_tracker"])



