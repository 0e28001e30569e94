"""Gamma(concentration, rate) and the standard-gamma sampler that Beta shares."""
from __future__ import annotations

import numpy as np

import neuronet as _nt
from .. import backend
from .._dtype import Size
from ..tensor import Tensor
from . import constraints
from ._special import digamma, lgamma
from .distribution import Distribution
from .utils import broadcast_all

__all__ = ["Gamma"]


def standard_gamma(alpha):
    """Gamma(alpha, 1) draws, one per element of ``alpha`` (an ndarray > 0), from the
    module-wide generator: Marsaglia & Tsang 2000 ("A simple method for generating
    gamma variables"), with d = a - 1/3, c = 1 / sqrt(9 d): draw x ~ N(0, 1),
    v = (1 + c x)^3, u ~ U(0, 1) and accept d v when log u < x^2 / 2 + d - d v + d log v
    (over 95% accepted; the rejected ones are drawn again). For a < 1 the draw for
    a + 1 is scaled by u^(1/a)."""
    xp = backend.array_module(alpha)
    gen = backend.generator(xp)
    a = alpha.astype(np.float64).reshape(-1)
    boost = a < 1
    a1 = xp.where(boost, a + 1, a)
    d = a1 - 1.0 / 3.0
    c = 1.0 / xp.sqrt(9.0 * d)
    out = xp.empty_like(a1)
    pending = xp.arange(a1.size)
    while pending.size:
        x = gen.standard_normal(pending.size)
        u = gen.random(pending.size)
        dd, cc = d[pending], c[pending]
        v = (1 + cc * x) ** 3
        with np.errstate(invalid="ignore", divide="ignore"):
            ok = (v > 0) & (xp.log(u) < 0.5 * x * x + dd - dd * v + dd * xp.log(xp.where(v > 0, v, 1)))
        out[pending[ok]] = (dd * v)[ok]
        pending = pending[~ok]
    if bool(boost.any()):
        u = gen.random(a.size)
        with np.errstate(divide="ignore", over="ignore"):
            out = xp.where(boost, out * u ** (1.0 / a), out)
    return out.reshape(alpha.shape)


class Gamma(Distribution):
    """The gamma distribution with shape ``concentration`` (a) and ``rate`` (b).

    log p(x) = a log b + (a - 1) log x - b x - log Gamma(a);
    entropy = a - log b + log Gamma(a) + (1 - a) psi(a); mean a / b, variance a / b^2.
    Sampling: Marsaglia & Tsang (not reparameterized: ``rsample`` is not implemented).
    """

    arg_constraints = {"concentration": constraints.positive, "rate": constraints.positive}
    support = constraints.nonnegative

    def __init__(self, concentration, rate, validate_args=None):
        self.concentration, self.rate = broadcast_all(concentration, rate)
        super().__init__(self.concentration.size(), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Gamma, _instance)
        batch_shape = Size(batch_shape)
        new.concentration = self.concentration.expand(batch_shape)
        new.rate = self.rate.expand(batch_shape)
        Distribution.__init__(new, batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def mean(self):
        return self.concentration / self.rate

    @property
    def mode(self):
        return ((self.concentration - 1) / self.rate).clamp(min=0)

    @property
    def variance(self):
        return self.concentration / self.rate.pow(2)

    def sample(self, sample_shape=Size()):
        shape = tuple(self._extended_shape(sample_shape))
        with _nt.no_grad():
            a = self.concentration.expand(shape).array
            g = standard_gamma(a) / self.rate.expand(shape).array
            tiny = _nt.finfo(self.concentration.dtype).tiny
            return Tensor._wrap(backend.array_module(g).maximum(g, tiny).astype(a.dtype))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        a, b = self.concentration, self.rate
        return a * b.log() + (a - 1) * value.log() - b * value - lgamma(a)

    def cdf(self, value):
        raise NotImplementedError("Gamma.cdf needs the regularized incomplete gamma function, which neuronet "
                                  "does not implement")

    def entropy(self):
        a = self.concentration
        return a - self.rate.log() + lgamma(a) + (1.0 - a) * digamma(a)
