"""Categorical(probs= | logits=): one of K classes per batch element."""
from __future__ import annotations

import math

import numpy as np

import neuronet as _nt
from .._dtype import Size
from . import constraints
from .distribution import Distribution
from .utils import lazy_property, logits_to_probs, probs_to_logits

__all__ = ["Categorical"]


def _draw_categories(probs, n):
    """``n`` class indices per row of ``probs`` (R, K), by inverting the cumulative
    distribution: index = #{k : cdf_k <= u}, u ~ U[0, cdf_K) -- classes of
    probability 0 have an empty interval and are never drawn."""
    cdf = probs.cumsum(-1)                                          # (R, K)
    u = _nt.rand((n, probs.shape[0]), dtype=probs.dtype, device=probs.device) * cdf[:, -1]
    idx = (u.unsqueeze(-1) >= cdf).long().sum(-1)                   # (n, R)
    return idx.clamp(max=probs.shape[-1] - 1)                        # u rounding up to cdf_K


class Categorical(Distribution):
    """A distribution over the classes ``{0, ..., K-1}``, given by ``probs`` (nonnegative,
    normalized along the last dim here) or by ``logits`` (unnormalized log-probabilities,
    normalized to log-probabilities here). Exactly one of them is given.

    log p(k) = logits_k (after normalization); entropy = -sum_k p_k log p_k.
    Shapes: ``probs``/``logits`` ``(*batch_shape, K)``; samples ``sample_shape + batch_shape``.

    >>> m = Categorical(neuronet.tensor([0.25, 0.25, 0.25, 0.25]))
    >>> m.sample()   # one of 0, 1, 2, 3
    """

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.independent(constraints.real, 1)}
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args=None):
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        if probs is not None:
            if probs.dim() < 1:
                raise ValueError("`probs` parameter must be at least one-dimensional.")
            self.probs = probs / probs.sum(-1, keepdim=True)
        else:
            if logits.dim() < 1:
                raise ValueError("`logits` parameter must be at least one-dimensional.")
            self.logits = logits - logits.logsumexp(dim=-1, keepdim=True)
        self._param = self.probs if probs is not None else self.logits
        self._num_events = self._param.size()[-1]
        batch_shape = self._param.size()[:-1] if self._param.dim() > 1 else Size()
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Categorical, _instance)
        batch_shape = Size(batch_shape)
        shape = tuple(batch_shape) + (self._num_events,)
        if "probs" in self.__dict__:
            new.probs = self.probs.expand(shape)
            new._param = new.probs
        if "logits" in self.__dict__:
            new.logits = self.logits.expand(shape)
            new._param = new.logits
        new._num_events = self._num_events
        Distribution.__init__(new, batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @constraints.dependent_property(is_discrete=True, event_dim=0)
    def support(self):
        return constraints.integer_interval(0, self._num_events - 1)

    @lazy_property
    def logits(self):
        return probs_to_logits(self.probs)

    @lazy_property
    def probs(self):
        return logits_to_probs(self.logits)

    @property
    def param_shape(self):
        return self._param.size()

    @property
    def mean(self):
        return _nt.full(tuple(self._extended_shape()), math.nan, dtype=self.probs.dtype, device=self.probs.device)

    @property
    def mode(self):
        return self.probs.argmax(dim=-1)

    @property
    def variance(self):
        return _nt.full(tuple(self._extended_shape()), math.nan, dtype=self.probs.dtype, device=self.probs.device)

    def sample(self, sample_shape=Size()):
        if isinstance(sample_shape, int):
            sample_shape = (sample_shape,)
        sample_shape = Size(sample_shape)
        with _nt.no_grad():
            probs_2d = self.probs.reshape(-1, self._num_events)
            n = 1
            for s in sample_shape:
                n *= s
            draws = _draw_categories(probs_2d, n)                      # (n, R)
        return draws.reshape(tuple(self._extended_shape(sample_shape)))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        value = value.long().unsqueeze(-1)
        shape = np.broadcast_shapes(tuple(value.shape), tuple(self.logits.shape))
        index = value.expand(*shape[:-1], 1)
        log_pmf = self.logits.expand(shape)
        return log_pmf.gather(-1, index).squeeze(-1)

    def entropy(self):
        min_real = _nt.finfo(self.logits.dtype).min
        logits = self.logits.clamp(min=min_real)        # -inf logits (p = 0) give 0 * min, not 0 * -inf
        return -(logits * self.probs).sum(-1)

    def enumerate_support(self, expand=True):
        n = self._num_events
        values = _nt.arange(n, dtype=_nt.int64, device=self._param.device)
        values = values.view((-1,) + (1,) * len(self._batch_shape))
        if expand:
            values = values.expand((-1,) + tuple(self._batch_shape))
        return values
