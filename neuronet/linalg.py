"""``neuronet.linalg``: the ``torch.linalg`` names that neuronet's linear-algebra
ops cover (the ops themselves, with their backward, are in ``ops/linalg.py``).

``vector_norm(x, ord=2, dim=None, keepdim=False)``, ``matrix_norm(A, ord='fro')``,
``norm``, ``inv``, ``det``, ``slogdet``, ``matmul``, ``vecdot``, ``multi_dot``.
"""
from __future__ import annotations

from .ops import linalg as _la

__all__ = ["norm", "vector_norm", "matrix_norm", "inv", "det", "slogdet", "matmul", "vecdot", "multi_dot"]


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
