"""Indexing ops: gradcheck in float64, naive loop references, PyTorch, errors."""
import itertools

import numpy as np
import pytest

import neuronet as nt
from helpers import check_grad, compare_with_torch, randn, requires_torch, torch


def _idx(a):
    return nt.tensor(np.asarray(a, dtype=np.int64))


# ------------------------------------------------------------------ naive references
def gather_reference(x, dim, index):
    out = np.zeros(index.shape, dtype=x.dtype)
    for p in itertools.product(*[range(s) for s in index.shape]):
        q = list(p)
        q[dim] = index[p]
        out[p] = x[tuple(q)]
    return out


def scatter_reference(x, dim, index, src, add=False):
    out = x.copy()
    for p in itertools.product(*[range(s) for s in index.shape]):
        q = list(p)
        q[dim] = index[p]
        v = src[p] if np.ndim(src) else src
        if add:
            out[tuple(q)] += v
        else:
            out[tuple(q)] = v
    return out


def index_add_reference(x, dim, index, src, alpha=1):
    out = np.moveaxis(x.copy(), dim, 0)
    s = np.moveaxis(src, dim, 0)
    for j, i in enumerate(index):
        out[i] += alpha * s[j]
    return np.moveaxis(out, 0, dim)


# ------------------------------------------------------------------ gather
def test_gather_matches_loops_every_dim():
    x = randn(3, 4, 5)
    r = np.random.default_rng(1)
    for dim in (0, 1, 2, -1):
        shape = [2, 3, 4]
        shape[dim] = 6
        index = r.integers(0, x.shape[dim], shape)
        got = nt.gather(nt.tensor(x), dim, _idx(index)).numpy()
        np.testing.assert_allclose(got, gather_reference(x, dim % 3, index))


def test_gather_grad_accumulates_repeats():
    x = randn(3, 4)
    index = np.array([[0, 0, 3], [1, 1, 1]])
    check_grad(lambda t: t.gather(1, _idx(index)), x)
    t = nt.tensor(x, requires_grad=True)
    t.gather(1, _idx(index)).sum().backward()
    expected = np.zeros_like(x)
    for i, j in itertools.product(range(2), range(3)):
        expected[i, index[i, j]] += 1
    np.testing.assert_allclose(t.grad.numpy(), expected)


@requires_torch
def test_gather_torch():
    index = np.array([[2, 0, 1, 1], [0, 0, 0, 2]])
    compare_with_torch(lambda t: nt.gather(t, 1, _idx(index)),
                       lambda t: torch.gather(t, 1, torch.tensor(index)), randn(3, 3))
    compare_with_torch(lambda t: t.gather(0, _idx(index[:, :3])),
                       lambda t: t.gather(0, torch.tensor(index[:, :3])), randn(3, 3))


def test_gather_errors():
    x = nt.zeros(2, 3)
    with pytest.raises(RuntimeError, match="index 5 is out of bounds for dimension 1 with size 3"):
        nt.gather(x, 1, _idx([[5]]))
    with pytest.raises(RuntimeError, match="index -1 is out of bounds"):
        nt.gather(x, 1, _idx([[-1]]))
    with pytest.raises(IndexError, match=r"Dimension out of range \(expected to be in range of \[-2, 1\], but got 5\)"):
        nt.gather(x, 5, _idx([[1]]))
    with pytest.raises(RuntimeError, match="same number of dimensions"):
        nt.gather(x, 1, _idx([1]))
    with pytest.raises(RuntimeError, match="no larger than self"):
        nt.gather(x, 1, _idx([[0], [0], [0]]))
    with pytest.raises(RuntimeError, match="int64"):
        nt.gather(x, 1, nt.tensor([[0.0]]))


# ------------------------------------------------------------------ scatter / scatter_add
def test_scatter_and_scatter_add_match_loops():
    x = randn(3, 5)
    src = randn(3, 4, seed=2)
    index = np.array([[0, 2, 4], [1, 3, 0]])           # no repeats within a row: defined result
    got = nt.scatter(nt.tensor(x), 1, _idx(index), nt.tensor(src)).numpy()
    np.testing.assert_allclose(got, scatter_reference(x, 1, index, src))
    rep = np.array([[0, 0, 4], [1, 1, 1]])
    got = nt.tensor(x).scatter_add(1, _idx(rep), nt.tensor(src)).numpy()
    np.testing.assert_allclose(got, scatter_reference(x, 1, rep, src, add=True))
    got = nt.tensor(x).scatter(0, _idx(rep[:, :2]), 2.5).numpy()
    np.testing.assert_allclose(got, scatter_reference(x, 0, rep[:, :2], 2.5))
    got = nt.tensor(x).scatter(1, _idx(rep), nt.tensor(src), reduce="add").numpy()
    np.testing.assert_allclose(got, scatter_reference(x, 1, rep, src, add=True))
    got = nt.tensor(x).scatter(1, _idx(rep), nt.tensor(src), reduce="multiply").numpy()
    expected = x.copy()
    for i, j in itertools.product(range(2), range(3)):
        expected[i, rep[i, j]] *= src[i, j]
    np.testing.assert_allclose(got, expected)


def test_scatter_grads():
    index = np.array([[0, 2, 4], [1, 3, 0]])
    check_grad(lambda a, b: nt.scatter(a, 1, _idx(index), b), randn(3, 5), randn(2, 4, seed=1))
    rep = np.array([[0, 0, 4], [1, 1, 1]])
    check_grad(lambda a, b: nt.scatter_add(a, 1, _idx(rep), b), randn(3, 5), randn(2, 4, seed=1))
    check_grad(lambda a: a.scatter(1, _idx(index), -1.0), randn(3, 5))


@requires_torch
def test_scatter_torch():
    index = np.array([[0, 2, 4], [1, 3, 0]])
    # (PyTorch's backward needs src shaped like index; ours also takes a larger src)
    compare_with_torch(lambda a, b: a.scatter(1, _idx(index), b),
                       lambda a, b: a.scatter(1, torch.tensor(index), b), randn(3, 5), randn(2, 3, seed=1))
    rep = np.array([[0, 0, 2], [1, 1, 1]])
    compare_with_torch(lambda a, b: nt.scatter_add(a, 0, _idx(rep), b),
                       lambda a, b: torch.scatter_add(a, 0, torch.tensor(rep), b), randn(3, 5), randn(2, 3, seed=1))
    compare_with_torch(lambda a: a.scatter(1, _idx(index), value=3.0),
                       lambda a: a.scatter(1, torch.tensor(index), value=3.0), randn(3, 5))


def test_scatter_errors():
    x = nt.zeros(2, 3)
    with pytest.raises(RuntimeError, match="index 4 is out of bounds for dimension 1 with size 3"):
        x.scatter(1, _idx([[4]]), 1.0)
    with pytest.raises(RuntimeError, match="add or multiply"):
        x.scatter(1, _idx([[1]]), 1.0, reduce="mean")
    with pytest.raises(RuntimeError, match="no larger than"):
        x.scatter(1, _idx([[1, 2, 0, 1]]), nt.ones(1, 2))
    with pytest.raises(IndexError, match="Dimension out of range"):
        x.scatter(-3, _idx([[1]]), 1.0)
    a = nt.tensor(randn(2, 3), requires_grad=True)
    with pytest.raises(RuntimeError, match="multiply"):
        a.scatter(1, _idx([[1]]), nt.ones(1, 1, dtype=nt.float64), reduce="multiply").sum().backward()


# ------------------------------------------------------------------ scatter_reduce
def scatter_reduce_reference(x, dim, index, src, reduce, include_self):
    """Collect every contribution per output position in lists, then reduce them."""
    contributions = {q: ([x[q]] if include_self else []) for q in np.ndindex(*x.shape)}
    reached = set()
    for p in np.ndindex(*index.shape):
        q = list(p)
        q[dim] = index[p]
        contributions[tuple(q)].append(src[p])
        reached.add(tuple(q))
    out = x.copy()
    ops = {"sum": sum, "prod": np.prod, "mean": np.mean, "amax": max, "amin": min}
    for q in reached:
        out[q] = ops[reduce](contributions[q])
    return out


REDUCTIONS = ("sum", "prod", "mean", "amax", "amin")


def test_scatter_reduce_matches_lists():
    x, src = randn(3, 5), randn(2, 4, seed=1)
    index = np.array([[0, 0, 4, 1], [1, 1, 1, 3]])
    for reduce in REDUCTIONS:
        for include_self in (True, False):
            got = nt.scatter_reduce(nt.tensor(x), 1, _idx(index), nt.tensor(src), reduce,
                                    include_self=include_self).numpy()
            np.testing.assert_allclose(got, scatter_reduce_reference(x, 1, index, src, reduce, include_self),
                                       err_msg=f"{reduce}, include_self={include_self}")


def test_scatter_reduce_grads():
    x, src = randn(3, 5), randn(2, 4, seed=1)
    index = np.array([[0, 0, 4, 1], [1, 1, 1, 3]])
    for reduce in REDUCTIONS:
        for include_self in (True, False):
            check_grad(lambda a, b: a.scatter_reduce(1, _idx(index), b, reduce, include_self=include_self), x, src)


@requires_torch
def test_scatter_reduce_torch_with_ties_and_zeros():
    # ties (amax/amin share the gradient) and zeros (prod's gradient at a zero factor)
    x = np.array([[1.0, 0.0, 2.0], [3.0, 3.0, -1.0]])
    src = np.array([[2.0, 0.0, 1.0, 0.0], [3.0, 5.0, 3.0, -1.0]])
    index = np.array([[0, 1, 0, 1], [0, 1, 0, 2]])
    for reduce in REDUCTIONS:
        for include_self in (True, False):
            # PyTorch's amax/amin with include_self=False also counts an excluded self
            # equal to the result among the ties (its gradients then sum to less than
            # g); ours shares g among the contributors only: values compared there.
            grad = include_self or reduce not in ("amax", "amin")
            compare_with_torch(
                lambda a, b: nt.scatter_reduce(a, 1, _idx(index), b, reduce, include_self=include_self),
                lambda a, b: torch.scatter_reduce(a, 1, torch.tensor(index), b, reduce, include_self=include_self),
                x, src, grad=grad)
    a = nt.tensor(x, requires_grad=True)
    b = nt.tensor(src, requires_grad=True)
    nt.scatter_reduce(a, 1, _idx(index), b, "amax", include_self=False).sum().backward()
    assert a.grad.numpy().sum() + b.grad.numpy().sum() == pytest.approx(6.0)   # each output passes its g on whole
    np.testing.assert_allclose(b.grad.numpy(), [[1, 0.5, 0, 0.5], [0.5, 1, 0.5, 1]])
    with pytest.raises(RuntimeError, match="reduce argument must be one of"):
        nt.tensor(x).scatter_reduce(1, _idx(index), nt.tensor(src), "max")


# ------------------------------------------------------------------ index_select / add / fill / copy
def test_index_select_reference_grad_torch():
    x = randn(3, 4, 2)
    index = np.array([3, 0, 3])
    got = nt.index_select(nt.tensor(x), 1, _idx(index)).numpy()
    np.testing.assert_allclose(got, np.stack([x[:, i] for i in index], axis=1))
    check_grad(lambda t: t.index_select(1, _idx(index)), x)
    check_grad(lambda t: t.index_select(-1, _idx([1])), x)
    if torch is not None:
        compare_with_torch(lambda t: t.index_select(1, _idx(index)),
                           lambda t: t.index_select(1, torch.tensor(index)), x)


def test_index_add_fill_copy():
    x = randn(4, 3)
    src = randn(2, 3, seed=3)
    index = np.array([2, 2])
    got = nt.index_add(nt.tensor(x), 0, _idx(index), nt.tensor(src), alpha=0.5).numpy()
    np.testing.assert_allclose(got, index_add_reference(x, 0, index, src, 0.5))
    check_grad(lambda a, b: a.index_add(0, _idx(index), b, alpha=2.0), x, src)
    check_grad(lambda a, b: nt.index_copy(a, 0, _idx([3, 0]), b), x, src)
    expected = x.copy()
    expected[[3, 0]] = src
    np.testing.assert_allclose(nt.tensor(x).index_copy(0, _idx([3, 0]), nt.tensor(src)).numpy(), expected)
    expected = x.copy()
    expected[:, [0, 2]] = -2.0
    np.testing.assert_allclose(nt.tensor(x).index_fill(1, _idx([2, 0, 0]), -2.0).numpy(), expected)
    check_grad(lambda a, v: a.index_fill(1, _idx([2, 0, 0]), v), x, np.array(1.5))


@requires_torch
def test_index_ops_torch():
    x, src = randn(4, 3), randn(4, 2, seed=3)
    index = np.array([1, 1])
    compare_with_torch(lambda a, b: a.index_add(1, _idx(index), b, alpha=-1.5),
                       lambda a, b: a.index_add(1, torch.tensor(index), b, alpha=-1.5), x, src)
    compare_with_torch(lambda a, b: nt.index_copy(a, 1, _idx([2, 0]), b),
                       lambda a, b: torch.index_copy(a, 1, torch.tensor([2, 0]), b), x, src)
    compare_with_torch(lambda a, v: a.index_fill(1, _idx([0, 0]), v),
                       lambda a, v: a.index_fill(1, torch.tensor([0, 0]), v), x, np.array(2.0))


def test_index_errors():
    x = nt.zeros(2, 3)
    with pytest.raises(RuntimeError, match="index 5 is out of bounds for dimension 1 with size 3"):
        x.index_select(1, _idx([5]))
    with pytest.raises(IndexError, match="vector"):
        x.index_select(1, _idx([[0]]))
    with pytest.raises(RuntimeError, match=r"Number of indices \(1\) should be equal to source.size\(dim\): \(2\)"):
        x.index_add(1, _idx([0]), nt.ones(2, 2))
    with pytest.raises(RuntimeError, match="index 5 is out of bounds"):
        x.index_add(1, _idx([5]), nt.ones(2, 1))
    with pytest.raises(IndexError, match="index 5 is out of bounds for dimension 1 with size 3"):
        x.index_fill(1, _idx([5]), 2.0)
    with pytest.raises(IndexError, match="index 5 is out of bounds"):
        x.index_copy(1, _idx([5]), nt.ones(2, 1))


# ------------------------------------------------------------------ masks
def test_masked_fill_reference_grad_torch():
    x = randn(3, 4)
    mask = np.array([True, False, False, True])
    got = nt.tensor(x).masked_fill(nt.tensor(mask), 7.0).numpy()
    expected = x.copy()
    for i, j in itertools.product(range(3), range(4)):
        if mask[j]:
            expected[i, j] = 7.0
    np.testing.assert_allclose(got, expected)
    check_grad(lambda a, v: nt.masked_fill(a, nt.tensor(mask), v), x, np.array(0.5))
    if torch is not None:
        compare_with_torch(lambda a, v: a.masked_fill(nt.tensor(mask), v),
                           lambda a, v: a.masked_fill(torch.tensor(mask), v), x, np.array(0.5))
        # a mask with more dims broadcasts the output (out of place), as PyTorch's
        m3 = np.random.default_rng(0).random((2, 3, 4)) > 0.5
        compare_with_torch(lambda a: a.masked_fill(nt.tensor(m3), -1.0),
                           lambda a: a.masked_fill(torch.tensor(m3), -1.0), x)


def test_masked_fill_errors():
    x = nt.zeros(2, 3)
    with pytest.raises(RuntimeError, match="boolean masks"):
        x.masked_fill(_idx([1, 0, 1]), 1.0)
    with pytest.raises(RuntimeError, match="0-dimensional value tensor"):
        x.masked_fill(nt.tensor([True, False, True]), nt.tensor([1.0, 2.0]))
    with pytest.raises(RuntimeError, match="does not broadcast"):
        x.masked_fill(nt.tensor([True, False]), 1.0)


def test_masked_select_and_scatter():
    x = randn(3, 4)
    mask = np.random.default_rng(2).random((3, 4)) > 0.4
    got = nt.masked_select(nt.tensor(x), nt.tensor(mask)).numpy()
    np.testing.assert_allclose(got, [x[i, j] for i in range(3) for j in range(4) if mask[i, j]])
    check_grad(lambda a: a.masked_select(nt.tensor(mask[0])), x)      # broadcast mask
    src = randn(20, seed=4)
    got = nt.tensor(x).masked_scatter(nt.tensor(mask), nt.tensor(src)).numpy()
    expected, k = x.copy(), 0
    for i, j in itertools.product(range(3), range(4)):
        if mask[i, j]:
            expected[i, j] = src[k]
            k += 1
    np.testing.assert_allclose(got, expected)
    check_grad(lambda a, s: nt.masked_scatter(a, nt.tensor(mask), s), x, src)
    with pytest.raises(RuntimeError, match="at least"):
        nt.tensor(x).masked_scatter(nt.tensor(mask), nt.zeros(2, dtype=nt.float64))
    if torch is not None:
        compare_with_torch(lambda a: a.masked_select(nt.tensor(mask)),
                           lambda a: a.masked_select(torch.tensor(mask)), x)
        compare_with_torch(lambda a, s: a.masked_scatter(nt.tensor(mask[1]), s),
                           lambda a, s: a.masked_scatter(torch.tensor(mask[1]), s), x, src)


# ------------------------------------------------------------------ take, take_along_dim, nonzero
def test_take():
    x = randn(2, 3)
    index = np.array([[5, -1], [0, 5]])
    np.testing.assert_allclose(nt.take(nt.tensor(x), _idx(index)).numpy(), x.reshape(-1)[index])
    check_grad(lambda a: a.take(_idx(index)), x)
    with pytest.raises(IndexError, match="tried to access index 7 on a tensor of 6 elements"):
        nt.take(nt.tensor(x), _idx([7]))
    if torch is not None:
        compare_with_torch(lambda a: nt.take(a, _idx(index)), lambda a: torch.take(a, torch.tensor(index)), x)


@requires_torch
def test_take_along_dim_torch():
    x = randn(3, 4)
    compare_with_torch(lambda a: nt.take_along_dim(a, _idx([[1], [0], [3]]), 1),
                       lambda a: torch.take_along_dim(a, torch.tensor([[1], [0], [3]]), 1), x)
    compare_with_torch(lambda a: nt.take_along_dim(a, _idx([[1, 2, 0, 1]]), 0),
                       lambda a: torch.take_along_dim(a, torch.tensor([[1, 2, 0, 1]]), 0), x)
    with pytest.raises(RuntimeError, match="broadcast"):
        nt.take_along_dim(nt.tensor(x), _idx([[1, 2]]), 0)
    compare_with_torch(lambda a: a.take_along_dim(_idx([11, 0])),
                       lambda a: a.take_along_dim(torch.tensor([11, 0])), x)
    # the tutorial idiom: values at argsort / argmax positions
    compare_with_torch(lambda a: nt.take_along_dim(a, a.argmax(1, keepdim=True), 1),
                       lambda a: torch.take_along_dim(a, a.argmax(1, keepdim=True), 1), x)


def test_nonzero_argwhere():
    x = np.array([[0, 1.5, 0], [2, 0, -1]])
    expected = [[i, j] for i in range(2) for j in range(3) if x[i, j] != 0]
    np.testing.assert_array_equal(nt.nonzero(nt.tensor(x)).numpy(), expected)
    np.testing.assert_array_equal(nt.tensor(x).argwhere().numpy(), expected)
    rows, cols = nt.tensor(x).nonzero(as_tuple=True)
    np.testing.assert_array_equal(rows.numpy(), [e[0] for e in expected])
    np.testing.assert_array_equal(cols.numpy(), [e[1] for e in expected])
    assert nt.nonzero(nt.tensor(x)).dtype == nt.int64
    assert nt.nonzero(nt.tensor(3.0)).shape == (1, 0)
    assert nt.nonzero(nt.zeros(2, 0)).shape == (0, 2)
    if torch is not None:
        for a in (x, np.zeros((2, 0)), np.array(3.0), np.array(0.0)):
            assert tuple(torch.nonzero(torch.tensor(a)).shape) == nt.nonzero(nt.tensor(a)).shape
            for p, q in zip(torch.nonzero(torch.tensor(a), as_tuple=True), nt.nonzero(nt.tensor(a), as_tuple=True)):
                np.testing.assert_array_equal(p.numpy(), q.numpy())


# ------------------------------------------------------------------ in place
def test_inplace_variants_write_storage_and_record_grad():
    x = randn(3, 4)
    src = randn(2, 4, seed=5)
    idx = _idx([[0, 1, 2, 0], [2, 2, 1, 1]])
    cases = [
        (lambda t, s: t.scatter_(0, idx, s), lambda t, s: t.scatter(0, idx, s)),
        (lambda t, s: t.scatter_add_(0, idx, s), lambda t, s: t.scatter_add(0, idx, s)),
        (lambda t, s: t.scatter_reduce_(0, idx, s, "prod"), lambda t, s: t.scatter_reduce(0, idx, s, "prod")),
        (lambda t, s: t.index_add_(0, _idx([2, 0]), s), lambda t, s: t.index_add(0, _idx([2, 0]), s)),
        (lambda t, s: t.index_copy_(0, _idx([2, 0]), s), lambda t, s: t.index_copy(0, _idx([2, 0]), s)),
        (lambda t, s: t.masked_scatter_(t > 0, s), lambda t, s: t.masked_scatter(t > 0, s)),
        (lambda t, s: t.masked_fill_(t > 0, 1.0) * s.sum(), lambda t, s: t.masked_fill(t > 0, 1.0) * s.sum()),
        (lambda t, s: t.index_fill_(1, _idx([3]), 0.0) * s.sum(),
         lambda t, s: t.index_fill(1, _idx([3]), 0.0) * s.sum()),
    ]
    for inplace, outplace in cases:
        a = nt.tensor(x, requires_grad=True)
        s = nt.tensor(src, requires_grad=True)
        t = a * 1.0
        arr = t.array
        res = inplace(t, s)
        assert t.array is arr             # written into the same storage
        b = nt.tensor(x, requires_grad=True)
        s2 = nt.tensor(src, requires_grad=True)
        ref = outplace(b * 1.0, s2)
        np.testing.assert_allclose(res.numpy(), ref.numpy())
        v = np.random.default_rng(0).standard_normal(ref.shape)
        (res * nt.tensor(v)).sum().backward()
        (ref * nt.tensor(v)).sum().backward()
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy())
        np.testing.assert_allclose(s.grad.numpy(), s2.grad.numpy())


def test_inplace_on_plain_tensor_and_leaf_error():
    t = nt.zeros(2, 3)
    assert t.masked_fill_(nt.tensor([True, False, True]), 2.0) is t
    np.testing.assert_allclose(t.numpy(), [[2, 0, 2], [2, 0, 2]])
    t.index_fill_(0, _idx([1]), -1.0)
    np.testing.assert_allclose(t.numpy(), [[2, 0, 2], [-1, -1, -1]])
    leaf = nt.zeros(2, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        leaf.scatter_(1, _idx([[0]]), 1.0)


@requires_torch
def test_tutorial_idioms_run_as_in_torch():
    """Lines from PyTorch tutorials (DQN, nanoGPT, one-hot targets), run with the module swapped."""
    def run(m, F):
        g = np.random.default_rng(0)
        q = m.tensor(g.standard_normal((4, 3)), requires_grad=True)
        actions = m.tensor(np.array([[2], [0], [1], [1]]))
        chosen = q.gather(1, actions)                                          # DQN
        y = m.tensor(np.array([3, 0, 4, 1]))
        one_hot = m.zeros(4, 5).scatter_(1, y.unsqueeze(1), 1.0)              # one-hot
        T = 4
        tril = m.tril(m.ones(T, T))
        wei = m.tensor(g.standard_normal((2, T, T)), requires_grad=True)
        att = F.softmax(wei.masked_fill(tril[:T, :T] == 0, float("-inf")), dim=-1)  # causal mask
        logits = m.tensor(g.standard_normal((2, 6)))
        v, _ = m.topk(logits, 2)
        kept = logits.masked_fill(logits < v[:, [-1]], -float("inf"))          # top-k filter
        probs = F.softmax(kept, dim=-1)
        nxt = m.multinomial(probs, num_samples=1)
        loss = (chosen.sum() + (att * m.arange(T).float()).sum())
        loss.backward()
        return chosen, one_hot, att, kept, q.grad, wei.grad, nxt

    import neuronet.nn.functional as F
    ours = run(nt, F)
    theirs = run(torch, torch.nn.functional)
    for a, b in zip(ours[:-1], theirs[:-1]):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-6, atol=1e-7)
    kept = ours[3].numpy()
    assert all(np.isfinite(kept[r, ours[-1].numpy()[r, 0]]) for r in range(2))   # sampled among the top 2


@requires_torch
def test_grad_fn_names_as_torch():
    x = randn(3, 4)
    idx = np.array([[0, 1], [2, 3], [1, 1]])
    ops = [lambda m, t: t.gather(1, m.tensor(idx)), lambda m, t: t.scatter(1, m.tensor(idx), t[:, :2] * 1),
           lambda m, t: t.scatter_add(1, m.tensor(idx), t[:, :2] * 1),
           lambda m, t: t.index_select(0, m.tensor([2, 0])), lambda m, t: t.masked_fill(t > 0, 0.0),
           lambda m, t: t.masked_select(t > 0), lambda m, t: m.take(t, m.tensor([0, 5])),
           lambda m, t: t.index_add(0, m.tensor([1]), t[:1] * 1), lambda m, t: t.index_copy(0, m.tensor([1]), t[:1] * 1),
           lambda m, t: t.scatter_reduce(1, m.tensor(idx), t[:, :2] * 1, "amax"),
           lambda m, t: m.tril(t), lambda m, t: t.triu(1), lambda m, t: t.repeat(2, 1), lambda m, t: t.flip(0),
           lambda m, t: t.roll(1, 0), lambda m, t: t.clone()]
    for op in ops:
        a = op(nt, nt.tensor(x, requires_grad=True))
        b = op(torch, torch.tensor(x, requires_grad=True))
        assert type(a.grad_fn).__name__ == type(b.grad_fn).__name__
