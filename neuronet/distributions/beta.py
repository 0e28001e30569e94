"""Beta(concentration1, concentration0): a density on (0, 1)."""
from __future__ import annotations

import neuronet as _nt
from .. import backend
from .._dtype import Size
from ..tensor import Tensor
from . import constraints
from ._special import digamma, lgamma
from .distribution import Distribution
from .gamma import standard_gamma
from .utils import broadcast_all

__all__ = ["Beta"]


class Beta(Distribution):
    """The beta distribution with a = ``concentration1`` and b = ``concentration0``.

    log p(x) = (a - 1) log x + (b - 1) log(1 - x) - log B(a, b),
    log B(a, b) = log Gamma(a) + log Gamma(b) - log Gamma(a + b);
    entropy = log B(a, b) - (a - 1) psi(a) - (b - 1) psi(b) + (a + b - 2) psi(a + b);
    mean a / (a + b), variance a b / ((a + b)^2 (a + b + 1)).
    Sampling: X / (X + Y) with X ~ Gamma(a), Y ~ Gamma(b) (not reparameterized:
    ``rsample`` is not implemented).
    """

    arg_constraints = {"concentration1": constraints.positive, "concentration0": constraints.positive}
    support = constraints.unit_interval

    def __init__(self, concentration1, concentration0, validate_args=None):
        self.concentration1, self.concentration0 = broadcast_all(concentration1, concentration0)
        super().__init__(self.concentration1.size(), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Beta, _instance)
        batch_shape = Size(batch_shape)
        new.concentration1 = self.concentration1.expand(batch_shape)
        new.concentration0 = self.concentration0.expand(batch_shape)
        Distribution.__init__(new, batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def mean(self):
        return self.concentration1 / (self.concentration1 + self.concentration0)

    @property
    def mode(self):
        a, b = self.concentration1, self.concentration0
        return (a - 1) / (a + b - 2)

    @property
    def variance(self):
        a, b = self.concentration1, self.concentration0
        total = a + b
        return a * b / (total.pow(2) * (total + 1))

    def sample(self, sample_shape=Size()):
        shape = tuple(self._extended_shape(sample_shape))
        with _nt.no_grad():
            a = self.concentration1.expand(shape).array
            x = standard_gamma(a)
            y = standard_gamma(self.concentration0.expand(shape).array)
            xp = backend.array_module(x)
            info = _nt.finfo(self.concentration1.dtype)
            return Tensor._wrap(xp.clip(x / (x + y), info.tiny, 1 - info.eps).astype(a.dtype))

    def _log_beta(self):
        a, b = self.concentration1, self.concentration0
        return lgamma(a) + lgamma(b) - lgamma(a + b)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        a, b = self.concentration1, self.concentration0
        return (a - 1) * value.log() + (b - 1) * (-value).log1p() - self._log_beta()

    def entropy(self):
        a, b = self.concentration1, self.concentration0
        total = a + b
        return self._log_beta() - (a - 1) * digamma(a) - (b - 1) * digamma(b) + (total - 2) * digamma(total)
