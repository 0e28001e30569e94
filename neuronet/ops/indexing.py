"""Indexing ops: gather/scatter along a dim, index_select/add/fill/copy, masks, take, nonzero.

They read or write elements at positions named by an index tensor, so each
backward routes the gradient along the same positions: a read (``gather``,
``index_select``, ``take``, ``masked_select``) adds the output gradient back
into zeros at the positions it read; a write (``scatter``, ``index_fill``,
``index_copy``, ``masked_fill``, ``masked_scatter``) sends to the input the
gradient of the positions it did not overwrite, and to the written values the
gradient of the positions they landed in. Every op is PyTorch's, with its
argument order and checks (out-of-range indices name the index and the size).
"""
from __future__ import annotations

import numbers

import numpy as np

from ..autograd.function import Function
from ..backend import array_module, to_numpy
from ..backend import scatter_add as add_at
from ._registry import both, tensor_method
from .elementwise import unbroadcast


# ---------------------------------------------------------------- shared helpers
def wrap_dim(dim, ndim):
    """PyTorch's dim rule: ``dim`` in [-ndim, ndim - 1] (a 0-d tensor accepts -1 and 0)."""
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
        raise TypeError(f"dim must be an int, received {dim!r}")
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})")
    return int(dim) % n


def _tensor():
    from ..tensor import Tensor
    return Tensor


def _raw(x):
    return x.array if isinstance(x, _tensor()) else x


def index_array(index, like, op, what="index"):
    """The integer ndarray behind ``index`` (a Tensor, an ndarray, a list, an int),
    on ``like``'s array module."""
    xp = array_module(like)
    arr = _raw(index)
    if not hasattr(arr, "dtype"):
        arr = np.asarray(arr)
        if arr.dtype.kind == "f" and arr.size == 0:
            arr = arr.astype(np.int64)
    if arr.dtype.kind not in "iu":
        raise RuntimeError(f"{op}(): Expected dtype int64 for {what}, received {arr.dtype}")
    return xp.asarray(arr)


def _mask_array(mask, like, op):
    xp = array_module(like)
    arr = _raw(mask)
    arr = xp.asarray(arr)
    if arr.dtype != np.bool_:
        raise RuntimeError(f"{op} only supports boolean masks, but got mask with dtype {arr.dtype}")
    return arr


def _check_bounds(index, size, dim, op, exc=RuntimeError, allow_negative=False):
    """Raise ``exc`` naming the first index outside [0, size) (or [-size, size))."""
    if index.size == 0:
        return
    lo, hi = int(index.min()), int(index.max())
    low_limit = -size if allow_negative else 0
    bad = lo if lo < low_limit else (hi if hi >= size else None)
    if bad is not None:
        raise exc(f"{op}(): index {bad} is out of bounds for dimension {dim} with size {size}")


def along_dim(index, dim):
    """The advanced-index tuple that makes element ``p`` of ``index`` address
    ``x[p_0, ..., index[p], ..., p_n]`` (``index[p]`` at position ``dim``)."""
    xp = array_module(index)
    parts = []
    for d in range(index.ndim):
        if d == dim:
            parts.append(index)
        else:
            shape = [1] * index.ndim
            shape[d] = index.shape[d]
            parts.append(xp.arange(index.shape[d]).reshape(shape))
    return tuple(parts)


def _leading(shape):
    """Slices taking the leading block of an array with ``shape``."""
    return tuple(slice(0, s) for s in shape)


def _value_operand(value, like, op):
    """A fill value: a number, or a 0-d tensor (which may carry a gradient)."""
    T = _tensor()
    if isinstance(value, T):
        if value.ndim != 0:
            raise RuntimeError(f"{op} only supports a 0-dimensional value tensor, but got tensor with "
                               f"{value.ndim} dimension(s).")
        return value
    if not isinstance(value, (numbers.Number, np.generic)):
        raise TypeError(f"{op}(): value must be a number or a 0-dim tensor, received {type(value).__name__}")
    xp = array_module(like.array)
    return T._wrap(xp.asarray(value, dtype=like.dtype))


# ---------------------------------------------------------------- gather / scatter
class Gather(Function):
    """out[p] = x[p with p_dim replaced by index[p]].   x: any shape; index: same ndim
    (index.size(d) <= x.size(d) for d != dim); out: index's shape.
    dE/dx = zeros with g[p] added at x[..., index[p], ...] (repeats accumulate)."""

    @staticmethod
    def forward(ctx, x, index, dim):
        ctx.meta = (x.shape, index, dim)
        return x[along_dim(index, dim)]

    @staticmethod
    def backward(ctx, g):
        shape, index, dim = ctx.meta
        xp = array_module(g)
        gx = xp.zeros(shape, dtype=g.dtype)
        add_at(gx, along_dim(index, dim), g)
        return gx, None, None


def _check_gather_shapes(x, index, dim, op, src=None):
    if index.ndim != x.ndim and not (index.ndim <= 1 and x.ndim <= 1):
        raise RuntimeError(f"{op}(): Index tensor must have the same number of dimensions as input tensor "
                           f"(index has {index.ndim}, input has {x.ndim})")
    for d in range(index.ndim):
        too_big = (d != dim and index.shape[d] > x.shape[d]) or (src is not None and index.shape[d] > src.shape[d])
        if too_big:
            extra = f" and to be no larger than src {list(src.shape)}" if src is not None else ""
            raise RuntimeError(f"{op}(): Expected index {list(index.shape)} to be no larger than self "
                               f"{list(x.shape)} apart from dimension {dim}{extra}")


def _as_1d(x):
    """0-d arrays become 1-element 1-d arrays (the along-dim ops then work unchanged)."""
    return x.reshape(1) if x.ndim == 0 else x


@both
def gather(input, dim, index, *, sparse_grad=False):
    """``out[i][j][k] = input[i][index[i][j][k]][k]`` for ``dim=1`` (likewise for any dim).

    input: (..., N, ...); index: int64, same number of dims, each size <= input's
    except along ``dim``; out: index's shape. Differentiable in ``input``.
    """
    T = _tensor()
    d = wrap_dim(dim, input.ndim)
    idx = index_array(index, input.array, "gather")
    _check_gather_shapes(input.array, idx, d, "gather")
    if input.ndim == 0 or idx.ndim == 0:
        out_shape = idx.shape
        res = gather(input.reshape(-1) if input.ndim == 0 else input, 0, T._wrap(_as_1d(idx)))
        return res.reshape(out_shape)
    _check_bounds(idx, input.shape[d], d, "gather")
    return Gather.apply(input, idx, d)


class Scatter(Function):
    """out = x with out[..., index[p], ...] = src[p] (``reduce``: None writes,
    'add' adds, 'multiply' multiplies).   dE/dx = g with the written positions
    zeroed (None) or g itself ('add'); dE/dsrc[p] = g at the position p landed in."""

    @staticmethod
    def forward(ctx, x, src, index, dim, reduce):
        where = along_dim(index, dim)
        vals = src[_leading(index.shape)] if src.ndim else src
        ctx.meta = (where, src.shape, index.shape, reduce)
        out = x.copy()
        if reduce is None:
            out[where] = vals
        elif reduce == "add":
            add_at(out, where, vals)
        else:   # multiply: NumPy's unbuffered product at repeated positions
            xp = array_module(x)
            if xp is np:
                np.multiply.at(out, where, vals)
            else:  # pragma: no cover - needs a GPU; CuPy has no multiply.at, and this
                # deprecated mode is rare enough to run on the host
                host = to_numpy(out)
                np.multiply.at(host, tuple(to_numpy(w) for w in where), to_numpy(vals))
                out = xp.asarray(host)
        return out

    @staticmethod
    def backward(ctx, g):
        where, src_shape, index_shape, reduce = ctx.meta
        if reduce == "multiply":
            raise RuntimeError("the derivative of scatter with reduce='multiply' is not implemented "
                               "(as in PyTorch); use scatter_reduce(..., reduce='prod'), which has one")
        xp = array_module(g)
        gx = None
        if ctx.needs_input_grad[0]:
            gx = g
            if reduce is None:
                gx = g.copy()
                gx[where] = 0
        gsrc = None
        if ctx.needs_input_grad[1]:
            gsrc = xp.zeros(src_shape, dtype=g.dtype)
            gsrc[_leading(index_shape)] = g[where]
        return gx, gsrc, None, None, None


class ScatterAdd(Scatter):
    """``Scatter`` with reduce='add' (its own node name, as in PyTorch)."""


def _scatter(input, dim, index, src, reduce, op):
    T = _tensor()
    if reduce is not None and reduce not in ("add", "multiply"):
        raise RuntimeError(f"{op}(): reduce argument must be either add or multiply, received {reduce!r}")
    d = wrap_dim(dim, input.ndim)
    idx = index_array(index, input.array, op)
    if isinstance(src, T):
        if src.dtype != input.dtype:
            raise RuntimeError(f"{op}(): Expected self.dtype to be equal to src.dtype "
                               f"(self: {input.dtype}, src: {src.dtype})")
        _check_gather_shapes(input.array, idx, d, op, src.array if src.ndim else None)
    else:
        src = _value_operand(src, input, op)     # a number: broadcast to every indexed position
        _check_gather_shapes(input.array, idx, d, op)
    if input.ndim == 0:
        return _scatter(input.reshape(1), 0, T._wrap(_as_1d(idx)), src.reshape(-1), reduce, op).reshape(())
    _check_bounds(idx, input.shape[d], d, op)
    if src.ndim == 0 and src.requires_grad:
        src = src.expand(idx.shape)        # a 0-d tensor value gets the summed gradient through Expand
    return (ScatterAdd if op == "scatter_add" else Scatter).apply(input, src, idx, d, reduce)


@both
def scatter(input, dim, index, src=None, value=None, *, reduce=None):
    """Out-of-place scatter: a copy of ``input`` with
    ``out[i][index[i][j]] = src[i][j]`` for ``dim=1`` (``src`` a tensor, or a number
    given positionally or as ``value``). With repeated indices the last write wins
    (PyTorch leaves it unspecified). ``reduce='add'|'multiply'`` combines instead.

    input: any shape; index: int64, same ndim, sizes <= src's and <= input's
    (apart from ``dim``); differentiable in ``input`` and ``src``.
    """
    if src is None:
        if value is None:
            raise TypeError("scatter(): expected src (a tensor) or value (a number)")
        src = value
    return _scatter(input, dim, index, src, reduce, "scatter")


@both
def scatter_add(input, dim, index, src):
    """A copy of ``input`` with ``out[i][index[i][j]] += src[i][j]`` (``dim=1``);
    repeated indices accumulate. dE/dinput = g; dE/dsrc = g gathered at index."""
    if not isinstance(src, _tensor()):
        raise TypeError(f"scatter_add(): src must be a tensor, received {type(src).__name__}")
    return _scatter(input, dim, index, src, "add", "scatter_add")


@tensor_method
def scatter_(self, dim, index, src=None, value=None, *, reduce=None):
    """In-place :func:`scatter`."""
    return self._apply_inplace(lambda s: scatter(s, dim, index, src, value, reduce=reduce), "scatter_()",
                               clone=False)


@tensor_method
def scatter_add_(self, dim, index, src):
    """In-place :func:`scatter_add`."""
    return self._apply_inplace(lambda s: scatter_add(s, dim, index, src), "scatter_add_()", clone=False)


def _reduce_at(op, target, where, vals):
    """``target[where] = op(target[where], vals)`` with repeated positions combined
    one after another (NumPy's ``ufunc.at``; CuPy's scatter_add/max/min)."""
    xp = array_module(target)
    if xp is np:
        getattr(np, op).at(target, where, vals)
        return target
    import cupyx  # pragma: no cover - needs a GPU
    fn = {"add": cupyx.scatter_add, "maximum": cupyx.scatter_max, "minimum": cupyx.scatter_min}.get(op)
    if fn is not None:  # pragma: no cover
        fn(target, where, vals)
        return target
    host = to_numpy(target)  # pragma: no cover - products: no CuPy kernel, done on the host
    getattr(np, op).at(host, tuple(to_numpy(w) for w in where), to_numpy(vals))
    target[...] = xp.asarray(host)
    return target


def _lowest(dtype, largest):
    if np.dtype(dtype).kind == "f":
        return -np.inf if largest else np.inf
    info = np.iinfo(dtype)
    return info.min if largest else info.max


class ScatterReduce(Function):
    """out[q] = reduce over {x[q] (if include_self)} and every src[p] whose index
    sends it to q (q = p with p_dim replaced by index[p]); positions no src reaches
    keep x[q].  reduce: 'sum', 'mean', 'prod', 'amax', 'amin'.

    Backward, per reached position q with upstream gradient g[q], for each
    contribution c: sum -> g; mean -> g / count; prod -> g * (product of the
    other contributions) (computed from the zero count, so zeros are exact);
    amax/amin -> g / (number of contributions equal to the result) for those,
    0 for the others (ties share the gradient, as in PyTorch)."""

    @staticmethod
    def forward(ctx, x, src, index, dim, reduce, include_self):
        xp = array_module(x)
        where = along_dim(index, dim)
        vals = src[_leading(index.shape)]
        hits = xp.zeros(x.shape, dtype=np.int64)
        _reduce_at("add", hits, where, xp.ones(index.shape, dtype=np.int64))
        reached = hits > 0
        if reduce in ("sum", "mean"):
            out = x.copy() if include_self else xp.where(reached, 0, x).astype(x.dtype)
            _reduce_at("add", out, where, vals)
            if reduce == "mean":
                count = hits + (1 if include_self else 0)
                safe = xp.maximum(count, 1)
                mean = out // safe if x.dtype.kind in "iu" else out / safe
                out = xp.where(reached, mean, x).astype(x.dtype)
        elif reduce == "prod":
            out = x.copy() if include_self else xp.where(reached, 1, x).astype(x.dtype)
            _reduce_at("multiply", out, where, vals)
        else:
            largest = reduce == "amax"
            out = x.copy() if include_self else xp.where(reached, _lowest(x.dtype, largest), x).astype(x.dtype)
            _reduce_at("maximum" if largest else "minimum", out, where, vals)
        ctx.save_for_backward(x, vals, out)
        ctx.meta = (where, hits, src.shape, index.shape, reduce, include_self)
        return out

    @staticmethod
    def backward(ctx, g):
        x, vals, out = ctx.saved_tensors
        where, hits, src_shape, index_shape, reduce, include_self = ctx.meta
        xp = array_module(g)
        reached = hits > 0
        if reduce == "sum":
            d_self, d_src = xp.ones_like(g), xp.ones(index_shape, dtype=g.dtype)
        elif reduce == "mean":
            count = (hits + (1 if include_self else 0)).astype(g.dtype)
            inv = 1 / xp.maximum(count, 1)
            d_self, d_src = inv, inv[where]
        elif reduce == "prod":
            zeros = xp.zeros(x.shape, dtype=np.int64)
            _reduce_at("add", zeros, where, (vals == 0).astype(np.int64))
            nonzero_prod = xp.ones(x.shape, dtype=g.dtype)
            _reduce_at("multiply", nonzero_prod, where, xp.where(vals == 0, 1, vals).astype(g.dtype))
            if include_self:
                zeros = zeros + (x == 0)
                nonzero_prod = nonzero_prod * xp.where(x == 0, 1, x)

            def others(c, nz, pnz):       # the product of the other contributions
                return xp.where(c != 0, xp.where(nz == 0, pnz / xp.where(c == 0, 1, c), 0),
                                xp.where(nz == 1, pnz, 0))
            d_self = others(x, zeros, nonzero_prod)
            d_src = others(vals, zeros[where], nonzero_prod[where])
        else:
            ties = xp.zeros(x.shape, dtype=g.dtype)
            _reduce_at("add", ties, where, (vals == out[where]).astype(g.dtype))
            if include_self:
                ties = ties + (x == out)
            share = 1 / xp.maximum(ties, 1)
            d_self = (x == out) * share
            d_src = (vals == out[where]) * share[where]
        gx = None
        if ctx.needs_input_grad[0]:
            gx = xp.where(reached, g * d_self if include_self else 0, g).astype(g.dtype)
        gsrc = None
        if ctx.needs_input_grad[1]:
            gsrc = xp.zeros(src_shape, dtype=g.dtype)
            gsrc[_leading(index_shape)] = g[where] * d_src
        return gx, gsrc, None, None, None, None


_SCATTER_REDUCTIONS = ("sum", "prod", "mean", "amax", "amin")


@both
def scatter_reduce(input, dim, index, src, reduce, *, include_self=True):
    """A copy of ``input`` where every ``src[p]`` is combined into position
    ``index[p]`` along ``dim`` by ``reduce`` ('sum', 'prod', 'mean', 'amax',
    'amin'), together with input's own value unless ``include_self=False``.
    Differentiable in ``input`` and ``src`` for every reduction."""
    if reduce not in _SCATTER_REDUCTIONS:
        raise RuntimeError(f"scatter_reduce(): reduce argument must be one of {', '.join(_SCATTER_REDUCTIONS)}, "
                           f"received {reduce!r}")
    if not isinstance(src, _tensor()):
        raise TypeError(f"scatter_reduce(): src must be a tensor, received {type(src).__name__}")
    if src.dtype != input.dtype:
        raise RuntimeError(f"scatter_reduce(): Expected self.dtype to be equal to src.dtype "
                           f"(self: {input.dtype}, src: {src.dtype})")
    d = wrap_dim(dim, input.ndim)
    idx = index_array(index, input.array, "scatter_reduce")
    _check_gather_shapes(input.array, idx, d, "scatter_reduce", src.array if src.ndim else None)
    if input.ndim == 0:
        return scatter_reduce(input.reshape(1), 0, _as_1d(idx), src.reshape(-1), reduce,
                              include_self=include_self).reshape(())
    _check_bounds(idx, input.shape[d], d, "scatter_reduce")
    return ScatterReduce.apply(input, src, idx, d, reduce, bool(include_self))


@tensor_method
def scatter_reduce_(self, dim, index, src, reduce, *, include_self=True):
    """In-place :func:`scatter_reduce`."""
    return self._apply_inplace(lambda s: scatter_reduce(s, dim, index, src, reduce, include_self=include_self),
                               "scatter_reduce_()")


@both
def take_along_dim(input, indices, dim=None):
    """``gather`` with broadcasting: ``indices`` and ``input`` broadcast against each
    other except along ``dim``; without ``dim`` both are flattened."""
    T = _tensor()
    idx = index_array(indices, input.array, "take_along_dim", "indices")
    if dim is None:
        return gather(input.reshape(-1), 0, T._wrap(idx.reshape(-1)))
    d = wrap_dim(dim, input.ndim)
    if idx.ndim != input.ndim:
        raise RuntimeError(f"take_along_dim(): input and indices should have the same number of dimensions, "
                           f"but got {input.ndim} dimensions for input, and {idx.ndim} dimensions for indices")
    a = list(input.shape)
    b = list(idx.shape)
    a[d] = b[d] = 1
    try:
        common = np.broadcast_shapes(tuple(a), tuple(b))
    except ValueError:
        raise RuntimeError(f"take_along_dim(): input of shape {list(input.shape)} and indices of shape "
                           f"{list(idx.shape)} do not broadcast apart from dimension {d}") from None
    x_shape = list(common)
    x_shape[d] = input.shape[d]
    i_shape = list(common)
    i_shape[d] = idx.shape[d]
    xp = array_module(input.array)
    x_b = input.expand(tuple(x_shape)) if tuple(x_shape) != input.shape else input
    return gather(x_b, d, T._wrap(xp.broadcast_to(idx, tuple(i_shape))))


# ---------------------------------------------------------------- index_* along one dim
class IndexSelectOutOfRange(IndexError, RuntimeError):
    """An index_select index outside the dim: PyTorch raises IndexError for most
    shapes and RuntimeError for dim 1 of a 2-d tensor (another kernel), so
    this error is both, and code catching either sees it."""


def _dim_index(index, like, dim, op, exc=RuntimeError):
    """A 1-d int index for the index_* ops, checked against ``like.shape[dim]``."""
    idx = index_array(index, like, op)
    if idx.ndim > 1:
        raise IndexError(f"{op}(): Index is supposed to be a vector, received shape {list(idx.shape)}")
    idx = idx.reshape(-1)
    size = like.shape[dim] if like.ndim else 1
    _check_bounds(idx, size, dim, op, exc)
    return idx


def _at(dim, idx):
    return (slice(None),) * dim + (idx,)


class IndexSelect(Function):
    """out = x with only the slices ``index`` along ``dim`` (in that order).
    dE/dx = zeros with g's slices added back at ``index`` (repeats accumulate)."""

    @staticmethod
    def forward(ctx, x, index, dim):
        ctx.meta = (x.shape, index, dim)
        xp = array_module(x)
        return xp.take(x, index, axis=dim)

    @staticmethod
    def backward(ctx, g):
        shape, index, dim = ctx.meta
        xp = array_module(g)
        gx = xp.zeros(shape, dtype=g.dtype)
        add_at(gx, _at(dim, index), g)
        return gx, None, None


@both
def index_select(input, dim, index):
    """The slices of ``input`` at ``index`` (a 1-d int tensor) along ``dim``.
    input: (..., N, ...) -> out: (..., len(index), ...)."""
    d = wrap_dim(dim, input.ndim)
    idx = _dim_index(index, input.array, d, "index_select", IndexSelectOutOfRange)
    if input.ndim == 0:
        return IndexSelect.apply(input.reshape(1), idx, 0).reshape(idx.shape if idx.size != 1 else ())
    return IndexSelect.apply(input, idx, d)


class IndexAdd(Function):
    """out = x with ``alpha * source``'s slices added at ``index`` along ``dim``.
    dE/dx = g;  dE/dsource = alpha * g's slices at ``index``."""

    @staticmethod
    def forward(ctx, x, source, index, dim, alpha):
        ctx.meta = (index, dim, alpha)
        out = x.copy()
        add_at(out, _at(dim, index), source * alpha if alpha != 1 else source)
        return out

    @staticmethod
    def backward(ctx, g):
        index, dim, alpha = ctx.meta
        xp = array_module(g)
        gs = xp.take(g, index, axis=dim) if ctx.needs_input_grad[1] else None
        if gs is not None and alpha != 1:
            gs = gs * alpha
        return g, gs, None, None, None


def _check_source(input, source, idx, d, op):
    if source.ndim != input.ndim and not (source.ndim <= 1 and input.ndim <= 1):
        raise RuntimeError(f"{op}(): source and self must have the same number of dimensions "
                           f"(source: {list(source.shape)}, self: {list(input.shape)})")
    n = source.shape[d] if source.ndim else 1
    if n != idx.size:
        raise RuntimeError(f"{op}(): Number of indices ({idx.size}) should be equal to source.size(dim): "
                           f"({n}), for dim: {d}")
    for k in range(source.ndim):
        if k != d and source.shape[k] != input.shape[k]:
            raise RuntimeError(f"{op}(): source {list(source.shape)} and self {list(input.shape)} must have "
                               f"the same size apart from dimension {d}")
    if source.dtype != input.dtype:
        raise RuntimeError(f"{op}(): self ({input.dtype}) and source ({source.dtype}) must have the same "
                           "scalar type")


@both
def index_add(input, dim, index, source, *, alpha=1):
    """A copy of ``input`` with ``alpha * source[j]`` added to slice ``index[j]``
    along ``dim``; repeated indices accumulate. source: input's shape with
    ``len(index)`` along ``dim``."""
    d = wrap_dim(dim, input.ndim)
    idx = _dim_index(index, input.array, d, "index_add")
    _check_source(input, source, idx, d, "index_add")
    if input.ndim == 0:
        return index_add(input.reshape(1), 0, idx, source.reshape(1), alpha=alpha).reshape(())
    return IndexAdd.apply(input, source, idx, d, alpha)


class IndexFill(Function):
    """out = x with the slices at ``index`` along ``dim`` set to ``value``.
    dE/dx = g with those slices zeroed;  dE/dvalue = sum of g over them (each
    position once, however often it is indexed)."""

    @staticmethod
    def forward(ctx, x, value, index, dim):
        xp = array_module(x)
        mask = xp.zeros(x.shape, dtype=bool)
        mask[_at(dim, index)] = True
        ctx.mask = mask
        return xp.where(mask, value.astype(x.dtype), x)

    @staticmethod
    def backward(ctx, g):
        xp = array_module(g)
        mask = ctx.mask
        gx = xp.where(mask, 0, g) if ctx.needs_input_grad[0] else None
        gv = xp.asarray(g[mask].sum(), dtype=g.dtype) if ctx.needs_input_grad[1] else None
        return gx, gv, None, None


@both
def index_fill(input, dim, index, value):
    """A copy of ``input`` whose slices at ``index`` along ``dim`` hold ``value``
    (a number or a 0-d tensor, differentiable)."""
    d = wrap_dim(dim, input.ndim)
    idx = _dim_index(index, input.array, d, "index_fill", IndexError)
    v = _value_operand(value, input, "index_fill")
    if input.ndim == 0:
        return IndexFill.apply(input.reshape(1), v, idx, 0).reshape(())
    return IndexFill.apply(input, v, idx, d)


class IndexCopy(Function):
    """out = x with slice ``index[j]`` along ``dim`` replaced by ``source``'s slice j.
    dE/dx = g with the replaced slices zeroed;  dE/dsource = g's slices at ``index``."""

    @staticmethod
    def forward(ctx, x, source, index, dim):
        ctx.meta = (index, dim)
        out = x.copy()
        out[_at(dim, index)] = source
        return out

    @staticmethod
    def backward(ctx, g):
        index, dim = ctx.meta
        xp = array_module(g)
        gx = None
        if ctx.needs_input_grad[0]:
            gx = g.copy()
            gx[_at(dim, index)] = 0
        gs = xp.take(g, index, axis=dim) if ctx.needs_input_grad[1] else None
        return gx, gs, None, None


@both
def index_copy(input, dim, index, source):
    """A copy of ``input`` with ``source``'s slices written at ``index`` along ``dim``."""
    d = wrap_dim(dim, input.ndim)
    idx = _dim_index(index, input.array, d, "index_copy", IndexError)
    _check_source(input, source, idx, d, "index_copy")
    if input.ndim == 0:
        return IndexCopy.apply(input.reshape(1), source.reshape(1), idx, 0).reshape(())
    return IndexCopy.apply(input, source, idx, d)


@tensor_method
def index_add_(self, dim, index, source, *, alpha=1):
    """In-place :func:`index_add`."""
    return self._apply_inplace(lambda s: index_add(s, dim, index, source, alpha=alpha), "index_add_()",
                               clone=False)


@tensor_method
def index_fill_(self, dim, index, value):
    """In-place :func:`index_fill`."""
    return self._apply_inplace(lambda s: index_fill(s, dim, index, value), "index_fill_()", clone=False)


@tensor_method
def index_copy_(self, dim, index, source):
    """In-place :func:`index_copy`."""
    return self._apply_inplace(lambda s: index_copy(s, dim, index, source), "index_copy_()", clone=False)


# ---------------------------------------------------------------- masks
class MaskedFill(Function):
    """out = where(mask, value, x), broadcast.   dE/dx = g where the mask is off
    (summed over broadcast axes);  dE/dvalue = sum of g where it is on."""

    @staticmethod
    def forward(ctx, x, value, mask):
        xp = array_module(x)
        ctx.meta = (mask, x.shape)
        return xp.where(mask, value.astype(x.dtype), x)

    @staticmethod
    def backward(ctx, g):
        mask, shape = ctx.meta
        xp = array_module(g)
        gx = unbroadcast(xp.where(mask, 0, g), shape) if ctx.needs_input_grad[0] else None
        gv = xp.asarray(xp.where(mask, g, 0).sum(), dtype=g.dtype) if ctx.needs_input_grad[1] else None
        return gx, gv, None


@both
def masked_fill(input, mask, value):
    """``input`` with ``value`` (a number or a 0-d tensor) where the boolean ``mask``
    (broadcastable with ``input``) is True."""
    m = _mask_array(mask, input.array, "masked_fill_")
    v = _value_operand(value, input, "masked_fill_")
    try:
        np.broadcast_shapes(tuple(m.shape), input.shape)
    except ValueError:
        raise RuntimeError(f"masked_fill(): the mask of shape {list(m.shape)} does not broadcast with the "
                           f"input of shape {list(input.shape)}") from None
    return MaskedFill.apply(input, v, m)


@tensor_method
def masked_fill_(self, mask, value):
    """In-place :func:`masked_fill` (the mask must broadcast to self's shape)."""
    return self._apply_inplace(lambda s: masked_fill(s, mask, value), "masked_fill_()", clone=False)


class MaskedSelect(Function):
    """out = the elements of x (broadcast with the mask) where the mask is True, as
    a 1-d tensor in row-major order.  dE/dx = zeros with g written back there."""

    @staticmethod
    def forward(ctx, x, mask):
        xp = array_module(x)
        shape = np.broadcast_shapes(x.shape, mask.shape)
        m = xp.broadcast_to(mask, shape)
        ctx.meta = (m, x.shape)
        return xp.broadcast_to(x, shape)[m]

    @staticmethod
    def backward(ctx, g):
        m, shape = ctx.meta
        xp = array_module(g)
        full = xp.zeros(m.shape, dtype=g.dtype)
        full[m] = g
        return unbroadcast(full, shape), None


@both
def masked_select(input, mask):
    """The elements of ``input`` where the boolean ``mask`` is True (both broadcast), 1-d."""
    m = _mask_array(mask, input.array, "masked_select")
    try:
        np.broadcast_shapes(tuple(m.shape), input.shape)
    except ValueError:
        raise RuntimeError(f"masked_select(): the mask of shape {list(m.shape)} does not broadcast with the "
                           f"input of shape {list(input.shape)}") from None
    return MaskedSelect.apply(input, m)


class MaskedScatter(Function):
    """out = x (broadcast with the mask) whose masked positions receive the first
    ``mask.sum()`` elements of ``source`` in row-major order.
    dE/dx = g where the mask is off;  dE/dsource = g's masked elements, then zeros."""

    @staticmethod
    def forward(ctx, x, source, mask):
        xp = array_module(x)
        shape = np.broadcast_shapes(x.shape, mask.shape)
        m = xp.broadcast_to(mask, shape)
        n = int(m.sum())
        if n > source.size:
            raise RuntimeError(f"masked_scatter: expected source to have at least {n} elements (the number "
                               f"of True entries in the mask), but it has {source.size}")
        ctx.meta = (m, x.shape, source.shape, n)
        out = xp.array(xp.broadcast_to(x, shape))
        out[m] = source.reshape(-1)[:n]
        return out

    @staticmethod
    def backward(ctx, g):
        m, shape, src_shape, n = ctx.meta
        xp = array_module(g)
        gx = unbroadcast(xp.where(m, 0, g), shape) if ctx.needs_input_grad[0] else None
        gs = None
        if ctx.needs_input_grad[1]:
            gs = xp.zeros(int(np.prod(src_shape)), dtype=g.dtype)
            gs[:n] = g[m]
            gs = gs.reshape(src_shape)
        return gx, gs, None


@both
def masked_scatter(input, mask, source):
    """``input`` whose positions where ``mask`` is True take ``source``'s elements in order."""
    m = _mask_array(mask, input.array, "masked_scatter_")
    if source.dtype != input.dtype:
        raise RuntimeError(f"masked_scatter: expected self and source to have same dtypes but got "
                           f"{input.dtype} and {source.dtype}")
    try:
        np.broadcast_shapes(tuple(m.shape), input.shape)
    except ValueError:
        raise RuntimeError(f"masked_scatter(): the mask of shape {list(m.shape)} does not broadcast with the "
                           f"input of shape {list(input.shape)}") from None
    return MaskedScatter.apply(input, source, m)


@tensor_method
def masked_scatter_(self, mask, source):
    """In-place :func:`masked_scatter` (the mask must broadcast to self's shape)."""
    return self._apply_inplace(lambda s: masked_scatter(s, mask, source), "masked_scatter_()", clone=False)


# ---------------------------------------------------------------- flat indexing, nonzero
class Take(Function):
    """out = x.flatten()[index] (out has index's shape; negative indices count from
    the end).  dE/dx = zeros with g added at the flat positions."""

    @staticmethod
    def forward(ctx, x, index):
        ctx.meta = (x.shape, index)
        return x.reshape(-1)[index]

    @staticmethod
    def backward(ctx, g):
        shape, index = ctx.meta
        xp = array_module(g)
        gx = xp.zeros(int(np.prod(shape)), dtype=g.dtype)
        add_at(gx, index % max(gx.size, 1), g)
        return gx.reshape(shape), None


@both
def take(input, index):
    """The elements of ``input`` seen as 1-d, at ``index`` (any shape)."""
    idx = index_array(index, input.array, "take")
    n = input.numel()
    if idx.size:
        lo, hi = int(idx.min()), int(idx.max())
        bad = lo if lo < -n else (hi if hi >= n else None)
        if bad is not None:
            raise IndexError(f"out of range: tried to access index {bad} on a tensor of {n} elements.")
    return Take.apply(input, idx)


@both
def nonzero(input, *, as_tuple=False):
    """The indices of the non-zero elements: an (n, ndim) int64 tensor, one row per
    element in row-major order; with ``as_tuple=True`` one 1-d tensor per dim."""
    T = _tensor()
    xp = array_module(input.array)
    a = input.array
    if as_tuple:
        parts = xp.nonzero(a.reshape(1) if a.ndim == 0 else a)
        return tuple(T._wrap(p.astype(np.int64)) for p in parts)
    if a.ndim == 0:
        return T._wrap(xp.zeros((int(bool(a)), 0), dtype=np.int64))
    parts = xp.nonzero(a)
    return T._wrap(xp.stack(parts, axis=1).astype(np.int64) if parts else xp.zeros((0, 0), dtype=np.int64))


@both
def argwhere(input):
    """Same as ``nonzero(input)``: an (n, ndim) tensor of the non-zero positions."""
    return nonzero(input)
