"""ops/linalg: products, einsum and norms -- gradcheck in float64, naive loop
references written here, PyTorch (values, gradients and its error messages)."""
import itertools
import math

import numpy as np
import pytest

import neuronet as nt
from helpers import check_grad, compare_with_torch, requires_torch, torch


def randn(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def same_error(nt_call, torch_call):
    """Both calls raise: the same exception type and PyTorch's message."""
    with pytest.raises(Exception) as th:
        torch_call()
    with pytest.raises(type(th.value)) as ours:
        nt_call()
    assert str(th.value).splitlines()[0] in str(ours.value), (str(ours.value), str(th.value))


# ------------------------------------------------------------------ products
PRODUCTS = [
    ("mm", (3, 4), (4, 2)),
    ("bmm", (2, 3, 4), (2, 4, 5)),
    ("mv", (3, 4), (4,)),
    ("dot", (5,), (5,)),
    ("vdot", (5,), (5,)),
    ("outer", (3,), (4,)),
    ("ger", (2,), (3,)),
    ("matmul", (3, 4), (4, 2)),
    ("matmul", (4,), (4,)),
    ("matmul", (4,), (4, 3)),
    ("matmul", (3, 4), (4,)),
    ("matmul", (2, 1, 3, 4), (5, 4, 2)),
    ("matmul", (4,), (2, 4, 3)),
    ("matmul", (2, 3, 4), (4,)),
]


@pytest.mark.parametrize("name,sa,sb", PRODUCTS)
def test_products_gradcheck(name, sa, sb):
    check_grad(lambda a, b: getattr(nt, name)(a, b), randn(*sa), randn(*sb, seed=1))


@requires_torch
@pytest.mark.parametrize("name,sa,sb", PRODUCTS)
def test_products_match_torch(name, sa, sb):
    a, b = randn(*sa), randn(*sb, seed=1)
    compare_with_torch(lambda x, y: getattr(nt, name)(x, y), lambda x, y: getattr(torch, name)(x, y), a, b,
                       atol=1e-10, rtol=1e-10)
    if name not in ("vdot", "ger"):
        compare_with_torch(lambda x, y: getattr(x, name)(y), lambda x, y: getattr(x, name)(y), a, b,
                           atol=1e-10, rtol=1e-10)


def test_matmul_naive_loops():
    a, b = randn(2, 3), randn(3, 4, seed=1)
    ref = np.zeros((2, 4))
    for i, j, k in itertools.product(range(2), range(4), range(3)):
        ref[i, j] += a[i, k] * b[k, j]
    np.testing.assert_allclose(nt.mm(nt.tensor(a), nt.tensor(b)).numpy(), ref, rtol=1e-12)
    np.testing.assert_allclose((nt.tensor(a) @ nt.tensor(b)).numpy(), ref, rtol=1e-12)
    u, v = randn(3), randn(4, seed=2)
    np.testing.assert_allclose(nt.outer(nt.tensor(u), nt.tensor(v)).numpy(),
                               [[u[i] * v[j] for j in range(4)] for i in range(3)], rtol=1e-12)


@requires_torch
@pytest.mark.parametrize("beta,alpha", [(1, 1), (0.5, 2.0), (0, 1.5)])
def test_addmm_addmv_baddbmm(beta, alpha):
    kw = {"beta": beta, "alpha": alpha}
    for name, shapes in (("addmm", [(4,), (3, 2), (2, 4)]), ("addmm", [(3, 4), (3, 2), (2, 4)]),
                         ("addmv", [(3,), (3, 2), (2,)]), ("baddbmm", [(1, 3, 4), (2, 3, 2), (2, 2, 4)])):
        arrays = [randn(*s, seed=i) for i, s in enumerate(shapes)]
        compare_with_torch(lambda *t: getattr(nt, name)(*t, **kw), lambda *t: getattr(torch, name)(*t, **kw),
                           *arrays, atol=1e-10, rtol=1e-10)
        check_grad(lambda *t: getattr(nt, name)(*t, **kw), *arrays)
    # beta = 0: the input is ignored, NaN included (PyTorch)
    res = nt.addmm(nt.tensor([np.nan]), nt.ones(2, 2), nt.ones(2, 2), beta=0)
    assert res.tolist() == [[2.0, 2.0], [2.0, 2.0]]


@requires_torch
def test_product_errors_match_torch():
    cases = [
        ("mm", (2, 3), (4, 5)), ("mm", (3,), (3, 2)), ("mm", (2, 3), (3,)),
        ("bmm", (2, 2, 3), (2, 4, 5)), ("bmm", (2, 2, 3), (3, 3, 5)), ("bmm", (2, 3), (3, 2)),
        ("matmul", (2, 3), (4, 5)), ("matmul", (3,), (4,)), ("matmul", (2, 3), (4,)), ("matmul", (3,), (4, 5)),
        ("matmul", (2, 2, 3), (3, 4, 5)), ("matmul", (), (3,)), ("matmul", (2, 2, 3), (2, 4, 5)),
        ("dot", (3,), (4,)), ("dot", (2, 3), (2, 3)), ("mv", (2, 3), (4,)),
        ("outer", (2, 3), (3,)), ("outer", (3,), (2, 3)),
    ]
    for name, sa, sb in cases:
        same_error(lambda: getattr(nt, name)(nt.tensor(randn(*sa)), nt.tensor(randn(*sb))),
                   lambda: getattr(torch, name)(torch.tensor(randn(*sa)), torch.tensor(randn(*sb))))
    same_error(lambda: nt.tensor(randn(2, 3)) @ nt.tensor(randn(4, 5)),
               lambda: torch.tensor(randn(2, 3)) @ torch.tensor(randn(4, 5)))
    for name, sa, sb in (("mm", (2, 3), (3, 2)), ("dot", (3,), (3,))):
        same_error(lambda: getattr(nt, name)(nt.ones(*sa), nt.ones(*sb, dtype=nt.float64)),
                   lambda: getattr(torch, name)(torch.ones(*sa), torch.ones(*sb, dtype=torch.float64)))
    same_error(lambda: nt.addmm(nt.ones(3), nt.ones(2, 3), nt.ones(4, 3)),
               lambda: torch.addmm(torch.ones(3), torch.ones(2, 3), torch.ones(4, 3)))


def test_matmul_out():
    a, b = nt.tensor(randn(2, 3)), nt.tensor(randn(3, 4, seed=1))
    out = nt.empty(2, 4, dtype=nt.float64)
    arr = out.array
    res = nt.matmul(a, b, out=out)
    assert res is out and out.array is arr
    np.testing.assert_allclose(out.numpy(), a.numpy() @ b.numpy(), rtol=1e-12)
    with pytest.raises(RuntimeError, match="shape"):
        nt.matmul(a, b, out=nt.empty(4, 2, dtype=nt.float64))
    with pytest.raises(RuntimeError, match="automatic differentiation"):
        nt.mm(a.requires_grad_(), b, out=out)


# ------------------------------------------------------------------ einsum
def naive_einsum(equation, *arrays):
    """Loop over every assignment of the letters: out[out letters] += prod of the entries.
    (Explicit '->' and no ellipsis; size-1 dims broadcast.)"""
    lhs, rhs = equation.split("->")
    terms = lhs.split(",")
    sizes = {}
    for t, a in zip(terms, arrays):
        for c, s in zip(t, a.shape):
            sizes[c] = max(sizes.get(c, 1), s)
    letters = sorted(sizes)
    out = np.zeros([sizes[c] for c in rhs])
    for values in itertools.product(*[range(sizes[c]) for c in letters]):
        env = dict(zip(letters, values))
        p = 1.0
        for t, a in zip(terms, arrays):
            p *= a[tuple(env[c] if a.shape[i] > 1 else 0 for i, c in enumerate(t))]
        out[tuple(env[c] for c in rhs)] += p
    return out


EINSUMS = [
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("bij,bjk->bik", [(2, 2, 3), (2, 3, 2)]),
    ("ii->", [(3, 3)]),
    ("ii->i", [(3, 3)]),
    ("iij->j", [(2, 2, 3)]),
    ("ij->ji", [(2, 3)]),
    ("ij->", [(2, 3)]),
    ("ij->j", [(2, 3)]),
    ("i,j->ij", [(2,), (3,)]),
    ("i,i->", [(4,), (4,)]),
    ("ij,ij->ij", [(2, 1), (2, 3)]),
    ("ij,jk,kl->il", [(2, 3), (3, 2), (2, 2)]),
    ("bn,anm,bm->ba", [(2, 3), (2, 3, 2), (2, 2)]),
    ("iJ,Jk->ik", [(2, 3), (3, 2)]),
    ("ijk,ik->j", [(2, 3, 2), (2, 2)]),
    ("ij,ik->", [(2, 3), (2, 2)]),
]


@pytest.mark.parametrize("equation,shapes", EINSUMS)
def test_einsum_naive_and_gradcheck(equation, shapes):
    arrays = [randn(*s, seed=i) for i, s in enumerate(shapes)]
    got = nt.einsum(equation, *[nt.tensor(a) for a in arrays])
    np.testing.assert_allclose(got.numpy(), naive_einsum(equation, *arrays), rtol=1e-12, atol=1e-12)
    check_grad(lambda *t: nt.einsum(equation, *t), *arrays)


@requires_torch
@pytest.mark.parametrize("equation,shapes", EINSUMS + [
    ("...ij,...jk->...ik", [(2, 1, 2, 3), (3, 3, 2)]),
    ("...ij->...", [(2, 3, 4)]),
    ("i...->...", [(2, 3, 4)]),
    ("ij,jk", [(2, 3), (3, 4)]),
    ("ba,ab", [(2, 3), (3, 2)]),
    ("...i,...i", [(2, 3), (2, 3)]),
    ("b i j , b j k -> b i k", [(2, 2, 3), (2, 3, 2)]),
])
def test_einsum_matches_torch(equation, shapes):
    arrays = [randn(*s, seed=i) for i, s in enumerate(shapes)]
    compare_with_torch(lambda *t: nt.einsum(equation, *t), lambda *t: torch.einsum(equation, *t), *arrays,
                       atol=1e-10, rtol=1e-10)
    compare_with_torch(lambda *t: nt.einsum(equation, list(t)), lambda *t: torch.einsum(equation, list(t)),
                       *arrays, atol=1e-10, rtol=1e-10)


def test_einsum_ellipsis_gradcheck():
    check_grad(lambda a, b: nt.einsum("...ij,...jk->...ik", a, b), randn(2, 1, 2, 3), randn(3, 3, 2, seed=1))
    check_grad(lambda a: nt.einsum("i...->...", a), randn(2, 3, 2))


@requires_torch
def test_einsum_errors_match_torch():
    a, b = randn(2, 3), randn(4, 5)
    for eq, ops in (("ij,jk->ik", (a, b)), ("ij,jk->ik", (a,)), ("ij->ik", (a,)), ("ijk->ij", (a,)),
                    ("ij->ii", (a,)), ("ij,jk->ik", (a, a, a)), ("ii->i", (a,))):
        same_error(lambda: nt.einsum(eq, *[nt.tensor(o) for o in ops]),
                   lambda: torch.einsum(eq, *[torch.tensor(o) for o in ops]))
    with pytest.raises(RuntimeError, match="dtype"):
        nt.einsum("ij,jk->ik", nt.ones(2, 3), nt.ones(3, 2, dtype=nt.float64))
    with pytest.raises(RuntimeError, match="subscript"):
        nt.einsum("i1->i", nt.ones(2, 3))
    with pytest.raises(TypeError):
        nt.einsum(nt.ones(2), "i->")


# ------------------------------------------------------------------ norms
def naive_vector_norm(x, p):
    v = [abs(e) for e in np.ravel(x)]
    if p == math.inf:
        return max(v)
    if p == -math.inf:
        return min(v)
    if p == 0:
        return float(sum(e != 0 for e in v))
    return sum(e ** p for e in v) ** (1.0 / p)


@pytest.mark.parametrize("p", [2, 1, 3, 0.5, -1, math.inf, -math.inf, 0, "fro"])
def test_norm_naive_and_gradcheck(p):
    x = randn(3, 4, seed=5)
    x[0, 0] = 3.7          # a unique extreme for the inf norms
    x[1, 2] = 0.05
    got = nt.norm(nt.tensor(x), p=p).item()
    assert got == pytest.approx(naive_vector_norm(x, 2 if p == "fro" else p), rel=1e-12)
    if p != 0:
        check_grad(lambda t: nt.norm(t, p=p), x)
        check_grad(lambda t: t.norm(p=p, dim=1), x)
        check_grad(lambda t: nt.norm(t, p, dim=(0, 1), keepdim=True), x)


@requires_torch
@pytest.mark.parametrize("p", [2, 1, 3, 0.5, -1, math.inf, -math.inf, "fro"])
@pytest.mark.parametrize("dim,keepdim", [(None, False), (1, False), (0, True), ((0, 1), False), ((-1, 0), True)])
def test_norm_matches_torch(p, dim, keepdim):
    x = randn(3, 4, seed=6)
    x[0, 1] = 0.0
    x[2, 3] = 4.0
    compare_with_torch(lambda t: nt.norm(t, p, dim, keepdim), lambda t: torch.norm(t, p, dim, keepdim), x,
                       atol=1e-10, rtol=1e-10)
    compare_with_torch(lambda t: t.norm(p=p, dim=dim, keepdim=keepdim),
                       lambda t: t.norm(p=p, dim=dim, keepdim=keepdim), x, atol=1e-10, rtol=1e-10)


@requires_torch
def test_norm_subgradient_at_zero_and_ties():
    for p in (2, 1, 3, 0.5, math.inf):
        compare_with_torch(lambda t: nt.norm(t, p), lambda t: torch.norm(t, p), np.zeros(3))
        compare_with_torch(lambda t: nt.norm(t, p, dim=1), lambda t: torch.norm(t, p, dim=1),
                           np.array([[0.0, 0.0], [3.0, 4.0]]))
    compare_with_torch(lambda t: nt.norm(t, math.inf), lambda t: torch.norm(t, math.inf),
                       np.array([2.0, -2.0, 1.0]))     # tied maxima share the gradient
    x = nt.tensor([1.0, 2.0], requires_grad=True)
    nt.norm(x, 0).backward()
    assert x.grad.tolist() == [0.0, 0.0]


@requires_torch
def test_nuclear_norm():
    x = randn(3, 4, seed=7)
    compare_with_torch(lambda t: nt.norm(t, "nuc"), lambda t: torch.norm(t, "nuc"), x, atol=1e-10)
    xs = randn(2, 3, 3, seed=8)
    compare_with_torch(lambda t: nt.norm(t, "nuc", dim=(1, 2), keepdim=True),
                       lambda t: torch.norm(t, "nuc", dim=(1, 2), keepdim=True), xs, atol=1e-10)
    check_grad(lambda t: nt.norm(t, "nuc"), x)
    np.testing.assert_allclose(nt.norm(nt.tensor(x), "nuc").item(), np.linalg.svd(x, compute_uv=False).sum())


@requires_torch
def test_norm_errors_match_torch():
    for args in ((torch.tensor([1, 2]),), (torch.ones(2, 3, 4), "fro", (0, 1, 2)), (torch.ones(2, 3, 4), "nuc")):
        same_error(lambda: nt.norm(nt.tensor(args[0].numpy()), *args[1:]), lambda: torch.norm(*args))
    with pytest.raises(IndexError):
        nt.norm(nt.ones(2, 3), dim=2)
    assert nt.norm(nt.tensor([3, 4]), dtype=nt.float64).item() == 5.0


# ------------------------------------------------------------ more products
@requires_torch
def test_trace():
    x = randn(3, 4)
    compare_with_torch(nt.trace, torch.trace, x)
    check_grad(nt.trace, x)
    assert nt.trace(nt.tensor(x)).item() == pytest.approx(sum(x[i, i] for i in range(3)), rel=1e-12)
    got = nt.tensor([[1, 2], [3, 4]], dtype=nt.int32).trace()
    assert got.item() == 5 and np.dtype(got.dtype).name == "int64"
    same_error(lambda: nt.trace(nt.ones(2, 2, 2)), lambda: torch.trace(torch.ones(2, 2, 2)))


@requires_torch
@pytest.mark.parametrize("sa,sb,dims", [((2, 3, 4), (3, 4, 2), 2), ((2, 3), (3, 4), 1), ((2, 3), (4, 2), 0),
                                        ((2, 3, 4), (4, 2, 3), ([1, 2], [2, 0])), ((3, 2), (3, 4), ([0], [0]))])
def test_tensordot(sa, sb, dims):
    a, b = randn(*sa), randn(*sb, seed=1)
    compare_with_torch(lambda x, y: nt.tensordot(x, y, dims), lambda x, y: torch.tensordot(x, y, dims), a, b,
                       atol=1e-10, rtol=1e-10)
    check_grad(lambda x, y: nt.tensordot(x, y, dims), a, b)
    np.testing.assert_allclose(nt.tensordot(nt.tensor(a), nt.tensor(b), dims).numpy(), np.tensordot(a, b, dims),
                               rtol=1e-12)


@requires_torch
def test_inner_dist_and_errors():
    a, b = randn(2, 3), randn(4, 3, seed=1)
    compare_with_torch(nt.inner, torch.inner, a, b, atol=1e-10)
    compare_with_torch(nt.inner, torch.inner, randn(3), randn(3, seed=2), atol=1e-10)
    check_grad(nt.inner, a, b)
    for p in (2, 1, 3.5):
        compare_with_torch(lambda x, y: nt.dist(x, y, p), lambda x, y: torch.dist(x, y, p), a, randn(3, seed=3))
    same_error(lambda: nt.inner(nt.ones(2, 3), nt.ones(4)), lambda: torch.inner(torch.ones(2, 3), torch.ones(4)))
    same_error(lambda: nt.tensordot(nt.ones(2, 3), nt.ones(4, 2), dims=1),
               lambda: torch.tensordot(torch.ones(2, 3), torch.ones(4, 2), dims=1))
    same_error(lambda: nt.tensordot(nt.ones(2, 3), nt.ones(3, 2), dims=([1], [0, 1])),
               lambda: torch.tensordot(torch.ones(2, 3), torch.ones(3, 2), dims=([1], [0, 1])))


@requires_torch
def test_einsum_sublist_form():
    a, b = randn(2, 3), randn(3, 4, seed=1)
    for args in (([0, 1], [1, 2], [0, 2]), ([0, 1], [1, 2]), ([30, 1], [1, 2]), ([Ellipsis, 1], [1, 2], [Ellipsis, 2])):
        sub_a, sub_b, *rest = args
        compare_with_torch(lambda x, y: nt.einsum(x, sub_a, y, sub_b, *rest),
                           lambda x, y: torch.einsum(x, sub_a, y, sub_b, *rest), a, b, atol=1e-10)


# ------------------------------------------------------------ inverse and determinant
def naive_det(m):
    """Laplace expansion along the first row."""
    n = len(m)
    if n == 1:
        return m[0][0]
    return sum((-1) ** j * m[0][j] * naive_det([row[:j] + row[j + 1:] for row in m[1:]]) for j in range(n))


@requires_torch
@pytest.mark.parametrize("shape", [(3, 3), (2, 4, 4), (1, 1)])
def test_det_inverse_slogdet(shape):
    a = randn(*shape, seed=9) + 2 * np.eye(shape[-1])
    compare_with_torch(nt.det, torch.det, a, atol=1e-10, rtol=1e-9)
    compare_with_torch(nt.inverse, torch.inverse, a, atol=1e-10, rtol=1e-9)
    compare_with_torch(lambda t: nt.slogdet(t), lambda t: torch.slogdet(t), a, atol=1e-10, rtol=1e-9)
    check_grad(nt.det, a)
    check_grad(lambda t: t.inverse(), a)
    check_grad(lambda t: nt.slogdet(t)[1], a)
    flat = a.reshape(-1, shape[-1], shape[-1])
    np.testing.assert_allclose(nt.det(nt.tensor(a)).numpy().reshape(-1), [naive_det(m.tolist()) for m in flat],
                               rtol=1e-10)
    inv = nt.inverse(nt.tensor(a)).numpy()
    np.testing.assert_allclose(inv @ a, np.broadcast_to(np.eye(shape[-1]), a.shape), atol=1e-10)


@requires_torch
def test_det_gradient_of_singular_matrices_and_logdet():
    # rank 2: det is 0 but moves linearly with each entry; the gradient is the cofactor matrix
    # (PyTorch 2.13 answers 0 here; finite differences and the cofactors say otherwise)
    singular = np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [0.5, -1.0, 2.0]])
    check_grad(nt.det, singular)
    t = nt.tensor(singular, requires_grad=True)
    nt.det(t).backward()
    cof = [[(-1) ** (i + j) * naive_det([r[:j] + r[j + 1:] for k, r in enumerate(singular.tolist()) if k != i])
            for j in range(3)] for i in range(3)]
    np.testing.assert_allclose(t.grad.numpy(), cof, atol=1e-12)
    rank1 = np.outer([1.0, 2.0, -1.0], [0.5, 1.0, 3.0])
    compare_with_torch(nt.det, torch.det, rank1, atol=1e-9)
    a = randn(3, 3, seed=4) + 3 * np.eye(3)
    compare_with_torch(nt.logdet, torch.logdet, a, atol=1e-10)
    neg = np.diag([-1.0, 2.0, 3.0])
    assert math.isnan(nt.logdet(nt.tensor(neg)).item()) and math.isnan(torch.logdet(torch.tensor(neg)).item())
    with pytest.raises(RuntimeError, match="singular"):
        nt.inverse(nt.tensor([[1.0, 2.0], [2.0, 4.0]]))
    for args in ((2, 3), (3,)):
        same_error(lambda: nt.det(nt.ones(*args)), lambda: torch.det(torch.ones(*args)))
