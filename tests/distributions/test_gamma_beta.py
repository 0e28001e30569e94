"""Gamma and Beta against torch.distributions; the lgamma/digamma/trigamma series
against PyTorch's special functions and exact values, with finite differences."""
import math

import numpy as np
import pytest

import neuronet as nt
import neuronet.distributions as D
from neuronet.distributions._special import _digamma, _lgamma, _trigamma, digamma, lgamma
from tests.helpers import check_grad, compare_with_torch, randn, requires_torch, torch

X = np.concatenate([np.linspace(1e-3, 3, 300), np.linspace(3, 300, 300), [0.5, 1.0, 2.0, 1e-6, 1e4]])
EULER = 0.5772156649015329


@requires_torch
@pytest.mark.parametrize("ours, ref", [
    (_lgamma, torch.lgamma if torch else None),
    (_digamma, torch.digamma if torch else None),
])
def test_special_functions_match_torch(ours, ref):
    np.testing.assert_allclose(ours(X), ref(torch.tensor(X)).numpy(), rtol=1e-12, atol=1e-12)


def test_special_functions_exact_values():
    np.testing.assert_allclose(_lgamma(np.array([1.0, 2.0, 0.5, 5.0])), [0, 0, 0.5 * math.log(math.pi), math.log(24)],
                               atol=1e-14)
    np.testing.assert_allclose(_digamma(np.array([1.0, 0.5, 2.0])),
                               [-EULER, -EULER - 2 * math.log(2), 1 - EULER], atol=1e-13)
    np.testing.assert_allclose(_trigamma(np.array([1.0, 0.5, 2.0])),
                               [math.pi ** 2 / 6, math.pi ** 2 / 2, math.pi ** 2 / 6 - 1], atol=1e-11)


def test_special_function_gradients():
    x = np.array([0.3, 1.0, 2.5, 7.0, 40.0])
    check_grad(lgamma, x)
    check_grad(digamma, x)


A, B = np.exp(randn(3, 4, seed=40)), np.exp(randn(3, 4, seed=41))
V = 1 / (1 + np.exp(-randn(3, 4, seed=42)))                   # in (0, 1)


def _lib(L):
    return D if L is nt else torch.distributions


@requires_torch
@pytest.mark.parametrize("family", ["gamma", "beta"])
def test_matches_torch_values_and_gradients(family):
    def outs(L, a, b):
        d = _lib(L).Gamma(a, b) if family == "gamma" else _lib(L).Beta(a, b)
        return d.log_prob(L.tensor(V)), d.entropy(), d.mean, d.variance, d.stddev
    compare_with_torch(lambda *p: outs(nt, *p), lambda *p: outs(torch, *p), A, B, atol=1e-10, rtol=1e-8)


@requires_torch
@pytest.mark.parametrize("family", ["Gamma", "Beta"])
def test_kl_matches_torch(family):
    def kl(L, a, b):
        cls = getattr(_lib(L), family)
        return _lib(L).kl_divergence(cls(a, b), cls(b * 2, a + 0.5))
    # the gradients go through trigamma, where PyTorch's polygamma(1, .) is good to ~1e-9 (ours to
    # ~1e-12, see test_special_functions_exact_values)
    compare_with_torch(lambda *p: kl(nt, *p), lambda *p: kl(torch, *p), A, B, atol=1e-8, rtol=1e-7)


@pytest.mark.parametrize("a, b", [(0.3, 2.0), (2.5, 0.5), (8.0, 3.0)])
def test_sample_moments(a, b):
    n = 40000
    g = D.Gamma(nt.tensor([a], dtype=nt.float64), nt.tensor([b], dtype=nt.float64)).sample((n,)).numpy()
    assert g.shape == (n, 1) and g.min() > 0
    mean, var = a / b, a / b ** 2
    assert abs(g.mean() - mean) < 5 * math.sqrt(var / n)
    assert abs(g.var() / var - 1) < 0.06
    x = D.Beta(nt.tensor(a), nt.tensor(b)).sample((n,)).numpy()
    assert x.shape == (n,) and x.min() > 0 and x.max() < 1
    m, v = a / (a + b), a * b / ((a + b) ** 2 * (a + b + 1))
    assert abs(x.mean() - m) < 5 * math.sqrt(v / n)
    assert abs(x.var() / v - 1) < 0.06


def test_sampling_follows_manual_seed_and_is_not_reparameterized():
    d = D.Beta(nt.tensor([0.5, 2.0]), nt.tensor([1.5, 3.0]))
    nt.manual_seed(3)
    first = d.sample((4,)).numpy()
    nt.manual_seed(3)
    np.testing.assert_array_equal(first, d.sample((4,)).numpy())
    with pytest.raises(NotImplementedError, match="rsample"):
        d.rsample()


@pytest.mark.parametrize("make, value, msg", [
    (lambda: D.Gamma(nt.tensor([1.0]), nt.tensor([-1.0])), None, "parameter rate"),
    (lambda: D.Beta(nt.tensor([0.0]), nt.tensor([1.0])), None, "parameter concentration1"),
    (lambda: D.Beta(nt.tensor([1.0]), nt.tensor([1.0])), nt.tensor([1.5]), "within the support"),
    (lambda: D.Gamma(nt.tensor([1.0]), nt.tensor([1.0])), nt.tensor([-0.5]), "within the support"),
])
def test_errors(make, value, msg):
    with pytest.raises(ValueError, match=msg):
        make().log_prob(value) if value is not None else make()
