"""``neuronet.linalg``: the ``torch.linalg`` names that neuronet's linear-algebra
ops cover (the ops themselves, with their backward, are in ``ops/linalg.py``).

``vector_norm(x, ord=2, dim=None, keepdim=False)``, ``matrix_norm(A, ord='fro')``,
``norm``, ``inv``, ``det``, ``slogdet``, ``matmul``, ``vecdot``, ``multi_dot``,
and the factorizations ``svd``, ``svdvals``, ``qr``, ``cholesky``, ``eigh``, ``eigvalsh`` and the solver ``solve``
(each with its backward here: they have several outputs, so they are written
as :class:`neuronet.autograd.Function` s on tensors).
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np

from .autograd.custom_function import Function as _TensorFunction
from .backend import array_module
from .ops import linalg as _la
from .tensor import Tensor

__all__ = ["norm", "vector_norm", "matrix_norm", "inv", "det", "slogdet", "matmul", "vecdot", "multi_dot",
           "svd", "svdvals", "solve", "qr", "cholesky", "eigh", "eigvalsh",
           "LinAlgError"]


class LinAlgError(RuntimeError):
    """A linear-algebra routine could not finish (e.g. ``solve`` with a singular matrix),
    as ``torch.linalg.LinAlgError``."""


def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None):  # noqa: A002
    """(sum_i |x_i|^ord)^(1/ord) over ``dim`` (all elements when None), ord may be inf/-inf/0."""
    if dtype is not None:
        x = x.to(dtype)
    if dim is None and x.ndim != 1:
        x = x.reshape(-1)
        dim = 0
    return _la.norm(x, p=ord, dim=dim, keepdim=keepdim)


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None):  # noqa: A002
    """Frobenius ('fro') or nuclear ('nuc') norm over the two dims ``dim``."""
    if dtype is not None:
        A = A.to(dtype)
    if ord not in ("fro", "nuc"):
        raise RuntimeError(f"linalg.matrix_norm: neuronet implements ord='fro' and 'nuc', received {ord!r}")
    return _la.norm(A, p=ord, dim=tuple(dim), keepdim=keepdim)


def norm(A, ord=None, dim=None, keepdim=False, *, dtype=None):  # noqa: A002
    """``vector_norm`` for ord None (2-norm of all elements) or a number; ``matrix_norm`` for 'fro'/'nuc'."""
    if isinstance(ord, str):
        return matrix_norm(A, ord, dim if dim is not None else (-2, -1), keepdim, dtype=dtype)
    return vector_norm(A, 2 if ord is None else ord, dim, keepdim, dtype=dtype)


def inv(A):
    return _la.inverse(A)


def det(A):
    return _la.det(A)


def slogdet(A):
    return _la.slogdet(A)


def matmul(A, B):
    return _la.matmul(A, B)


def vecdot(x, y, *, dim=-1):
    """sum_i x_i y_i along ``dim`` (real tensors)."""
    return (x * y).sum(dim)


def multi_dot(tensors):
    """A_1 @ A_2 @ ... @ A_n (left to right)."""
    tensors = list(tensors)
    if len(tensors) < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {len(tensors)}")
    out = tensors[0]
    for t in tensors[1:]:
        out = _la.matmul(out, t)
    return out


# ================================================================ shared checks
_TYPE = {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long", "int32": "Int",
         "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool"}


def _type_name(dtype):
    return _TYPE.get(np.dtype(dtype).name, np.dtype(dtype).name)


def _check_matrix(op, A, name="A"):
    """A tensor of at least 2 dims and a floating dtype, or PyTorch's RuntimeError."""
    if not isinstance(A, Tensor):
        raise TypeError(f"linalg.{op}(): argument '{name}' must be a Tensor, not {type(A).__name__}")
    if A.ndim < 2:
        raise RuntimeError(f"linalg.{op}: The input tensor {name} must have at least 2 dimensions.")
    if np.dtype(A.array.dtype).kind not in "fc":
        raise RuntimeError(f"linalg.{op}: Expected a floating point or complex tensor as input. "
                           f"Got {_type_name(A.array.dtype)}")


def _mT(a):
    return array_module(a).swapaxes(a, -1, -2)


# ================================================================ SVD
SVDResult = namedtuple("linalg_svd", ["U", "S", "Vh"])


def _svd_grad(u, s, vh, gu, gs, gvh):
    """dE/dA for the reduced SVD A = U diag(S) Vh, A (m, n), k = min(m, n).

    With J = U^T gU, K = V^T gV (gV = gVh^T), skew(X) = X - X^T and
    F_ij = 1 / (s_j^2 - s_i^2) (i != j):
        inner = F o (skew(J) S + S skew(K)) + diag(gS)        (k, k)
        dE/dA = U inner Vh
              + (I_m - U U^T) gU S^-1 Vh                         (only when m > k)
              + U S^-1 gV^T (I_n - V V^T)                        (only when n > k)
    (Townsend 2016, "Differentiating the singular value decomposition"; the
    formula of PyTorch's svd_backward.) It divides by s_j^2 - s_i^2 and by s_i:
    U/V gradients are infinite or NaN for repeated or zero singular values, as
    in PyTorch; gradients of S alone (gU = gVh = None) are always finite.
    """
    xp = array_module(s)
    m, n, k = u.shape[-2], vh.shape[-1], s.shape[-1]
    inner = xp.zeros(s.shape[:-1] + (k, k), dtype=s.dtype)
    if gu is not None or gvh is not None:
        s2 = s * s
        denom = s2[..., None, :] - s2[..., :, None]
        idx = xp.arange(k)
        denom[..., idx, idx] = 1
        sym = xp.zeros_like(inner)
        if gu is not None:
            j = _mT(u) @ gu
            sym = sym + (j - _mT(j)) * s[..., None, :]
        if gvh is not None:
            kk = vh @ _mT(gvh)
            sym = sym + s[..., :, None] * (kk - _mT(kk))
        with np.errstate(divide="ignore", invalid="ignore"):
            inner = sym / denom
    if gs is not None:
        inner = inner + gs[..., :, None] * xp.eye(k, dtype=s.dtype)
    with np.errstate(divide="ignore", invalid="ignore"):
        if m > k and gu is not None:
            gus = gu / s[..., None, :]
            return (u @ inner + gus - u @ (_mT(u) @ gus)) @ vh
        if n > k and gvh is not None:
            sgv = gvh / s[..., :, None]                   # S^-1 gV^T
            return u @ (inner @ vh + sgv - (sgv @ _mT(vh)) @ vh)
    return u @ inner @ vh


class _SVD(_TensorFunction):
    @staticmethod
    def forward(ctx, A, full_matrices):
        a = A.array
        xp = array_module(a)
        u, s, vh = xp.linalg.svd(a, full_matrices=full_matrices)
        dt = a.dtype
        u, s, vh = u.astype(dt, copy=False), s.astype(dt, copy=False), vh.astype(dt, copy=False)
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(Tensor._wrap(u), Tensor._wrap(s), Tensor._wrap(vh))
        return Tensor._wrap(u), Tensor._wrap(s), Tensor._wrap(vh)

    @staticmethod
    def backward(ctx, gU, gS, gVh):
        u, s, vh = (t.array for t in ctx.saved_tensors)
        k = s.shape[-1]
        # full_matrices=True: the extra columns of U / rows of Vh are not unique; as
        # PyTorch, only the first k take part (their gradient is dropped).
        u, vh = u[..., :, :k], vh[..., :k, :]
        gu = None if gU is None else gU.array[..., :, :k]
        gvh = None if gVh is None else gVh.array[..., :k, :]
        gs = None if gS is None else gS.array
        return Tensor._wrap(_svd_grad(u, s, vh, gu, gs, gvh).astype(u.dtype, copy=False)), None


def svd(A, full_matrices=True, *, driver=None, out=None):
    """svd(A, full_matrices=True) -> (U, S, Vh): A = U diag(S) Vh for each matrix of ``A``.

    Shapes, A (*, m, n), k = min(m, n): ``full_matrices=True``: U (*, m, m),
    S (*, k), Vh (*, n, n); ``full_matrices=False`` (the reduced SVD): U (*, m, k),
    Vh (*, k, n). S is in descending order. The singular vectors are unique only up
    to sign (and within repeated singular values), so use sign-invariant
    functions of them.

    Backward: Townsend's formula (see ``_svd_grad``), exact for distinct nonzero
    singular values. With ``full_matrices=True`` only the first k columns of U and
    rows of Vh carry gradient. Repeated or zero singular values make the U/Vh
    gradient infinite or NaN (as in PyTorch); S's gradient U diag(g) Vh is always
    defined.
    """
    _check_matrix("svd", A)
    if driver is not None:
        raise RuntimeError("torch.linalg.svd: keyword argument `driver=` is only supported on CUDA inputs "
                           "with cuSOLVER backend.")
    if out is not None:
        raise RuntimeError("linalg.svd: neuronet does not implement out=")
    U, S, Vh = _SVD.apply(A, bool(full_matrices))
    return SVDResult(U, S, Vh)


class _SVDVals(_TensorFunction):
    @staticmethod
    def forward(ctx, A):
        a = A.array
        xp = array_module(a)
        if not ctx.needs_input_grad[0]:
            return Tensor._wrap(xp.linalg.svd(a, compute_uv=False).astype(a.dtype, copy=False))
        u, s, vh = xp.linalg.svd(a, full_matrices=False)
        ctx.save_for_backward(Tensor._wrap(u), Tensor._wrap(vh))
        return Tensor._wrap(s.astype(a.dtype, copy=False))

    @staticmethod
    def backward(ctx, gS):
        u, vh = (t.array for t in ctx.saved_tensors)
        return Tensor._wrap(((u * gS.array[..., None, :]) @ vh).astype(u.dtype, copy=False))


def svdvals(A, *, driver=None, out=None):
    """svdvals(A) -> S: the singular values of each matrix, descending, shape (*, min(m, n)).
    Backward: dE/dA = U diag(g) Vh (defined for repeated singular values too)."""
    _check_matrix("svd", A)
    if driver is not None:
        raise RuntimeError("torch.linalg.svdvals: keyword argument `driver=` is only supported on CUDA "
                           "inputs with cuSOLVER backend.")
    if out is not None:
        raise RuntimeError("linalg.svdvals: neuronet does not implement out=")
    return _SVDVals.apply(A)


# ================================================================ solve
class _Solve(_TensorFunction):
    """X = A^-1 B for A (*, n, n), B (*, n, k) with equal batch dims.
    Backward (from A X = B): dE/dB = A^-T G,  dE/dA = -(dE/dB) X^T."""

    @staticmethod
    def forward(ctx, A, B):
        a, b = A.array, B.array
        xp = array_module(a)
        try:
            x = xp.linalg.solve(a, b)
        except np.linalg.LinAlgError:
            raise LinAlgError("torch.linalg.solve: The solver failed because the input matrix is "
                              "singular.") from None
        if not bool(xp.isfinite(x).all()) and bool(xp.isfinite(a).all()) and bool(xp.isfinite(b).all()):
            raise LinAlgError("torch.linalg.solve: The solver failed because the input matrix is singular.")
        ctx.save_for_backward(A, Tensor._wrap(x))
        return Tensor._wrap(x.astype(a.dtype, copy=False))

    @staticmethod
    def backward(ctx, G):
        A, X = ctx.saved_tensors
        a, x, g = A.array, X.array, G.array
        xp = array_module(a)
        gb = xp.linalg.solve(_mT(a), g)
        ga = -(gb @ _mT(x)) if ctx.needs_input_grad[0] else None
        return (None if ga is None else Tensor._wrap(ga.astype(a.dtype, copy=False)),
                Tensor._wrap(gb.astype(a.dtype, copy=False)) if ctx.needs_input_grad[1] else None)


def solve(A, B, *, left=True, out=None):
    """solve(A, B, *, left=True) -> X: the solution of A X = B (``left=False``: X A = B).

    Shapes: A (*, n, n); B (*, n, k), or (*, n) -- a batch of vectors -- when B is
    1-D or has one dim fewer than A with B.shape == A.shape[:-1]. Batch dims
    broadcast. A singular A raises ``neuronet.linalg.LinAlgError`` (a RuntimeError).
    Backward: dE/dB = A^-T G, dE/dA = -A^-T G X^T.
    """
    _check_matrix("solve", A)
    if not isinstance(B, Tensor):
        raise TypeError(f"linalg.solve(): argument 'B' must be a Tensor, not {type(B).__name__}")
    if np.dtype(B.array.dtype).kind not in "fc":
        raise RuntimeError(f"linalg.solve: Expected a floating point or complex tensor as input. "
                           f"Got {_type_name(B.array.dtype)}")
    if A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"linalg.solve: A must be batches of square matrices, but they are "
                           f"{A.shape[-2]} by {A.shape[-1]} matrices")
    if A.array.dtype != B.array.dtype:
        raise RuntimeError(f"linalg.solve: Expected A and B to have the same dtype, but found A of type "
                           f"{_type_name(A.array.dtype)} and B of type {_type_name(B.array.dtype)} instead")
    if out is not None:
        raise RuntimeError("linalg.solve: neuronet does not implement out=")
    n = A.shape[-1]
    vector = B.ndim == 1 or (B.ndim == A.ndim - 1 and tuple(B.shape) == tuple(A.shape[:-1]))
    if not left:
        if vector:
            raise RuntimeError("linalg.solve: Vector broadcasting of the left hand side is not supported "
                               "for left=False. In this case linalg.solve is equivalent to B / A.squeeze(-1)")
        return solve(A.transpose(-1, -2), B.transpose(-1, -2)).transpose(-1, -2)
    Bm = B.unsqueeze(-1) if vector else B
    if Bm.shape[-2] != n:
        raise RuntimeError(f"linalg.solve: Incompatible shapes of A and B for the equation AX = B "
                           f"({A.shape[-2]}x{A.shape[-1]} and {Bm.shape[-2]}x{Bm.shape[-1]})")
    batch = np.broadcast_shapes(tuple(A.shape[:-2]), tuple(Bm.shape[:-2]))
    if tuple(A.shape[:-2]) != batch:
        A = A.expand(*batch, n, n)
    if tuple(Bm.shape[:-2]) != batch:
        Bm = Bm.expand(*batch, *Bm.shape[-2:])
    X = _Solve.apply(A, Bm)
    return X.squeeze(-1) if vector else X


# ================================================================ QR
QRResult = namedtuple("linalg_qr", ["Q", "R"])


def _copyltu(m):
    """The symmetric matrix with ``m``'s lower triangle: tril(m) + tril(m, -1)^T."""
    xp = array_module(m)
    low = xp.tril(m, -1)
    return low + _mT(low) + xp.tril(xp.triu(m))


def _qr_grad_tall(q, r, gq, gr):
    """dE/dA for A = QR, A (m, n) with m >= n (Q (m, n), R (n, n) upper triangular):
    M = R gR^T - gQ^T Q;  dE/dA = (gQ + Q copyltu(M)) R^-T
    (Liao, Liu, Wang & Xiang 2019, "Differentiable programming tensor networks")."""
    xp = array_module(r)
    mm = r @ _mT(gr) - _mT(gq) @ q
    b = gq + q @ _copyltu(mm)
    return _mT(xp.linalg.solve(r, _mT(b)))            # b R^-T, by solving R Y = b^T


class _QR(_TensorFunction):
    @staticmethod
    def forward(ctx, A, mode):
        a = A.array
        xp = array_module(a)
        q, r = xp.linalg.qr(a, mode="complete" if mode == "complete" else "reduced")
        ctx.set_materialize_grads(False)
        ctx.mode = mode
        ctx.save_for_backward(Tensor._wrap(q), Tensor._wrap(r))
        if mode == "r":
            return Tensor._wrap(xp.zeros((0,), dtype=a.dtype)), Tensor._wrap(r.astype(a.dtype, copy=False))
        return Tensor._wrap(q.astype(a.dtype, copy=False)), Tensor._wrap(r.astype(a.dtype, copy=False))

    @staticmethod
    def backward(ctx, gQ, gR):
        q, r = (t.array for t in ctx.saved_tensors)
        m, n = q.shape[-2], r.shape[-1]
        if ctx.mode == "r":
            raise RuntimeError("The derivative of linalg.qr depends on Q, which is not computed when mode='r'. "
                               "Please use linalg.qr(A, mode='reduced') if you are going to differentiate "
                               "through linalg.qr.")
        if ctx.mode == "complete" and m > n:
            raise RuntimeError("The QR decomposition is not differentiable when mode='complete' and "
                               "nrows > ncols.")
        xp = array_module(q)
        gq = xp.zeros_like(q) if gQ is None else gQ.array
        gr = xp.zeros_like(r) if gR is None else gR.array
        if m >= n:
            ga = _qr_grad_tall(q, r, gq, gr)
        else:
            # A = [X | Y] with X (m, m) = Q U, Y = Q V, R = [U | V]: Y's part is Q gV, and
            # X sees gQ + Y gV^T (Q also feeds Y = Q V).
            y = q @ r[..., :, m:]
            gv = gr[..., :, m:]
            gx = _qr_grad_tall(q, r[..., :, :m], gq + y @ _mT(gv), gr[..., :, :m])
            ga = xp.concatenate([gx, q @ gv], axis=-1)
        return Tensor._wrap(ga.astype(q.dtype, copy=False)), None


def qr(A, mode="reduced", *, out=None):
    """qr(A, mode='reduced') -> (Q, R): A = Q R, Q with orthonormal columns, R upper triangular.

    Shapes, A (*, m, n), k = min(m, n): 'reduced': Q (*, m, k), R (*, k, n);
    'complete': Q (*, m, m), R (*, m, n); 'r': Q empty, R (*, k, n).
    Backward (mode 'reduced', or 'complete' with m <= n): Liao et al. 2019's
    formula; it solves with R, so A must have full rank k. Not differentiable with
    mode='r' or with 'complete' when m > n (as in PyTorch).
    """
    _check_matrix("qr", A)
    if mode not in ("reduced", "r", "complete"):
        raise RuntimeError(f"qr received unrecognized mode '{mode}' but expected one of 'reduced' (default), "
                           "'r', or 'complete'")
    if out is not None:
        raise RuntimeError("linalg.qr: neuronet does not implement out=")
    Q, R = _QR.apply(A, mode)
    return QRResult(Q, R)


# ================================================================ Cholesky
class _Cholesky(_TensorFunction):
    """L = chol(A), A = L L^T (A symmetric positive-definite).

    Backward (Murray 2016, "Differentiation of the Cholesky decomposition"): with
    Phi(X) = the lower triangle of X with its diagonal halved,
    S = L^-T Phi(L^T gL) L^-1 and dE/dA = (S + S^T) / 2 (the symmetric part:
    A is symmetric, so only perturbations that keep it so count).
    """

    @staticmethod
    def forward(ctx, A):
        a = A.array
        xp = array_module(a)
        try:
            low = xp.linalg.cholesky(a)
        except np.linalg.LinAlgError:
            low = None
        if low is None or not bool(xp.isfinite(low).all()):      # CuPy returns NaN instead of raising
            raise LinAlgError("linalg.cholesky: The factorization could not be completed because the input "
                              "is not positive-definite.")
        low = low.astype(a.dtype, copy=False)
        ctx.save_for_backward(Tensor._wrap(low))
        return Tensor._wrap(low)

    @staticmethod
    def backward(ctx, gL):
        (low,) = (t.array for t in ctx.saved_tensors)
        xp = array_module(low)
        phi = xp.tril(_mT(low) @ gL.array)
        n = low.shape[-1]
        idx = xp.arange(n)
        phi[..., idx, idx] *= 0.5
        # S = L^-T phi L^-1, as two solves: Y = L^-T phi, S^T = L^-T Y^T
        y = xp.linalg.solve(_mT(low), phi)
        sym = _mT(xp.linalg.solve(_mT(low), _mT(y)))
        return Tensor._wrap((0.5 * (sym + _mT(sym))).astype(low.dtype, copy=False))


def cholesky(A, *, upper=False, out=None):
    """cholesky(A, *, upper=False) -> L: the lower-triangular L with A = L L^T for each
    symmetric positive-definite matrix of A (*, n, n); ``upper=True`` returns U = L^T
    (A = U^T U). A matrix that is not positive-definite raises
    ``neuronet.linalg.LinAlgError``. Only the lower triangle of A is read, as
    PyTorch's (and LAPACK's) routine. Backward: Murray 2016 (see ``_Cholesky``)."""
    _check_matrix("cholesky", A)
    if A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"linalg.cholesky: A must be batches of square matrices, but they are "
                           f"{A.shape[-2]} by {A.shape[-1]} matrices")
    if out is not None:
        raise RuntimeError("linalg.cholesky: neuronet does not implement out=")
    low = _Cholesky.apply(A)
    return low.transpose(-1, -2) if upper else low


# ================================================================ symmetric eigendecomposition
EighResult = namedtuple("linalg_eigh", ["eigenvalues", "eigenvectors"])


def _check_uplo(UPLO):
    if UPLO not in ("L", "U"):
        raise RuntimeError(f"Expected UPLO argument to be 'L' or 'U', but got {UPLO}")


class _Eigh(_TensorFunction):
    """A = V diag(w) V^T for symmetric A (ascending w, orthonormal columns of V).

    Backward: with F_ij = 1 / (w_j - w_i) off the diagonal and 0 on it,
    G = V (diag(gw) + F o (V^T gV)) V^T and dE/dA = (G + G^T) / 2 (the symmetric
    part, as PyTorch). Repeated eigenvalues make the V gradient infinite; the
    gradient of w alone, V diag(gw) V^T, is always defined.
    """

    @staticmethod
    def forward(ctx, A, UPLO, vectors):
        a = A.array
        xp = array_module(a)
        if not vectors:
            w = xp.linalg.eigvalsh(a, UPLO=UPLO)
            if ctx.needs_input_grad[0]:
                _, v = xp.linalg.eigh(a, UPLO=UPLO)
                ctx.save_for_backward(Tensor._wrap(w), Tensor._wrap(v))
            return Tensor._wrap(w.astype(a.dtype, copy=False))
        w, v = xp.linalg.eigh(a, UPLO=UPLO)
        w, v = w.astype(a.dtype, copy=False), v.astype(a.dtype, copy=False)
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(Tensor._wrap(w), Tensor._wrap(v))
        return Tensor._wrap(w), Tensor._wrap(v)

    @staticmethod
    def backward(ctx, gw, gV=None):
        w, v = (t.array for t in ctx.saved_tensors)
        xp = array_module(w)
        n = w.shape[-1]
        inner = xp.zeros(w.shape[:-1] + (n, n), dtype=w.dtype)
        if gV is not None:
            diff = w[..., None, :] - w[..., :, None]
            idx = xp.arange(n)
            diff[..., idx, idx] = 1
            with np.errstate(divide="ignore", invalid="ignore"):
                inner = (_mT(v) @ gV.array) / diff
            inner[..., idx, idx] = 0
        if gw is not None:
            inner = inner + gw.array[..., :, None] * xp.eye(n, dtype=w.dtype)
        g = v @ inner @ _mT(v)
        return Tensor._wrap((0.5 * (g + _mT(g))).astype(w.dtype, copy=False)), None, None


def _check_eigh(op, A, UPLO):
    _check_matrix(op, A)
    if A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"linalg.{op}: A must be batches of square matrices, but they are "
                           f"{A.shape[-2]} by {A.shape[-1]} matrices")
    _check_uplo(UPLO)


def eigh(A, UPLO="L", *, out=None):
    """eigh(A, UPLO='L') -> (eigenvalues, eigenvectors) of each symmetric matrix of A (*, n, n).

    Eigenvalues (*, n) ascending; eigenvectors (*, n, n), column i for eigenvalue i,
    unique only up to sign (and within repeated eigenvalues), so use sign-invariant
    functions of them. Only the ``UPLO`` triangle of A is read. Backward: see ``_Eigh``.
    """
    _check_eigh("eigh", A, UPLO)
    if out is not None:
        raise RuntimeError("linalg.eigh: neuronet does not implement out=")
    w, v = _Eigh.apply(A, UPLO, True)
    return EighResult(w, v)


def eigvalsh(A, UPLO="L", *, out=None):
    """eigvalsh(A, UPLO='L') -> eigenvalues (*, n) of each symmetric matrix, ascending;
    dE/dA = V diag(g) V^T."""
    _check_eigh("eigvalsh", A, UPLO)
    if out is not None:
        raise RuntimeError("linalg.eigvalsh: neuronet does not implement out=")
    return _Eigh.apply(A, UPLO, False)
