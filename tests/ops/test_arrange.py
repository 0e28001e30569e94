"""Re-arranging ops: loop references, gradcheck in float64, PyTorch, errors."""
import itertools

import numpy as np
import pytest

import neuronet as nt
from helpers import check_grad, compare_with_torch, randn, requires_torch, torch


def _idx(a):
    return nt.tensor(np.asarray(a, dtype=np.int64))


# ------------------------------------------------------------------ repeat, tile, repeat_interleave
def test_repeat_reference():
    x = randn(2, 3)
    out = nt.tensor(x).repeat(2, 1, 2).numpy()
    assert out.shape == (2, 2, 6)
    for a, i, j in itertools.product(range(2), range(2), range(6)):
        assert out[a, i, j] == x[i % 2, j % 3]
    np.testing.assert_allclose(nt.tile(nt.tensor(x), (2,)).numpy(), np.tile(x, 2))


def test_repeat_interleave_reference():
    x = randn(3, 2)
    reps = [2, 0, 3]
    out = nt.repeat_interleave(nt.tensor(x), _idx(reps), dim=0).numpy()
    expected = [x[i] for i in range(3) for _ in range(reps[i])]
    np.testing.assert_allclose(out, expected)
    flat = nt.tensor(x).repeat_interleave(2).numpy()
    np.testing.assert_allclose(flat, [v for v in x.reshape(-1) for _ in range(2)])
    assert nt.repeat_interleave(_idx([2, 1])).tolist() == [0, 0, 1]


def test_repeat_grads():
    x = randn(2, 3)
    check_grad(lambda t: t.repeat(3, 1, 2), x)
    check_grad(lambda t: t.tile((2, 1)), x)
    check_grad(lambda t: nt.repeat_interleave(t, _idx([2, 0, 3]), dim=1), x)
    check_grad(lambda t: t.repeat_interleave(2), x)


@requires_torch
def test_repeat_torch():
    x = randn(2, 3)
    compare_with_torch(lambda t: t.repeat(2, 1, 2), lambda t: t.repeat(2, 1, 2), x)
    compare_with_torch(lambda t: t.repeat((1, 4)), lambda t: t.repeat((1, 4)), x)
    compare_with_torch(lambda t: nt.tile(t, (2, 2, 1)), lambda t: torch.tile(t, (2, 2, 1)), x)
    compare_with_torch(lambda t: nt.repeat_interleave(t, _idx([1, 3]), 0),
                       lambda t: torch.repeat_interleave(t, torch.tensor([1, 3]), 0), x)
    compare_with_torch(lambda t: t.repeat_interleave(3, dim=-1), lambda t: t.repeat_interleave(3, dim=-1), x)


def test_repeat_errors():
    x = nt.zeros(2, 3)
    with pytest.raises(RuntimeError, match="can not be smaller than number of dimensions"):
        x.repeat(2)
    with pytest.raises(RuntimeError, match=r"repeats.size\(0\) = 3 and input.size\(0\) = 2"):
        nt.repeat_interleave(x, _idx([1, 2, 3]), dim=0)


# ------------------------------------------------------------------ roll, flip, rot90
def test_roll_flip_rot90_reference():
    x = randn(3, 4)
    r = nt.roll(nt.tensor(x), 1, 0).numpy()
    for i, j in itertools.product(range(3), range(4)):
        assert r[(i + 1) % 3, j] == x[i, j]
    r = nt.tensor(x).roll(5).numpy().reshape(-1)
    for k in range(12):
        assert r[(k + 5) % 12] == x.reshape(-1)[k]
    f = nt.flip(nt.tensor(x), (0, 1)).numpy()
    for i, j in itertools.product(range(3), range(4)):
        assert f[2 - i, 3 - j] == x[i, j]
    rot = nt.rot90(nt.tensor(x)).numpy()                 # counter-clockwise: out[i, j] = x[j, n-1-i]
    assert rot.shape == (4, 3)
    for i, j in itertools.product(range(4), range(3)):
        assert rot[i, j] == x[j, 3 - i]


def test_permutation_grads():
    x = randn(3, 4, 2)
    check_grad(lambda t: nt.roll(t, (1, -2), (0, 1)), x)
    check_grad(lambda t: t.roll(3), x)
    check_grad(lambda t: t.flip((-1, 0)), x)
    check_grad(lambda t: nt.fliplr(t), x)
    check_grad(lambda t: nt.flipud(t), x)
    check_grad(lambda t: nt.rot90(t, 3, (2, 0)), x)


@requires_torch
def test_permutations_torch():
    x = randn(3, 4, 2)
    compare_with_torch(lambda t: nt.roll(t, (1, -2), (0, 1)), lambda t: torch.roll(t, (1, -2), (0, 1)), x)
    compare_with_torch(lambda t: t.roll(-4), lambda t: t.roll(-4), x)
    compare_with_torch(lambda t: t.roll(2, -1), lambda t: t.roll(2, -1), x)
    compare_with_torch(lambda t: nt.flip(t, [0, 2]), lambda t: torch.flip(t, [0, 2]), x)
    compare_with_torch(lambda t: t.fliplr(), lambda t: t.fliplr(), x)
    compare_with_torch(lambda t: t.flipud(), lambda t: t.flipud(), x)
    for k, dims in ((1, (0, 1)), (2, (1, 2)), (-1, (2, 0)), (5, (0, 1))):
        compare_with_torch(lambda t: nt.rot90(t, k, dims), lambda t: torch.rot90(t, k, dims), x)


def test_permutation_errors():
    x = nt.zeros(2, 3)
    with pytest.raises(RuntimeError, match="dim 0 appears multiple times"):
        nt.flip(x, (0, 0))
    with pytest.raises(RuntimeError, match="expected rotation dims to be different"):
        nt.rot90(x, 1, [0, 0])
    with pytest.raises(RuntimeError, match="Input must be >= 2-d"):
        nt.fliplr(nt.zeros(3))
    with pytest.raises(RuntimeError, match="shifts and dimensions must align"):
        nt.roll(x, (1, 2), 0)
    with pytest.raises(IndexError, match=r"\[-2, 1\], but got 2"):
        nt.flip(x, (2,))


# ------------------------------------------------------------------ splits
def test_split_chunk_semantics():
    x = nt.arange(5)
    assert [t.tolist() for t in x.split(2)] == [[0, 1], [2, 3], [4]]              # last piece smaller
    assert [t.tolist() for t in nt.split(x, [1, 4])] == [[0], [1, 2, 3, 4]]
    assert [t.tolist() for t in nt.chunk(nt.arange(6), 4)] == [[0, 1], [2, 3], [4, 5]]  # fewer chunks
    assert [t.tolist() for t in nt.arange(5).chunk(2)] == [[0, 1, 2], [3, 4]]
    assert len(nt.chunk(nt.zeros(0), 3)) == 3
    assert [t.tolist() for t in nt.tensor_split(nt.arange(7), 3)] == [[0, 1, 2], [3, 4], [5, 6]]
    assert [t.tolist() for t in nt.tensor_split(nt.arange(7), [1, 5, 10])] == [[0], [1, 2, 3, 4], [5, 6], []]
    assert [t.tolist() for t in nt.arange(7).tensor_split(_idx([1, 5]))] == [[0], [1, 2, 3, 4], [5, 6]]
    assert nt.narrow(nt.arange(7), 0, -2, 2).tolist() == [5, 6]
    y = nt.arange(6).reshape(2, 3)
    assert [t.tolist() for t in y.unbind(1)] == [[0, 3], [1, 4], [2, 5]]
    assert y.select(1, -1).tolist() == [2, 5]


def test_split_grads():
    x = randn(4, 5)
    check_grad(lambda t: t.split([2, 3], dim=1), x)
    check_grad(lambda t: nt.chunk(t, 3, 0), x)
    check_grad(lambda t: nt.tensor_split(t, 3, dim=1), x)
    check_grad(lambda t: t.narrow(1, 1, 3), x)
    check_grad(lambda t: t.unbind(0), x)


@requires_torch
def test_splits_torch():
    x = randn(5, 7)
    for sizes in (2, 3, [3, 4], 7, 10):
        compare_with_torch(lambda t: t.split(sizes, 1), lambda t: t.split(sizes, 1), x)
    for n in (1, 2, 3, 4, 6):
        compare_with_torch(lambda t: nt.chunk(t, n, -1), lambda t: torch.chunk(t, n, -1), x)
    for s in (3, [1, 4], [2, 2, 9]):
        compare_with_torch(lambda t: nt.tensor_split(t, s, 1), lambda t: torch.tensor_split(t, s, 1), x)
    compare_with_torch(lambda t: nt.narrow(t, 0, 1, 3), lambda t: torch.narrow(t, 0, 1, 3), x)
    compare_with_torch(lambda t: nt.unbind(t, 1), lambda t: torch.unbind(t, 1), x)


def test_split_errors():
    x = nt.arange(5)
    with pytest.raises(RuntimeError, match=r"split_with_sizes expects split_sizes to sum exactly to 5"):
        nt.split(x, [2, 2])
    with pytest.raises(RuntimeError, match="split_size can only be 0 if dimension size is 0"):
        x.split(0)
    with pytest.raises(RuntimeError, match="chunk expects `chunks` to be greater than 0"):
        x.chunk(0)
    with pytest.raises(RuntimeError, match=r"start \(5\) \+ length \(3\) exceeds dimension size \(7\)"):
        nt.narrow(nt.arange(7), 0, 5, 3)
    with pytest.raises(IndexError, match=r"Dimension out of range \(expected to be in range of \[-2, 1\], but got 5\)"):
        nt.zeros(2, 3).unbind(5)


# ------------------------------------------------------------------ moving dims
def test_movedim_reference_and_torch():
    x = randn(2, 3, 4, 5)
    out = nt.movedim(nt.tensor(x), (0, 1), (2, 0))
    assert out.shape == (3, 4, 2, 5)       # the unmoved dims fill the free places in order
    for a, b, c, d in itertools.product(range(2), range(3), range(4), range(5)):
        assert out.numpy()[b, c, a, d] == x[a, b, c, d]
    check_grad(lambda t: nt.moveaxis(t, -1, 0), x[:, :, :1, :2])
    if torch is not None:
        for src, dst in ((0, -1), ((0, 1), (2, 0)), ((-1, 1), (0, 3))):
            compare_with_torch(lambda t: nt.movedim(t, src, dst), lambda t: torch.movedim(t, src, dst), x)
        compare_with_torch(lambda t: t.swapaxes(0, -1), lambda t: t.swapaxes(0, -1), x)
        compare_with_torch(lambda t: nt.swapdims(t, 1, 2), lambda t: torch.swapdims(t, 1, 2), x)
    with pytest.raises(RuntimeError, match="repeated dim in `destination`"):
        nt.movedim(nt.tensor(x), (0, 1), (1, 1))


# ------------------------------------------------------------------ triangles and diagonals
def test_tril_triu_reference():
    x = randn(2, 4, 5)
    for k in (-1, 0, 2):
        lo = nt.tril(nt.tensor(x), k).numpy()
        up = nt.tensor(x).triu(diagonal=k).numpy()
        for b, i, j in itertools.product(range(2), range(4), range(5)):
            assert lo[b, i, j] == (x[b, i, j] if j - i <= k else 0)
            assert up[b, i, j] == (x[b, i, j] if j - i >= k else 0)
        check_grad(lambda t: t.tril(k), x)
        check_grad(lambda t: nt.triu(t, k), x)
        if torch is not None:
            compare_with_torch(lambda t: nt.tril(t, k), lambda t: torch.tril(t, k), x)
            compare_with_torch(lambda t: t.triu(k), lambda t: t.triu(k), x)
    with pytest.raises(RuntimeError, match="at least 2 dimensions"):
        nt.tril(nt.zeros(3))


def test_tril_triu_inplace():
    t = nt.ones(3, 3)
    assert t.tril_() is t
    np.testing.assert_array_equal(t.numpy(), np.tril(np.ones((3, 3))))
    a = nt.tensor(randn(3, 3), requires_grad=True)
    b = a * 2.0
    b.triu_(1)
    b.sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), 2 * np.triu(np.ones((3, 3)), 1))


def test_diag_diagonal_reference():
    v = randn(3)
    for k in (-1, 0, 2):
        m = nt.diag(nt.tensor(v), k).numpy()
        n = 3 + abs(k)
        expected = np.zeros((n, n))
        for i in range(3):
            expected[i + max(-k, 0), i + max(k, 0)] = v[i]
        np.testing.assert_allclose(m, expected)
        check_grad(lambda t: nt.diag(t, k), v)
    x = randn(3, 4, 5)
    d = nt.diagonal(nt.tensor(x), 1, 2, 0).numpy()
    assert d.shape == (4, 2)
    for j, i in itertools.product(range(4), range(2)):
        assert d[j, i] == x[i + 1, j, i]       # dim1 (axis 2) at i, dim2 (axis 0) at i + offset
    check_grad(lambda t: t.diagonal(-1, 1, 2), x)
    check_grad(lambda t: nt.diag(t, 1), x[0])
    if torch is not None:
        compare_with_torch(lambda t: nt.diagonal(t, 1, 2, 0), lambda t: torch.diagonal(t, 1, 2, 0), x)
        compare_with_torch(lambda t: t.diagonal(), lambda t: t.diagonal(), x)
        compare_with_torch(lambda t: nt.diag(t, -2), lambda t: torch.diag(t, -2), x[0])
        compare_with_torch(lambda t: nt.diag(t, 1), lambda t: torch.diag(t, 1), v)
    with pytest.raises(RuntimeError, match="Supports 1D or 2D tensors. Got 3D"):
        nt.diag(nt.tensor(x))


# ------------------------------------------------------------------ clone, contiguous, new_*
def test_clone_contiguous_new():
    a = nt.tensor(randn(2, 3), requires_grad=True)
    c = nt.clone(a)
    assert c.array is not a.array
    (c * 3.0).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), 3 * np.ones((2, 3)))
    assert a.contiguous() is a
    x = nt.zeros(2, dtype=nt.float64)
    assert x.new_zeros(2, 3).shape == (2, 3) and x.new_zeros((2, 3)).dtype == nt.float64
    assert x.new_ones(4).tolist() == [1.0] * 4
    assert x.new_full((2,), 3).dtype == nt.float64 and x.new_full((2,), 3).tolist() == [3.0, 3.0]
    assert x.new_tensor([1, 2]).dtype == nt.float64
    assert x.new_empty(3, dtype=nt.int64).dtype == nt.int64
    assert x.new_zeros(2, requires_grad=True).requires_grad


# ------------------------------------------------------------------ grids, blocks, stacking
def test_meshgrid_cartesian_combinations():
    a, b = randn(3), randn(2, seed=1)
    gi, gj = nt.meshgrid(nt.tensor(a), nt.tensor(b), indexing="ij")
    for i, j in itertools.product(range(3), range(2)):
        assert gi.numpy()[i, j] == a[i] and gj.numpy()[i, j] == b[j]
    gx, gy = nt.meshgrid(nt.tensor(a), nt.tensor(b), indexing="xy")
    assert gx.shape == (2, 3) and gx.numpy()[1, 2] == a[2] and gy.numpy()[1, 2] == b[1]
    check_grad(lambda s, t: nt.meshgrid(s, t, indexing="xy"), a, b)
    rows = nt.cartesian_prod(nt.tensor(a), nt.tensor(b)).numpy()
    np.testing.assert_allclose(rows, [[x, y] for x in a for y in b])
    pairs = nt.combinations(nt.tensor(a), 2).numpy()
    np.testing.assert_allclose(pairs, [[a[i], a[j]] for i, j in itertools.combinations(range(3), 2)])
    check_grad(lambda s: nt.combinations(s, 2, with_replacement=True), a)
    if torch is not None:
        compare_with_torch(lambda s, t: nt.meshgrid(s, t, indexing="ij"),
                           lambda s, t: torch.meshgrid(s, t, indexing="ij"), a, b)
        compare_with_torch(lambda s, t: nt.cartesian_prod(s, t), lambda s, t: torch.cartesian_prod(s, t), a, b)
        compare_with_torch(lambda s: nt.combinations(s, 2, True), lambda s: torch.combinations(s, 2, True), a)


def test_diag_embed_diagflat_tri_indices_block_diag():
    x = randn(2, 3)
    out = nt.diag_embed(nt.tensor(x), 1).numpy()
    assert out.shape == (2, 4, 4)
    for b, i in itertools.product(range(2), range(3)):
        assert out[b, i, i + 1] == x[b, i]
    assert np.count_nonzero(out) == 6
    check_grad(lambda t: nt.diag_embed(t, -1, 0, 2), x)
    check_grad(lambda t: t.diagflat(1), x)
    assert nt.tril_indices(3, 3).tolist() == [[i for i in range(3) for j in range(3) if j <= i],
                                              [j for i in range(3) for j in range(3) if j <= i]]
    blocks = [randn(2, 2), randn(3, seed=1), np.array(5.0)]
    bd = nt.block_diag(*[nt.tensor(b) for b in blocks]).numpy()
    assert bd.shape == (4, 6)
    np.testing.assert_allclose(bd[:2, :2], blocks[0])
    np.testing.assert_allclose(bd[2, 2:5], blocks[1])
    assert bd[3, 5] == 5.0 and np.count_nonzero(bd) == 8
    check_grad(lambda p, q: nt.block_diag(p, q), blocks[0], blocks[1])
    if torch is not None:
        compare_with_torch(lambda t: nt.diag_embed(t, 1, 0, 2), lambda t: torch.diag_embed(t, 1, 0, 2), x)
        compare_with_torch(lambda t: nt.diagflat(t, -2), lambda t: torch.diagflat(t, -2), x)
        for r, c, k in ((3, 4, 1), (4, 3, -1), (2, 5, 0)):
            assert nt.tril_indices(r, c, k).tolist() == torch.tril_indices(r, c, k).tolist()
            assert nt.triu_indices(r, c, k).tolist() == torch.triu_indices(r, c, k).tolist()
        compare_with_torch(lambda p, q: nt.block_diag(p, q), lambda p, q: torch.block_diag(p, q), *blocks[:2])


@requires_torch
def test_stacking_and_atleast():
    a, b = randn(3), randn(3, seed=1)
    m = randn(3, 2)
    for name in ("hstack", "vstack", "dstack", "column_stack", "row_stack"):
        compare_with_torch(lambda p, q: getattr(nt, name)([p, q]), lambda p, q: getattr(torch, name)([p, q]), a, b)
    compare_with_torch(lambda p, q: nt.hstack([p, q]), lambda p, q: torch.hstack([p, q]), m, m)
    compare_with_torch(lambda p, q: nt.column_stack([p, q]), lambda p, q: torch.column_stack([p, q]), a, m)
    for name in ("atleast_1d", "atleast_2d", "atleast_3d"):
        for arr in (np.array(2.0), a, m):
            assert getattr(nt, name)(nt.tensor(arr)).shape == tuple(getattr(torch, name)(torch.tensor(arr)).shape)
        assert len(getattr(nt, name)(nt.tensor(a), nt.tensor(m))) == 2


@requires_torch
def test_method_and_function_call_forms():
    x = randn(2, 3)
    forms = [
        (lambda m, t: t.tile(2, 2)), (lambda m, t: m.tile(t, dims=(2,))), (lambda m, t: m.tile(t, (1, 2))),
        (lambda m, t: t.flip(0, 1)), (lambda m, t: t.flip(dims=(0,))), (lambda m, t: m.flip(t, dims=[1])),
        (lambda m, t: t.roll(1, dims=0)), (lambda m, t: t.repeat_interleave(m.tensor(2))),
        (lambda m, t: t.split(split_size=1, dim=1)), (lambda m, t: t.chunk(chunks=2, dim=-1)),
        (lambda m, t: t.narrow(dim=1, start=1, length=2)), (lambda m, t: t.movedim(source=0, destination=1)),
        (lambda m, t: t.tril(diagonal=-1)), (lambda m, t: t.diagonal(offset=1)),
    ]
    for f in forms:
        compare_with_torch(lambda t: f(nt, t), lambda t: f(torch, t), x)
