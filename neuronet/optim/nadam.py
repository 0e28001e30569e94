"""NAdam: Adam with Nesterov momentum (Dozat 2016)."""
from __future__ import annotations

from .. import backend
from .optimizer import (Optimizer, _adam_gradient, _check_betas, _check_lr, _check_nonneg,
                        _update_moments)

__all__ = ["NAdam"]


class NAdam(Optimizer):
    r"""NAdam (Dozat 2016) with PyTorch's momentum schedule.

    For parameter ``p`` with gradient ``g`` at step ``t``::

        mu_t = beta1 * (1 - 0.5 * 0.96^(t * momentum_decay))     (warming momentum)
        P_t = prod_{i<=t} mu_i                                   (mu_product)
        g <- g + wd * p       (or p <- p (1 - lr wd) if decoupled_weight_decay)
        m <- beta1 m + (1 - beta1) g;     v <- beta2 v + (1 - beta2) g^2
        d = sqrt(v / (1 - beta2^t)) + eps
        p <- p - lr (1 - mu_t) / (1 - P_t) * g / d
               - lr mu_{t+1} / (1 - P_t mu_{t+1}) * m / d

    The second line applies the *next* step's momentum now: Nesterov's look-ahead.

    Args: lr (2e-3), betas ((0.9, 0.999)), eps (1e-8), weight_decay (0),
    momentum_decay (4e-3), decoupled_weight_decay (False), maximize, check_finite.
    State: ``step``, ``mu_product`` (a float), ``exp_avg``, ``exp_avg_sq``.
    """

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 momentum_decay=4e-3, decoupled_weight_decay=False, *, maximize=False,
                 check_finite=True):
        defaults = dict(lr=lr, betas=tuple(betas) if isinstance(betas, list) else betas, eps=eps,
                        weight_decay=weight_decay, momentum_decay=momentum_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize)
        self._validate_group(defaults)
        super().__init__(params, defaults, check_finite)

    def _validate_group(self, group):
        _check_lr("NAdam", group["lr"])
        _check_nonneg("NAdam", "epsilon", group["eps"])
        _check_betas("NAdam", group["betas"])
        _check_nonneg("NAdam", "weight_decay", group["weight_decay"])
        _check_nonneg("NAdam", "momentum_decay", group["momentum_decay"])

    def _update(self, p, g, state, group):
        xp = backend.array_module(p)
        lr, eps = group["lr"], group["eps"]
        beta1, beta2 = group["betas"]
        md = group["momentum_decay"]
        if not state:
            state["step"] = 0
            state["mu_product"] = 1.0
            state["exp_avg"] = self._buffer(p)
            state["exp_avg_sq"] = self._buffer(p)
        state["step"] += 1
        step = state["step"]
        m, v = state["exp_avg"].array, state["exp_avg_sq"].array
        g = _adam_gradient(p, g, group)
        bias_correction2 = 1 - beta2 ** step
        mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * md))
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * md))
        state["mu_product"] *= mu
        mu_product = state["mu_product"]
        mu_product_next = mu_product * mu_next

        tmp = _update_moments(xp, m, v, g, beta1, beta2)
        denom = v / bias_correction2
        xp.sqrt(denom, out=denom)
        denom += eps
        xp.divide(g, denom, out=tmp)
        tmp *= -lr * (1.0 - mu) / (1.0 - mu_product)
        p += tmp
        xp.divide(m, denom, out=tmp)
        tmp *= (-lr * mu_next) / (1.0 - mu_product_next)
        p += tmp
