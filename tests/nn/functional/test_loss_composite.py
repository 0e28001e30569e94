"""Margin, embedding, Poisson/Gaussian NLL and multi-label losses: per-element
formulas written with Python's math module, gradcheck, PyTorch."""
import math

import numpy as np
import pytest

import neuronet as nt
import neuronet.nn.functional as F
from helpers import check_grad, compare_with_torch, randn, torch

TF = torch.nn.functional if torch is not None else None
Y = np.array([1, -1, -1, 1, 1, -1])


def _norm(v, p):
    return sum(abs(a) ** p for a in v) ** (1 / p)


def _sig(v):
    return 1 / (1 + math.exp(-v))


CASES = {
    "margin_ranking": (
        lambda a, b: F.margin_ranking_loss(a, b, nt.tensor(Y), 0.3, reduction="none"),
        lambda a, b: TF.margin_ranking_loss(a, b, torch.tensor(Y), 0.3, reduction="none"),
        lambda a, b: [max(0.0, -y * (u - v) + 0.3) for u, v, y in zip(a, b, Y)], (6,)),
    "hinge_embedding": (
        lambda a, b: F.hinge_embedding_loss(a * b, nt.tensor(Y), 0.5, reduction="none"),
        lambda a, b: TF.hinge_embedding_loss(a * b, torch.tensor(Y), 0.5, reduction="none"),
        lambda a, b: [u * v if y == 1 else max(0.0, 0.5 - u * v) for u, v, y in zip(a, b, Y)], (6,)),
    "soft_margin": (
        lambda a, b: F.soft_margin_loss(a - b, nt.tensor(Y), reduction="none"),
        lambda a, b: TF.soft_margin_loss(a - b, torch.tensor(Y), reduction="none"),
        lambda a, b: [math.log1p(math.exp(-y * (u - v))) for u, v, y in zip(a, b, Y)], (6,)),
    "cosine_embedding": (
        lambda a, b: F.cosine_embedding_loss(a, b, nt.tensor(Y), 0.1, reduction="none"),
        lambda a, b: TF.cosine_embedding_loss(a, b, torch.tensor(Y), 0.1, reduction="none"),
        lambda a, b: [(1 - c) if y == 1 else max(0.0, c - 0.1) for c, y in
                      zip([np.dot(u, v) / (_norm(u, 2) * _norm(v, 2)) for u, v in zip(a, b)], Y)], (6, 4)),
    "triplet": (
        lambda a, b: F.triplet_margin_loss(a, b, a * 0.5 - b, 1.5, 3.0, reduction="none"),
        lambda a, b: TF.triplet_margin_loss(a, b, a * 0.5 - b, 1.5, 3.0, reduction="none"),
        lambda a, b: [max(_norm(u - v + 1e-6, 3) - _norm(u - (u * 0.5 - v) + 1e-6, 3) + 1.5, 0.0)
                      for u, v in zip(a, b)], (6, 4)),
    "poisson_log_input": (
        lambda a, b: F.poisson_nll_loss(a, b * b, reduction="none"),
        lambda a, b: TF.poisson_nll_loss(a, b * b, reduction="none"),
        lambda a, b: [math.exp(u) - v * v * u for u, v in zip(a, b)], (6,)),
    "gaussian_nll": (
        lambda a, b: F.gaussian_nll_loss(a, a * 0.3, b * b + 0.1, full=True, reduction="none"),
        lambda a, b: TF.gaussian_nll_loss(a, a * 0.3, b * b + 0.1, full=True, reduction="none"),
        lambda a, b: [0.5 * (math.log(v * v + 0.1) + (0.7 * u) ** 2 / (v * v + 0.1)) + 0.5 * math.log(2 * math.pi)
                      for u, v in zip(a, b)], (6,)),
    "multilabel_soft_margin": (
        lambda a, b: F.multilabel_soft_margin_loss(a - b, nt.tensor(
            (np.arange(24).reshape(6, 4) % 3 == 0).astype(np.float64)), reduction="none"),
        lambda a, b: TF.multilabel_soft_margin_loss(a - b, torch.tensor(
            (np.arange(24).reshape(6, 4) % 3 == 0).astype(np.float64)), reduction="none"),
        lambda a, b: [-np.mean([math.log(_sig(v)) if t else math.log(1 - _sig(v)) for v, t in
                                zip(row, (np.arange(24).reshape(6, 4) % 3 == 0)[i])]) for i, row in enumerate(a - b)],
        (6, 4)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_loss_naive_gradcheck_torch(name):
    fn, tfn, naive, shape = CASES[name]
    a, b = randn(*shape, seed=1), randn(*shape, seed=2)
    np.testing.assert_allclose(fn(nt.tensor(a), nt.tensor(b)).numpy(), naive(a, b), rtol=1e-10, atol=1e-12)
    check_grad(fn, a, b)
    compare_with_torch(fn, tfn, a, b, atol=1e-10)


def test_reductions_mean_and_sum():
    a, b = randn(6, seed=3), randn(6, seed=4)
    per = F.margin_ranking_loss(nt.tensor(a), nt.tensor(b), nt.tensor(Y), reduction="none").numpy()
    assert np.isclose(F.margin_ranking_loss(nt.tensor(a), nt.tensor(b), nt.tensor(Y)).item(), per.mean())
    assert np.isclose(F.margin_ranking_loss(nt.tensor(a), nt.tensor(b), nt.tensor(Y), reduction="sum").item(),
                      per.sum())


def test_loss_argument_errors():
    with pytest.raises(ValueError, match="margin must be greater than 0"):
        F.triplet_margin_loss(nt.randn(2, 3), nt.randn(2, 3), nt.randn(2, 3), margin=0)
    with pytest.raises(ValueError, match="negative"):
        F.gaussian_nll_loss(nt.randn(3), nt.randn(3), nt.tensor([1.0, -1.0, 1.0]))
    with pytest.raises(ValueError, match="incorrect size"):
        F.gaussian_nll_loss(nt.randn(3, 2), nt.randn(3, 2), nt.ones(2, 3))
    with pytest.raises(ValueError, match="reduction"):
        F.soft_margin_loss(nt.randn(3), nt.ones(3), reduction="avg")


def test_multi_margin_naive_gradcheck_torch():
    x, y, w = randn(5, 4, seed=5), np.array([0, 3, 1, 1, 2]), np.array([0.5, 1.0, 2.0, 1.5])
    for p in (1, 2):
        out = F.multi_margin_loss(nt.tensor(x), nt.tensor(y), p, 0.8, nt.tensor(w), reduction="none").numpy()
        ref = [sum(w[yn] * max(0.0, 0.8 - row[yn] + row[i]) ** p for i in range(4) if i != yn) / 4
               for row, yn in zip(x, y)]
        np.testing.assert_allclose(out, ref, rtol=1e-12)
        check_grad(lambda t: F.multi_margin_loss(t, nt.tensor(y), p, 0.8, nt.tensor(w)), x)
        compare_with_torch(lambda t: F.multi_margin_loss(t, nt.tensor(y), p, 0.8, nt.tensor(w)),
                           lambda t: TF.multi_margin_loss(t, torch.tensor(y), p, 0.8, torch.tensor(w)), x,
                           atol=1e-12)


def test_triplet_with_distance_function_matches_torch():
    a, p_, n_ = randn(4, 5, seed=6), randn(4, 5, seed=7), randn(4, 5, seed=8)
    cos_nt = lambda u, v: 1 - F.cosine_similarity(u, v)      # noqa: E731
    cos_th = lambda u, v: 1 - TF.cosine_similarity(u, v)     # noqa: E731
    check_grad(lambda s, t, u: F.triplet_margin_with_distance_loss(s, t, u, distance_function=cos_nt), a, p_, n_)
    compare_with_torch(
        lambda s, t, u: F.triplet_margin_with_distance_loss(s, t, u, distance_function=cos_nt, swap=True),
        lambda s, t, u: TF.triplet_margin_with_distance_loss(s, t, u, distance_function=cos_th, swap=True),
        a, p_, n_, atol=1e-12)
