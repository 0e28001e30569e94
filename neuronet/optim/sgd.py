"""Stochastic gradient descent with (Nesterov) momentum (Polyak 1964; Sutskever et al. 2013)."""
from __future__ import annotations

from ..tensor import Tensor
from .optimizer import Optimizer, _check_lr, _check_nonneg

__all__ = ["SGD"]


class SGD(Optimizer):
    r"""Stochastic gradient descent, optionally with momentum (PyTorch's update).

    For each parameter ``p`` with gradient ``g`` at step ``t``::

        g <- -g                              if maximize
        g <- g + weight_decay * p            (coupled L2 penalty: d/dp of wd/2 |p|^2)
        if momentum != 0:
            b <- g                           at t = 1
            b <- momentum * b + (1 - dampening) * g      afterwards
            g <- g + momentum * b            if nesterov, else  g <- b
        p <- p - lr * g

    Note this is PyTorch's form (lr outside the buffer), which differs from
    Sutskever et al.'s ``v <- mu v - lr g`` only when lr changes during training.

    Args:
        params: tensors, ``(name, tensor)`` pairs, or param-group dicts.
        lr (float): learning rate (default 1e-3).
        momentum (float): momentum factor (default 0).
        dampening (float): dampening for momentum (default 0).
        weight_decay (float): L2 penalty coefficient added to the gradient (default 0).
        nesterov (bool): Nesterov momentum; needs momentum > 0 and dampening = 0.
        maximize (bool): ascend the objective instead of descending it.
        check_finite (bool): raise on a NaN/inf gradient (see :class:`Optimizer`).

    State per parameter: ``momentum_buffer`` (when momentum != 0).

    Example::

        opt = neuronet.optim.SGD(params, lr=0.1, momentum=0.9)
        opt.zero_grad(); loss.backward(); opt.step()
    """

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False,
                 *, maximize=False, check_finite=True):
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize)
        self._validate_group(defaults)
        super().__init__(params, defaults, check_finite)

    def _validate_group(self, group):
        _check_lr("SGD", group["lr"])
        _check_nonneg("SGD", "momentum", group["momentum"])
        _check_nonneg("SGD", "weight_decay", group["weight_decay"])
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError("SGD: Nesterov momentum requires a momentum and zero dampening, "
                             f"received momentum={group['momentum']}, "
                             f"dampening={group['dampening']}")

    def _update(self, p, g, state, group):
        lr, momentum, wd = group["lr"], group["momentum"], group["weight_decay"]
        if group["maximize"]:
            g = -g
        if wd != 0:
            g = g + wd * p
        if momentum != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                # The first step seeds the buffer with the gradient itself (no dampening).
                state["momentum_buffer"] = buf = Tensor._wrap(g.copy())
            else:
                # In place on the buffer; (1 - 0) * g would be a needless temporary.
                b = buf.array
                b *= momentum
                dampening = group["dampening"]
                b += g if dampening == 0 else (1 - dampening) * g
            g = g + momentum * buf.array if group["nesterov"] else buf.array
        p -= lr * g
