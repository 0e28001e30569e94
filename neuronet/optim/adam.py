"""Adam (Kingma & Ba 2015) and AdamW (Loshchilov & Hutter 2019)."""
from __future__ import annotations

from .. import backend
from .optimizer import (Optimizer, _adam_gradient, _check_betas, _check_lr, _check_nonneg,
                        _update_moments)

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    r"""Adam: per-coordinate steps from bias-corrected first and second moments.

    For parameter ``p`` with gradient ``g`` at step ``t`` (1-based)::

        g <- -g                                   if maximize
        p <- p * (1 - lr * wd)                    if decoupled_weight_decay (AdamW)
        g <- g + wd * p                           otherwise (coupled L2)
        m <- beta1 * m + (1 - beta1) * g          (exp_avg; computed as a lerp)
        v <- beta2 * v + (1 - beta2) * g^2        (exp_avg_sq)
        v_max <- max(v_max, v)                    if amsgrad (Reddi et al. 2018); v <- v_max below
        p <- p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

    The bias corrections undo the zero initialization of ``m`` and ``v``; the
    step size is then roughly ``lr`` per coordinate whatever the gradient scale.

    Args:
        lr (float): learning rate (default 1e-3).
        betas (tuple): decay rates of the moment estimates (default (0.9, 0.999)).
        eps (float): added to the denominator for stability (default 1e-8).
        weight_decay (float): L2 penalty (coupled) or decay rate (decoupled) (default 0).
        amsgrad (bool): use the running maximum of ``v`` (default False).
        maximize (bool): ascend instead of descend.
        decoupled_weight_decay (bool): AdamW's decay (default False).
        check_finite (bool): raise on a NaN/inf gradient.

    State per parameter: ``step``, ``exp_avg``, ``exp_avg_sq`` (and ``max_exp_avg_sq``).
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False, *, maximize=False, decoupled_weight_decay=False, check_finite=True):
        defaults = dict(lr=lr, betas=tuple(betas) if isinstance(betas, list) else betas, eps=eps,
                        weight_decay=weight_decay, amsgrad=amsgrad, maximize=maximize,
                        decoupled_weight_decay=decoupled_weight_decay)
        self._validate_group(defaults)
        super().__init__(params, defaults, check_finite)

    def _validate_group(self, group):
        who = type(self).__name__
        _check_lr(who, group["lr"])
        _check_nonneg(who, "epsilon", group["eps"])
        _check_betas(who, group["betas"])
        _check_nonneg(who, "weight_decay", group["weight_decay"])

    def _update(self, p, g, state, group):
        xp = backend.array_module(p)
        lr, eps = group["lr"], group["eps"]
        beta1, beta2 = group["betas"]
        if not state:
            state["step"] = 0
            state["exp_avg"] = self._buffer(p)
            state["exp_avg_sq"] = self._buffer(p)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = self._buffer(p)
        state["step"] += 1
        step = state["step"]
        m, v = state["exp_avg"].array, state["exp_avg_sq"].array

        g = _adam_gradient(p, g, group)
        tmp = _update_moments(xp, m, v, g, beta1, beta2)     # the one scratch array of this step

        bias_correction1 = 1 - beta1 ** step
        bias_correction2_sqrt = (1 - beta2 ** step) ** 0.5
        step_size = lr / bias_correction1
        if group["amsgrad"]:
            vmax = state["max_exp_avg_sq"].array
            xp.maximum(vmax, v, out=vmax)
            v = vmax
        denom = xp.sqrt(v, out=tmp)
        denom /= bias_correction2_sqrt
        denom += eps
        xp.divide(m, denom, out=tmp)
        tmp *= step_size
        p -= tmp


class AdamW(Adam):
    r"""Adam with decoupled weight decay (Loshchilov & Hutter 2019).

    Identical to :class:`Adam` except that the decay shrinks the weights
    directly, ``p <- p (1 - lr wd)``, instead of adding ``wd p`` to the gradient:
    with Adam's per-coordinate scaling, a coupled L2 term is divided by
    ``sqrt(v)`` and so decays large-gradient weights *less*; decoupling restores
    a uniform decay. ``weight_decay`` defaults to 1e-2.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, maximize=False, check_finite=True):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad, maximize=maximize, decoupled_weight_decay=True,
                         check_finite=check_finite)

    def load_state_dict(self, state_dict):
        super().load_state_dict(state_dict)
        for group in self.param_groups:   # AdamW always decouples (as PyTorch's)
            group["decoupled_weight_decay"] = True
