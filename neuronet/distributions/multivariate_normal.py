"""MultivariateNormal(loc, covariance_matrix= | precision_matrix= | scale_tril=)."""
from __future__ import annotations

import math

import numpy as np

import neuronet as _nt
from .. import linalg as _linalg
from .._dtype import Size
from . import constraints
from .distribution import Distribution
from .utils import lazy_property

__all__ = ["MultivariateNormal"]


def _mahalanobis(L, x):
    """||L^-1 x||^2 for L (*, k, k) lower triangular and x (*, k), batch dims broadcast."""
    y = _linalg.solve(L, x.unsqueeze(-1)).squeeze(-1)
    return y.pow(2).sum(-1)


class MultivariateNormal(Distribution):
    """The Gaussian N(loc, Sigma) on R^k, with Sigma given as ``covariance_matrix``,
    ``precision_matrix`` (Sigma^-1) or ``scale_tril`` (the Cholesky factor L, Sigma = L L^T);
    exactly one of them.

    With L = chol(Sigma): log p(x) = -1/2 (k log 2 pi + ||L^-1 (x - loc)||^2) - sum_i log L_ii;
    entropy = k/2 (1 + log 2 pi) + sum_i log L_ii; ``rsample`` = loc + L eps, eps ~ N(0, I).

    Shapes: loc (*, k); matrices (*, k, k); batch_shape is the broadcast of the two
    batch parts, event_shape (k,).
    """

    arg_constraints = {"loc": constraints.real_vector, "covariance_matrix": constraints.positive_definite,
                       "precision_matrix": constraints.positive_definite,
                       "scale_tril": constraints.independent(constraints.real, 2)}
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, loc, covariance_matrix=None, precision_matrix=None, scale_tril=None, validate_args=None):
        if loc.dim() < 1:
            raise ValueError("loc must be at least one-dimensional.")
        if (covariance_matrix is not None) + (scale_tril is not None) + (precision_matrix is not None) != 1:
            raise ValueError("Exactly one of covariance_matrix or precision_matrix or scale_tril may be specified.")
        given = next(m for m in (scale_tril, covariance_matrix, precision_matrix) if m is not None)
        name = ("scale_tril" if scale_tril is not None else
                "covariance_matrix" if covariance_matrix is not None else "precision_matrix")
        if given.dim() < 2:
            raise ValueError(f"{name} matrix must be at least two-dimensional, with optional leading batch "
                             "dimensions")
        k = loc.shape[-1]
        if tuple(given.shape[-2:]) != (k, k):
            raise ValueError(f"MultivariateNormal: loc has {k} components but {name} has shape "
                             f"{tuple(given.shape)}; expected (*, {k}, {k})")
        batch_shape = np.broadcast_shapes(tuple(given.shape[:-2]), tuple(loc.shape[:-1]))
        setattr(self, name, given.expand(*batch_shape, k, k))
        self.loc = loc.expand(*batch_shape, k)
        super().__init__(Size(batch_shape), Size((k,)), validate_args=validate_args)
        if scale_tril is not None:
            self._unbroadcasted_scale_tril = scale_tril
        elif covariance_matrix is not None:
            self._unbroadcasted_scale_tril = _linalg.cholesky(covariance_matrix)
        else:
            self._unbroadcasted_scale_tril = _linalg.cholesky(_linalg.inv(precision_matrix))

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(MultivariateNormal, _instance)
        batch_shape = Size(batch_shape)
        k = self.event_shape[0]
        new.loc = self.loc.expand(*batch_shape, k)
        new._unbroadcasted_scale_tril = self._unbroadcasted_scale_tril
        for name in ("covariance_matrix", "scale_tril", "precision_matrix"):
            if name in self.__dict__:
                setattr(new, name, self.__dict__[name].expand(*batch_shape, k, k))
        Distribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @lazy_property
    def scale_tril(self):
        k = self.event_shape[0]
        return self._unbroadcasted_scale_tril.expand(*self._batch_shape, k, k)

    @lazy_property
    def covariance_matrix(self):
        L = self._unbroadcasted_scale_tril
        k = self.event_shape[0]
        return (L @ L.transpose(-1, -2)).expand(*self._batch_shape, k, k)

    @lazy_property
    def precision_matrix(self):
        return _linalg.inv(self.covariance_matrix)

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        return self._unbroadcasted_scale_tril.pow(2).sum(-1).expand(*self._batch_shape, self.event_shape[0])

    def rsample(self, sample_shape=Size()):
        shape = tuple(self._extended_shape(sample_shape))
        eps = _nt.randn(shape, dtype=self.loc.dtype, device=self.loc.device)
        return self.loc + (self._unbroadcasted_scale_tril @ eps.unsqueeze(-1)).squeeze(-1)

    def _half_log_det(self):
        return self._unbroadcasted_scale_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        k = self.event_shape[0]
        m = _mahalanobis(self._unbroadcasted_scale_tril, value - self.loc)
        return -0.5 * (k * math.log(2 * math.pi) + m) - self._half_log_det()

    def entropy(self):
        k = self.event_shape[0]
        h = 0.5 * k * (1.0 + math.log(2 * math.pi)) + self._half_log_det()
        return h if len(self._batch_shape) == 0 else h.expand(*self._batch_shape)
