"""Adadelta (Zeiler 2012)."""
from __future__ import annotations

from .. import backend
from .optimizer import Optimizer, _check_lr, _check_nonneg

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    r"""Adadelta: steps in the units of the parameter, from two running RMS values.

    For parameter ``p`` with gradient ``g``::

        g <- -g                                   if maximize
        g <- g + wd * p
        v <- rho * v + (1 - rho) * g^2            (square_avg)
        dx = sqrt(u + eps) / sqrt(v + eps) * g    (u: acc_delta)
        u <- rho * u + (1 - rho) * dx^2
        p <- p - lr * dx

    The ratio RMS[dx]/RMS[g] makes the update dimensionally consistent with
    ``p`` (Zeiler's argument), so ``lr`` = 1.0 works as a default.

    Args: lr (1.0), rho (0.9), eps (1e-6), weight_decay (0), maximize, check_finite.
    State: ``step``, ``square_avg``, ``acc_delta``.
    """

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, *, maximize=False,
                 check_finite=True):
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize)
        self._validate_group(defaults)
        super().__init__(params, defaults, check_finite)

    def _validate_group(self, group):
        _check_lr("Adadelta", group["lr"])
        if not 0.0 <= group["rho"] <= 1.0:
            raise ValueError(f"Adadelta: Invalid rho value: {group['rho']!r} (expected 0 <= rho <= 1)")
        _check_nonneg("Adadelta", "epsilon", group["eps"])
        _check_nonneg("Adadelta", "weight_decay", group["weight_decay"])

    def _update(self, p, g, state, group):
        xp = backend.array_module(p)
        rho, eps = group["rho"], group["eps"]
        if not state:
            state["step"] = 0
            state["square_avg"] = self._buffer(p)
            state["acc_delta"] = self._buffer(p)
        state["step"] += 1
        if group["maximize"]:
            g = -g
        if group["weight_decay"] != 0:
            g = g + group["weight_decay"] * p
        v, u = state["square_avg"].array, state["acc_delta"].array
        tmp = g * g
        tmp *= 1 - rho
        v *= rho
        v += tmp
        std = v + eps
        xp.sqrt(std, out=std)
        delta = xp.add(u, eps, out=tmp)
        xp.sqrt(delta, out=delta)
        delta /= std
        delta *= g
        xp.multiply(delta, delta, out=std)
        std *= 1 - rho
        u *= rho
        u += std
        delta *= group["lr"]
        p -= delta
