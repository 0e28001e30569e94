"""Sorting and selection ops: Python-list references, gradcheck in float64, PyTorch, errors."""
import collections

import numpy as np
import pytest

import neuronet as nt
from helpers import check_grad, compare_with_torch, randn, requires_torch, torch


def rows(a, dim):
    """The 1-d lines of ``a`` along ``dim``, with the index of each line."""
    moved = np.moveaxis(a, dim, -1)
    for p in np.ndindex(*moved.shape[:-1]):
        yield p, list(moved[p])


# ------------------------------------------------------------------ sort, argsort, msort
def test_sort_matches_python_sorted():
    x = randn(3, 4, 5)
    for dim in (0, 1, -1):
        for desc in (False, True):
            values, indices = nt.sort(nt.tensor(x), dim=dim, descending=desc)
            v = np.moveaxis(values.numpy(), dim, -1)
            i = np.moveaxis(indices.numpy(), dim, -1)
            for p, line in rows(x, dim):
                order = sorted(range(len(line)), key=lambda k: line[k], reverse=desc)
                assert list(i[p]) == order
                np.testing.assert_allclose(v[p], [line[k] for k in order])
            assert indices.dtype == nt.int64


def test_sort_stable_descending_ties_keep_order():
    x = nt.tensor([3, 1, 3, 2, 1])
    assert x.sort(descending=True, stable=True).indices.tolist() == [0, 2, 3, 1, 4]
    assert x.sort(stable=True).indices.tolist() == [1, 4, 3, 0, 2]
    assert nt.argsort(x, descending=True).tolist() == [0, 2, 3, 1, 4]


def test_sort_nan_is_largest():
    x = nt.tensor([1.0, float("nan"), -1.0])
    assert x.sort().indices.tolist() == [2, 0, 1]
    assert x.sort(descending=True).indices.tolist() == [1, 0, 2]


def test_sort_grads():
    x = randn(3, 5)
    check_grad(lambda t: t.sort(dim=1).values, x)
    check_grad(lambda t: nt.sort(t, 0, descending=True)[0], x)
    check_grad(lambda t: nt.msort(t), x)


@requires_torch
def test_sort_torch():
    x = randn(4, 6)
    compare_with_torch(lambda t: nt.sort(t, 1, descending=True), lambda t: torch.sort(t, 1, descending=True), x)
    compare_with_torch(lambda t: t.sort(0), lambda t: t.sort(0), x)
    compare_with_torch(lambda t: t.argsort(dim=0), lambda t: t.argsort(dim=0), x, grad=False)
    compare_with_torch(lambda t: nt.msort(t), lambda t: torch.msort(t), x)
    ints = np.array([3, 1, 3, 2, 1, 0])
    compare_with_torch(lambda t: nt.sort(t, descending=True, stable=True),
                       lambda t: torch.sort(t, descending=True, stable=True), ints, grad=False)


# ------------------------------------------------------------------ topk, kthvalue
def test_topk_and_kthvalue_reference():
    x = randn(4, 7)
    values, indices = nt.topk(nt.tensor(x), 3)
    smallest = nt.tensor(x).topk(2, dim=0, largest=False)
    k4 = nt.tensor(x).kthvalue(4, dim=1)
    for i in range(4):
        line = list(x[i])
        order = sorted(range(7), key=lambda k: -line[k])
        assert indices[i].tolist() == order[:3]
        np.testing.assert_allclose(values[i].numpy(), [line[k] for k in order[:3]])
        asc = sorted(range(7), key=lambda k: line[k])
        assert k4.indices[i].item() == asc[3]
        assert k4.values[i].item() == line[asc[3]]
    for j in range(7):
        col = list(x[:, j])
        order = sorted(range(4), key=lambda k: col[k])
        assert smallest.indices[:, j].tolist() == order[:2]


def test_topk_kthvalue_grads():
    x = randn(3, 6)
    check_grad(lambda t: t.topk(2).values, x)
    check_grad(lambda t: nt.topk(t, 2, dim=0, largest=False)[0], x)
    check_grad(lambda t: t.kthvalue(3, dim=1, keepdim=True)[0], x)


@requires_torch
def test_topk_kthvalue_torch():
    x = randn(5, 6)
    compare_with_torch(lambda t: t.topk(3, dim=0), lambda t: t.topk(3, dim=0), x)
    compare_with_torch(lambda t: nt.topk(t, 2, largest=False), lambda t: torch.topk(t, 2, largest=False), x)
    compare_with_torch(lambda t: nt.kthvalue(t, 2, 0, True), lambda t: torch.kthvalue(t, 2, 0, True), x)
    compare_with_torch(lambda t: t.topk(1), lambda t: t.topk(1), np.array(2.5))


def test_topk_kthvalue_errors():
    x = nt.zeros(2, 3)
    with pytest.raises(RuntimeError, match="selected index k out of range"):
        x.topk(4)
    with pytest.raises(RuntimeError, match="kthvalue\\(\\): selected number k out of range for dimension 1"):
        x.kthvalue(0)
    with pytest.raises(IndexError, match=r"expected to be in range of \[-2, 1\], but got 2"):
        x.topk(1, dim=2)


# ------------------------------------------------------------------ median, mode
def test_median_reference():
    x = randn(5, 4)
    flat = sorted(x.reshape(-1))
    assert nt.median(nt.tensor(x)).item() == flat[(len(flat) - 1) // 2]      # the lower median
    res = nt.tensor(x).median(dim=0)
    for j in range(4):
        col = sorted(range(5), key=lambda k: x[k, j])
        assert res.indices[j].item() == col[2]
        assert res.values[j].item() == x[col[2], j]
    even = nt.tensor([4.0, 1.0, 3.0, 2.0])
    assert even.median().item() == 2.0
    assert np.isnan(nt.tensor([1.0, float("nan"), 3.0]).median().item())
    assert nt.nanmedian(nt.tensor([1.0, float("nan"), 3.0, 2.0])).item() == 2.0


def test_median_grad():
    x = randn(4, 5)
    check_grad(lambda t: t.median(), x)
    check_grad(lambda t: nt.median(t, 1)[0], x)


@requires_torch
def test_median_torch():
    x = randn(5, 6)
    compare_with_torch(lambda t: t.median(), lambda t: t.median(), x)
    compare_with_torch(lambda t: nt.median(t, 1, keepdim=True), lambda t: torch.median(t, 1, keepdim=True), x)
    nan = np.array([[1.0, np.nan, 3.0], [2.0, 1.0, 5.0]])
    compare_with_torch(lambda t: nt.median(t, 1), lambda t: torch.median(t, 1), nan, grad=False)
    compare_with_torch(lambda t: nt.nanmedian(t, 1), lambda t: torch.nanmedian(t, 1), nan, grad=False)


def test_mode_reference_and_torch():
    r = np.random.default_rng(3)
    x = r.integers(0, 4, (6, 9))
    res = nt.tensor(x).mode(dim=1)
    for i in range(6):
        counts = collections.Counter(x[i].tolist())
        top = max(counts.values())
        value = min(v for v, c in counts.items() if c == top)         # the smallest on ties
        last = max(k for k in range(9) if x[i, k] == value)            # its last occurrence
        assert res.values[i].item() == value
        assert res.indices[i].item() == last
    if torch is not None:
        compare_with_torch(lambda t: nt.mode(t, 0), lambda t: torch.mode(t, 0), x, grad=False)
        compare_with_torch(lambda t: t.mode(), lambda t: t.mode(), x, grad=False)
    # The gradient goes to the returned index only (finite differences cannot see
    # it: a perturbation breaks the tie that defines the mode).
    t = nt.tensor(x.astype(np.float64), requires_grad=True)
    g = randn(6)
    t.mode(1).values.backward(nt.tensor(g))
    expected = np.zeros((6, 9))
    expected[np.arange(6), res.indices.numpy()] = g
    np.testing.assert_allclose(t.grad.numpy(), expected)
    if torch is not None:
        compare_with_torch(lambda t: t.mode(1), lambda t: t.mode(1), x.astype(np.float64))


# ------------------------------------------------------------------ unique, bincount, histc, searchsorted
def test_unique_reference():
    r = np.random.default_rng(4)
    x = r.integers(-3, 4, (5, 6))
    vals, inv, counts = nt.unique(nt.tensor(x), return_inverse=True, return_counts=True)
    assert vals.tolist() == sorted(set(x.reshape(-1).tolist()))
    np.testing.assert_array_equal(vals.numpy()[inv.numpy()], x)
    assert counts.tolist() == [int((x == v).sum()) for v in vals.tolist()]
    assert nt.tensor(x).unique().tolist() == sorted(set(x.reshape(-1).tolist()))
    rows_x = np.array([[3, 1], [3, 1], [0, 2]])
    u, inv, c = nt.unique(nt.tensor(rows_x), dim=0, return_inverse=True, return_counts=True)
    assert u.tolist() == [list(r) for r in sorted(set(map(tuple, rows_x.tolist())))]
    assert inv.tolist() == [1, 1, 0] and c.tolist() == [1, 2]


@requires_torch
def test_unique_torch():
    x = np.random.default_rng(5).integers(0, 5, (4, 3))
    compare_with_torch(lambda t: nt.unique(t, return_inverse=True, return_counts=True),
                       lambda t: torch.unique(t, return_inverse=True, return_counts=True), x, grad=False)
    compare_with_torch(lambda t: nt.unique(t, dim=1, return_inverse=True),
                       lambda t: torch.unique(t, dim=1, return_inverse=True), x, grad=False)
    seq = np.array([1, 1, 2, 2, 3, 1, 1, 2])
    compare_with_torch(lambda t: nt.unique_consecutive(t, return_inverse=True, return_counts=True),
                       lambda t: torch.unique_consecutive(t, return_inverse=True, return_counts=True), seq,
                       grad=False)


def test_bincount_histc_reference():
    x = np.array([1, 3, 3, 0, 7])
    counts = nt.bincount(nt.tensor(x))
    assert counts.tolist() == [sum(1 for v in x if v == k) for k in range(8)]
    assert nt.tensor(x).bincount(minlength=10).shape == (10,)
    w = randn(5)
    weighted = nt.bincount(nt.tensor(x), weights=nt.tensor(w)).numpy()
    np.testing.assert_allclose(weighted, [sum(wi for v, wi in zip(x, w) if v == k) for k in range(8)])
    data = randn(50)
    h = nt.histc(nt.tensor(data), bins=5, min=-1, max=1).numpy()
    edges = np.linspace(-1, 1, 6)
    expected = [sum(1 for v in data if edges[b] <= v < edges[b + 1] or (b == 4 and v == 1)) for b in range(5)]
    np.testing.assert_array_equal(h, expected)
    with pytest.raises(RuntimeError, match="1-d non-negative integral"):
        nt.bincount(nt.tensor([1, -3]))
    with pytest.raises(RuntimeError, match="1-d non-negative integral"):
        nt.bincount(nt.tensor([[1, 3]]))
    with pytest.raises(RuntimeError, match="floating-point"):
        nt.histc(nt.tensor([1, 2]))


@requires_torch
def test_bincount_histc_searchsorted_torch():
    x = np.array([1, 3, 3, 0, 7])
    compare_with_torch(lambda t: nt.bincount(t, minlength=9), lambda t: torch.bincount(t, minlength=9), x)
    compare_with_torch(lambda t, w: nt.bincount(t, w), lambda t, w: torch.bincount(t, w), x, randn(5), grad=False)
    data = randn(40).astype(np.float32)
    compare_with_torch(lambda t: nt.histc(t, bins=7), lambda t: torch.histc(t, bins=7), data, grad=False)
    compare_with_torch(lambda t: t.histc(4, -0.5, 0.5), lambda t: t.histc(4, -0.5, 0.5), data, grad=False)
    seq = np.array([[1, 3, 5, 7], [2, 4, 6, 8]])
    vals = np.array([[3, 6, 9], [1, 4, 5]])
    for right in (False, True):
        compare_with_torch(lambda s, v: nt.searchsorted(s, v, right=right),
                           lambda s, v: torch.searchsorted(s, v, right=right), seq, vals, grad=False)
    compare_with_torch(lambda s, v: nt.searchsorted(s, v, side="right"),
                       lambda s, v: torch.searchsorted(s, v, side="right"), seq[0], vals, grad=False)
    assert nt.searchsorted(nt.tensor([1, 3, 5]), 3, right=True).item() == 2


@requires_torch
def test_grad_fn_names_as_torch():
    x = randn(3, 4)
    ops = [lambda t: t.sort(1).values, lambda t: t.topk(2).values, lambda t: t.kthvalue(2).values,
           lambda t: t.median(), lambda t: t.nanmedian(), lambda t: t.mode(1).values]     # (median(dim) is MedianBackward1 there)
    for op in ops:
        a = op(nt.tensor(x, requires_grad=True))
        b = op(torch.tensor(x, requires_grad=True))
        assert type(a.grad_fn).__name__ == type(b.grad_fn).__name__
