"""The less common losses of PyTorch, written as compositions of ops that
already have hand-written backward passes (relu, softplus, logsigmoid, the
p-norm of ``distance``, ...): their gradients follow from the chain rule
through those ops, so no new backward code is needed.

Per-element (or per-sample) losses ``L_i``, then ``reduction``: 'none',
'mean' (the default) or 'sum'.
"""
from __future__ import annotations

import math

import numpy as np

from ...tensor import Tensor, where
from .activation import logsigmoid, relu, softplus
from .distance import pairwise_distance
from .loss import _check_reduction
from ._errors import ArgumentError

__all__ = ["margin_ranking_loss", "hinge_embedding_loss", "soft_margin_loss", "cosine_embedding_loss",
           "triplet_margin_loss", "triplet_margin_with_distance_loss", "multi_margin_loss", "poisson_nll_loss",
           "gaussian_nll_loss", "multilabel_soft_margin_loss"]


def _check(name, **tensors):
    for what, t in tensors.items():
        if not isinstance(t, Tensor):
            raise TypeError(f"{name}: {what} must be a neuronet Tensor, received {type(t).__name__}")


def _reduced(loss, reduction):
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _as_float(target, like):
    return target if target.dtype == like.dtype else target.to(like.dtype)


def margin_ranking_loss(input1, input2, target, margin=0.0, size_average=None, reduce=None, reduction="mean"):
    """L_i = max(0, -y_i (x1_i - x2_i) + margin), y in {1, -1} says which input should rank higher."""
    name = "margin_ranking_loss"
    _check(name, input1=input1, input2=input2, target=target)
    reduction = _check_reduction(name, reduction, size_average, reduce)
    y = _as_float(target, input1)
    return _reduced(relu(-y * (input1 - input2) + margin), reduction)


def hinge_embedding_loss(input, target, margin=1.0, size_average=None, reduce=None, reduction="mean"):
    """L_i = x_i where y_i = 1, max(0, margin - x_i) where y_i = -1 (x: a distance)."""
    name = "hinge_embedding_loss"
    _check(name, input=input, target=target)
    reduction = _check_reduction(name, reduction, size_average, reduce)
    zeros = input * 0
    pos = where(target == 1, input, zeros)
    neg = where(target == -1, relu(margin - input), zeros)
    return _reduced(pos + neg, reduction)


def soft_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """L_i = log(1 + exp(-y_i x_i)), y in {1, -1} (the logistic loss)."""
    name = "soft_margin_loss"
    _check(name, input=input, target=target)
    reduction = _check_reduction(name, reduction, size_average, reduce)
    return _reduced(softplus(-_as_float(target, input) * input), reduction)


def cosine_embedding_loss(input1, input2, target, margin=0.0, size_average=None, reduce=None, reduction="mean"):
    """L_i = 1 - cos(x1_i, x2_i) where y_i = 1, max(0, cos(x1_i, x2_i) - margin) where y_i = -1.

    x1, x2: (N, D) or (D,); y: (N,) or (). cos = x1.x2 / sqrt((|x1|^2 + 1e-12)(|x2|^2 + 1e-12)), as PyTorch.
    """
    name = "cosine_embedding_loss"
    _check(name, input1=input1, input2=input2, target=target)
    reduction = _check_reduction(name, reduction, size_average, reduce)
    if input1.shape != input2.shape or input1.ndim not in (1, 2):
        raise RuntimeError(f"{name}: expected input1 and input2 of the same shape (N, D) or (D,), received "
                           f"{tuple(input1.shape)} and {tuple(input2.shape)}")
    eps = 1e-12
    dot = (input1 * input2).sum(-1)
    cos = dot / ((input1 * input1).sum(-1) + eps).sqrt() / ((input2 * input2).sum(-1) + eps).sqrt()
    zeros = cos * 0
    loss = where(target == 1, 1 - cos, zeros) + where(target == -1, relu(cos - margin), zeros)
    return _reduced(loss, reduction)


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2.0, eps=1e-6, swap=False, size_average=None,
                        reduce=None, reduction="mean"):
    """L_i = max(d(a_i, p_i) - d(a_i, n_i) + margin, 0), d the p-norm distance
    (Schroff et al. 2015, FaceNet); ``swap`` uses min(d(a, n), d(p, n)) (Balntas et al. 2016)."""
    name = "triplet_margin_loss"
    _check(name, anchor=anchor, positive=positive, negative=negative)
    reduction = _check_reduction(name, reduction, size_average, reduce)
    if not margin > 0:
        raise ArgumentError(f"{name}: margin must be greater than 0, got {margin}")
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_swap = pairwise_distance(positive, negative, p, eps)
        d_neg = where(d_swap < d_neg, d_swap, d_neg)
    return _reduced(relu(d_pos - d_neg + margin), reduction)


def triplet_margin_with_distance_loss(anchor, positive, negative, *, distance_function=None, margin=1.0, swap=False,
                                      reduction="mean"):
    """L_i = max(d(a_i, p_i) - d(a_i, n_i) + margin, 0) with any ``distance_function``
    (default :func:`pairwise_distance`); ``swap`` as :func:`triplet_margin_loss`."""
    name = "triplet_margin_with_distance_loss"
    _check(name, anchor=anchor, positive=positive, negative=negative)
    reduction = _check_reduction(name, reduction)
    if not margin > 0:
        raise ArgumentError(f"{name}: margin must be greater than 0, got {margin}")
    dist = distance_function if distance_function is not None else pairwise_distance
    d_pos, d_neg = dist(anchor, positive), dist(anchor, negative)
    if swap:
        d_swap = dist(positive, negative)
        d_neg = where(d_swap < d_neg, d_swap, d_neg)
    return _reduced(relu(d_pos - d_neg + margin), reduction)


def multi_margin_loss(input, target, p=1, margin=1.0, weight=None, size_average=None, reduce=None,
                      reduction="mean"):
    """Multi-class hinge loss (Weston & Watkins 1999 style, PyTorch's): per sample n with class y,
    L_n = sum_{i != y} w_y max(0, margin - x_y + x_i)^p / C.  input (N, C) or (C,), target (N,) or ()."""
    name = "multi_margin_loss"
    _check(name, input=input, target=target)
    reduction = _check_reduction(name, reduction, size_average, reduce)
    if p not in (1, 2):
        raise ArgumentError("only p == 1 and p == 2 supported")
    x = input if input.ndim == 2 else input.reshape(1, -1)
    y = target.reshape(-1)
    n, c = x.shape
    rows = list(range(n))
    cols = [int(v) for v in y.tolist()]
    if any(not 0 <= v < c for v in cols):
        raise IndexError(f"{name}: target values must be in [0, {c}), received {cols}")
    x_y = x[rows, cols].reshape(n, 1)
    terms = relu(margin - x_y + x)
    if p == 2:
        terms = terms * terms
    if weight is not None:
        terms = terms * weight[cols].reshape(n, 1)
    not_target = Tensor._wrap((np.arange(c)[None, :] != np.asarray(cols)[:, None]).astype(x.dtype))
    loss = (terms * not_target.to(x.device)).sum(1) / c
    if input.ndim != 2:
        loss = loss.reshape(())
    return _reduced(loss, reduction)


def poisson_nll_loss(input, target, log_input=True, full=False, size_average=None, eps=1e-8, reduce=None,
                     reduction="mean"):
    """Poisson negative log-likelihood of counts ``target`` with rate lambda:
    log_input: L = exp(x) - y x (x = log lambda); else L = x - y log(x + eps).
    ``full`` adds Stirling's term y log y - y + log(2 pi y)/2 where y > 1."""
    name = "poisson_nll_loss"
    _check(name, input=input, target=target)
    reduction = _check_reduction(name, reduction, size_average, reduce)
    y = _as_float(target, input)
    loss = input.exp() - y * input if log_input else input - y * (input + eps).log()
    if full:
        y_safe = where(y > 1, y, y * 0 + 1)        # the term is 0 where y <= 1 (and log(0) is avoided)
        stirling = y_safe * y_safe.log() - y_safe + 0.5 * (2 * math.pi * y_safe).log()
        loss = loss + where(y > 1, stirling, stirling * 0)
    return _reduced(loss, reduction)


def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    """Gaussian negative log-likelihood with predicted mean ``input`` and variance ``var``:
    L = (log max(var, eps) + (x - y)^2 / max(var, eps)) / 2 (+ log(2 pi) / 2 with ``full``).

    ``var``: the input's shape, or with its last dim 1, or one dim fewer (homoscedastic
    per sample). As PyTorch, the clamp at eps passes the gradient through unchanged.
    """
    name = "gaussian_nll_loss"
    _check(name, input=input, target=target)
    if isinstance(var, (int, float)):
        var = input * 0 + float(var)
    _check(name, var=var)
    if reduction not in ("none", "mean", "sum"):
        raise ArgumentError(f"{name}: {reduction} is not a valid value for reduction")
    if var.shape != input.shape:
        if tuple(input.shape[:-1]) == tuple(var.shape):
            var = var.unsqueeze(-1)
        elif not (tuple(input.shape[:-1]) == tuple(var.shape[:-1]) and var.shape[-1] == 1):
            raise ArgumentError(f"{name}: var is of incorrect size: {tuple(var.shape)} for input "
                                f"{tuple(input.shape)}")
    if (var.detach().numpy() < 0).any():
        raise ArgumentError(f"{name}: var has negative entry/entries")
    # clamp in value only: the gradient flows to var as if unclamped (PyTorch clamps under no_grad)
    var = var + (var.detach().clamp(min=eps) - var.detach())
    loss = 0.5 * (var.log() + (input - target) ** 2 / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduced(loss, reduction)


def multilabel_soft_margin_loss(input, target, weight=None, size_average=None, reduce=None, reduction="mean"):
    """Per sample: L_n = -mean_c w_c [y_nc log sigmoid(x_nc) + (1 - y_nc) log sigmoid(-x_nc)],
    for multi-label targets y in {0, 1}. input, target: (N, C)."""
    name = "multilabel_soft_margin_loss"
    _check(name, input=input, target=target)
    reduction = _check_reduction(name, reduction, size_average, reduce)
    y = _as_float(target, input)
    loss = -(y * logsigmoid(input) + (1 - y) * logsigmoid(-input))
    if weight is not None:
        loss = loss * weight
    return _reduced(loss.mean(-1), reduction)
