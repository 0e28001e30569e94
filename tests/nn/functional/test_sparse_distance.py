"""embedding, one_hot, normalize, cosine_similarity, pairwise_distance:
naive loops, gradcheck, PyTorch."""
import math

import numpy as np
import pytest

import neuronet as nt
import neuronet.nn.functional as F
from helpers import check_grad, compare_with_torch, randn, requires_torch, torch

TF = torch.nn.functional if torch is not None else None


# ---------------------------------------------------------------- embedding
def test_embedding_gathers_rows_and_scatters_gradients():
    w = randn(6, 3, seed=1)
    idx = np.array([[1, 4, 1], [0, 5, 1]])
    weight = nt.tensor(w, requires_grad=True)
    out = F.embedding(nt.tensor(idx), weight)
    assert out.shape == (2, 3, 3)
    for i in range(2):
        for j in range(3):
            np.testing.assert_array_equal(out.numpy()[i, j], w[idx[i, j]])
    g = randn(2, 3, 3, seed=2)
    out.backward(nt.tensor(g))
    expected = np.zeros_like(w)
    for i in range(2):
        for j in range(3):
            expected[idx[i, j]] += g[i, j]
    np.testing.assert_allclose(weight.grad.numpy(), expected, atol=1e-15)
    check_grad(lambda t: F.embedding(nt.tensor(idx), t), w)


@requires_torch
@pytest.mark.parametrize("kw", [{}, {"padding_idx": 1}, {"padding_idx": -1}, {"scale_grad_by_freq": True},
                                {"padding_idx": 0, "scale_grad_by_freq": True}])
def test_embedding_matches_torch(kw):
    w = randn(6, 4, seed=3)
    idx = np.array([[1, 5, 1, 0], [2, 1, 5, 3]])
    compare_with_torch(lambda t: F.embedding(nt.tensor(idx), t, **kw),
                       lambda t: TF.embedding(torch.tensor(idx), t, **kw), w, atol=1e-12)


@requires_torch
def test_embedding_max_norm_renormalizes_the_weight_in_place_as_torch():
    w = randn(5, 3, seed=4) * 3
    idx = np.array([0, 2, 2, 4])
    ours, theirs = nt.tensor(w.copy()), torch.tensor(w.copy())
    out = F.embedding(nt.tensor(idx), ours, max_norm=1.5)
    ref = TF.embedding(torch.tensor(idx), theirs, max_norm=1.5)
    np.testing.assert_allclose(out.numpy(), ref.numpy(), atol=1e-12)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), atol=1e-12)     # rows 1 and 3 untouched
    np.testing.assert_array_equal(ours.numpy()[[1, 3]], w[[1, 3]])


def test_embedding_errors():
    w = nt.randn(4, 2)
    with pytest.raises(IndexError, match="out of range"):
        F.embedding(nt.tensor([0, 4]), w)
    with pytest.raises(RuntimeError, match="integer"):
        F.embedding(nt.tensor([0.0, 1.0]), w)
    with pytest.raises(ValueError, match="padding_idx"):
        F.embedding(nt.tensor([0]), w, padding_idx=4)


# ---------------------------------------------------------------- one_hot
def test_one_hot():
    t = nt.tensor([[0, 2], [1, 2]])
    out = F.one_hot(t)
    assert out.dtype == nt.int64 and out.shape == (2, 2, 3)
    expected = np.zeros((2, 2, 3), dtype=np.int64)
    for i in range(2):
        for j in range(2):
            expected[i, j, t.numpy()[i, j]] = 1
    np.testing.assert_array_equal(out.numpy(), expected)
    assert F.one_hot(nt.tensor([1]), num_classes=4).tolist() == [[0, 1, 0, 0]]
    with pytest.raises(RuntimeError, match="non-negative"):
        F.one_hot(nt.tensor([-1, 0]))
    with pytest.raises(RuntimeError, match="smaller than num_classes"):
        F.one_hot(nt.tensor([3]), 3)
    if torch is not None:
        np.testing.assert_array_equal(out.numpy(), TF.one_hot(torch.tensor(t.numpy())).numpy())


# ---------------------------------------------------------------- distances
def naive_norm(v, p):
    if math.isinf(p):
        return max(abs(a) for a in v)
    return sum(abs(a) ** p for a in v) ** (1 / p)


@pytest.mark.parametrize("p", [1.0, 2.0, 3.0, math.inf])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_normalize_naive_gradcheck_torch(p, dim):
    x = randn(3, 4, seed=5)
    out = F.normalize(nt.tensor(x), p, dim).numpy()
    moved = np.moveaxis(x, dim, -1)
    ref = np.stack([row / max(naive_norm(row, p), 1e-12) for row in moved.reshape(-1, moved.shape[-1])])
    np.testing.assert_allclose(np.moveaxis(out, dim, -1).reshape(ref.shape), ref, atol=1e-12)
    check_grad(lambda t: F.normalize(t, p, dim), x)
    compare_with_torch(lambda t: F.normalize(t, p, dim), lambda t: TF.normalize(t, p, dim), x, atol=1e-10)


@requires_torch
def test_normalize_zero_vector_gives_zero_and_zero_gradient_as_torch():
    x = np.array([[0.0, 0.0, 0.0], [1.0, 2.0, 2.0]])
    compare_with_torch(lambda t: F.normalize(t, dim=1), lambda t: TF.normalize(t, dim=1), x, atol=1e-12)


@pytest.mark.parametrize("shapes, dim", [(((4, 5), (4, 5)), 1), (((2, 3, 4), (2, 3, 4)), -1),
                                         (((4, 5), (1, 5)), 1), (((3, 4), (3, 4)), 0)])
def test_cosine_similarity_naive_gradcheck_torch(shapes, dim):
    a, b = randn(*shapes[0], seed=6), randn(*shapes[1], seed=7)
    out = F.cosine_similarity(nt.tensor(a), nt.tensor(b), dim).numpy()
    A, B = np.broadcast_arrays(a, b)
    A, B = np.moveaxis(A, dim, -1), np.moveaxis(B, dim, -1)
    ref = np.array([sum(u * v for u, v in zip(r, s)) / (naive_norm(r, 2) * naive_norm(s, 2))
                    for r, s in zip(A.reshape(-1, A.shape[-1]), B.reshape(-1, B.shape[-1]))])
    np.testing.assert_allclose(out.reshape(-1), ref, atol=1e-12)
    check_grad(lambda s, t: F.cosine_similarity(s, t, dim), a, b)
    compare_with_torch(lambda s, t: F.cosine_similarity(s, t, dim), lambda s, t: TF.cosine_similarity(s, t, dim),
                       a, b, atol=1e-10)


@pytest.mark.parametrize("p", [1.0, 2.0, 3.0])
@pytest.mark.parametrize("keepdim", [False, True])
def test_pairwise_distance_naive_gradcheck_torch(p, keepdim):
    a, b = randn(4, 5, seed=8), randn(4, 5, seed=9)
    out = F.pairwise_distance(nt.tensor(a), nt.tensor(b), p, keepdim=keepdim).numpy()
    ref = np.array([naive_norm(r - s + 1e-6, p) for r, s in zip(a, b)])
    np.testing.assert_allclose(out.reshape(-1), ref, atol=1e-12)
    check_grad(lambda s, t: F.pairwise_distance(s, t, p, keepdim=keepdim), a, b)
    compare_with_torch(lambda s, t: F.pairwise_distance(s, t, p, keepdim=keepdim),
                       lambda s, t: TF.pairwise_distance(s, t, p, keepdim=keepdim), a, b, atol=1e-10)


# ---------------------------------------------------------------- embedding_bag
def naive_bag(w, inp, starts, ends, mode, pad=None, psw=None):
    out = []
    for a, b in zip(starts, ends):
        rows = [w[inp[i]] * (1.0 if psw is None else psw[i]) for i in range(a, b) if inp[i] != pad]
        if not rows:
            out.append(np.zeros(w.shape[1]))
        elif mode == "sum":
            out.append(np.sum(rows, 0))
        elif mode == "mean":
            out.append(np.mean(rows, 0))
        else:
            out.append(np.max(rows, 0))
    return np.array(out)


INP = np.array([1, 2, 4, 5, 4, 3, 2, 9, 0])
OFF = np.array([0, 4, 4, 7])


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
@pytest.mark.parametrize("pad", [None, 4])
def test_embedding_bag_naive_gradcheck_torch(mode, pad):
    w = randn(10, 3, seed=10)
    fn = lambda t: F.embedding_bag(nt.tensor(INP), t, nt.tensor(OFF), mode=mode, padding_idx=pad)   # noqa: E731
    np.testing.assert_allclose(fn(nt.tensor(w)).numpy(), naive_bag(w, INP, OFF, [4, 4, 7, 9], mode, pad),
                               atol=1e-12)
    check_grad(fn, w)
    compare_with_torch(fn, lambda t: TF.embedding_bag(torch.tensor(INP), t, torch.tensor(OFF), mode=mode,
                                                      padding_idx=pad), w, atol=1e-12)


@requires_torch
def test_embedding_bag_2d_weights_and_last_offset_match_torch():
    w, psw = randn(10, 3, seed=11), randn(9, seed=12)
    compare_with_torch(lambda t, s: F.embedding_bag(nt.tensor(INP), t, nt.tensor(OFF), mode="sum",
                                                    per_sample_weights=s),
                       lambda t, s: TF.embedding_bag(torch.tensor(INP), t, torch.tensor(OFF), mode="sum",
                                                     per_sample_weights=s), w, psw, atol=1e-12)
    two_d = INP[:8].reshape(2, 4)
    compare_with_torch(lambda t: F.embedding_bag(nt.tensor(two_d), t),
                       lambda t: TF.embedding_bag(torch.tensor(two_d), t), w, atol=1e-12)
    last = np.array([0, 3, 9])
    compare_with_torch(lambda t: F.embedding_bag(nt.tensor(INP), t, nt.tensor(last), include_last_offset=True),
                       lambda t: TF.embedding_bag(torch.tensor(INP), t, torch.tensor(last),
                                                  include_last_offset=True), w, atol=1e-12)
    with pytest.raises(NotImplementedError, match="per_sample_weights"):
        F.embedding_bag(nt.tensor(INP), nt.tensor(w), nt.tensor(OFF), per_sample_weights=nt.tensor(psw))


def test_pdist_naive_gradcheck_torch():
    x = randn(5, 3, seed=13)
    for p in (1.0, 2.0, math.inf):
        out = F.pdist(nt.tensor(x), p).numpy()
        ref = [naive_norm(x[i] - x[j], p) for i in range(5) for j in range(i + 1, 5)]
        np.testing.assert_allclose(out, ref, rtol=1e-12)
        check_grad(lambda t: F.pdist(t, p), x)
        compare_with_torch(lambda t: F.pdist(t, p), lambda t: TF.pdist(t, p), x, atol=1e-12)


def test_embedding_module_from_pretrained_and_padding_row():
    import neuronet.nn as nn
    w = nt.tensor(randn(4, 3, seed=14))
    frozen = nn.Embedding.from_pretrained(w)
    assert not frozen.weight.requires_grad and frozen.weight.array is w.array      # shared, as PyTorch
    trainable = nn.Embedding.from_pretrained(w, freeze=False, padding_idx=1)
    out = trainable(nt.tensor([[1, 2], [1, 3]]))
    out.sum().backward()
    np.testing.assert_array_equal(trainable.weight.grad.numpy()[1], 0)            # padding row: no gradient
    np.testing.assert_array_equal(trainable.weight.grad.numpy()[2], 1)
    fresh = nn.Embedding(5, 2, padding_idx=-1)
    assert fresh.padding_idx == 4 and (fresh.weight.numpy()[4] == 0).all()
    with pytest.raises(ValueError, match="2-dimensional"):
        nn.Embedding.from_pretrained(nt.ones(3))
