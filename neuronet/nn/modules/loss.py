"""Loss layers over the functionals: ``CrossEntropyLoss``, ``NLLLoss``,
``MSELoss``, ``L1Loss``, ``SmoothL1Loss``, ``HuberLoss``, ``KLDivLoss``,
``BCELoss``, ``BCEWithLogitsLoss``.

Class weights are registered as buffers (as PyTorch) so they follow
``module.to(...)`` and appear in the ``state_dict`` when given. The deprecated
``size_average``/``reduce`` arguments keep PyTorch's positional order and map
to ``reduction`` as they do there.
"""
from __future__ import annotations

from .. import functional as F
from ...tensor import Tensor, as_tensor
from .module import Module
from .upsampling import PairwiseDistance
from ._utils import check_tensor, legacy_reduction

__all__ = ["CrossEntropyLoss", "NLLLoss", "MSELoss", "L1Loss", "SmoothL1Loss", "HuberLoss", "KLDivLoss",
           "BCELoss", "BCEWithLogitsLoss", "MarginRankingLoss", "HingeEmbeddingLoss", "SoftMarginLoss",
           "CosineEmbeddingLoss", "TripletMarginLoss", "TripletMarginWithDistanceLoss", "MultiMarginLoss",
           "PoissonNLLLoss", "GaussianNLLLoss", "MultiLabelSoftMarginLoss"]


def _as_buffer(value, name, owner):
    if value is None or isinstance(value, Tensor):
        return value
    try:
        return as_tensor(value)
    except Exception:
        raise TypeError(f"{owner}: {name} must be a Tensor (or array-like) or None, received "
                        f"{type(value).__name__}") from None


class _Loss(Module):
    def __init__(self, size_average=None, reduce=None, reduction="mean"):
        super().__init__()
        self.reduction = legacy_reduction(size_average, reduce, reduction)


class _WeightedLoss(_Loss):
    def __init__(self, weight=None, size_average=None, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", _as_buffer(weight, "weight", type(self).__name__))


def _check_pair(input, target):
    check_tensor(input)
    check_tensor(target, "target")


class CrossEntropyLoss(_WeightedLoss):
    r"""Softmax + negative log-likelihood on raw scores (logits):
    :math:`\ell_n = -w_{y_n} \log \frac{e^{x_{n, y_n}}}{\sum_c e^{x_{n,c}}}`, averaged
    over the non-ignored samples, weighted by ``weight[y]``.

    ``target`` holds class indices (N,) / (N, d1, ...) or class probabilities
    shaped like ``input``; ``label_smoothing`` mixes the target with uniform.

    Shape: ``input (N, C)`` or ``(N, C, d1, ...)``; output scalar unless reduction='none'.
    """

    def __init__(self, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean",
                 label_smoothing=0.0):
        super().__init__(weight, size_average, reduce, reduction)
        if not 0.0 <= label_smoothing <= 1.0:
            raise ValueError(f"CrossEntropyLoss: label_smoothing must be in [0, 1], received {label_smoothing}")
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing

    def forward(self, input, target):
        _check_pair(input, target)
        return F.cross_entropy(input, target, weight=self.weight, ignore_index=self.ignore_index,
                               reduction=self.reduction, label_smoothing=self.label_smoothing)


class NLLLoss(_WeightedLoss):
    r"""Negative log-likelihood of log-probabilities: :math:`\ell_n = -w_{y_n} x_{n, y_n}`
    (use after ``LogSoftmax``)."""

    def __init__(self, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean"):
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index

    def forward(self, input, target):
        _check_pair(input, target)
        return F.nll_loss(input, target, weight=self.weight, ignore_index=self.ignore_index,
                          reduction=self.reduction)


class MSELoss(_Loss):
    r"""Mean squared error :math:`(x - y)^2`, reduced by ``reduction``."""

    def forward(self, input, target):
        _check_pair(input, target)
        return F.mse_loss(input, target, reduction=self.reduction)


class L1Loss(_Loss):
    r"""Mean absolute error :math:`|x - y|`, reduced by ``reduction``."""

    def forward(self, input, target):
        _check_pair(input, target)
        return F.l1_loss(input, target, reduction=self.reduction)


class SmoothL1Loss(_Loss):
    r"""Smooth L1 (Girshick 2015), d = x - y: :math:`0.5 d^2 / \beta` where
    :math:`|d| < \beta`, else :math:`|d| - 0.5 \beta`."""

    def __init__(self, size_average=None, reduce=None, reduction="mean", beta=1.0):
        super().__init__(size_average, reduce, reduction)
        self.beta = beta

    def forward(self, input, target):
        _check_pair(input, target)
        return F.smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)


class HuberLoss(_Loss):
    r"""Huber loss (Huber 1964), d = x - y: :math:`0.5 d^2` where :math:`|d| < \delta`,
    else :math:`\delta (|d| - 0.5 \delta)`."""

    def __init__(self, reduction="mean", delta=1.0):
        super().__init__(reduction=reduction)
        self.delta = delta

    def forward(self, input, target):
        _check_pair(input, target)
        return F.huber_loss(input, target, reduction=self.reduction, delta=self.delta)


class KLDivLoss(_Loss):
    r"""Kullback-Leibler divergence with ``input`` as log-probabilities:
    :math:`\ell = y (\log y - x)` (``log_target``: ``y`` given as log-probabilities).
    Use ``reduction='batchmean'`` for the per-sample divergence."""

    def __init__(self, size_average=None, reduce=None, reduction="mean", log_target=False):
        super().__init__()
        # 'batchmean' is valid here only, so it bypasses the shared validation.
        self.reduction = reduction if reduction == "batchmean" and size_average is None and reduce is None \
            else legacy_reduction(size_average, reduce, reduction)
        self.log_target = log_target

    def forward(self, input, target):
        _check_pair(input, target)
        return F.kl_div(input, target, reduction=self.reduction, log_target=self.log_target)


class BCELoss(_WeightedLoss):
    r"""Binary cross-entropy of probabilities:
    :math:`\ell = -w [y \log x + (1 - y) \log(1 - x)]` (logs clamped at -100 as PyTorch)."""

    def forward(self, input, target):
        _check_pair(input, target)
        return F.binary_cross_entropy(input, target, weight=self.weight, reduction=self.reduction)


class BCEWithLogitsLoss(_Loss):
    r"""Sigmoid + binary cross-entropy in one numerically stable step:
    :math:`\ell = -w [p\, y \log\sigma(x) + (1 - y) \log(1 - \sigma(x))]` with
    ``p = pos_weight`` (per class, broadcast over the last dim)."""

    def __init__(self, weight=None, size_average=None, reduce=None, reduction="mean", pos_weight=None):
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", _as_buffer(weight, "weight", "BCEWithLogitsLoss"))
        self.register_buffer("pos_weight", _as_buffer(pos_weight, "pos_weight", "BCEWithLogitsLoss"))

    def forward(self, input, target):
        _check_pair(input, target)
        return F.binary_cross_entropy_with_logits(input, target, self.weight, reduction=self.reduction,
                                                  pos_weight=self.pos_weight)


class MarginRankingLoss(_Loss):
    r""":math:`\max(0, -y (x_1 - x_2) + \mathrm{margin})`, ``forward(input1, input2, target)``."""

    def __init__(self, margin=0.0, size_average=None, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction)
        self.margin = margin

    def forward(self, input1, input2, target):
        return F.margin_ranking_loss(input1, input2, target, self.margin, reduction=self.reduction)


class HingeEmbeddingLoss(_Loss):
    r""":math:`x` where :math:`y = 1`, :math:`\max(0, \mathrm{margin} - x)` where :math:`y = -1`."""

    def __init__(self, margin=1.0, size_average=None, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction)
        self.margin = margin

    def forward(self, input, target):
        return F.hinge_embedding_loss(input, target, self.margin, reduction=self.reduction)


class SoftMarginLoss(_Loss):
    r""":math:`\log(1 + e^{-y x})` (two-class logistic loss, y in {1, -1})."""

    def forward(self, input, target):
        return F.soft_margin_loss(input, target, reduction=self.reduction)


class CosineEmbeddingLoss(_Loss):
    r""":math:`1 - \cos(x_1, x_2)` where :math:`y = 1`, :math:`\max(0, \cos(x_1, x_2) - \mathrm{margin})`
    where :math:`y = -1`; ``forward(input1, input2, target)``."""

    def __init__(self, margin=0.0, size_average=None, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction)
        self.margin = margin

    def forward(self, input1, input2, target):
        return F.cosine_embedding_loss(input1, input2, target, self.margin, reduction=self.reduction)


class TripletMarginLoss(_Loss):
    r""":math:`\max(d(a, p) - d(a, n) + \mathrm{margin}, 0)` with the p-norm distance
    (Schroff et al. 2015); ``forward(anchor, positive, negative)``."""

    def __init__(self, margin=1.0, p=2.0, eps=1e-6, swap=False, size_average=None, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction)
        if not margin > 0:
            raise ValueError(f"TripletMarginLoss: margin must be greater than 0, got {margin}")
        self.margin = margin
        self.p = p
        self.eps = eps
        self.swap = swap

    def forward(self, anchor, positive, negative):
        return F.triplet_margin_loss(anchor, positive, negative, self.margin, self.p, self.eps, self.swap,
                                     reduction=self.reduction)


class PoissonNLLLoss(_Loss):
    r"""Poisson negative log-likelihood: :math:`e^x - y x` (``log_input``) or
    :math:`x - y \log(x + \epsilon)`; ``full`` adds Stirling's term."""

    def __init__(self, log_input=True, full=False, size_average=None, eps=1e-8, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction)
        self.log_input = log_input
        self.full = full
        self.eps = eps

    def forward(self, log_input, target):
        return F.poisson_nll_loss(log_input, target, self.log_input, self.full, eps=self.eps,
                                  reduction=self.reduction)


class GaussianNLLLoss(_Loss):
    r"""Gaussian negative log-likelihood :math:`\frac12(\log v + (x - y)^2 / v)`,
    ``forward(input, target, var)``."""

    def __init__(self, *, full=False, eps=1e-6, reduction="mean"):
        super().__init__(reduction=reduction)
        self.full = full
        self.eps = eps

    def forward(self, input, target, var):
        return F.gaussian_nll_loss(input, target, var, self.full, self.eps, self.reduction)


class MultiLabelSoftMarginLoss(_WeightedLoss):
    r"""Multi-label one-vs-all logistic loss, averaged over the C classes of each sample."""

    def forward(self, input, target):
        return F.multilabel_soft_margin_loss(input, target, self.weight, reduction=self.reduction)


class TripletMarginWithDistanceLoss(_Loss):
    r""":math:`\max(d(a, p) - d(a, n) + \mathrm{margin}, 0)` with any ``distance_function``
    (default: the Euclidean pairwise distance)."""

    def __init__(self, *, distance_function=None, margin=1.0, swap=False, reduction="mean"):
        super().__init__(reduction=reduction)
        if not margin > 0:
            raise ValueError(f"TripletMarginWithDistanceLoss: margin must be greater than 0, got {margin}")
        self.distance_function = distance_function if distance_function is not None else PairwiseDistance()
        self.margin = margin
        self.swap = swap

    def forward(self, anchor, positive, negative):
        return F.triplet_margin_with_distance_loss(anchor, positive, negative,
                                                   distance_function=self.distance_function, margin=self.margin,
                                                   swap=self.swap, reduction=self.reduction)


class MultiMarginLoss(_WeightedLoss):
    r"""Multi-class hinge loss :math:`\sum_{i \ne y} w_y \max(0, m - x_y + x_i)^p / C`."""

    def __init__(self, p=1, margin=1.0, weight=None, size_average=None, reduce=None, reduction="mean"):
        super().__init__(weight, size_average, reduce, reduction)
        if p not in (1, 2):
            raise ValueError("only p == 1 and p == 2 supported")
        self.p = p
        self.margin = margin

    def forward(self, input, target):
        return F.multi_margin_loss(input, target, self.p, self.margin, self.weight, reduction=self.reduction)
