"""neuronet.linalg: torch.linalg's names over the ops in ops/linalg.py."""
import numpy as np
import pytest

import neuronet as nt
from tests.helpers import compare_with_torch, torch

A = np.array([[3.0, 4.0, 0.5], [1.0, 2.0, -1.0], [0.0, 1.5, 2.0]])


@pytest.mark.parametrize("call", [
    lambda L, x: L.linalg.norm(x),
    lambda L, x: L.linalg.norm(x, "fro"),
    lambda L, x: L.linalg.vector_norm(x, ord=1, dim=1),
    lambda L, x: L.linalg.vector_norm(x, ord=float("inf")),
    lambda L, x: L.linalg.matrix_norm(x),
    lambda L, x: L.linalg.inv(x),
    lambda L, x: L.linalg.det(x),
    lambda L, x: L.linalg.multi_dot([x, x, x]),
    lambda L, x: L.linalg.vecdot(x, x),
])
def test_linalg_matches_torch(call):
    compare_with_torch(lambda x: call(nt, x), lambda x: call(torch, x), A)


def test_multi_dot_needs_two():
    with pytest.raises(RuntimeError, match="at least 2 tensors"):
        nt.linalg.multi_dot([nt.ones(2, 2)])


# ================================================================ svd, svdvals, solve, qr
from tests.helpers import check_grad, nt64, randn, requires_torch  # noqa: E402


def _signs_aligned(U, Vh, U_ref):
    """Flip each singular pair (column of U, row of Vh) to match the reference U's signs."""
    s = np.sign((U * U_ref).sum(-2, keepdims=True))
    return U * s, Vh * np.swapaxes(s, -1, -2)


@requires_torch
@pytest.mark.parametrize("shape", [(5, 3), (3, 5), (4, 4), (2, 6, 3)])
@pytest.mark.parametrize("full", [True, False])
def test_svd_matches_torch_up_to_sign(shape, full):
    a = randn(*shape, seed=11)
    U, S, Vh = nt.linalg.svd(nt.tensor(a), full_matrices=full)
    tU, tS, tVh = torch.linalg.svd(torch.tensor(a), full_matrices=full)
    assert (tuple(U.shape), tuple(S.shape), tuple(Vh.shape)) == (tuple(tU.shape), tuple(tS.shape), tuple(tVh.shape))
    np.testing.assert_allclose(S.numpy(), tS.numpy(), rtol=1e-10)
    k = min(shape[-2:])
    u, vh = _signs_aligned(U.numpy()[..., :k], Vh.numpy()[..., :k, :], tU.numpy()[..., :k])
    np.testing.assert_allclose(u, tU.numpy()[..., :k], atol=1e-10)
    np.testing.assert_allclose(vh, tVh.numpy()[..., :k, :], atol=1e-10)
    np.testing.assert_allclose((U.numpy()[..., :k] * S.numpy()[..., None, :]) @ Vh.numpy()[..., :k, :], a,
                               atol=1e-12)


def test_svd_result_is_named():
    r = nt.linalg.svd(nt.ones(3, 2))
    assert type(r).__name__ == "linalg_svd" and r.U is r[0] and r.S is r[1] and r.Vh is r[2]


def _sign_invariant(U, S, Vh):
    """Losses that do not change when a singular pair flips sign."""
    w = nt.tensor(randn(*U.shape[-2:], seed=12))
    return (S * S.new_tensor(np.arange(1, S.shape[-1] + 1.0))).sum() + ((U * U) * w).sum() \
        + (U.unsqueeze(-1) * Vh.unsqueeze(-3)).sum(-2).pow(2).sum()       # (U_i Vh_i) outer products


@pytest.mark.parametrize("shape", [(5, 3), (3, 5), (4, 4), (2, 4, 3)])
def test_svd_gradcheck_reduced(shape):
    def f(a):
        U, S, Vh = nt.linalg.svd(a, full_matrices=False)
        return _sign_invariant(U, S, Vh), (U * S.unsqueeze(-2)) @ Vh
    check_grad(f, randn(*shape, seed=13))


def test_svd_gradcheck_full_matrices_uses_first_k():
    def f(a):
        U, S, Vh = nt.linalg.svd(a, full_matrices=True)
        return S.sum() + (U[..., :, :3] * S) @ Vh
    check_grad(f, randn(5, 3, seed=14))


@requires_torch
@pytest.mark.parametrize("shape", [(5, 3), (3, 5), (2, 4, 4)])
def test_svd_gradients_match_torch(shape):
    a = randn(*shape, seed=15)

    def loss(L, x):
        U, S, Vh = L.linalg.svd(x, full_matrices=False)
        return (S ** 3).sum() + (U[..., :1] * U[..., :1]).sum() * 2 + ((U * S.unsqueeze(-2)) @ Vh).pow(2).sum() \
            + (Vh[..., 0, :] ** 2 * x.new_tensor(np.arange(shape[-1], dtype=np.float64))).sum()
    compare_with_torch(lambda x: loss(nt, x), lambda x: loss(torch, x), a, atol=1e-8, rtol=1e-6)


@requires_torch
@pytest.mark.parametrize("shape", [(5, 3), (3, 5), (2, 4, 4)])
def test_svdvals_matches_torch_with_grad(shape):
    compare_with_torch(lambda x: nt.linalg.svdvals(x), lambda x: torch.linalg.svdvals(x), randn(*shape, seed=16),
                       atol=1e-10, rtol=1e-8)


def test_svdvals_gradcheck_repeated_values():
    # S's gradient U diag(g) Vh is defined even for repeated singular values (here 2, 2, 1).
    q1, _ = np.linalg.qr(randn(4, 4, seed=17))
    q2, _ = np.linalg.qr(randn(3, 3, seed=18))
    a = q1[:, :3] @ np.diag([2.0, 2.0, 1.0]) @ q2
    check_grad(lambda x: nt.linalg.svdvals(x).pow(2).sum(), a)


@pytest.mark.parametrize("call, msg", [
    (lambda: nt.linalg.svd(nt.zeros(3)), "must have at least 2 dimensions"),
    (lambda: nt.linalg.svdvals(nt.zeros(3, 3, dtype=nt.int64)), "floating point or complex tensor as input. Got Long"),
    (lambda: nt.linalg.svd(nt.zeros(3, 3), driver="gesvd"), "only supported on CUDA"),
])
def test_svd_errors(call, msg):
    with pytest.raises(RuntimeError, match=msg):
        call()


@requires_torch
@pytest.mark.parametrize("a_shape, b_shape, left", [
    ((3, 3), (3,), True), ((3, 3), (3, 2), True), ((2, 3, 3), (2, 3), True), ((2, 3, 3), (3, 4), True),
    ((3, 3), (5, 3, 2), True), ((2, 3, 3), (2, 4, 3), False),
])
def test_solve_matches_torch(a_shape, b_shape, left):
    a = randn(*a_shape, seed=19) + 3 * np.eye(a_shape[-1])
    b = randn(*b_shape, seed=20)
    compare_with_torch(lambda A, B: nt.linalg.solve(A, B, left=left), lambda A, B: torch.linalg.solve(A, B, left=left),
                       a, b, atol=1e-10, rtol=1e-8)


def test_solve_gradcheck():
    a = randn(2, 3, 3, seed=21) + 3 * np.eye(3)
    check_grad(lambda A, B: nt.linalg.solve(A, B), a, randn(3, 2, seed=22))


@pytest.mark.parametrize("call, err, msg", [
    (lambda: nt.linalg.solve(nt.zeros(2, 2), nt.ones(2)), nt.linalg.LinAlgError, "input matrix is singular"),
    (lambda: nt.linalg.solve(nt.zeros(2, 3), nt.ones(2)), RuntimeError, "square matrices, but they are 2 by 3"),
    (lambda: nt.linalg.solve(nt.eye(2), nt.ones(3)), RuntimeError, r"AX = B \(2x2 and 3x1\)"),
    (lambda: nt.linalg.solve(nt.eye(2), nt.ones(2, dtype=nt.float64)), RuntimeError,
     "A of type Float and B of type Double"),
])
def test_solve_errors(call, err, msg):
    with pytest.raises(err, match=msg):
        call()


def test_linalg_error_is_runtime_error():
    assert issubclass(nt.linalg.LinAlgError, RuntimeError)


@requires_torch
@pytest.mark.parametrize("shape", [(5, 3), (3, 5), (4, 4), (2, 4, 3)])
@pytest.mark.parametrize("mode", ["reduced", "complete", "r"])
def test_qr_matches_torch(shape, mode):
    a = randn(*shape, seed=23)
    Q, R = nt.linalg.qr(nt.tensor(a), mode=mode)
    tQ, tR = torch.linalg.qr(torch.tensor(a), mode=mode)
    assert tuple(Q.shape) == tuple(tQ.shape) and tuple(R.shape) == tuple(tR.shape)
    # unique up to the sign of each row of R (and column of Q)
    # (the extra columns of a complete Q are any orthonormal completion: checked through Q^T Q and Q R)
    k = min(shape[-2:])
    r, tr = R.numpy()[..., :k, :], tR.numpy()[..., :k, :]
    s = np.sign(np.diagonal(r, axis1=-2, axis2=-1) * np.diagonal(tr, axis1=-2, axis2=-1))
    np.testing.assert_allclose(r * s[..., :, None], tr, atol=1e-10)
    np.testing.assert_allclose(R.numpy()[..., k:, :], 0, atol=1e-12)
    if mode != "r":
        q = Q.numpy()
        np.testing.assert_allclose(q[..., :k] * s[..., None, :], tQ.numpy()[..., :k], atol=1e-10)
        np.testing.assert_allclose(np.swapaxes(q, -1, -2) @ q, np.broadcast_to(np.eye(q.shape[-1]), q.shape[:-2] + (q.shape[-1],) * 2), atol=1e-10)
        np.testing.assert_allclose(q @ R.numpy(), a, atol=1e-10)


@pytest.mark.parametrize("shape", [(5, 3), (3, 5), (4, 4), (2, 4, 3)])
def test_qr_gradcheck(shape):
    def f(a):
        Q, R = nt.linalg.qr(a)
        return Q @ R, (Q * Q).sum(-2), R.pow(2).sum() + (Q[..., :1] * R[..., :1, :1]).sum()  # sign-invariant
    check_grad(f, randn(*shape, seed=24))


@requires_torch
@pytest.mark.parametrize("shape", [(5, 3), (3, 5)])
def test_qr_gradients_match_torch(shape):
    def loss(L, x):
        Q, R = L.linalg.qr(x)
        d = R.diagonal(dim1=-2, dim2=-1)
        return (Q * d.unsqueeze(-2)).pow(3).sum() + R.pow(2).sum() + (Q @ R).sum()
    compare_with_torch(lambda x: loss(nt, x), lambda x: loss(torch, x), randn(*shape, seed=25), atol=1e-8, rtol=1e-6)


def test_qr_not_differentiable_modes():
    a = nt64(randn(4, 2, seed=26))
    with pytest.raises(RuntimeError, match="not computed when mode='r'"):
        nt.linalg.qr(a, mode="r").R.sum().backward()
    with pytest.raises(RuntimeError, match="not differentiable when mode='complete' and nrows > ncols"):
        nt.linalg.qr(a, mode="complete").Q.sum().backward()
    with pytest.raises(RuntimeError, match="unrecognized mode 'x'"):
        nt.linalg.qr(a, mode="x")


@requires_torch
def test_cholesky_matches_torch():
    a = randn(2, 4, 4, seed=27)
    spd = a @ np.swapaxes(a, -1, -2) + np.eye(4)
    compare_with_torch(lambda x: nt.linalg.cholesky(x), lambda x: torch.linalg.cholesky(x), spd, atol=1e-10, rtol=1e-8)
    compare_with_torch(lambda x: nt.linalg.cholesky(x, upper=True), lambda x: torch.linalg.cholesky(x, upper=True),
                       spd, atol=1e-10, rtol=1e-8)


def test_cholesky_gradcheck():
    # through a symmetric parametrization: the routine reads only A's lower triangle
    check_grad(lambda a: nt.linalg.cholesky(a @ a.transpose(-1, -2) + nt.eye(3, dtype=nt.float64)),
               randn(2, 3, 3, seed=28))


def test_cholesky_errors():
    with pytest.raises(nt.linalg.LinAlgError, match="not positive-definite"):
        nt.linalg.cholesky(-nt.eye(2))
    with pytest.raises(RuntimeError, match="square matrices, but they are 2 by 3"):
        nt.linalg.cholesky(nt.zeros(2, 3))


@requires_torch
@pytest.mark.parametrize("UPLO", ["L", "U"])
def test_eigh_matches_torch_up_to_sign(UPLO):
    a = randn(2, 4, 4, seed=29)                        # not symmetric: only the UPLO triangle is read
    w, V = nt.linalg.eigh(nt.tensor(a), UPLO=UPLO)
    tw, tV = torch.linalg.eigh(torch.tensor(a), UPLO=UPLO)
    np.testing.assert_allclose(w.numpy(), tw.numpy(), atol=1e-10)
    s = np.sign((V.numpy() * tV.numpy()).sum(-2, keepdims=True))
    np.testing.assert_allclose(V.numpy() * s, tV.numpy(), atol=1e-10)
    assert type(nt.linalg.eigh(nt.tensor(a))).__name__ == "linalg_eigh"


@requires_torch
def test_eigh_gradients_match_torch():
    def loss(L, a):
        w, V = L.linalg.eigh(a + a.transpose(-1, -2))
        return (w ** 2 * a.new_tensor(np.arange(1.0, 5.0))).sum() + (V ** 4).sum() + ((V * w.unsqueeze(-2)) @ V.transpose(-1, -2)).sum()
    compare_with_torch(lambda a: loss(nt, a), lambda a: loss(torch, a), randn(2, 4, 4, seed=33), atol=1e-8, rtol=1e-6)
    compare_with_torch(lambda a: nt.linalg.eigvalsh(a + a.mT), lambda a: torch.linalg.eigvalsh(a + a.mT),
                       randn(3, 3, seed=34), atol=1e-10, rtol=1e-8)


def test_eigh_gradcheck():
    def f(a):
        w, V = nt.linalg.eigh(a + a.transpose(-1, -2))
        return w, V * V, (V * w.unsqueeze(-2)) @ V.transpose(-1, -2)       # sign-invariant
    check_grad(f, randn(2, 4, 4, seed=35))
    check_grad(lambda a: nt.linalg.eigvalsh(a + a.transpose(-1, -2)), randn(3, 3, seed=36))


def test_eigh_errors():
    with pytest.raises(RuntimeError, match="Expected UPLO argument to be 'L' or 'U', but got X"):
        nt.linalg.eigh(nt.eye(2), UPLO="X")
    with pytest.raises(RuntimeError, match="square matrices"):
        nt.linalg.eigvalsh(nt.zeros(2, 3))
