"""RMSprop (Hinton, Coursera lecture 6e, 2012; centered form: Graves 2013)."""
from __future__ import annotations

from .. import backend
from .optimizer import Optimizer, _check_lr, _check_nonneg

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    r"""RMSprop: divide the gradient by a running RMS of recent gradients.

    For parameter ``p`` with gradient ``g``::

        g <- -g                                   if maximize
        g <- g + wd * p
        v <- alpha * v + (1 - alpha) * g^2        (square_avg)
        if centered:                              (Graves 2013: variance, not 2nd moment)
            a <- a + (1 - alpha) * (g - a)        (grad_avg)
            d = sqrt(v - a^2) + eps
        else:
            d = sqrt(v) + eps
        if momentum > 0:
            b <- momentum * b + g / d;   p <- p - lr * b
        else:
            p <- p - lr * g / d

    Args: lr (1e-2), alpha (0.99), eps (1e-8), weight_decay (0), momentum (0),
    centered (False), maximize, check_finite.
    State: ``step``, ``square_avg`` (+ ``momentum_buffer``, ``grad_avg``).
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False, *, maximize=False, check_finite=True):
        defaults = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                        centered=centered, maximize=maximize)
        self._validate_group(defaults)
        super().__init__(params, defaults, check_finite)

    def _validate_group(self, group):
        _check_lr("RMSprop", group["lr"])
        _check_nonneg("RMSprop", "epsilon", group["eps"])
        _check_nonneg("RMSprop", "momentum", group["momentum"])
        _check_nonneg("RMSprop", "weight_decay", group["weight_decay"])
        _check_nonneg("RMSprop", "alpha", group["alpha"])

    def _update(self, p, g, state, group):
        xp = backend.array_module(p)
        alpha, momentum = group["alpha"], group["momentum"]
        if not state:
            state["step"] = 0
            state["square_avg"] = self._buffer(p)
            if momentum > 0:
                state["momentum_buffer"] = self._buffer(p)
            if group["centered"]:
                state["grad_avg"] = self._buffer(p)
        state["step"] += 1
        if group["maximize"]:
            g = -g
        if group["weight_decay"] != 0:
            g = g + group["weight_decay"] * p
        v = state["square_avg"].array
        tmp = g * g
        tmp *= 1 - alpha
        v *= alpha
        v += tmp
        if group["centered"]:
            a = state["grad_avg"].array
            xp.subtract(g, a, out=tmp)
            tmp *= 1 - alpha
            a += tmp
            xp.multiply(a, a, out=tmp)
            xp.subtract(v, tmp, out=tmp)
            avg = xp.sqrt(tmp, out=tmp)
        else:
            avg = xp.sqrt(v, out=tmp)
        avg += group["eps"]
        xp.divide(g, avg, out=tmp)
        if momentum > 0:
            b = state["momentum_buffer"].array
            b *= momentum
            b += tmp
            xp.multiply(b, group["lr"], out=tmp)
        else:
            tmp *= group["lr"]
        p -= tmp
