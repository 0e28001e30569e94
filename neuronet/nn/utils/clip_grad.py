r"""Gradient clipping (``clip_grad_norm_``, ``clip_grad_value_``), in place.

Norm clipping (Pascanu et al. 2013) rescales all gradients together by
``min(1, max_norm / (||g|| + 1e-6))`` where ``||g||`` is the norm of all the
gradients concatenated: the update keeps its direction, only its length is
capped, which tames the rare exploding step without biasing the others.
"""
from __future__ import annotations

import math

from ... import backend
from ...tensor import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_value_", "get_total_norm", "clip_grads_with_norm_"]


def _grads(parameters, who):
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    grads = []
    for i, p in enumerate(parameters):
        if isinstance(p, tuple) and len(p) == 2:   # (name, tensor) from named_parameters()
            p = p[1]
        if not isinstance(p, Tensor):
            raise TypeError(f"{who}: expected tensors, element {i} is a {type(p).__name__}")
        if p.grad is not None:
            grads.append(p.grad.array)
    return grads


def _norm(xp, g, norm_type):
    if norm_type == math.inf:
        return xp.abs(g).max() if g.size else xp.zeros((), dtype=g.dtype)
    if norm_type == 2.0:
        return xp.sqrt(xp.vdot(g.ravel(), g.ravel()))
    if norm_type == 1.0:
        return xp.abs(g).sum()
    return (xp.abs(g) ** norm_type).sum() ** (1.0 / norm_type)


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    r"""Scale the gradients of ``parameters`` in place so that their total norm is at
    most ``max_norm``.

    ``total = || (||g_1||_p, ..., ||g_n||_p) ||_p`` (= the p-norm of all gradients
    concatenated; ``norm_type=inf``: the largest absolute entry); every gradient
    is multiplied by ``min(1, max_norm / (total + 1e-6))``.

    Args:
        parameters: a tensor or an iterable of tensors (or ``(name, tensor)``
            pairs); those without ``.grad`` are skipped.
        max_norm (float): the largest allowed total norm.
        norm_type (float): p > 0, or ``inf``.
        error_if_nonfinite (bool): raise when the total norm is NaN or inf
            (otherwise the gradients are scaled by the non-finite factor, as PyTorch).
        foreach: PyTorch's kernel choice; accepted, no effect here.

    Returns:
        The total norm *before* clipping, a 0-d tensor (log it: a spiking gradient
        norm is the first sign of a diverging run).
    """
    who = "clip_grad_norm_"
    norm_type = float(norm_type)
    if not (norm_type > 0 or norm_type == math.inf):
        raise ValueError(f"{who}: norm_type must be > 0 or inf, received {norm_type}")
    max_norm = float(max_norm)
    grads = _grads(parameters, who)
    if not grads:
        return Tensor._wrap(backend.array_module().zeros((), dtype="float32"))
    xp = backend.array_module(grads[0])
    dev = backend.device_of(grads[0])
    norms = [backend.to_device(_norm(backend.array_module(g), g, norm_type), dev) for g in grads]
    total = _norm(xp, xp.stack(norms), norm_type)
    if error_if_nonfinite and not bool(xp.isfinite(total)):
        raise RuntimeError(f"{who}: The total norm of order {norm_type} for gradients from "
                           "`parameters` is non-finite, so it cannot be clipped. To disable this "
                           "error and scale the gradients by the non-finite norm anyway, set "
                           "`error_if_nonfinite=False`")
    coef = xp.minimum(max_norm / (total + 1e-6), 1.0)
    for g in grads:
        g *= backend.to_device(coef, backend.device_of(g)).astype(g.dtype)
    return Tensor._wrap(total)


def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clamp every gradient entry of ``parameters`` to ``[-clip_value, clip_value]``, in place.

    Unlike norm clipping this changes the update's direction; use it to bound
    per-coordinate outliers. Returns None.
    """
    who = "clip_grad_value_"
    clip_value = float(clip_value)
    if not clip_value >= 0:
        raise ValueError(f"{who}: clip_value must be >= 0, received {clip_value}")
    for g in _grads(parameters, who):
        backend.array_module(g).clip(g, -clip_value, clip_value, out=g)
    return None


def get_total_norm(tensors, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """The ``norm_type``-norm of all ``tensors`` concatenated (the norm of their
    norms), a 0-d tensor -- what :func:`clip_grad_norm_` measures, for tensors
    given directly (e.g. ``[p.grad for p in model.parameters()]``). None entries are skipped."""
    who = "get_total_norm"
    if isinstance(tensors, Tensor):
        tensors = [tensors]
    arrays = [t.array for t in tensors if t is not None]
    norm_type = float(norm_type)
    if not arrays:
        return Tensor._wrap(backend.array_module().zeros((), dtype="float32"))
    xp = backend.array_module(arrays[0])
    dev = backend.device_of(arrays[0])
    total = _norm(xp, xp.stack([backend.to_device(_norm(backend.array_module(a), a, norm_type), dev)
                                for a in arrays]), norm_type)
    if error_if_nonfinite and not bool(xp.isfinite(total)):
        raise RuntimeError(f"{who}: The total norm of order {norm_type} for gradients from `parameters` is "
                           "non-finite, so it cannot be clipped.")
    return Tensor._wrap(total)


def clip_grads_with_norm_(parameters, max_norm, total_norm, foreach=None):
    """Scale the gradients of ``parameters`` in place by ``min(1, max_norm / (total_norm + 1e-6))``
    (the second half of :func:`clip_grad_norm_`, with a norm from :func:`get_total_norm`)."""
    grads = _grads(parameters, "clip_grads_with_norm_")
    total = total_norm.array if isinstance(total_norm, Tensor) else total_norm
    for g in grads:
        xp = backend.array_module(g)
        coef = xp.minimum(float(max_norm) / (backend.to_device(xp.asarray(total), backend.device_of(g)) + 1e-6), 1.0)
        g *= coef.astype(g.dtype)
