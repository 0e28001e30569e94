"""kl_divergence(p, q) = E_p[log p(x) - log q(x)], with closed forms registered per
pair of families by ``@register_kl(P, Q)``; the most specific registered pair (by
the classes' method resolution order) is used."""
from __future__ import annotations

import math

import numpy as np

import neuronet as _nt
import neuronet.nn.functional as F
from ._special import digamma, lgamma
from .bernoulli import Bernoulli
from .beta import Beta
from .categorical import Categorical
from .gamma import Gamma
from .independent import Independent
from .multivariate_normal import MultivariateNormal, _mahalanobis
from .normal import Normal
from .one_hot_categorical import OneHotCategorical
from .uniform import Uniform
from .utils import sum_rightmost
from .. import linalg as _linalg

__all__ = ["kl_divergence", "register_kl"]

_KL_REGISTRY = {}


def register_kl(type_p, type_q):
    """Decorator: ``@register_kl(Normal, Normal) def kl(p, q): ...``."""
    from .distribution import Distribution
    for t in (type_p, type_q):
        if not (isinstance(t, type) and issubclass(t, Distribution)):
            raise TypeError(f"register_kl expects subclasses of Distribution, received {t!r}")

    def decorator(fn):
        _KL_REGISTRY[type_p, type_q] = fn
        return fn
    return decorator


def _dispatch(tp, tq):
    best, best_rank = None, None
    for (p, q), fn in _KL_REGISTRY.items():
        if issubclass(tp, p) and issubclass(tq, q):
            rank = (tp.__mro__.index(p), tq.__mro__.index(q))
            if best_rank is None or rank < best_rank:
                best, best_rank = fn, rank
    return best


def kl_divergence(p, q):
    """KL(p || q), one value per batch element (shape ``batch_shape``).
    Raises NotImplementedError for a pair with no registered closed form."""
    fn = _dispatch(type(p), type(q))
    if fn is None:
        raise NotImplementedError(f"No KL(p || q) is implemented for p type {type(p).__name__} and q type "
                                  f"{type(q).__name__}")
    return fn(p, q)


def _inf_where(t, mask):
    return t.masked_fill(mask.expand_as(t) if tuple(mask.shape) != tuple(t.shape) else mask, math.inf)


def _zero_where(t, mask):
    return t.masked_fill(mask.expand_as(t) if tuple(mask.shape) != tuple(t.shape) else mask, 0.0)


@register_kl(Normal, Normal)
def _kl_normal_normal(p, q):
    """1/2 (s_p^2/s_q^2 + (m_p - m_q)^2 / s_q^2 - 1 - log(s_p^2/s_q^2))."""
    var_ratio = (p.scale / q.scale).pow(2)
    t1 = ((p.loc - q.loc) / q.scale).pow(2)
    return 0.5 * (var_ratio + t1 - 1 - var_ratio.log())


@register_kl(Categorical, Categorical)
def _kl_categorical_categorical(p, q):
    """sum_k p_k (log p_k - log q_k): +inf where q_k = 0 < p_k, terms with p_k = 0 are 0."""
    t = p.probs * (p.logits - q.logits)
    t = _inf_where(t, q.probs == 0)
    t = _zero_where(t, p.probs == 0)
    return t.sum(-1)


@register_kl(OneHotCategorical, OneHotCategorical)
def _kl_onehot_onehot(p, q):
    return _kl_categorical_categorical(p._categorical, q._categorical)


@register_kl(Bernoulli, Bernoulli)
def _kl_bernoulli_bernoulli(p, q):
    """p log(p/q) + (1 - p) log((1 - p)/(1 - q)), on the logits via softplus."""
    t1 = p.probs * (F.softplus(-q.logits) - F.softplus(-p.logits))
    t1 = _zero_where(_inf_where(t1, q.probs == 0), p.probs == 0)
    t2 = (1 - p.probs) * (F.softplus(q.logits) - F.softplus(p.logits))
    t2 = _zero_where(_inf_where(t2, q.probs == 1), p.probs == 1)
    return t1 + t2


@register_kl(Uniform, Uniform)
def _kl_uniform_uniform(p, q):
    """log((b_q - a_q) / (b_p - a_p)), +inf unless [a_p, b_p) lies inside [a_q, b_q)."""
    result = ((q.high - q.low) / (p.high - p.low)).log()
    return _inf_where(result, (q.low > p.low) | (q.high < p.high))


@register_kl(Normal, Uniform)
def _kl_normal_uniform(p, q):
    return _nt.full_like(p.loc, math.inf) + 0 * p.loc


@register_kl(Independent, Independent)
def _kl_independent_independent(p, q):
    if p.reinterpreted_batch_ndims != q.reinterpreted_batch_ndims:
        raise NotImplementedError("KL between Independent distributions with different reinterpreted_batch_ndims")
    return sum_rightmost(kl_divergence(p.base_dist, q.base_dist), p.reinterpreted_batch_ndims)


@register_kl(MultivariateNormal, MultivariateNormal)
def _kl_mvn_mvn(p, q):
    """1/2 (tr(S_q^-1 S_p) + ||L_q^-1 (m_q - m_p)||^2 - k) + log det L_q - log det L_p,
    with tr(S_q^-1 S_p) = ||L_q^-1 L_p||_F^2 (L the Cholesky factors)."""
    if p.event_shape != q.event_shape:
        raise ValueError("KL-divergence between two Multivariate Normals with different event shapes "
                         "cannot be computed")
    k = p.event_shape[0]
    lp, lq = p._unbroadcasted_scale_tril, q._unbroadcasted_scale_tril
    trace = _linalg.solve(lq, lp).pow(2).sum((-2, -1))
    maha = _mahalanobis(lq, q.loc - p.loc)
    out = q._half_log_det() - p._half_log_det() + 0.5 * (trace + maha - k)
    batch = np.broadcast_shapes(tuple(p.batch_shape), tuple(q.batch_shape))
    return out.expand(*batch) if batch else out


@register_kl(Gamma, Gamma)
def _kl_gamma_gamma(p, q):
    """a_q log(b_p / b_q) + log Gamma(a_q) - log Gamma(a_p) + (a_p - a_q) psi(a_p) + (b_q - b_p) a_p / b_p."""
    ap, bp, aq, bq = p.concentration, p.rate, q.concentration, q.rate
    return aq * (bp / bq).log() + lgamma(aq) - lgamma(ap) + (ap - aq) * digamma(ap) + (bq - bp) * ap / bp


@register_kl(Beta, Beta)
def _kl_beta_beta(p, q):
    """log B(a_q, b_q) - log B(a_p, b_p) + (a_p - a_q) psi(a_p) + (b_p - b_q) psi(b_p)
    + (a_q + b_q - a_p - b_p) psi(a_p + b_p)."""
    ap, bp, aq, bq = p.concentration1, p.concentration0, q.concentration1, q.concentration0
    sp, sq = ap + bp, aq + bq
    return (q._log_beta() - p._log_beta() + (ap - aq) * digamma(ap) + (bp - bq) * digamma(bp)
            + (sq - sp) * digamma(sp))
