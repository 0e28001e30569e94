"""Random sampling: seeded reproducibility, Generator objects, statistics against the
distributions' moments (draws cannot match PyTorch's), PyTorch's shapes/dtypes and errors."""

import numpy as np
import pytest

import neuronet as nt
from helpers import requires_torch, torch


# ------------------------------------------------------------------ seeding and generators
def test_manual_seed_and_generator_reproduce_draws():
    nt.manual_seed(5)
    a = [nt.randperm(10), nt.multinomial(nt.ones(4), 3), nt.normal(0.0, 1.0, size=(3,))]
    nt.manual_seed(5)
    b = [nt.randperm(10), nt.multinomial(nt.ones(4), 3), nt.normal(0.0, 1.0, size=(3,))]
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x.numpy(), y.numpy())
    g1, g2 = nt.Generator().manual_seed(7), nt.Generator().manual_seed(7)
    np.testing.assert_array_equal(nt.randperm(8, generator=g1).numpy(), nt.randperm(8, generator=g2).numpy())
    assert g1.initial_seed() == 7
    state = g1.get_state()
    first = nt.zeros(5).exponential_(generator=g1)
    g1.set_state(state)
    np.testing.assert_array_equal(nt.zeros(5).exponential_(generator=g1).numpy(), first.numpy())
    # a private generator does not move the global stream
    nt.manual_seed(1)
    x = nt.rand_like(nt.zeros(3))
    nt.manual_seed(1)
    nt.bernoulli(nt.full((4,), 0.5), generator=nt.Generator())
    np.testing.assert_array_equal(nt.rand_like(nt.zeros(3)).numpy(), x.numpy())
    nt.default_generator.manual_seed(3)
    assert nt.default_generator.initial_seed() == 3
    with pytest.raises(TypeError, match="Generator"):
        nt.randperm(3, generator=np.random.default_rng(0))


def test_randperm_is_a_permutation():
    p = nt.randperm(50)
    assert p.dtype == nt.int64 and sorted(p.tolist()) == list(range(50))
    assert nt.randperm(4, dtype=nt.float32).dtype == nt.float32
    assert nt.randperm(0).shape == (0,)


def test_like_factories():
    x = nt.zeros(3, 4, dtype=nt.float64)
    assert nt.randn_like(x).shape == (3, 4) and nt.randn_like(x).dtype == nt.float64
    assert nt.rand_like(x, dtype=nt.float32).dtype == nt.float32
    r = nt.randint_like(x, 2, 5)
    assert r.dtype == nt.float64 and set(r.numpy().ravel()) <= {2.0, 3.0, 4.0}
    assert set(nt.randint_like(nt.zeros(100, dtype=nt.int64), 3).tolist()) == {0, 1, 2}
    u = nt.rand_like(nt.zeros(2000)).numpy()
    assert 0 <= u.min() and u.max() < 1 and abs(u.mean() - 0.5) < 0.03


# ------------------------------------------------------------------ multinomial
def test_multinomial_with_replacement_frequencies():
    w = np.array([1.0, 0.0, 3.0, 6.0])
    s = nt.multinomial(nt.tensor(w), 4000, replacement=True).numpy()
    freq = np.bincount(s, minlength=4) / 4000
    np.testing.assert_allclose(freq, w / w.sum(), atol=0.03)
    assert (s != 1).all()                                  # zero weight: never drawn
    rows = nt.tensor(np.array([[0.0, 1.0], [1.0, 0.0]])).multinomial(5, True)
    assert rows.tolist() == [[1] * 5, [0] * 5]


def test_multinomial_without_replacement():
    w = nt.tensor(np.array([[1.0, 2.0, 3.0, 4.0]] * 3))
    s = nt.multinomial(w, 4)
    assert s.shape == (3, 4) and s.dtype == nt.int64
    for row in s.tolist():
        assert sorted(row) == [0, 1, 2, 3]                  # distinct categories
    # first draw ~ w / sum(w); second given first=3 ~ w[:3] / 6
    first = nt.multinomial(nt.tensor(np.array([[1.0, 2.0, 3.0, 4.0]] * 3000)), 2).numpy()
    np.testing.assert_allclose(np.bincount(first[:, 0], minlength=4) / 3000, [0.1, 0.2, 0.3, 0.4], atol=0.03)
    after3 = first[first[:, 0] == 3, 1]
    np.testing.assert_allclose(np.bincount(after3, minlength=4)[:3] / len(after3), [1 / 6, 2 / 6, 3 / 6], atol=0.06)
    # zero-weight categories come only after every positive one
    assert nt.multinomial(nt.tensor([0.0, 5.0, 0.0]), 1).tolist() == [1]


def test_multinomial_errors():
    with pytest.raises(RuntimeError, match="cannot sample n_sample > prob_dist.size"):
        nt.multinomial(nt.tensor([1.0, 0.0, 0.0]), 4)
    with pytest.raises(RuntimeError, match="inf`, `nan` or element < 0"):
        nt.multinomial(nt.tensor([1.0, -1.0, 0.0]), 1)
    with pytest.raises(RuntimeError, match="sum of probabilities <= 0"):
        nt.multinomial(nt.tensor([0.0, 0.0]), 1)
    with pytest.raises(RuntimeError, match="floating-point"):
        nt.multinomial(nt.tensor([1, 2]), 1)


# ------------------------------------------------------------------ bernoulli, normal, poisson
def test_bernoulli():
    p = np.array([0.0, 0.2, 0.9, 1.0])
    draws = nt.bernoulli(nt.tensor(np.tile(p, (1500, 1)))).numpy()     # 1500 draws per p
    np.testing.assert_allclose(draws.mean(0), p, atol=0.04)
    assert set(np.unique(draws)) <= {0.0, 1.0}
    assert nt.bernoulli(nt.zeros(3, dtype=nt.float64), p=1.0).tolist() == [1.0, 1.0, 1.0]
    with pytest.raises(RuntimeError, match="p_in >= 0 && p_in <= 1"):
        nt.bernoulli(nt.tensor([1.5]))
    t = nt.tensor(p, requires_grad=True)      # connected, zero gradient (as PyTorch)
    nt.bernoulli(t).sum().backward()
    np.testing.assert_array_equal(t.grad.numpy(), np.zeros(4))


def test_normal_forms_and_moments():
    m = nt.tensor(np.array([0.0, 10.0]))
    s = nt.tensor(np.array([1.0, 0.5]))
    draws = nt.normal(m.expand(2000, 2), s).numpy()
    np.testing.assert_allclose(draws.mean(0), [0, 10], atol=0.08)
    np.testing.assert_allclose(draws.std(0), [1, 0.5], atol=0.06)
    assert nt.normal(m, 2.0).shape == (2,) and nt.normal(1.0, s).shape == (2,)
    assert nt.normal(nt.zeros(2, 1), nt.ones(3)).shape == (2, 3)
    x = nt.normal(3.0, 2.0, size=(4000,))
    assert x.dtype == nt.float32 and abs(float(x.mean()) - 3) < 0.15 and abs(float(x.std()) - 2) < 0.1
    mean = nt.zeros(3, requires_grad=True)
    nt.normal(mean, 1.0).sum().backward()
    np.testing.assert_array_equal(mean.grad.numpy(), np.zeros(3))
    with pytest.raises(RuntimeError, match="std >= 0.0"):
        nt.normal(m, -1.0)
    with pytest.raises(RuntimeError, match="do not broadcast"):
        nt.normal(nt.zeros(2), nt.ones(3))


def test_poisson():
    lam = nt.tensor(np.array([0.5, 4.0, 20.0]))
    draws = nt.poisson(lam.expand(2000, 3)).numpy()
    np.testing.assert_allclose(draws.mean(0), [0.5, 4, 20], rtol=0.06)
    np.testing.assert_allclose(draws.var(0), [0.5, 4, 20], rtol=0.15)


# ------------------------------------------------------------------ in-place fills
def test_inplace_fills_moments():
    n = 20000
    t = nt.zeros(n, dtype=nt.float64)
    assert t.exponential_(2.0) is t
    assert abs(t.numpy().mean() - 0.5) < 0.02 and t.numpy().min() >= 0
    g = nt.zeros(n, dtype=nt.float64).geometric_(0.25).numpy()
    assert g.min() >= 1 and (g == np.round(g)).all() and abs(g.mean() - 4) < 0.15
    c = nt.zeros(n, dtype=nt.float64).cauchy_(1.0, 2.0).numpy()
    assert abs(np.median(c) - 1) < 0.1                      # the median is the location
    assert abs(np.mean(np.abs(c - 1) < 2) - 0.5) < 0.02     # half the mass within one scale
    ln = nt.zeros(n, dtype=nt.float64).log_normal_(0.5, 0.25).numpy()
    np.testing.assert_allclose([np.log(ln).mean(), np.log(ln).std()], [0.5, 0.25], atol=0.01)
    b = nt.zeros(n).bernoulli_(0.3).numpy()
    assert set(np.unique(b)) == {0.0, 1.0} and abs(b.mean() - 0.3) < 0.02
    b2 = nt.zeros(2, 1000).bernoulli_(nt.tensor([[0.0], [1.0]])).numpy()
    assert b2[0].sum() == 0 and b2[1].sum() == 1000


def test_random_():
    r = nt.zeros(500).random_(5).numpy()
    assert set(np.unique(r)) == {0, 1, 2, 3, 4}
    r = nt.zeros(500).random_(2, 4).numpy()
    assert set(np.unique(r)) == {2, 3}
    f = nt.zeros(500).random_().numpy()
    assert f.min() >= 0 and f.max() <= 2 ** 24 and (f == np.round(f)).all()
    i = nt.zeros(100, dtype=nt.int64).random_().numpy()
    assert i.min() >= 0 and i.max() > 2 ** 40
    u8 = nt.zeros(500, dtype=nt.uint8).random_().numpy()
    assert u8.max() > 200
    with pytest.raises(RuntimeError, match="expects 'from' to be less than 'to'"):
        nt.zeros(3).random_(3, 1)


def test_inplace_fill_errors_and_leaf():
    with pytest.raises(RuntimeError, match="lambda > 0"):
        nt.zeros(3).exponential_(0.0)
    with pytest.raises(RuntimeError, match=r"p to be in \(0, 1\]"):
        nt.zeros(3).geometric_(0.0)
    with pytest.raises(RuntimeError, match="leaf"):
        nt.zeros(3, requires_grad=True).exponential_()
    w = nt.zeros(3, requires_grad=True)
    with nt.no_grad():
        w.cauchy_()                                     # initialization under no_grad works
    assert np.isfinite(w.numpy()).all()


@requires_torch
def test_shapes_and_dtypes_as_torch():
    x32 = np.zeros((2, 3), dtype=np.float32)
    cases = [
        (lambda m: m.randperm(5), ()),
        (lambda m: m.randn_like(m.tensor(x32)), ()),
        (lambda m: m.randint_like(m.tensor(x32), 2, 5), ()),
        (lambda m: m.multinomial(m.tensor(np.ones((3, 4), np.float32)), 2), ()),
        (lambda m: m.multinomial(m.tensor(np.ones(4, np.float32)), 6, True), ()),
        (lambda m: m.bernoulli(m.tensor(x32)), ()),
        (lambda m: m.normal(m.tensor(x32), 1.0), ()),
        (lambda m: m.normal(0.0, 1.0, size=(4,)), ()),
        (lambda m: m.poisson(m.tensor(x32)), ()),
        (lambda m: m.zeros(3, dtype=m.float64).geometric_(0.5), ()),
        (lambda m: m.zeros(3, dtype=m.int64).random_(7), ()),
    ]
    for make, _ in cases:
        a, b = make(nt), make(torch)
        assert tuple(a.shape) == tuple(b.shape)
        assert str(a.dtype).replace("torch.", "") == str(b.dtype).replace("torch.", "")


def test_generator_drives_data_shuffling():
    """PyTorch code passes torch.Generator() to random_split and DataLoader."""
    from neuronet.data import DataLoader, TensorDataset, random_split
    ds = TensorDataset(nt.arange(10.0))
    split = [list(random_split(ds, [7, 3], generator=nt.Generator().manual_seed(42))[0].indices)
             for _ in range(2)]
    assert split[0] == split[1] and sorted(split[0]) != split[0]
    orders = [[v for b in DataLoader(ds, batch_size=4, shuffle=True, generator=nt.Generator().manual_seed(0))
               for v in b[0].tolist()] for _ in range(2)]
    assert orders[0] == orders[1] and sorted(orders[0]) == list(range(10))
    assert nt.Generator().manual_seed(3).permutation(4).tolist() != []     # NumPy-style draws pass through


def test_module_level_seed_and_state():
    assert nt.manual_seed(11) is nt.default_generator and nt.initial_seed() == 11
    state = nt.get_rng_state()
    assert state.dtype == nt.uint8
    a = nt.rand(4)
    nt.set_rng_state(state)
    np.testing.assert_array_equal(nt.rand(4).numpy(), a.numpy())
    s = nt.seed()
    assert nt.initial_seed() == s
    with pytest.raises(RuntimeError, match="get_state"):
        nt.set_rng_state(nt.zeros(3, dtype=nt.uint8))
