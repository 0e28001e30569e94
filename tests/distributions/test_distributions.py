"""neuronet.distributions against torch.distributions on the same parameters:
log_prob, entropy, moments and KL (values and gradients), sample shapes and
moments, argument validation."""
import math

import numpy as np
import pytest

import neuronet as nt
import neuronet.distributions as D
from tests.helpers import compare_with_torch, randn, requires_torch, torch

TD = torch.distributions if torch is not None else None

LOC, SCALE = randn(3, 4, seed=1), np.exp(randn(3, 4, seed=2) * 0.5)
X = randn(3, 4, seed=3)
LOGITS = randn(3, 5, seed=4)
PROBS = np.exp(randn(3, 5, seed=5))                      # unnormalized: the distribution normalizes
CLASSES = np.array([0, 4, 2], dtype=np.int64)
P01 = 1 / (1 + np.exp(-randn(3, 4, seed=6)))
BITS = (randn(3, 4, seed=7) > 0).astype(np.float64)
LOW, WIDTH = randn(3, 4, seed=8), np.exp(randn(3, 4, seed=9))


def _lib(L):
    return D if L is nt else TD


def _cases():
    """(name, builder(L, *params) -> tuple of tensors, params)."""
    return [
        ("normal", lambda L, m, s: (lambda d: (d.log_prob(L.tensor(X)), d.entropy(), d.mean, d.variance,
                                               d.stddev, d.cdf(L.tensor(X))))(_lib(L).Normal(m, s)),
         (LOC, SCALE)),
        ("normal_broadcast_number", lambda L, m: (lambda d: (d.log_prob(L.tensor(X)), d.entropy()))(
            _lib(L).Normal(m, 2.0)), (LOC,)),
        ("categorical_logits", lambda L, lg: (lambda d: (d.log_prob(L.tensor(CLASSES)), d.entropy(), d.probs,
                                                         d.logits))(_lib(L).Categorical(logits=lg)), (LOGITS,)),
        ("categorical_probs", lambda L, p: (lambda d: (d.log_prob(L.tensor(CLASSES)), d.entropy(), d.probs,
                                                       d.logits))(_lib(L).Categorical(probs=p)), (PROBS,)),
        ("categorical_broadcast_value", lambda L, lg: (lambda d: (d.log_prob(L.tensor(np.array([[1], [3]]))),))(
            _lib(L).Categorical(logits=lg)), (LOGITS,)),
        ("bernoulli_probs", lambda L, p: (lambda d: (d.log_prob(L.tensor(BITS)), d.entropy(), d.mean, d.variance,
                                                     d.logits))(_lib(L).Bernoulli(probs=p)), (P01,)),
        ("bernoulli_logits", lambda L, lg: (lambda d: (d.log_prob(L.tensor(BITS)), d.entropy(), d.probs))(
            _lib(L).Bernoulli(logits=lg)), (LOC,)),
        ("uniform", lambda L, lo, w: (lambda d: (d.log_prob(lo + 0.3 * w), d.entropy(), d.mean, d.variance,
                                                 d.stddev, d.cdf(lo + 0.7 * w)))(_lib(L).Uniform(lo, lo + w)),
         (LOW, WIDTH)),
        ("one_hot_categorical", lambda L, lg: (lambda d: (d.log_prob(L.tensor(np.eye(5)[CLASSES])), d.entropy(),
                                                          d.mean, d.variance))(_lib(L).OneHotCategorical(logits=lg)),
         (LOGITS,)),
        ("independent_normal", lambda L, m, s: (lambda d: (d.log_prob(L.tensor(X)), d.entropy(), d.mean))(
            _lib(L).Independent(_lib(L).Normal(m, s), 1)), (LOC, SCALE)),
    ]


@requires_torch
@pytest.mark.parametrize("name, build, params", _cases(), ids=[c[0] for c in _cases()])
def test_matches_torch_values_and_gradients(name, build, params):
    compare_with_torch(lambda *a: build(nt, *a), lambda *a: build(torch, *a), *params, atol=1e-10, rtol=1e-8)


@requires_torch
def test_float32_normal_and_categorical():
    loc, scale, logits = LOC.astype(np.float32), SCALE.astype(np.float32), LOGITS.astype(np.float32)
    compare_with_torch(lambda m, s, lg: (D.Normal(m, s).log_prob(nt.tensor(X.astype(np.float32))),
                                         D.Categorical(logits=lg).entropy()),
                       lambda m, s, lg: (TD.Normal(m, s).log_prob(torch.tensor(X.astype(np.float32))),
                                         TD.Categorical(logits=lg).entropy()),
                       loc, scale, logits, atol=1e-5, rtol=1e-5)


def _kl_cases():
    return [
        ("normal", lambda L, a, b, c, d: _lib(L).kl_divergence(_lib(L).Normal(a, b), _lib(L).Normal(c, d)),
         (LOC, SCALE, X, SCALE[::-1].copy())),
        ("categorical", lambda L, a, b: _lib(L).kl_divergence(_lib(L).Categorical(logits=a),
                                                              _lib(L).Categorical(logits=b)),
         (LOGITS, LOGITS[::-1].copy())),
        ("bernoulli", lambda L, a, b: _lib(L).kl_divergence(_lib(L).Bernoulli(probs=a), _lib(L).Bernoulli(probs=b)),
         (P01, P01[::-1].copy())),
        ("uniform", lambda L, lo, w: _lib(L).kl_divergence(_lib(L).Uniform(lo + 0.1 * w, lo + 0.5 * w),
                                                           _lib(L).Uniform(lo, lo + w)), (LOW, WIDTH)),
        ("one_hot", lambda L, a, b: _lib(L).kl_divergence(_lib(L).OneHotCategorical(logits=a),
                                                          _lib(L).OneHotCategorical(logits=b)),
         (LOGITS, LOGITS[::-1].copy())),
        ("independent", lambda L, a, b, c, d: _lib(L).kl_divergence(
            _lib(L).Independent(_lib(L).Normal(a, b), 1), _lib(L).Independent(_lib(L).Normal(c, d), 1)),
         (LOC, SCALE, X, SCALE[::-1].copy())),
    ]


@requires_torch
@pytest.mark.parametrize("name, kl, params", _kl_cases(), ids=[c[0] for c in _kl_cases()])
def test_kl_matches_torch(name, kl, params):
    compare_with_torch(lambda *a: kl(nt, *a), lambda *a: kl(torch, *a), *params, atol=1e-10, rtol=1e-8)


@requires_torch
def test_kl_edge_values_match_torch():
    p, q = np.array([[0.0, 0.5, 0.5], [0.2, 0.8, 0.0]]), np.array([[0.5, 0.5, 0.0], [0.3, 0.3, 0.4]])
    ours = D.kl_divergence(D.Categorical(probs=nt.tensor(p)), D.Categorical(probs=nt.tensor(q))).numpy()
    ref = TD.kl_divergence(TD.Categorical(probs=torch.tensor(p)), TD.Categorical(probs=torch.tensor(q))).numpy()
    np.testing.assert_allclose(ours, ref)
    bp, bq = np.array([0.0, 1.0, 0.3, 0.3]), np.array([0.5, 0.5, 0.0, 1.0])
    ours = D.kl_divergence(D.Bernoulli(nt.tensor(bp)), D.Bernoulli(nt.tensor(bq))).numpy()
    ref = TD.kl_divergence(TD.Bernoulli(torch.tensor(bp)), TD.Bernoulli(torch.tensor(bq))).numpy()
    np.testing.assert_allclose(ours, ref)
    lo = D.kl_divergence(D.Uniform(nt.tensor([0.0]), nt.tensor([2.0])), D.Uniform(nt.tensor([0.5]), nt.tensor([1.0])))
    assert lo.item() == math.inf


@requires_torch
def test_entropy_with_zero_probability_matches_torch():
    p = np.array([[0.0, 0.25, 0.75], [1.0, 0.0, 0.0]])
    np.testing.assert_allclose(D.Categorical(probs=nt.tensor(p)).entropy().numpy(),
                               TD.Categorical(probs=torch.tensor(p)).entropy().numpy())


@requires_torch
@pytest.mark.parametrize("make", [
    lambda L: _lib(L).Categorical(logits=L.zeros(2, 3)),
    lambda L: _lib(L).Bernoulli(probs=L.full((2,), 0.5)),
    lambda L: _lib(L).OneHotCategorical(probs=L.ones(2, 3)),
])
@pytest.mark.parametrize("expand", [True, False])
def test_enumerate_support_matches_torch(make, expand):
    np.testing.assert_array_equal(make(nt).enumerate_support(expand).numpy(),
                                  make(torch).enumerate_support(expand).numpy())


# ---------------------------------------------------------------- rsample and gradients
def test_normal_rsample_is_differentiable():
    loc = nt.tensor([0.5, -1.0], requires_grad=True)
    scale = nt.tensor([2.0, 0.5], requires_grad=True)
    x = D.Normal(loc, scale).rsample((1000,))
    x.sum().backward()
    np.testing.assert_allclose(loc.grad.numpy(), [1000.0, 1000.0])
    eps = (x.detach() - loc.detach()) / scale.detach()
    np.testing.assert_allclose(scale.grad.numpy(), eps.sum(0).numpy(), rtol=1e-5, atol=1e-3)


def test_uniform_rsample_is_differentiable():
    low = nt.tensor([0.0, 1.0], requires_grad=True)
    high = nt.tensor([1.0, 3.0], requires_grad=True)
    x = D.Uniform(low, high).rsample((500,))
    x.sum().backward()
    u = ((x.detach() - low.detach()) / (high.detach() - low.detach())).sum(0).numpy()
    np.testing.assert_allclose(high.grad.numpy(), u, rtol=1e-4)
    np.testing.assert_allclose(low.grad.numpy(), 500 - u, rtol=1e-4)


def test_sample_is_detached_and_rsample_missing_for_discrete():
    loc = nt.zeros(3, requires_grad=True)
    assert not D.Normal(loc, 1.0).sample().requires_grad
    with pytest.raises(NotImplementedError, match="not reparameterizable"):
        D.Categorical(logits=nt.zeros(3)).rsample()


def test_reinforce_score_function_gradient():
    # d/dlogits log softmax(logits)[a] = onehot(a) - softmax(logits)
    logits = nt.tensor([0.2, -0.4, 1.0], requires_grad=True)
    D.Categorical(logits=logits).log_prob(nt.tensor(2)).backward()
    p = np.exp([0.2, -0.4, 1.0]) / np.exp([0.2, -0.4, 1.0]).sum()
    np.testing.assert_allclose(logits.grad.numpy(), np.eye(3)[2] - p, rtol=1e-6)


# ---------------------------------------------------------------- shapes and sampling
@pytest.mark.parametrize("dist, batch, event", [
    (lambda: D.Normal(nt.zeros(2, 3), 1.0), (2, 3), ()),
    (lambda: D.Uniform(nt.zeros(4), nt.ones(4)), (4,), ()),
    (lambda: D.Bernoulli(nt.full((2, 1), 0.3)), (2, 1), ()),
    (lambda: D.Categorical(nt.ones(2, 3, 5)), (2, 3), ()),
    (lambda: D.Categorical(nt.ones(5)), (), ()),
    (lambda: D.OneHotCategorical(nt.ones(2, 5)), (2,), (5,)),
    (lambda: D.Independent(D.Normal(nt.zeros(2, 3, 4), 1.0), 2), (2,), (3, 4)),
])
@pytest.mark.parametrize("sample_shape", [(), (7,), (2, 3)])
def test_shapes(dist, batch, event, sample_shape):
    d = dist()
    assert tuple(d.batch_shape) == batch and tuple(d.event_shape) == event
    assert tuple(d.sample(sample_shape).shape) == tuple(sample_shape) + batch + event
    assert tuple(d.log_prob(d.sample(sample_shape)).shape) == tuple(sample_shape) + batch
    assert tuple(d.entropy().shape) == batch


def test_expand():
    d = D.Normal(nt.tensor([0.0]), nt.tensor([1.0])).expand((3, 2))
    assert tuple(d.batch_shape) == (3, 2) and tuple(d.sample().shape) == (3, 2)
    c = D.Categorical(logits=nt.zeros(4)).expand((5,))
    assert tuple(c.batch_shape) == (5,) and tuple(c.sample().shape) == (5,)


def test_sample_moments():
    n = 40000
    x = D.Normal(nt.tensor([1.0, -2.0]), nt.tensor([0.5, 3.0])).sample((n,)).numpy()
    assert np.all(np.abs(x.mean(0) - [1.0, -2.0]) < 4 * np.array([0.5, 3.0]) / np.sqrt(n))
    np.testing.assert_allclose(x.std(0), [0.5, 3.0], rtol=0.03)
    u = D.Uniform(nt.tensor(2.0), nt.tensor(5.0)).sample((n,)).numpy()
    assert u.min() >= 2.0 and u.max() < 5.0 and abs(u.mean() - 3.5) < 0.03
    b = D.Bernoulli(nt.tensor([0.1, 0.7])).sample((n,)).numpy()
    assert set(np.unique(b)) <= {0.0, 1.0}
    np.testing.assert_allclose(b.mean(0), [0.1, 0.7], atol=0.01)
    probs = np.array([0.1, 0.0, 0.6, 0.3])
    c = D.Categorical(nt.tensor(probs)).sample((n,)).numpy()
    assert c.dtype == np.int64
    freq = np.bincount(c, minlength=4) / n
    assert freq[1] == 0                                         # probability 0 is never drawn
    np.testing.assert_allclose(freq, probs, atol=4 * np.sqrt(0.25 / n))


def test_batched_categorical_samples_each_row():
    probs = nt.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
    np.testing.assert_array_equal(D.Categorical(probs).sample((4,)).numpy(), np.tile([0, 2, 1], (4, 1)))


def test_sampling_follows_manual_seed():
    d = D.Normal(nt.zeros(3), 1.0)
    nt.manual_seed(7)
    a = d.sample((2,)).numpy(), D.Categorical(nt.ones(6)).sample((5,)).numpy()
    nt.manual_seed(7)
    b = d.sample((2,)).numpy(), D.Categorical(nt.ones(6)).sample((5,)).numpy()
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


# ---------------------------------------------------------------- validation
@pytest.mark.parametrize("make, msg", [
    (lambda: D.Categorical(), "Either `probs` or `logits` must be specified, but not both"),
    (lambda: D.Categorical(probs=nt.ones(3), logits=nt.ones(3)), "Either `probs` or `logits`"),
    (lambda: D.Categorical(probs=nt.tensor(1.0)), "must be at least one-dimensional"),
    (lambda: D.Bernoulli(), "Either `probs` or `logits`"),
    (lambda: D.Normal(nt.zeros(2), nt.tensor([1.0, -1.0])),
     r"Expected parameter scale \(Tensor of shape \(2,\)\) of distribution Normal\(loc: torch.Size\(\[2\]\), "
     r"scale: torch.Size\(\[2\]\)\) to satisfy the constraint GreaterThan\(lower_bound=0.0\)"),
    (lambda: D.Normal(nt.tensor([float("nan")]), 1.0), "parameter loc .* constraint Real()"),
    (lambda: D.Bernoulli(probs=nt.tensor([0.5, 1.5])), r"constraint Interval\(lower_bound=0.0, upper_bound=1.0\)"),
    (lambda: D.Categorical(probs=nt.tensor([0.5, -0.5, 1.0])), r"constraint Simplex\(\)"),
    (lambda: D.Uniform(nt.tensor([1.0]), nt.tensor([0.0])), "low < high"),
])
def test_bad_parameters(make, msg):
    with pytest.raises(ValueError, match=msg):
        make()


@pytest.mark.parametrize("dist, value, msg", [
    (lambda: D.Categorical(nt.ones(3)), nt.tensor(3), r"within the support \(IntegerInterval\(lower_bound=0, "
                                                      r"upper_bound=2\)\)"),
    (lambda: D.Bernoulli(nt.tensor([0.5])), nt.tensor([0.5]), r"within the support \(Boolean\(\)\)"),
    (lambda: D.Normal(nt.zeros(3), 1.0), nt.zeros(4), "Value is not broadcastable with batch_shape"),
    (lambda: D.OneHotCategorical(nt.ones(3)), nt.zeros(4), "right-most size of value must match event_shape"),
    (lambda: D.Normal(nt.zeros(3), 1.0), [0.0, 0.0, 0.0], "value argument to log_prob must be a Tensor"),
    (lambda: D.Uniform(nt.zeros(1), nt.ones(1)), nt.tensor([1.5]), "HalfOpenInterval"),
])
def test_bad_log_prob_values(dist, value, msg):
    with pytest.raises(ValueError, match=msg):
        dist().log_prob(value)


def test_validation_can_be_turned_off():
    d = D.Normal(nt.zeros(1), nt.tensor([-1.0]), validate_args=False)
    with np.errstate(invalid="ignore"):
        assert np.isnan(d.log_prob(nt.zeros(1)).item())        # log of a negative scale
    D.Distribution.set_default_validate_args(False)
    try:
        assert D.Categorical(nt.ones(3)).log_prob(nt.tensor(1)).shape == ()
        D.Bernoulli(nt.tensor([2.0]))
    finally:
        D.Distribution.set_default_validate_args(True)
    with pytest.raises(ValueError):
        D.Bernoulli(nt.tensor([2.0]))


@requires_torch
def test_repr_matches_torch():
    assert repr(D.Normal(nt.zeros(2), nt.ones(2))) == repr(TD.Normal(torch.zeros(2), torch.ones(2)))
    assert repr(D.Categorical(probs=nt.ones(3))) == repr(TD.Categorical(probs=torch.ones(3)))


def test_kl_dispatch_and_register():
    with pytest.raises(NotImplementedError, match="No KL"):
        D.kl_divergence(D.Bernoulli(nt.tensor(0.5)), D.Normal(0.0, 1.0))

    class MyNormal(D.Normal):
        pass

    # a subclass uses its parent's closed form until it registers its own
    p, q = MyNormal(nt.tensor(0.0), nt.tensor(1.0)), D.Normal(nt.tensor(1.0), nt.tensor(1.0))
    assert abs(D.kl_divergence(p, q).item() - 0.5) < 1e-7

    @D.register_kl(MyNormal, D.Normal)
    def _kl(p, q):
        return nt.tensor(42.0)
    assert D.kl_divergence(p, q).item() == 42.0
    with pytest.raises(TypeError, match="subclasses of Distribution"):
        D.register_kl(int, D.Normal)


# ---------------------------------------------------------------- MultivariateNormal
MVN_LOC, MVN_A, MVN_X = randn(3, 4, seed=30), randn(3, 4, 4, seed=31), randn(3, 4, seed=32)


def _mvn(L, loc, a, kind):
    cov = a @ a.transpose(-1, -2) + L.eye(4, dtype=a.dtype)
    given = {"covariance_matrix": cov, "precision_matrix": L.linalg.inv(cov),
             "scale_tril": L.linalg.cholesky(cov)}[kind]
    return _lib(L).MultivariateNormal(loc, **{kind: given})


@requires_torch
@pytest.mark.parametrize("kind", ["covariance_matrix", "precision_matrix", "scale_tril"])
def test_multivariate_normal_matches_torch(kind):
    def outs(L, loc, a):
        d = _mvn(L, loc, a, kind)
        return d.log_prob(L.tensor(MVN_X)), d.entropy(), d.variance, d.covariance_matrix, d.precision_matrix
    compare_with_torch(lambda *a: outs(nt, *a), lambda *a: outs(torch, *a), MVN_LOC, MVN_A, atol=1e-9, rtol=1e-7)


@requires_torch
def test_multivariate_normal_kl_and_broadcast_matches_torch():
    def kl(L, loc, a):
        p = _mvn(L, loc, a, "covariance_matrix")
        q = _lib(L).MultivariateNormal(L.zeros(4, dtype=a.dtype), scale_tril=L.eye(4, dtype=a.dtype) * 2)
        return _lib(L).kl_divergence(p, q), _lib(L).kl_divergence(q, p)
    compare_with_torch(lambda *a: kl(nt, *a), lambda *a: kl(torch, *a), MVN_LOC, MVN_A, atol=1e-9, rtol=1e-7)


def test_multivariate_normal_sampling():
    cov = np.array([[2.0, 0.6], [0.6, 0.5]])
    d = D.MultivariateNormal(nt.tensor([1.0, -1.0], dtype=nt.float64), nt.tensor(cov))
    x = d.sample((40000,)).numpy()
    assert x.shape == (40000, 2)
    np.testing.assert_allclose(x.mean(0), [1.0, -1.0], atol=0.03)
    np.testing.assert_allclose(np.cov(x.T), cov, atol=0.05)
    loc = nt.zeros(2, dtype=nt.float64, requires_grad=True)
    D.MultivariateNormal(loc, nt.tensor(cov)).rsample((3,)).sum().backward()
    np.testing.assert_allclose(loc.grad.numpy(), [3.0, 3.0])


@pytest.mark.parametrize("make, msg", [
    (lambda: D.MultivariateNormal(nt.zeros(2)), "Exactly one of covariance_matrix or precision_matrix"),
    (lambda: D.MultivariateNormal(nt.tensor(0.0), nt.eye(2)), "loc must be at least one-dimensional"),
    (lambda: D.MultivariateNormal(nt.zeros(2), nt.eye(3)), r"loc has 2 components but covariance_matrix"),
    (lambda: D.MultivariateNormal(nt.zeros(2), -nt.eye(2)), r"constraint PositiveDefinite\(\)"),
])
def test_multivariate_normal_errors(make, msg):
    with pytest.raises(ValueError, match=msg):
        make()


@requires_torch
@pytest.mark.parametrize("make", [
    lambda L: _lib(L).Normal(L.tensor([0.5]), L.tensor([2.0])),
    lambda L: _lib(L).Uniform(L.tensor([0.0]), L.tensor([2.0])),
    lambda L: _lib(L).Bernoulli(logits=L.tensor([0.3])),
    lambda L: _lib(L).Categorical(logits=L.tensor([[0.1, 0.5, -0.2]])),
    lambda L: _lib(L).OneHotCategorical(probs=L.tensor([[0.1, 0.5, 0.4]])),
    lambda L: _lib(L).Independent(_lib(L).Normal(L.zeros(1, 2), L.ones(1, 2)), 1),
])
def test_expand_mode_perplexity_match_torch(make):
    shape = (3, 2) if make(nt).event_shape == () else (3,)
    ours, ref = make(nt).expand(shape), make(torch).expand(shape)
    assert tuple(ours.batch_shape) == tuple(ref.batch_shape) and tuple(ours.event_shape) == tuple(ref.event_shape)
    np.testing.assert_allclose(ours.entropy().numpy(), ref.entropy().numpy(), rtol=1e-6)
    np.testing.assert_allclose(ours.perplexity().numpy(), ref.perplexity().numpy(), rtol=1e-6)
    np.testing.assert_allclose(ours.mode.numpy(), ref.mode.numpy(), rtol=1e-6)
    assert tuple(ours.sample((4,)).shape) == tuple(ref.sample((4,)).shape)
