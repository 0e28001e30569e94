"""RAdam: Adam with a rectified adaptive learning rate (Liu et al. 2020)."""
from __future__ import annotations

import math

from .. import backend
from .optimizer import (Optimizer, _adam_gradient, _check_betas, _check_lr, _check_nonneg,
                        _update_moments)

__all__ = ["RAdam"]


class RAdam(Optimizer):
    r"""RAdam: momentum SGD until the variance of Adam's adaptive term is tractable.

    For parameter ``p`` with gradient ``g`` at step ``t``::

        g <- g + wd * p       (or p <- p (1 - lr wd) if decoupled_weight_decay)
        m <- beta1 m + (1 - beta1) g;     v <- beta2 v + (1 - beta2) g^2
        m_hat = m / (1 - beta1^t)
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 t beta2^t / (1 - beta2^t)
        if rho_t > 5:
            r_t = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))
            p <- p - lr * m_hat * r_t * sqrt(1 - beta2^t) / (sqrt(v) + eps)
        else:
            p <- p - lr * m_hat

    Early on the second-moment estimate rests on few samples and its variance
    is unbounded; ``r_t`` scales the adaptive step by how trustworthy it is,
    which removes the need for a warm-up.

    Args: lr (1e-3), betas ((0.9, 0.999)), eps (1e-8), weight_decay (0),
    decoupled_weight_decay (False), maximize, check_finite.
    State: ``step``, ``exp_avg``, ``exp_avg_sq``.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 decoupled_weight_decay=False, *, maximize=False, check_finite=True):
        defaults = dict(lr=lr, betas=tuple(betas) if isinstance(betas, list) else betas, eps=eps,
                        weight_decay=weight_decay, decoupled_weight_decay=decoupled_weight_decay,
                        maximize=maximize)
        self._validate_group(defaults)
        super().__init__(params, defaults, check_finite)

    def _validate_group(self, group):
        _check_lr("RAdam", group["lr"])
        _check_nonneg("RAdam", "epsilon", group["eps"])
        _check_betas("RAdam", group["betas"])
        _check_nonneg("RAdam", "weight_decay", group["weight_decay"])

    def _update(self, p, g, state, group):
        xp = backend.array_module(p)
        lr, eps = group["lr"], group["eps"]
        beta1, beta2 = group["betas"]
        if not state:
            state["step"] = 0
            state["exp_avg"] = self._buffer(p)
            state["exp_avg_sq"] = self._buffer(p)
        state["step"] += 1
        step = state["step"]
        m, v = state["exp_avg"].array, state["exp_avg_sq"].array
        g = _adam_gradient(p, g, group)
        tmp = _update_moments(xp, m, v, g, beta1, beta2)

        bias_correction1 = 1 - beta1 ** step
        bias_correction2 = 1 - beta2 ** step
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * step * (beta2 ** step) / bias_correction2
        update = xp.divide(m, bias_correction1, out=tmp)
        update *= lr
        if rho_t > 5.0:
            rect = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf
                             / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
            denom = xp.sqrt(v)
            denom += eps
            update *= bias_correction2 ** 0.5
            update /= denom
            update *= rect
        p -= update
