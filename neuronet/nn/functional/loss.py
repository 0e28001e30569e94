"""Loss functions: PyTorch's names, signatures, defaults and reductions.

Every loss maps ``(input, target)`` to per-element losses ``L_i`` and then
reduces them: ``reduction='none'`` returns them, ``'sum'`` adds them,
``'mean'`` averages them (for the class-index losses: a *weighted* mean, see
:func:`nll_loss`). Each loss is one :class:`~neuronet.autograd.Function` with
its forward, its hand-written backward and its equation together.

The classification losses fuse ``log_softmax`` and the negative log-likelihood
into one node: with ``p = softmax(x)`` and a target distribution ``t``
(``sum_c t_c = 1``), ``L = -sum_c t_c log p_c`` has the gradient
``dL/dx = p - t``, cheap and stable (no division by a tiny ``p``).

Differences from PyTorch, on purpose:

- ``mse_loss``, ``l1_loss``, ``smooth_l1_loss``, ``huber_loss`` and the binary
  cross entropies raise a ``ValueError`` when input and target shapes differ.
  PyTorch broadcasts them (with a warning); a ``(N, 1)`` prediction against an
  ``(N,)`` target then silently becomes an ``(N, N)`` loss, which is almost
  always a bug.
- Class-index targets may have any integer dtype (PyTorch: int64 or uint8).
- ``weight`` (and ``pos_weight``) are constants: they receive no gradient.
"""
from __future__ import annotations

import math
import numbers
import warnings

from ...autograd.function import Function
from ...backend import array_module, host_checks
from ...tensor import Tensor
from ._errors import ArgumentError, DtypeError

__all__ = [
    "cross_entropy", "nll_loss", "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss",
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div",
]

_REDUCTIONS = ("none", "mean", "sum")


# --------------------------------------------------------------------------- validation
def _check_tensor(name, what, value, floating=True):
    if not isinstance(value, Tensor):
        raise TypeError(f"{name}: {what} must be a neuronet Tensor, received {type(value).__name__}")
    if floating and value.dtype.kind != "f":
        raise DtypeError(f"{name}: {what} must be floating point, received dtype {value.dtype}")


def _check_reduction(name, reduction, size_average=None, reduce=None, allowed=_REDUCTIONS):
    """The reduction string, translating PyTorch's deprecated size_average/reduce."""
    if size_average is not None or reduce is not None:
        warnings.warn(f"{name}: size_average and reduce are deprecated, use reduction= instead",
                      DeprecationWarning, stacklevel=3)
        size_average = True if size_average is None else size_average
        reduce = True if reduce is None else reduce
        reduction = ("mean" if size_average else "sum") if reduce else "none"
    if reduction not in allowed:
        choices = ", ".join(repr(r) for r in allowed[:-1]) + f" or {allowed[-1]!r}"
        raise ArgumentError(f"{name}: reduction must be {choices}, received {reduction!r}")
    return reduction


def _check_same_shape(name, input, target):
    if input.shape != target.shape:
        raise ArgumentError(
            f"{name}: input has shape {tuple(input.shape)} but target has shape {tuple(target.shape)}; they must be "
            "equal (PyTorch would broadcast them with a warning, which is almost always a bug -- e.g. "
            "an (N, 1) prediction against an (N,) target gives an (N, N) loss)")


def _check_broadcast_weight(name, what, w, shape):
    """``w`` (a Tensor or None) must broadcast to ``shape``; returns its array or None."""
    if w is None:
        return None
    _check_tensor(name, what, w)
    s = tuple(w.shape)
    ok = len(s) <= len(shape) and all(a in (1, b) for a, b in zip(s[::-1], shape[::-1]))
    if not ok:
        raise ArgumentError(f"{name}: {what} of shape {s} does not broadcast to the input's shape {tuple(shape)}")
    return w.array


def _reduce(loss, reduction):
    """Forward of the reduction (as a 0-d array for 'mean'/'sum')."""
    if reduction == "none":
        return loss
    xp = array_module(loss)
    return xp.asarray(loss.sum() if reduction == "sum" else loss.mean())


def _expand_grad(g, shape, reduction):
    """dE/dL_i for every element from dE/d(reduced loss)."""
    if reduction == "none":
        return g
    xp = array_module(g)
    if reduction == "mean":
        n = math.prod(shape)
        g = g / n if n else g
    return xp.broadcast_to(g, shape)


def _grads(ctx, gx, gt):
    """(dE/dinput, dE/dtarget) for the inputs that asked for them, in their dtypes."""
    nx, nt = ctx.needs_input_grad[:2]
    return ((gx.astype(ctx.dtypes[0], copy=False) if nx and gx is not None else None),
            (gt.astype(ctx.dtypes[1], copy=False) if nt and gt is not None else None))


# --------------------------------------------------------------------------- class-index losses
def _class_index_shape(shape):
    """Target shape for class indices: (N, d1, ...) for input (N, C, d1, ...), () for (C,)."""
    return () if len(shape) == 1 else (shape[0],) + tuple(shape[2:])


def _check_classification(name, input, target, weight, ignore_index, allow_probs):
    """Validate; returns True when ``target`` holds class probabilities."""
    _check_tensor(name, "input", input)
    if input.ndim == 0:
        raise ArgumentError(f"{name}: expected input of shape (N, C), (N, C, d1, ...) or unbatched (C,), "
                            "received a 0-d tensor")
    _check_tensor(name, "target", target, floating=False)
    shape = tuple(input.shape)
    n_classes = shape[0] if len(shape) == 1 else shape[1]
    idx_shape = _class_index_shape(shape)
    if weight is not None:
        _check_tensor(name, "weight", weight)
        if tuple(weight.shape) != (n_classes,):
            raise ArgumentError(f"{name}: weight must be a 1-D tensor with one entry per class, shape "
                                f"({n_classes},), received shape {tuple(weight.shape)}")
    if not isinstance(ignore_index, numbers.Integral) or isinstance(ignore_index, bool):
        raise TypeError(f"{name}: ignore_index must be an int, received {ignore_index!r}")

    if allow_probs and tuple(target.shape) == shape:
        # Same shape as the input: PyTorch reads the target as class probabilities.
        if target.dtype.kind != "f":
            raise DtypeError(
                f"{name}: a target of the input's shape {tuple(shape)} holds class probabilities and must be "
                f"floating point, received dtype {target.dtype}; class-index targets have shape {tuple(idx_shape)}")
        if ignore_index >= 0:
            raise ArgumentError(f"{name}: ignore_index is not supported for class-probability targets "
                                f"(received ignore_index={ignore_index})")
        return True
    if tuple(target.shape) != idx_shape:
        alt = f" (or {tuple(shape)} probabilities)" if allow_probs else ""
        raise ArgumentError(f"{name}: expected target of shape {tuple(idx_shape)}{alt} for input {tuple(shape)}, "
                            f"received {tuple(target.shape)}")
    if target.dtype.kind not in "iu":
        hint = f"; for class probabilities pass a float target of shape {tuple(shape)}" if allow_probs else ""
        raise DtypeError(f"{name}: class-index target must have an integer dtype (int64), received "
                         f"dtype {target.dtype}{hint}")
    t = target.array
    if t.size and host_checks(array_module(t)):      # on a GPU: with NEURONET_DEBUG_CHECKS=1 only
        bad = (t != ignore_index) & ((t < 0) | (t >= n_classes))
        if bool(bad.any()):
            value = int(t[bad].reshape(-1)[0])
            raise IndexError(f"{name}: target contains {value} but input has {n_classes} classes "
                             f"(class indices must lie in [0, {n_classes - 1}]; entries equal to "
                             f"ignore_index={ignore_index} are skipped)")
    return False


def _class_index_setup(x, target, weight, ignore_index):
    """Per-sample pieces shared by the class-index losses.

    Returns (safe_target, valid, w_y): the target with ignored entries set to
    class 0 (so it can index), the mask of kept entries, and the weight of each
    entry's target class (0 where ignored), all of shape (N, d1, ...).
    """
    valid = target != ignore_index
    t = target.astype("int64", copy=False)
    t = t * valid                         # ignored -> class 0, a safe index
    xp = array_module(t)
    bad = None
    if not host_checks(xp):
        # On a GPU the range check (a host read) is skipped: an out-of-range
        # class indexes class 0 instead and its entry's weight is NaN, so the
        # loss comes out NaN, never a plausible wrong number.
        n_classes = x.shape[1] if x.ndim >= 2 else x.shape[0]
        bad = (t < 0) | (t >= n_classes)
        t = xp.where(bad, 0, t)
    if weight is None:
        w_y = valid.astype(x.dtype)
    else:
        w_y = weight.astype(x.dtype, copy=False)[t] * valid
    if bad is not None:
        w_y = xp.where(bad, xp.asarray(float("nan"), dtype=x.dtype), w_y)
    return t, valid, w_y


def _one_hot(t, n_classes, ndim):
    """Boolean (N, C, d1, ...) with True at each entry's target class."""
    xp = array_module(t)
    classes = xp.arange(n_classes).reshape((1, n_classes) + (1,) * (ndim - 2))
    return classes == t[:, None]


def _class_dim_vector(v, ndim):
    """A (C,) vector shaped to broadcast along the class axis of an (N, C, d1, ...) array."""
    return v.reshape((1, -1) + (1,) * (ndim - 2))


def _log_softmax_and_softmax(x):
    """log softmax and softmax over axis 1, by the log-sum-exp trick:
    log p_c = (x_c - m) - log sum_k exp(x_k - m), m = max_k x_k, so no exp overflows
    and log never sees 0."""
    xp = array_module(x)
    z = x - x.max(axis=1, keepdims=True)
    e = xp.exp(z)
    s = e.sum(axis=1, keepdims=True)
    logp = z - xp.log(s)
    e /= s
    return logp, e


def _per_sample_grad(g, ctx):
    """dE/dL_n of shape (N, d1, ...) from the output gradient, applying the reduction."""
    xp = array_module(g)
    if ctx.unbatched and ctx.reduction == "none":
        g = g[None]
    if ctx.reduction == "mean":
        # With every entry ignored the loss is 0/0 = NaN, but (as in PyTorch) no entry
        # gets a gradient: divide by 1 there, the per-entry weights are all 0 anyway.
        denom = ctx.denom
        g = g / (denom or 1 if isinstance(denom, int) else xp.where(denom != 0, denom, 1))
    return xp.broadcast_to(g, ctx.sample_shape)


class CrossEntropyIndex(Function):
    """Cross entropy of logits against class indices (with weights, ignore_index, smoothing).

    x: (N, C, d1, ...) logits, y: (N, d1, ...) class indices, p = softmax(x) over C.
    With label smoothing eps, class weights w (1 when absent) and m_n = [y_n != ignore_index],
    each entry's target distribution is

        q_nc = m_n [ (1 - eps) w_{y_n} [c = y_n] + (eps / C) w_c ]
        L_n  = -sum_c q_nc log p_nc
        dL_n/dx_nc = Q_n p_nc - q_nc,   Q_n = sum_c q_nc

    ('softmax - onehot' when eps = 0 and w = 1). 'mean' divides the sum of L_n by
    sum_n m_n w_{y_n}, exactly as PyTorch (for both terms of the smoothed loss).
    """

    @staticmethod
    def forward(ctx, x, target, weight, ignore_index, reduction, smoothing):
        xp = array_module(x)
        ctx.unbatched = x.ndim == 1
        if ctx.unbatched:
            x, target = x[None], target[None]
        n_classes = x.shape[1]
        logp, p = _log_softmax_and_softmax(x)
        t, valid, w_y = _class_index_setup(x, target, weight, ignore_index)
        logp_y = xp.take_along_axis(logp, t[:, None], axis=1)[:, 0]
        a = (1.0 - smoothing) * w_y                   # weight of the one-hot part
        loss = xp.where(valid, -a * logp_y, 0)
        b = None
        q_total = a
        if smoothing > 0:
            b = valid.astype(x.dtype) * (smoothing / n_classes)   # weight of the uniform part
            if weight is None:
                w_sum, wlogp = n_classes, logp.sum(axis=1)
            else:
                w = weight.astype(x.dtype, copy=False)
                w_sum, wlogp = w.sum(), (logp * _class_dim_vector(w, x.ndim)).sum(axis=1)
            loss = loss - xp.where(valid, b * wlogp, 0)
            q_total = a + b * w_sum
        loss = loss.astype(x.dtype, copy=False)
        ctx.reduction, ctx.sample_shape = reduction, loss.shape
        ctx.denom = w_y.sum() if reduction == "mean" else None
        ctx.weight = weight
        ctx.save_for_backward(p, t, a, b, q_total)
        if reduction == "none":
            return loss[0] if ctx.unbatched else loss
        if reduction == "sum":
            return xp.asarray(loss.sum())
        # 0/0 (every target ignored) is NaN, as in PyTorch, without a NumPy warning.
        return xp.asarray(loss.sum() / xp.where(ctx.denom != 0, ctx.denom, xp.nan)).astype(x.dtype)

    @staticmethod
    def backward(ctx, g):
        p, t, a, b, q_total = ctx.saved_tensors
        gn = _per_sample_grad(g, ctx)
        grad = p * (gn * q_total)[:, None]
        grad -= _one_hot(t, p.shape[1], p.ndim) * (gn * a)[:, None]
        if b is not None:
            w = 1.0 if ctx.weight is None else _class_dim_vector(ctx.weight.astype(p.dtype), p.ndim)
            grad -= (gn * b)[:, None] * w
        if ctx.unbatched:
            grad = grad[0]
        return grad, None, None, None, None, None


class CrossEntropyProbs(Function):
    """Cross entropy of logits against class probabilities.

    x, t: (N, C, d1, ...); with smoothing t' = (1 - eps) t + eps / C and class weights w,
    q_nc = w_c t'_nc and

        L_n = -sum_c q_nc log p_nc,   dL_n/dx_nc = Q_n p_nc - q_nc  (Q_n = sum_c q_nc),
        dL_n/dt_nc = -(1 - eps) w_c log p_nc.

    'mean' divides by the number of entries N * d1 * ... (not by the weights), as PyTorch.
    """

    @staticmethod
    def forward(ctx, x, target, weight, reduction, smoothing):
        xp = array_module(x)
        ctx.dtypes = (x.dtype, target.dtype)
        ctx.unbatched = x.ndim == 1
        if ctx.unbatched:
            x, target = x[None], target[None]
        n_classes = x.shape[1]
        logp, p = _log_softmax_and_softmax(x)
        q = target.astype(x.dtype, copy=False)
        if smoothing > 0:
            q = q * (1.0 - smoothing) + smoothing / n_classes
        w = None
        if weight is not None:
            w = _class_dim_vector(weight.astype(x.dtype, copy=False), x.ndim)
            q = q * w
        loss = -(q * logp).sum(axis=1)
        ctx.reduction, ctx.sample_shape = reduction, loss.shape
        ctx.denom = loss.size
        ctx.smoothing, ctx.w = smoothing, w
        ctx.save_for_backward(p, q, logp if ctx.needs_input_grad[1] else None)
        if reduction == "none":
            return loss[0] if ctx.unbatched else loss
        if reduction == "sum":
            return xp.asarray(loss.sum())
        return xp.asarray(loss.mean() if loss.size else xp.nan).astype(x.dtype)

    @staticmethod
    def backward(ctx, g):
        p, q, logp = ctx.saved_tensors
        gn = _per_sample_grad(g, ctx)[:, None]
        gx = gt = None
        if ctx.needs_input_grad[0]:
            gx = p * (gn * q.sum(axis=1, keepdims=True)) - q * gn
        if ctx.needs_input_grad[1]:
            gt = -(1.0 - ctx.smoothing) * gn * logp
            if ctx.w is not None:
                gt = gt * ctx.w
        if ctx.unbatched:
            gx = gx[0] if gx is not None else None
            gt = gt[0] if gt is not None else None
        return (*_grads(ctx, gx, gt), None, None, None)


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
                  reduction="mean", label_smoothing=0.0):
    r"""Cross entropy between the softmax of ``input`` (logits) and ``target``.

    For one entry with logits ``x`` (C classes) and target distribution ``t``:

        L = -sum_c t_c log softmax(x)_c,     dL/dx = softmax(x) - t   (when sum_c t_c = 1)

    computed as one node: log softmax by the log-sum-exp trick (finite for
    logits of any size), and the backward ``softmax - t`` written by hand.

    Args:
        input: logits, ``(N, C)``, ``(N, C, d1, d2, ...)`` (e.g. segmentation
            ``(N, C, H, W)``) or unbatched ``(C,)``.
        target: either class indices, integer ``(N,)``, ``(N, d1, ...)`` or ``()``,
            with values in ``[0, C)`` or ``ignore_index``; or class probabilities,
            floating point, with the shape of ``input``.
        weight: optional ``(C,)`` rescaling of each class.
        ignore_index: class-index entries equal to it contribute neither loss nor
            gradient and are left out of the 'mean' (indices only).
        reduction: 'none' (one loss per entry, shape of the index target),
            'mean' or 'sum'. For class indices 'mean' is the weighted mean
            ``sum_n L_n / sum_n w_{y_n}`` over non-ignored entries; for
            probabilities it divides by ``N * d1 * ...``.
        label_smoothing: eps in [0, 1]: the target becomes ``(1 - eps) t + eps / C``
            (with weights, the uniform part is weighted per class too, as PyTorch).
        size_average, reduce: deprecated PyTorch spellings of ``reduction``.

    Shape:
        input ``(N, C, *)``, target ``(N, *)`` or ``(N, C, *)``, output scalar or ``(N, *)``.

    >>> loss = cross_entropy(logits, labels)          # logits (N, C), labels (N,) int64
    """
    name = "cross_entropy"
    reduction = _check_reduction(name, reduction, size_average, reduce)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ArgumentError(f"{name}: label_smoothing must be between 0.0 and 1.0, received {label_smoothing}")
    probs = _check_classification(name, input, target, weight, ignore_index, allow_probs=True)
    w = None if weight is None else weight.array
    if probs:
        return CrossEntropyProbs.apply(input, target, w, reduction, float(label_smoothing))
    return CrossEntropyIndex.apply(input, target.array, w, int(ignore_index), reduction,
                                   float(label_smoothing))


class NLLLoss(Function):
    """Negative log-likelihood of log-probabilities x at class indices y.

    L_n = -m_n w_{y_n} x_{n, y_n};  dL_n/dx_nc = -m_n w_{y_n} [c = y_n];
    'mean' divides by sum_n m_n w_{y_n} (m_n = [y_n != ignore_index]).
    """

    @staticmethod
    def forward(ctx, x, target, weight, ignore_index, reduction):
        xp = array_module(x)
        ctx.unbatched = x.ndim == 1
        if ctx.unbatched:
            x, target = x[None], target[None]
        t, valid, w_y = _class_index_setup(x, target, weight, ignore_index)
        x_y = xp.take_along_axis(x, t[:, None], axis=1)[:, 0]
        loss = xp.where(valid, -w_y * x_y, 0).astype(x.dtype, copy=False)
        ctx.reduction, ctx.sample_shape = reduction, loss.shape
        ctx.denom = w_y.sum() if reduction == "mean" else None
        ctx.shape = x.shape
        ctx.save_for_backward(t, w_y)
        if reduction == "none":
            return loss[0] if ctx.unbatched else loss
        if reduction == "sum":
            return xp.asarray(loss.sum())
        return xp.asarray(loss.sum() / xp.where(ctx.denom != 0, ctx.denom, xp.nan)).astype(x.dtype)

    @staticmethod
    def backward(ctx, g):
        t, w_y = ctx.saved_tensors
        gn = _per_sample_grad(g, ctx)
        grad = _one_hot(t, ctx.shape[1], len(ctx.shape)) * (-(gn * w_y))[:, None]
        if ctx.unbatched:
            grad = grad[0]
        return grad.astype(w_y.dtype, copy=False), None, None, None, None


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
             reduction="mean"):
    """Negative log-likelihood loss on log-probabilities (e.g. the output of log_softmax).

        L_n = -w_{y_n} input[n, y_n]      (0 where y_n == ignore_index)

    Args:
        input: log-probabilities ``(N, C)``, ``(N, C, d1, ...)`` or ``(C,)``.
        target: integer class indices ``(N,)``, ``(N, d1, ...)`` or ``()``.
        weight: optional ``(C,)`` class weights; ignore_index: entries to skip.
        reduction: 'none' | 'mean' (``sum_n L_n / sum_n w_{y_n}`` over kept entries) | 'sum'.
    """
    name = "nll_loss"
    reduction = _check_reduction(name, reduction, size_average, reduce)
    _check_classification(name, input, target, weight, ignore_index, allow_probs=False)
    w = None if weight is None else weight.array
    return NLLLoss.apply(input, target.array, w, int(ignore_index), reduction)


# --------------------------------------------------------------------------- regression losses
def _pair_forward(ctx, x, t, reduction):
    """Common forward part of the elementwise losses: d = x - t (in x's dtype)."""
    ctx.dtypes = (x.dtype, t.dtype)
    ctx.reduction = reduction
    d = x - t.astype(x.dtype, copy=False)
    ctx.save_for_backward(d)
    return d


def _pair_backward(ctx, g, slope):
    """dE/dx = dE/dL * dL/dd and dE/dt = -dE/dx, for L_i = f(d_i), d = x - t."""
    gx = _expand_grad(g, ctx.saved_tensors[0].shape, ctx.reduction) * slope
    return (*_grads(ctx, gx, -gx), None, None)


class MSELoss(Function):
    """L_i = (x_i - t_i)^2;  dL/dx = 2 (x - t) = -dL/dt."""

    @staticmethod
    def forward(ctx, x, t, reduction):
        d = _pair_forward(ctx, x, t, reduction)
        return _reduce(d * d, reduction)

    @staticmethod
    def backward(ctx, g):
        (d,) = ctx.saved_tensors
        return _pair_backward(ctx, g, 2 * d)[:3]


class L1Loss(Function):
    """L_i = |x_i - t_i|;  dL/dx = sign(x - t) = -dL/dt (0 at a tie, as PyTorch)."""

    @staticmethod
    def forward(ctx, x, t, reduction):
        d = _pair_forward(ctx, x, t, reduction)
        return _reduce(array_module(d).abs(d), reduction)

    @staticmethod
    def backward(ctx, g):
        (d,) = ctx.saved_tensors
        return _pair_backward(ctx, g, array_module(d).sign(d))[:3]


class SmoothL1Loss(Function):
    """With d = x - t:  L_i = 0.5 d^2 / beta if |d| < beta else |d| - 0.5 beta;
    dL/dx = d / beta if |d| < beta else sign(d)  (= -dL/dt).  beta = 0 is L1."""

    @staticmethod
    def forward(ctx, x, t, reduction, beta):
        xp = array_module(x)
        d = _pair_forward(ctx, x, t, reduction)
        ctx.beta = beta
        ad = xp.abs(d)
        loss = xp.where(ad < beta, 0.5 * d * d / beta, ad - 0.5 * beta) if beta > 0 else ad
        return _reduce(loss, reduction)

    @staticmethod
    def backward(ctx, g):
        xp = array_module(g)
        (d,) = ctx.saved_tensors
        beta = ctx.beta
        slope = xp.where(xp.abs(d) < beta, d / beta, xp.sign(d)) if beta > 0 else xp.sign(d)
        return _pair_backward(ctx, g, slope)


class HuberLoss(Function):
    """With d = x - t:  L_i = 0.5 d^2 if |d| < delta else delta (|d| - 0.5 delta);
    dL/dx = clip(d, -delta, delta) = -dL/dt."""

    @staticmethod
    def forward(ctx, x, t, reduction, delta):
        xp = array_module(x)
        d = _pair_forward(ctx, x, t, reduction)
        ctx.delta = delta
        ad = xp.abs(d)
        return _reduce(xp.where(ad < delta, 0.5 * d * d, delta * (ad - 0.5 * delta)), reduction)

    @staticmethod
    def backward(ctx, g):
        (d,) = ctx.saved_tensors
        return _pair_backward(ctx, g, array_module(d).clip(d, -ctx.delta, ctx.delta))


def _promoted_target(input, target):
    """An integer or bool target of a regression loss as the input's float dtype
    (PyTorch promotes the pair, e.g. ``mse_loss(float_pred, long_target)``)."""
    if (isinstance(input, Tensor) and isinstance(target, Tensor) and input.dtype.kind == "f"
            and target.dtype.kind in "iub"):
        return target.to(input.dtype)
    return target


def _pair_args(name, input, target, reduction, size_average=None, reduce=None):
    reduction = _check_reduction(name, reduction, size_average, reduce)
    _check_tensor(name, "input", input)
    _check_tensor(name, "target", target)
    _check_same_shape(name, input, target)
    return reduction


def _weighted(name, fn, input, target, weight, reduction, mean_by_weight, *params):
    """``fn`` with PyTorch's elementwise ``weight`` (of the input's shape): the
    per-element loss times weight, reduced by ``sum`` or by ``mean``, where 'mean'
    divides by ``sum(weight)`` for mse/l1 and by the element count for huber
    (PyTorch's choices). Composed from differentiable tensor ops, so the weight
    receives a gradient too, as in PyTorch."""
    if weight is None:
        return fn.apply(input, target, reduction, *params)
    _check_tensor(name, "weight", weight)
    if weight.shape != input.shape:
        raise ArgumentError(f"{name}: weight must have the input's shape {tuple(input.shape)}, "
                            f"received shape {tuple(weight.shape)}")
    loss = fn.apply(input, target, "none", *params) * weight
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    return loss.sum() / weight.sum() if mean_by_weight else loss.mean()


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """Mean squared error ``L_i = (input_i - target_i)^2``, reduced.

    input, target: any shape, equal (a shape mismatch raises; PyTorch broadcasts).
    Both receive gradients: dL/dinput = 2 (input - target) = -dL/dtarget.
    weight: optional, input-shaped; 'mean' is then ``sum(w L) / sum(w)``.
    """
    name = "mse_loss"
    target = _promoted_target(input, target)
    reduction = _pair_args(name, input, target, reduction, size_average, reduce)
    return _weighted(name, MSELoss, input, target, weight, reduction, True)


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """Mean absolute error ``L_i = |input_i - target_i|``, reduced (shapes must be equal).

    dL/dinput = sign(input - target) = -dL/dtarget.
    weight: optional, input-shaped; 'mean' is then ``sum(w L) / sum(w)``.
    """
    name = "l1_loss"
    target = _promoted_target(input, target)
    reduction = _pair_args(name, input, target, reduction, size_average, reduce)
    return _weighted(name, L1Loss, input, target, weight, reduction, True)


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    """Smooth L1 (Girshick, Fast R-CNN 2015): with d = input - target,

        L_i = 0.5 d^2 / beta   if |d| < beta,   |d| - 0.5 beta   otherwise

    (beta = 0 is the L1 loss). Shapes must be equal.
    """
    name = "smooth_l1_loss"
    target = _promoted_target(input, target)
    reduction = _pair_args(name, input, target, reduction, size_average, reduce)
    if beta < 0:
        raise ArgumentError(f"{name}: beta must be non-negative, received {beta}")
    return SmoothL1Loss.apply(input, target, reduction, float(beta))


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    """Huber loss (Huber 1964): with d = input - target,

        L_i = 0.5 d^2   if |d| < delta,   delta (|d| - 0.5 delta)   otherwise

    i.e. ``delta * smooth_l1_loss(beta=delta)``. Shapes must be equal.
    weight: optional, input-shaped; 'mean' is then ``mean(w L)`` (as PyTorch).
    """
    name = "huber_loss"
    target = _promoted_target(input, target)
    reduction = _pair_args(name, input, target, reduction)
    if not delta > 0:
        raise ArgumentError(f"{name}: delta must be positive, received {delta}")
    return _weighted(name, HuberLoss, input, target, weight, reduction, False, float(delta))


# --------------------------------------------------------------------------- binary losses
def _clamped_log(v):
    """log v clamped to >= -100 (PyTorch's choice, so log(0) gives a finite loss)."""
    xp = array_module(v)
    pos = v > 0
    return xp.where(pos, xp.maximum(xp.log(xp.where(pos, v, 1)), -100), -100).astype(v.dtype, copy=False)


class BinaryCrossEntropy(Function):
    """Binary cross entropy of probabilities x against targets t (weights w):

        L_i = -w_i [t_i log x_i + (1 - t_i) log(1 - x_i)]     (each log clamped to >= -100)
        dL/dx = w (x - t) / max(x (1 - x), 1e-12)             (PyTorch's backward)
        dL/dt = -w log(x / (1 - x))
    """

    @staticmethod
    def forward(ctx, x, t, w, reduction):
        ctx.dtypes = (x.dtype, t.dtype)
        t = t.astype(x.dtype, copy=False)
        loss = -(t * _clamped_log(x) + (1 - t) * _clamped_log(1 - x))
        if w is not None:
            w = w.astype(x.dtype, copy=False)
            loss = loss * w
        ctx.reduction, ctx.w = reduction, w
        ctx.save_for_backward(x, t)
        return _reduce(loss, reduction)

    @staticmethod
    def backward(ctx, g):
        xp = array_module(g)
        x, t = ctx.saved_tensors
        ge = _expand_grad(g, x.shape, ctx.reduction)
        if ctx.w is not None:
            ge = ge * ctx.w
        gx = gt = None
        if ctx.needs_input_grad[0]:
            gx = ge * (x - t) / xp.maximum(x * (1 - x), 1e-12)
        if ctx.needs_input_grad[1]:
            gt = -ge * (xp.log(x) - xp.log(1 - x))
        return (*_grads(ctx, gx, gt), None, None)


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None, reduction="mean"):
    """Binary cross entropy between probabilities ``input`` (in [0, 1]) and ``target``:

        L_i = -w_i [t_i log x_i + (1 - t_i) log(1 - x_i)]

    with each log clamped to >= -100, as PyTorch, so saturated predictions give a
    large finite loss instead of inf. For logits use
    :func:`binary_cross_entropy_with_logits` (stabler).

    input, target: same shape (a mismatch raises); weight: broadcastable to it.
    """
    name = "binary_cross_entropy"
    reduction = _pair_args(name, input, target, reduction, size_average, reduce)
    w = _check_broadcast_weight(name, "weight", weight, tuple(input.shape))
    x = input.array
    if x.size and bool(((x < 0) | (x > 1) | (x != x)).any()):
        raise ArgumentError(f"{name}: all elements of input should be probabilities in [0, 1], received "
                            f"values in [{float(x.min()):.4g}, {float(x.max()):.4g}]; for logits use "
                            "binary_cross_entropy_with_logits")
    return BinaryCrossEntropy.apply(input, target, w, reduction)


class BinaryCrossEntropyWithLogits(Function):
    """Sigmoid + binary cross entropy in one stable node. With logits x, targets t,
    pos_weight p (1 when absent), l = 1 + (p - 1) t and log sigmoid(x) = -softplus(-x):

        L_i = w [(1 - t) x + l softplus(-x)]
            = w [(1 - t) max(x, 0) - p t min(x, 0) + l log(1 + exp(-|x|))]

    (the second form never subtracts two large numbers; with p = 1 it is
    max(x, 0) - x t + log(1 + exp(-|x|))).

        dL/dx = w [(1 - t) - l sigmoid(-x)]      (= w (sigmoid(x) - t) when p = 1)
        dL/dt = w [-x + (p - 1) softplus(-x)]
    """

    @staticmethod
    def forward(ctx, x, t, w, pw, reduction):
        xp = array_module(x)
        ctx.dtypes = (x.dtype, t.dtype)
        t = t.astype(x.dtype, copy=False)
        e = xp.exp(-xp.abs(x))
        log1p_e = xp.log1p(e)
        if pw is None:
            loss = xp.maximum(x, 0) - x * t + log1p_e
            lw = None
        else:
            pw = pw.astype(x.dtype, copy=False)
            lw = 1 + (pw - 1) * t
            loss = (1 - t) * xp.maximum(x, 0) - pw * t * xp.minimum(x, 0) + lw * log1p_e
        if w is not None:
            w = w.astype(x.dtype, copy=False)
            loss = loss * w
        ctx.reduction, ctx.w, ctx.pw = reduction, w, pw
        ctx.save_for_backward(x, t, e, lw)
        return _reduce(loss, reduction)

    @staticmethod
    def backward(ctx, g):
        xp = array_module(g)
        x, t, e, lw = ctx.saved_tensors
        ge = _expand_grad(g, x.shape, ctx.reduction)
        if ctx.w is not None:
            ge = ge * ctx.w
        gx = gt = None
        if ctx.needs_input_grad[0]:
            # sigmoid(x) from e = exp(-|x|) without overflow
            sig = xp.where(x >= 0, 1 / (1 + e), e / (1 + e))
            gx = ge * (sig - t) if lw is None else ge * ((1 - t) - lw * (1 - sig))
        if ctx.needs_input_grad[1]:
            gt = -x
            if ctx.pw is not None:
                gt = gt + (ctx.pw - 1) * (xp.log1p(e) + xp.maximum(-x, 0))
            gt = ge * gt
        return (*_grads(ctx, gx, gt), None, None, None)


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None,
                                     reduction="mean", pos_weight=None):
    """Binary cross entropy on logits (sigmoid built in, numerically stable):

        L_i = w_i [max(x_i, 0) - x_i t_i + log(1 + exp(-|x_i|))]       (pos_weight = None)

    with ``pos_weight`` p scaling the positive term: L = -w [p t log s(x) + (1 - t) log(1 - s(x))].

    input, target: same shape (a mismatch raises); weight, pos_weight: broadcastable
    to it (pos_weight is typically ``(C,)`` for a multi-label ``(N, C)`` input).
    """
    name = "binary_cross_entropy_with_logits"
    reduction = _pair_args(name, input, target, reduction, size_average, reduce)
    shape = tuple(input.shape)
    w = _check_broadcast_weight(name, "weight", weight, shape)
    pw = _check_broadcast_weight(name, "pos_weight", pos_weight, shape)
    return BinaryCrossEntropyWithLogits.apply(input, target, w, pw, reduction)


# --------------------------------------------------------------------------- KL divergence
class KLDiv(Function):
    """Pointwise KL divergence with log-probabilities x:

        L_i = t_i (log t_i - x_i)  (0 where t_i = 0);   dL/dx = -t,  dL/dt = log t + 1 - x
        (at t_i = 0, where the derivative is -inf, dL/dt is taken as 1 - x; PyTorch gives NaN)
        log_target:  L_i = exp(t_i) (t_i - x_i);        dL/dx = -exp(t), dL/dt = exp(t) (t - x + 1)
    """

    @staticmethod
    def forward(ctx, x, t, reduction, log_target):
        xp = array_module(x)
        ctx.dtypes = (x.dtype, t.dtype)
        t = t.astype(x.dtype, copy=False)
        if log_target:
            et = xp.exp(t)
            loss = et * (t - x)
            ctx.save_for_backward(x, t, et)
        else:
            pos = t > 0
            log_t = xp.log(xp.where(pos, t, 1))
            loss = xp.where(pos, t * (log_t - x), -t * x)     # xlogy(t, t) - t x
            ctx.save_for_backward(x, t, log_t)
        ctx.reduction, ctx.log_target = reduction, log_target
        if reduction == "batchmean":
            n = x.shape[0] if x.ndim else 1
            return xp.asarray(loss.sum() / n)
        return _reduce(loss, reduction)

    @staticmethod
    def backward(ctx, g):
        x, t, aux = ctx.saved_tensors
        if ctx.reduction == "batchmean":
            n = x.shape[0] if x.ndim else 1
            ge = array_module(g).broadcast_to(g / n, x.shape)
        else:
            ge = _expand_grad(g, x.shape, ctx.reduction)
        if ctx.log_target:
            gx, gt = -ge * aux, ge * aux * (t - x + 1)
        else:
            gx, gt = -ge * t, ge * (aux + 1 - x)
        return (*_grads(ctx, gx, gt), None, None)


def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    """Kullback-Leibler divergence, ``input`` given as log-probabilities:

        L_i = t_i (log t_i - input_i)          (log_target=False; 0 where t_i = 0)
        L_i = exp(t_i) (t_i - input_i)         (log_target=True, t given as log-probabilities)

    reduction: 'none' | 'sum' | 'mean' (over all elements) | 'batchmean' (sum / N,
    the mathematical KL divergence per sample). Shapes must be equal.
    """
    name = "kl_div"
    reduction = _check_reduction(name, reduction, size_average, reduce,
                                 allowed=("none", "batchmean", "sum", "mean"))
    _check_tensor(name, "input", input)
    _check_tensor(name, "target", target)
    _check_same_shape(name, input, target)
    return KLDiv.apply(input, target, reduction, bool(log_target))
