"""Adagrad (Duchi, Hazan & Singer 2011)."""
from __future__ import annotations

from .. import backend
from .optimizer import Optimizer, _check_lr, _check_nonneg

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    r"""Adagrad: each coordinate's step shrinks with its accumulated squared gradients.

    For parameter ``p`` with gradient ``g`` at step ``t``::

        g <- -g                                   if maximize
        g <- g + wd * p
        lr_t = lr / (1 + (t - 1) * lr_decay)
        s <- s + g^2                              (sum; starts at initial_accumulator_value)
        p <- p - lr_t * g / (sqrt(s) + eps)

    Rarely-updated coordinates keep large steps, frequent ones get small ones.

    Args: lr (1e-2), lr_decay (0), weight_decay (0), initial_accumulator_value (0),
    eps (1e-10), maximize, check_finite. State: ``step``, ``sum``.
    """

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
                 eps=1e-10, *, maximize=False, check_finite=True):
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, maximize=maximize)
        self._validate_group(defaults)
        super().__init__(params, defaults, check_finite)

    def _validate_group(self, group):
        _check_lr("Adagrad", group["lr"])
        _check_nonneg("Adagrad", "lr_decay", group["lr_decay"])
        _check_nonneg("Adagrad", "weight_decay", group["weight_decay"])
        _check_nonneg("Adagrad", "initial_accumulator_value", group["initial_accumulator_value"])
        _check_nonneg("Adagrad", "epsilon", group["eps"])

    def _update(self, p, g, state, group):
        xp = backend.array_module(p)
        if not state:
            state["step"] = 0
            state["sum"] = self._buffer(p, group["initial_accumulator_value"])
        state["step"] += 1
        if group["maximize"]:
            g = -g
        if group["weight_decay"] != 0:
            g = g + group["weight_decay"] * p
        clr = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        s = state["sum"].array
        tmp = g * g
        s += tmp
        std = xp.sqrt(s, out=tmp)
        std += group["eps"]
        xp.divide(g, std, out=tmp)
        tmp *= clr
        p -= tmp
