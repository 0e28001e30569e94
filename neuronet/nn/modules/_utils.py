"""Helpers shared by the layers: argument normalization, input validation and
PyTorch's default initialization (kept here, not in ``nn.init``, so that a
layer's defaults never depend on another module's choices)."""
from __future__ import annotations

import math

import numpy as np

from ... import backend
from ...tensor import Tensor, _as_dtype
from ..functional._errors import ArgumentError

_REDUCTIONS = ("none", "mean", "sum")


def _ntuple(n, name="argument"):
    def parse(x):
        if isinstance(x, (tuple, list)):
            if len(x) != n:
                raise ValueError(f"{name} must be an int or a tuple of {n} ints, received {tuple(x)}")
            return tuple(x)
        return (x,) * n
    return parse


_pair = _ntuple(2)


def _reverse_repeat_tuple(t, n):
    """``(a, b)`` -> ``(b, b, a, a)`` for n=2: F.pad's order (last dim first)."""
    return tuple(x for x in reversed(t) for _ in range(n))


def check_tensor(x, what="input"):
    if not isinstance(x, Tensor):
        raise TypeError(f"expected {what} to be a neuronet.Tensor, received {type(x).__module__}."
                        f"{type(x).__name__}")


def check_spatial_input(x, channels=None):
    """``x`` must be (N, C, H, W) or unbatched (C, H, W), with ``channels`` channels
    when given. Returns True when ``x`` is batched."""
    check_tensor(x)
    if x.ndim not in (3, 4):
        raise ArgumentError(f"expected a 4-D input (N, C, H, W) or 3-D (C, H, W), received a "
                            f"{x.ndim}-D input of shape {tuple(x.shape)}")
    batched = x.ndim == 4
    if channels is not None and x.shape[-3] != channels:
        want = f"(N, {channels}, H, W)" if batched else f"({channels}, H, W)"
        raise ArgumentError(f"expected input of shape {want}, received {tuple(x.shape)}")
    return batched


def run_unbatched(fn, x, *args, **kwargs):
    """Run a 4-D op on a (C, H, W) input by adding and removing a batch dim.

    Ops that return ``(out, indices)`` get both squeezed."""
    if x.ndim == 4:
        return fn(x, *args, **kwargs)
    out = fn(x.unsqueeze(0), *args, **kwargs)
    if isinstance(out, tuple):
        return tuple(o.squeeze(0) for o in out)
    return out.squeeze(0)


def check_reduction(reduction):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction must be one of {_REDUCTIONS}, received {reduction!r}")
    return reduction


def legacy_reduction(size_average, reduce, reduction):
    """PyTorch's deprecated ``size_average``/``reduce`` arguments -> ``reduction``."""
    if size_average is None and reduce is None:
        return check_reduction(reduction)
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    if not reduce:
        return "none"
    return "mean" if size_average else "sum"


def uniform_(param, bound):
    """Fill ``param`` in place with U(-bound, bound) from neuronet's seeded generator."""
    xp = backend.array_module(param.array)
    dtype = param.dtype if param.dtype in (np.float32, np.float64) else np.float64
    draw = backend.generator(xp).random(param.shape, dtype=dtype)   # float32 draws: no float64 detour
    draw *= 2 * bound
    draw -= bound
    param.array[...] = draw


def fan_in(weight_shape):
    """PyTorch's fan_in: ``weight.shape[1] * prod(kernel dims)`` -- for a
    ConvTranspose weight (in, out/groups, kH, kW) that is out/groups*kH*kW."""
    if len(weight_shape) < 2:
        raise ValueError(f"fan_in needs a weight with at least 2 dims, received shape {weight_shape}")
    return int(weight_shape[1] * int(np.prod(weight_shape[2:], dtype=np.int64)))


def default_init_(weight, bias):
    """PyTorch's default for Linear and Conv: ``kaiming_uniform_(w, a=sqrt(5))``,
    which is U(-1/sqrt(fan_in), 1/sqrt(fan_in)) since gain = sqrt(2/(1+a^2)) =
    sqrt(1/3) and bound = gain*sqrt(3/fan_in); the bias uses the same bound."""
    fi = fan_in(weight.shape)
    bound = 1.0 / math.sqrt(fi) if fi > 0 else 0.0
    uniform_(weight, bound)
    if bias is not None:
        uniform_(bias, bound)


def empty_param_array(shape, dtype=None, device=None):
    dev = backend.Device(device) if device is not None else backend.default_device
    return dev.xp.zeros(tuple(shape), dtype=_as_dtype(dtype) or np.dtype(backend.default_dtype))
