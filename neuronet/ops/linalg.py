"""Linear algebra with PyTorch's names: ``mm bmm matmul mv dot outer addmm
addmv baddbmm einsum norm``, exported through :mod:`neuronet.ops._registry`.

The products share one differentiable core, ``MatMul`` (ops/elementwise.py:
out = a b, dE/da = g b^T, dE/db = a^T g, batched and broadcast); what this
module adds is PyTorch's argument checking (each function accepts only the
ranks PyTorch's does and names both shapes when they do not fit), ``out=``,
and the ops that are not a plain product: the outer product, ``einsum`` (any
equation, any number of operands, backward by einsum) and the vector and
matrix norms.
"""
from __future__ import annotations

import builtins
import math
import numbers
import string
from collections import namedtuple

import numpy as np

from ..autograd.function import Function
from ..backend import array_module
from ..tensor import Tensor
from . import elementwise as _el
from ._registry import both, tensor_method, torch_function
from .math import _check_tensor, _exclusive_products, _type_name, write_out
from .reduction import normalize_dims


def _ctype(dtype):
    """PyTorch's C++ name of a dtype, as in its mm/matmul messages ('float', 'double')."""
    return {"float32": "float", "float64": "double", "int64": "long int", "int32": "int",
            "float16": "c10::Half", "bool": "bool", "uint8": "unsigned char"}.get(np.dtype(dtype).name,
                                                                                  str(dtype))


def _same_dtype(a, b, what="m1 and m2"):
    if a.dtype != b.dtype:
        raise RuntimeError(f"expected {what} to have the same dtype, but got: {_ctype(a.dtype)} != "
                           f"{_ctype(b.dtype)}")


def _mat_mismatch(a_shape, b_shape):
    return RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({a_shape[0]}x{a_shape[1]} and "
                        f"{b_shape[0]}x{b_shape[1]})")


def _inputs(op, *ts):
    for t in ts:
        _check_tensor(op, t)


# ================================================================ products
@both
def mm(input, mat2, *, out=None):
    """mm(input, mat2, *, out=None) -> Tensor

    Matrix product out = A B, ``A: (n, m)``, ``B: (m, p)`` -> ``(n, p)``:
    out_ij = sum_k A_ik B_kj. Backward: dE/dA = g B^T, dE/dB = A^T g."""
    _inputs("mm", input, mat2)
    if input.ndim != 2:
        raise RuntimeError("self must be a matrix")
    if mat2.ndim != 2:
        raise RuntimeError("mat2 must be a matrix")
    if input.shape[1] != mat2.shape[0]:
        raise _mat_mismatch(input.shape, mat2.shape)
    _same_dtype(input, mat2)
    return write_out(_el.MatMul.apply(input, mat2), out, "mm", (input, mat2))


@both
def bmm(input, mat2, *, out=None):
    """bmm(input, mat2, *, out=None) -> Tensor

    Batched matrix product, ``A: (b, n, m)``, ``B: (b, m, p)`` -> ``(b, n, p)``:
    out_bij = sum_k A_bik B_bkj (no broadcasting). Backward: dE/dA_b = g_b B_b^T,
    dE/dB_b = A_b^T g_b."""
    _inputs("bmm", input, mat2)
    if input.ndim != 3:
        raise RuntimeError("batch1 must be a 3D tensor")
    if mat2.ndim != 3:
        raise RuntimeError("batch2 must be a 3D tensor")
    b, _, m = input.shape
    if mat2.shape[:2] != (b, m):
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: [{b}, {m}] "
                           f"but got: [{mat2.shape[0]}, {mat2.shape[1]}].")
    _same_dtype(input, mat2)
    return write_out(_el.MatMul.apply(input, mat2), out, "bmm", (input, mat2))


@both
def mv(input, vec, *, out=None):
    """mv(input, vec, *, out=None): matrix-vector product, ``A: (n, m)``, ``v: (m,)`` -> ``(n,)``:
    out_i = sum_k A_ik v_k. Backward: dE/dA = g v^T, dE/dv = A^T g."""
    _inputs("mv", input, vec)
    if input.ndim != 2 or vec.ndim != 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got 1, {input.ndim}, {vec.ndim}")
    if input.shape[1] != vec.shape[0]:
        raise RuntimeError(f"size mismatch, got input ({input.shape[0]}), mat ({input.shape[0]}x"
                           f"{input.shape[1]}), vec ({vec.shape[0]})")
    _same_dtype(input, vec)
    return write_out(_el.MatMul.apply(input, vec), out, "mv", (input, vec))


def _check_dot(op, a, b):
    if a.ndim != 1 or b.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {a.ndim}D and {b.ndim}D tensors")
    if a.shape[0] != b.shape[0]:
        raise RuntimeError(f"inconsistent tensor size, expected tensor [{a.shape[0]}] and src [{b.shape[0]}] "
                           f"to have the same number of elements, but got {a.shape[0]} and {b.shape[0]} "
                           "elements respectively")
    if a.dtype != b.dtype:
        raise RuntimeError(f"{op} : expected both vectors to have same dtype, but found "
                           f"{_type_name(a.dtype)} and {_type_name(b.dtype)}")


@both
def dot(input, other, *, out=None):
    """dot(input, other, *, out=None): inner product of two 1-D tensors of the same
    size, out = sum_k a_k b_k (0-dim). Backward: dE/da = g b, dE/db = g a."""
    _inputs("dot", input, other)
    _check_dot("dot", input, other)
    return write_out(_el.MatMul.apply(input, other), out, "dot", (input, other))


both(dot, name="vdot")      # for real tensors vdot is dot (no conjugation to do)


@both
def matmul(input, other, *, out=None):
    """matmul(input, other, *, out=None) -> Tensor

    PyTorch's (and NumPy's) matmul: 1-D x 1-D is ``dot``; 2-D x 2-D is ``mm``;
    a 1-D first argument is a row vector ``(1, m)`` and a 1-D second argument a
    column ``(m, 1)``, the added dim removed afterwards; more dims are batches,
    broadcast: ``(j, 1, n, m) @ (k, m, p) -> (j, k, n, p)``.
    Backward: dE/dA = g B^T, dE/dB = A^T g, each summed over the batch dims it
    was broadcast along."""
    _inputs("matmul", input, other)
    a, b = input, other
    if a.ndim == 0 or b.ndim == 0:
        raise RuntimeError(f"both arguments to matmul need to be at least 1D, but they are {a.ndim}D "
                           f"and {b.ndim}D")
    if a.ndim == 1 and b.ndim == 1:
        _check_dot("dot", a, b)
    elif b.ndim == 1 and a.ndim == 2:
        if a.shape[1] != b.shape[0]:
            raise RuntimeError(f"size mismatch, got input ({a.shape[0]}), mat ({a.shape[0]}x{a.shape[1]}), "
                               f"vec ({b.shape[0]})")
    elif a.ndim <= 2 and b.ndim <= 2:
        sa = a.shape if a.ndim == 2 else (1,) + a.shape
        sb = b.shape if b.ndim == 2 else b.shape + (1,)
        if sa[1] != sb[0]:
            raise _mat_mismatch(sa, sb)
    else:
        sa = a.shape if a.ndim > 1 else (1,) + a.shape
        sb = b.shape if b.ndim > 1 else b.shape + (1,)
        batch_a, batch_b = sa[:-2], sb[:-2]
        batch = _broadcast_batch(batch_a, batch_b)
        if sa[-1] != sb[-2]:
            raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                               f"[{batch}, {sa[-1]}] but got: [{batch}, {sb[-2]}].")
    _same_dtype(a, b)
    return write_out(_el.MatMul.apply(a, b), out, "matmul", (input, other))


def _broadcast_batch(sa, sb):
    n = builtins.max(len(sa), len(sb))
    pa, pb = (1,) * (n - len(sa)) + tuple(sa), (1,) * (n - len(sb)) + tuple(sb)
    for i, (x, y) in enumerate(zip(pa, pb)):
        if x != y and x != 1 and y != 1:
            raise RuntimeError(f"The size of tensor a ({x}) must match the size of tensor b ({y}) at "
                               f"non-singleton dimension {i}")
    return math.prod(builtins.max(x, y) for x, y in zip(pa, pb))


def _as_operand(o, like):
    if isinstance(o, Tensor):
        return o
    return Tensor._wrap(array_module(like.array).asarray(o, dtype=like.array.dtype))


# The ``@`` operator runs the same checks (and gives PyTorch's messages).
tensor_method(lambda self, other: matmul(self, _as_operand(other, self)), name="__matmul__")
tensor_method(lambda self, other: matmul(_as_operand(other, self), self), name="__rmatmul__")


class Outer(Function):
    """out_ij = a_i b_j, ``a: (n,)``, ``b: (m,)`` -> ``(n, m)``;
    dE/da_i = sum_j g_ij b_j, dE/db_j = sum_i g_ij a_i."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a[:, None] * b[None, :]

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        na, nb = ctx.needs_input_grad
        return (g @ b if na else None), (g.T @ a if nb else None)


@both
def outer(input, vec2, *, out=None):
    """outer(input, vec2, *, out=None): the outer product out_ij = a_i b_j of two 1-D
    tensors, ``(n,)`` and ``(m,)`` -> ``(n, m)``. Backward: dE/da = g b, dE/db = g^T a."""
    _inputs("outer", input, vec2)
    if input.ndim != 1:
        raise RuntimeError(f"outer: Expected 1-D argument self, but got {input.ndim}-D")
    if vec2.ndim != 1:
        raise RuntimeError(f"outer: Expected 1-D argument vec2, but got {vec2.ndim}-D")
    _same_dtype(input, vec2, "input and vec2")
    return write_out(Outer.apply(input, vec2), out, "outer", (input, vec2))


both(outer, name="ger")


class ScaledAdd(Function):
    """out = beta input + alpha product, ``input`` broadcast to the product's shape
    (the ``add`` of addmm/addmv/baddbmm). With beta = 0 the input is not read, so
    its NaN and inf do not reach out (PyTorch's rule).
    dE/dinput = beta g (summed over the broadcast axes), dE/dproduct = alpha g."""

    @staticmethod
    def forward(ctx, input, product, beta, alpha):
        ctx.meta = (input.shape, beta, alpha)
        out = product if alpha == 1 else product * alpha
        if beta != 0:
            out = out + (input if beta == 1 else input * beta)
        return out

    @staticmethod
    def backward(ctx, g):
        shape, beta, alpha = ctx.meta
        ni, npr, _, _ = ctx.needs_input_grad
        gi = _el.unbroadcast(g * beta, shape) if ni else None
        return gi, (g * alpha if npr else None), None, None


def _scaled_sum(op, input, product, beta, alpha):
    """beta * input + alpha * product, ``input`` broadcastable to the product's shape."""
    shape = tuple(product.shape)
    try:
        if np.broadcast_shapes(input.shape, shape) != shape:
            raise ValueError
    except ValueError:
        raise RuntimeError(f"{op}(): the input of shape {list(input.shape)} does not broadcast to the "
                           f"product's shape {list(shape)}") from None
    return ScaledAdd.apply(input, product, beta, alpha)


@both
def addmm(input, mat1, mat2, *, beta=1, alpha=1, out=None):
    """addmm(input, mat1, mat2, *, beta=1, alpha=1, out=None) -> Tensor

    out = beta input + alpha (mat1 @ mat2), ``mat1: (n, m)``, ``mat2: (m, p)``,
    ``input`` broadcastable to ``(n, p)`` (a Linear layer's ``b + x W^T``).
    Backward: dE/dinput = beta g (summed over broadcast axes),
    dE/dmat1 = alpha g mat2^T, dE/dmat2 = alpha mat1^T g."""
    _inputs("addmm", input, mat1, mat2)
    if mat1.ndim != 2:
        raise RuntimeError(f"mat1 must be a matrix, got {mat1.ndim}-D tensor")
    if mat2.ndim != 2:
        raise RuntimeError(f"mat2 must be a matrix, got {mat2.ndim}-D tensor")
    if mat1.shape[1] != mat2.shape[0]:
        raise _mat_mismatch(mat1.shape, mat2.shape)
    _same_dtype(mat1, mat2)
    res = _scaled_sum("addmm", input, _el.MatMul.apply(mat1, mat2), beta, alpha)
    return write_out(res, out, "addmm", (input, mat1, mat2))


@both
def addmv(input, mat, vec, *, beta=1, alpha=1, out=None):
    """addmv(input, mat, vec, *, beta=1, alpha=1, out=None): out = beta input + alpha (mat @ vec),
    ``mat: (n, m)``, ``vec: (m,)``, ``input`` broadcastable to ``(n,)``."""
    _inputs("addmv", input, mat, vec)
    res = _scaled_sum("addmv", input, mv(mat, vec), beta, alpha)
    return write_out(res, out, "addmv", (input, mat, vec))


@both
def baddbmm(input, batch1, batch2, *, beta=1, alpha=1, out=None):
    """baddbmm(input, batch1, batch2, *, beta=1, alpha=1, out=None):
    out_b = beta input_b + alpha (batch1_b @ batch2_b), ``batch1: (b, n, m)``,
    ``batch2: (b, m, p)``, ``input`` broadcastable to ``(b, n, p)``."""
    _inputs("baddbmm", input, batch1, batch2)
    prod = bmm(batch1, batch2)
    res = _scaled_sum("baddbmm", input, prod, beta, alpha)
    return write_out(res, out, "baddbmm", (input, batch1, batch2))


# ================================================================ einsum
_LETTERS = string.ascii_uppercase + string.ascii_lowercase


def _parse_einsum(equation, shapes):
    """Turn ``equation`` into explicit subscripts: one string per operand and one
    for the output, with every ``...`` spelled out as letters, and every size-1
    dim that broadcasts against a larger one renamed to a letter of its own
    (a size-1 dim summed away is the same as a broadcast one).

    Returns ``(terms, out, sizes)``.
    """
    eq = equation.replace(" ", "")
    if eq.count("->") > 1:
        raise RuntimeError("einsum(): more than one '->' found in the equation")
    lhs, rhs = eq.split("->") if "->" in eq else (eq, None)
    terms = lhs.split(",")
    if len(terms) > len(shapes):
        raise RuntimeError("einsum(): fewer operands were provided than specified in the equation")
    if len(terms) < len(shapes):
        raise RuntimeError("einsum(): more operands were provided than specified in the equation")
    for i, ch in enumerate(eq):
        if ch not in _LETTERS and ch not in ".,->":
            raise RuntimeError(f"einsum(): invalid subscript given at index {i} in the equation string, "
                               "subscripts must be in [a-zA-Z]")
    for t in terms + ([rhs] if rhs is not None else []):
        if t.replace("...", "").count(".") or t.count("...") > 1:
            raise RuntimeError("einsum(): found '.' for operand that is not part of any ellipsis")
    free = iter(c for c in _LETTERS if c not in eq)

    def fresh():
        try:
            return next(free)
        except StopIteration:
            raise RuntimeError("einsum(): too many dimensions: the equation uses all 52 letters") from None

    ell_ndims = []
    for i, (t, shape) in enumerate(zip(terms, shapes)):
        n_named = len(t.replace("...", ""))
        if "..." in t:
            if n_named > len(shape):
                raise RuntimeError(f"einsum(): the number of subscripts in the equation ({n_named}) is more "
                                   f"than the number of dimensions ({len(shape)}) for operand {i}")
            ell_ndims.append(len(shape) - n_named)
        elif n_named != len(shape):
            raise RuntimeError(f"einsum(): the number of subscripts in the equation ({n_named}) does not match "
                               f"the number of dimensions ({len(shape)}) for operand {i} and no ellipsis "
                               "was given")
    has_ell = builtins.any("..." in t for t in terms)
    ell = [fresh() for _ in range(builtins.max(ell_ndims, default=0))]
    terms = [t.replace("...", "".join(ell[len(ell) - (len(s) - len(t.replace('...', ''))):]))
             if "..." in t else t for t, s in zip(terms, shapes)]

    sizes = {}
    for i, (t, shape) in enumerate(zip(terms, shapes)):
        seen = {}
        for c, s in zip(t, shape):
            if c in seen and seen[c] != s:
                raise RuntimeError(f"einsum(): subscript {c} is repeated for operand {i} but the sizes "
                                   f"don't match, {s} != {seen[c]}")
            seen[c] = s
            if s != 1 and sizes.get(c, 1) not in (1, s):
                raise RuntimeError(f"einsum(): subscript {c} has size {s} for operand {i} which does not "
                                   f"broadcast with previously seen size {sizes[c]}")
            if s != 1 or c not in sizes:
                sizes[c] = s

    if rhs is None:
        counts = {}
        for t in terms:
            for c in t:
                counts[c] = counts.get(c, 0) + 1
        out = "".join(ell) + "".join(sorted(c for c, n in counts.items() if n == 1 and c not in ell))
    else:
        if "..." in rhs and not has_ell:
            raise RuntimeError("einsum(): ellipsis in the output but in no input operand")
        out = rhs.replace("...", "".join(ell))
        for c in out:
            if out.count(c) > 1:
                raise RuntimeError(f"einsum(): output subscript {c} appears more than once in the output")
            if c not in sizes:
                raise RuntimeError(f"einsum(): output subscript {c} does not appear in the equation for any "
                                   "input operand")

    renamed = []
    for t, shape in zip(terms, shapes):
        letters = []
        for c, s in zip(t, shape):
            if s == 1 and sizes[c] != 1:
                c = fresh()
                sizes[c] = 1
            letters.append(c)
        renamed.append("".join(letters))
    return renamed, out, sizes


def _einsum_arrays(xp, subs, out, arrays):
    return xp.einsum(",".join(subs) + "->" + out, *arrays, optimize=len(arrays) > 2)


class Einsum(Function):
    """out = einsum(equation, *operands): a sum over the subscripts missing from
    the output, of the product of the operands' entries.

    Backward, operand k: dE/dA_k = einsum(g, the other operands -> A_k's
    subscripts). Two wrinkles: a subscript repeated within A_k ('ii', a
    diagonal) is renamed and tied to its twin by an identity matrix, so the
    gradient lands on the diagonal only; a subscript summed inside A_k alone
    (appearing in no other operand or output) cannot come out of an einsum, so
    the gradient is broadcast along it afterwards (d sum_j a_ij / d a_ij = 1).
    """

    @staticmethod
    def forward(ctx, spec, *arrays):
        subs, out, sizes = spec
        xp = array_module(*arrays)
        ctx.save_for_backward(*arrays)
        ctx.spec = spec
        return xp.asarray(_einsum_arrays(xp, subs, out, arrays))

    @staticmethod
    def backward(ctx, g):
        arrays = ctx.saved_tensors
        subs, out, sizes = ctx.spec
        xp = array_module(g)
        used = set("".join(subs) + out)
        free = iter(c for c in _LETTERS if c not in used)
        grads = [None]
        for k, needs in enumerate(ctx.needs_input_grad[1:]):
            if not needs:
                grads.append(None)
                continue
            ops_subs = [out] + [s for j, s in enumerate(subs) if j != k]
            ops = [g] + [a for j, a in enumerate(arrays) if j != k]
            target = []
            for c in subs[k]:
                if c in target:                     # a diagonal: tie the twin to c by an identity
                    twin = next(free)
                    ops_subs.append(c + twin)
                    ops.append(xp.eye(sizes[c], dtype=g.dtype))
                    c = twin
                target.append(c)
            available = set("".join(ops_subs))
            kept = "".join(c for c in target if c in available)
            gk = xp.asarray(_einsum_arrays(xp, ops_subs, kept, ops))
            missing = tuple(i for i, c in enumerate(target) if c not in available)
            if missing:
                gk = xp.broadcast_to(xp.expand_dims(gk, missing), arrays[k].shape)
            grads.append(xp.ascontiguousarray(gk).astype(g.dtype, copy=False))
        return tuple(grads)


def _sublist_equation(args):
    """``(A, [0, 1], B, [1, 2], [0, 2])`` -> ``('ab,bc->ac', (A, B))``."""
    def letters(sub):
        if not isinstance(sub, (list, tuple)):
            raise TypeError(f"einsum(): expected the equation string first, or operands each followed by "
                            f"a list of int subscripts; received {type(sub).__name__} {sub!r}")
        out = []
        for s in sub:
            if s is Ellipsis:
                out.append("...")
            elif isinstance(s, (int, np.integer)) and 0 <= s < len(_LETTERS):
                out.append(_LETTERS[s])         # 0..25 -> A..Z, 26..51 -> a..z: sorted as the ints
            else:
                raise RuntimeError(f"einsum(): subscript in subscript list is not within the valid range "
                                   f"[0, 52), received {s!r}")
        return "".join(out)
    ops, terms = [], []
    i = 0
    while i + 1 < len(args) and isinstance(args[i], Tensor):
        ops.append(args[i])
        terms.append(letters(args[i + 1]))
        i += 2
    eq = ",".join(terms)
    if i < len(args):
        eq += "->" + letters(args[i])
    return eq, tuple(ops)


@torch_function
def einsum(equation, *operands):
    """einsum(equation, *operands) -> Tensor

    Einstein summation: ``einsum('ij,jk->ik', A, B)`` is ``A @ B``,
    ``einsum('bij,bjk->bik', ...)`` a batched product, ``einsum('ii', A)`` the
    trace, ``einsum('i,j->ij', a, b)`` the outer product. Subscripts are letters
    (a-z, A-Z); ``...`` stands for the remaining dims (broadcast, as are size-1
    dims); without ``->`` the output holds the subscripts used once, in
    alphabetical order, after the ``...`` dims. The operands may also be given
    as one list, or in the sublist form ``einsum(A, [0, 1], B, [1, 2], [0, 2])``
    (ints for subscripts, ``Ellipsis`` for ``...``). All operands must share one dtype.

    Backward: dE/dA_k = einsum of g with the other operands, onto A_k's
    subscripts (see :class:`Einsum`)."""
    if isinstance(equation, Tensor):
        equation, operands = _sublist_equation((equation,) + operands)
    if not isinstance(equation, str):
        raise TypeError(f"einsum(): the first argument must be the equation string, received "
                        f"{type(equation).__name__}")
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    for i, t in enumerate(operands):
        if not isinstance(t, Tensor):
            raise TypeError(f"einsum(): operand {i} must be a Tensor, not {type(t).__name__}")
    spec = _parse_einsum(equation, [t.shape for t in operands])
    for i, t in enumerate(operands[1:], 1):
        if t.dtype != operands[0].dtype:
            raise RuntimeError(f"einsum(): expected all operands to have the same dtype; operand 0 is "
                               f"{_type_name(operands[0].dtype)} and operand {i} is {_type_name(t.dtype)}")
    return Einsum.apply(spec, *operands)


# ================================================================ norms
class VectorNorm(Function):
    """out = (sum_k |x_k|^p)^(1/p) over ``axes``; p = inf: max |x_k|, p = -inf:
    min |x_k|, p = 0: the count of nonzeros.

    dE/dx_k = g sign(x_k) |x_k|^(p-1) / out^(p-1); p = 2: g x_k / out, p = 1:
    g sign(x_k); p = +-inf: g sign(x_k) split evenly among the k reaching the
    extreme; p = 0: 0. Where out = 0 (x = 0) the gradient is 0 (PyTorch's
    subgradient), and so is it at x_k = 0 for p < 1.
    """

    @staticmethod
    def forward(ctx, x, p, axes, keepdim):
        xp = array_module(x)
        a = xp.abs(x)
        if p == math.inf:
            out = a.max(axis=axes, keepdims=True)
        elif p == -math.inf:
            out = a.min(axis=axes, keepdims=True)
        elif p == 0:
            out = (x != 0).sum(axis=axes, keepdims=True).astype(x.dtype)
        elif p == 1:
            out = a.sum(axis=axes, keepdims=True)
        elif p == 2:
            out = xp.sqrt((x * x).sum(axis=axes, keepdims=True))
        else:
            with np.errstate(divide="ignore"):      # 0^p = inf for p < 0, then the norm is 0
                out = (a ** p).sum(axis=axes, keepdims=True) ** (1.0 / p)
        ctx.save_for_backward(x, out)
        ctx.meta = (p, axes)
        return out if keepdim else out.reshape([s for i, s in enumerate(out.shape) if i not in axes])

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        p, axes = ctx.meta
        return VectorNorm._grad(x, out, g.reshape(out.shape), p, axes).astype(g.dtype, copy=False), None, None, None

    @staticmethod
    def _grad(x, out, g, p, axes):
        xp = array_module(g)
        if p == 0:
            return xp.zeros_like(x)
        sign = xp.sign(x)
        if p == 1:
            return g * sign
        safe = xp.where(out == 0, 1, out)
        if p == 2:
            return xp.where(out == 0, 0, g * x / safe)
        a = xp.abs(x)
        if p in (math.inf, -math.inf):
            hit = a == out
            return g * sign * hit / hit.sum(axis=axes, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = xp.where(a == 0, 0, xp.where(a == 0, 1, a) ** (p - 1)) / safe ** (p - 1)
        return xp.where(out == 0, 0, g * sign * scale)


class NuclearNorm(Function):
    """out = sum of the singular values of each matrix (the last two dims);
    with A = U S V^T (reduced SVD), dE/dA = g U V^T."""

    @staticmethod
    def forward(ctx, x):
        xp = array_module(x)
        u, s, vh = xp.linalg.svd(x, full_matrices=False)
        ctx.save_for_backward(u, vh)
        return s.sum(axis=-1).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        u, vh = ctx.saved_tensors
        return (g[..., None, None] * (u @ vh)).astype(g.dtype, copy=False)


def _nuclear(x, axes, keepdim):
    moved = x.permute(*[d for d in range(x.ndim) if d not in axes], *axes)
    out = NuclearNorm.apply(moved)
    if keepdim:
        for d in sorted(axes):
            out = out.unsqueeze(d)
    return out


@both
def norm(input, p="fro", dim=None, keepdim=False, out=None, dtype=None):
    """norm(input, p='fro', dim=None, keepdim=False, out=None, dtype=None) -> Tensor

    ``p`` a number (or ``inf``/``-inf``): the vector norm (sum |x|^p)^(1/p) over
    ``dim`` (an int, a tuple of ints, or None for all elements).
    ``p='fro'``: the Frobenius norm sqrt(sum x^2) over all elements, one dim or
    a 2-tuple of dims. ``p='nuc'``: the nuclear norm (sum of singular values)
    of the matrices over a 2-tuple ``dim`` (or of a 2-D input).
    Backward (p = 2 / 'fro'): dE/dx = g x / ||x||, 0 where ||x|| = 0; general p:
    g sign(x) |x|^(p-1) / ||x||^(p-1) (see :class:`VectorNorm`).
    Floating-point inputs only."""
    _check_tensor("norm", input)
    if dtype is not None:
        input = input.to(dtype)
    if input.dtype.kind not in "fc":
        raise RuntimeError(f"linalg.vector_norm: Expected a floating point or complex tensor as input. "
                           f"Got {_type_name(input.dtype)}")
    if isinstance(dim, (list, tuple)):
        dims = tuple(dim)
    else:
        dims = None if dim is None else (dim,)
    if isinstance(p, str):
        if p not in ("fro", "nuc"):
            raise RuntimeError(f"linalg.matrix_norm: Order {p} not supported.")
        if p == "nuc" or (dims is not None and len(dims) > 2):
            if dims is None:
                if input.ndim != 2:
                    raise RuntimeError(f"linalg.matrix_norm: dim must be a 2-tuple. Got "
                                       f"{' '.join(str(d) for d in range(input.ndim))}")
                dims = (0, 1)
            if len(dims) != 2:
                raise RuntimeError(f"linalg.matrix_norm: dim must be a 2-tuple. Got "
                                   f"{' '.join(str(d) for d in dims)}")
        if p == "nuc":
            axes = normalize_dims(dims, input.ndim, "norm")
            if len(axes) != 2:
                raise RuntimeError(f"linalg.matrix_norm: dims must be different. Got ({dims[0]}, {dims[1]})")
            return write_out(_nuclear(input, axes, keepdim), out, "norm", (input,))
        p = 2
    if not isinstance(p, numbers.Real):
        raise TypeError(f"norm(): p must be a number, 'fro' or 'nuc', received {p!r}")
    axes = normalize_dims(dims, input.ndim, "norm") if dims is not None else tuple(range(input.ndim))
    res = VectorNorm.apply(input, float(p), axes, keepdim)
    return write_out(res, out, "norm", (input,))


# ================================================================ more products
class Trace(Function):
    """out = sum_i A_ii of a matrix ``(n, m)``;  dE/dA = g I (the gradient lands on the diagonal)."""

    @staticmethod
    def forward(ctx, x):
        ctx.shape = x.shape
        xp = array_module(x)
        return xp.asarray(xp.trace(x), dtype=x.dtype if x.dtype.kind in "fc" else np.int64)

    @staticmethod
    def backward(ctx, g):
        return array_module(g).eye(*ctx.shape, dtype=g.dtype) * g


@both
def trace(input):
    """trace(input): the sum of the diagonal of a 2-D tensor; dE/dA = g I.
    Integer inputs give int64."""
    _check_tensor("trace", input)
    if input.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {input.ndim}")
    return Trace.apply(input)


@torch_function
def tensordot(a, b, dims=2, out=None):
    """tensordot(a, b, dims=2, out=None) -> Tensor

    Contract the last ``dims`` dims of ``a`` with the first ``dims`` of ``b``
    (or the dims listed in ``dims=([a dims], [b dims])``); the other dims of a,
    then of b, form the output. Computed (and differentiated) as an einsum."""
    _inputs("tensordot", a, b)
    if isinstance(dims, (int, np.integer)):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        da, db = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    else:
        da, db = ([d] if isinstance(d, int) else list(d) for d in dims)
        if len(da) != len(db):
            raise RuntimeError("both dimension lists should have same length")
    da = [d % builtins.max(a.ndim, 1) for d in da]
    db = [d % builtins.max(b.ndim, 1) for d in db]
    for x, y in zip(da, db):
        if a.shape[x] != b.shape[y]:
            raise RuntimeError(f"contracted dimensions need to match, but first has size {a.shape[x]} in dim "
                               f"{x - a.ndim if isinstance(dims, int) else x} and second has size {b.shape[y]} "
                               f"in dim {y}")
    letters = iter(_LETTERS)
    sa = [next(letters) for _ in range(a.ndim)]
    sb = [next(letters) for _ in range(b.ndim)]
    for x, y in zip(da, db):
        sb[y] = sa[x]
    out_subs = [c for i, c in enumerate(sa) if i not in da] + [c for i, c in enumerate(sb) if i not in db]
    res = einsum("".join(sa) + "," + "".join(sb) + "->" + "".join(out_subs), a, b)
    return write_out(res, out, "tensordot", (a, b))


@both
def inner(input, other, *, out=None):
    """inner(input, other, *, out=None): sum over the last dims, out[i.., j..] =
    sum_k a[i.., k] b[j.., k] (a product when either is 0-dim)."""
    _inputs("inner", input, other)
    if input.ndim == 0 or other.ndim == 0:
        return write_out(input * other, out, "inner", (input, other))
    if input.shape[-1] != other.shape[-1]:
        raise RuntimeError(f"inner() the last dimension must match on both input tensors but got shapes "
                           f"{list(input.shape)} and {list(other.shape)}")
    return write_out(tensordot(input, other, ([-1], [-1])), out, "inner", (input, other))


@both
def dist(input, other, p=2):
    """dist(input, other, p=2): the p-norm of input - other (broadcast); its gradient
    is the norm's, through the difference."""
    _inputs("dist", input, other)
    _broadcast_batch(input.shape, other.shape)
    return norm(input - other, p=float(p))


# ================================================================ inverse and determinant
def _check_square(op, x):
    _check_tensor(op, x)
    if x.ndim < 2:
        raise RuntimeError(f"linalg.{op}: The input tensor A must have at least 2 dimensions.")
    if x.shape[-1] != x.shape[-2]:
        raise RuntimeError(f"linalg.{op}: A must be batches of square matrices, but they are "
                           f"{x.shape[-2]} by {x.shape[-1]} matrices")
    if x.dtype.kind not in "fc":
        raise RuntimeError(f"linalg.{op}: Expected a floating point or complex tensor as input. "
                           f"Got {_type_name(x.dtype)}")


def _mT(a):
    return array_module(a).swapaxes(a, -1, -2)


class Inverse(Function):
    """out = A^-1 (each matrix of ``(..., n, n)``);
    dE/dA = -A^-T g A^-T (from d(A^-1) = -A^-1 dA A^-1)."""

    @staticmethod
    def forward(ctx, a):
        xp = array_module(a)
        try:
            out = xp.linalg.inv(a)
        except np.linalg.LinAlgError:
            raise RuntimeError("linalg.inv: the inversion could not be completed because the input matrix "
                               "is singular.") from None
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (inv,) = ctx.saved_tensors
        inv_t = _mT(inv)
        return -(inv_t @ g @ inv_t)


@both
def inverse(input, *, out=None):
    """inverse(input, *, out=None): the matrix inverse of each ``(..., n, n)`` matrix;
    dE/dA = -A^-T g A^-T. A singular matrix raises RuntimeError."""
    _check_square("inv", input)
    return write_out(Inverse.apply(input), out, "inverse", (input,))


def _adjugate_t(a):
    """adj(A)^T = the cofactor matrix, from the SVD so singular matrices need no
    division: A = U S V^T gives adj(A) = det(U) det(V) V diag(prod_{j != i} s_j) U^T."""
    xp = array_module(a)
    u, s, vh = xp.linalg.svd(a)
    others = _exclusive_products(s, s.ndim - 1)      # prod_{j != i} s_j, exact when some s_j = 0
    sign = xp.linalg.det(u) * xp.linalg.det(vh)
    adj = sign[..., None, None] * (_mT(vh) * others[..., None, :]) @ _mT(u)
    return _mT(adj)


class Det(Function):
    """out = det A (each matrix of ``(..., n, n)``);
    dE/dA = g adj(A)^T, the cofactor matrix (= g det(A) A^-T when A is
    invertible; the cofactors stay right for singular A, where det still moves
    linearly with each entry)."""

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return array_module(a).linalg.det(a)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return (g[..., None, None] * _adjugate_t(a)).astype(g.dtype, copy=False)


@both
def det(input):
    """det(input): the determinant of each ``(..., n, n)`` matrix; dE/dA = g adj(A)^T."""
    _check_square("det", input)
    return Det.apply(input)


class LogAbsDet(Function):
    """out = log |det A|;  dE/dA = g A^-T (from d log|det A| = tr(A^-1 dA))."""

    @staticmethod
    def forward(ctx, a):
        xp = array_module(a)
        sign, logabs = xp.linalg.slogdet(a)
        ctx.save_for_backward(a)
        return logabs.astype(a.dtype, copy=False), sign.astype(a.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        xp = array_module(g)
        return (g[..., None, None] * _mT(xp.linalg.inv(a))).astype(g.dtype, copy=False)


SlogdetResult = namedtuple("slogdet", ["sign", "logabsdet"])


@both
def slogdet(input):
    """slogdet(input) -> (sign, logabsdet): det A = sign e^logabsdet without overflow;
    d logabsdet / dA = A^-T (sign has no gradient)."""
    _check_square("slogdet", input)
    logabs, sign = LogAbsDet.apply(input)
    return SlogdetResult(sign, logabs)


@both
def logdet(input):
    """logdet(input): log det A (NaN where det A < 0, -inf where it is 0); dE/dA = g A^-T,
    and 0 where det A < 0 (the NaN output is constant there, as PyTorch treats it)."""
    _check_square("logdet", input)
    logabs, sign = LogAbsDet.apply(input)
    xp = array_module(sign.array)
    dt = logabs.array.dtype
    bad = Tensor._wrap(xp.where(sign.array < 0, xp.nan, xp.where(sign.array == 0, -xp.inf, 0)).astype(dt))
    if bool((sign.array < 0).any()):
        logabs = logabs * Tensor._wrap(xp.where(sign.array < 0, 0, 1).astype(dt))
    return logabs + bad
