"""Helpers shared by the distributions: parameter broadcasting, the
probabilities <-> logits maps, and ``lazy_property`` (a parameter computed
from the other one on first use, e.g. ``Categorical(logits=...).probs``)."""
from __future__ import annotations

import numbers

import numpy as np

import neuronet as _nt
from ..tensor import Tensor

__all__ = ["broadcast_all", "clamp_probs", "lazy_property", "logits_to_probs", "probs_to_logits",
           "sum_rightmost"]


def broadcast_all(*values):
    """Broadcast tensors and numbers to one shape; numbers become tensors of the
    first tensor's dtype and device (the default dtype when all are numbers)."""
    like = next((v for v in values if isinstance(v, Tensor)), None)
    for v in values:
        if not isinstance(v, (Tensor, numbers.Number)):
            raise ValueError(f"Input arguments must all be instances of numbers.Number or Tensor; received "
                             f"{type(v).__name__}")
    if like is None:
        dtype, device = _nt.get_default_dtype(), None
    else:
        dtype, device = like.dtype, like.device
    tensors = [v if isinstance(v, Tensor) else _nt.tensor(float(v), dtype=dtype, device=device) for v in values]
    shape = np.broadcast_shapes(*[tuple(t.shape) for t in tensors])
    return tuple(t if tuple(t.shape) == shape else t.expand(shape) for t in tensors)


def sum_rightmost(value, dim):
    """Sum out the last ``dim`` dims of ``value`` (a tensor or number)."""
    if dim == 0 or not isinstance(value, Tensor):
        return value
    return value.reshape(*value.shape[: value.dim() - dim], -1).sum(-1)


def clamp_probs(probs):
    """Keep probabilities inside [eps, 1 - eps] so their logs stay finite."""
    eps = _nt.finfo(probs.dtype).eps
    return probs.clamp(min=eps, max=1 - eps)


def logits_to_probs(logits, is_binary=False):
    """Softmax over the last dim, or the sigmoid for a Bernoulli's log-odds."""
    return logits.sigmoid() if is_binary else logits.softmax(-1)


def probs_to_logits(probs, is_binary=False):
    """log p (categorical), or the log-odds log p - log(1 - p) (binary), on clamped p."""
    p = clamp_probs(probs)
    return p.log() - (-p).log1p() if is_binary else p.log()


class lazy_property:
    """A property computed on first access and then stored on the instance
    (with gradient tracking on, so the cached value stays differentiable)."""

    def __init__(self, wrapped):
        self.wrapped = wrapped
        self.__doc__ = wrapped.__doc__

    def __get__(self, instance, obj_type=None):
        if instance is None:
            return self
        with _nt.enable_grad():
            value = self.wrapped(instance)
        instance.__dict__[self.wrapped.__name__] = value
        return value
