"""Shape ops: reshape, permute, expand, indexing, cat, stack.

They move elements without changing them, so each backward moves the
gradient back to where the element came from.
"""
from __future__ import annotations

import numpy as np

from ..autograd.function import Function
from ..backend import array_module, scatter_add
from .elementwise import unbroadcast


class Reshape(Function):
    """out = x viewed with a new shape;  dE/dx = g reshaped back."""

    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape = x.shape
        try:
            return x.reshape(shape)
        except ValueError:
            raise RuntimeError(
                f"shape {tuple(shape)} is invalid for a tensor of shape {tuple(x.shape)} "
                f"({x.size} elements)") from None

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.in_shape), None


class Permute(Function):
    """out = x with its dims reordered;  dE/dx = g with the inverse order."""

    @staticmethod
    def forward(ctx, x, dims):
        ctx.dims = dims
        return x.transpose(dims)

    @staticmethod
    def backward(ctx, g):
        inverse = [0] * len(ctx.dims)
        for i, d in enumerate(ctx.dims):
            inverse[d] = i
        return g.transpose(inverse), None


class Expand(Function):
    """out = x broadcast to ``shape``;  dE/dx = g summed over the new axes."""

    @staticmethod
    def forward(ctx, x, shape):
        xp = array_module(x)
        ctx.in_shape = x.shape
        return xp.broadcast_to(x, shape)

    @staticmethod
    def backward(ctx, g):
        return unbroadcast(g, ctx.in_shape), None


def _is_basic_index(index):
    parts = index if isinstance(index, tuple) else (index,)
    return all(p is None or p is Ellipsis or isinstance(p, (int, slice)) for p in parts)


def _split_int_index(index, ndim):
    """PyTorch applies integer indices first (as ``select``), so they never take
    part in advanced indexing; NumPy treats an int next to index arrays as one
    more advanced index, which moves the advanced dims to the front when a
    slice separates them (``x[1, :, 3:11:2, idx]``). For such an index return
    ``(ints_part, rest)`` with ``x[index] == x[ints_part][rest]`` in PyTorch's
    layout, else None (NumPy's answer is PyTorch's already)."""
    parts = index if isinstance(index, tuple) else (index,)
    is_int = [isinstance(p, (int, np.integer)) and not isinstance(p, (bool, np.bool_)) for p in parts]
    is_array = [hasattr(p, "ndim") and not i and not isinstance(p, np.bool_) for p, i in zip(parts, is_int)]
    if not (any(is_array) and any(is_int)):
        return None

    def consumed(p, arr):
        if p is None or isinstance(p, (bool, np.bool_)):
            return 0
        return (p.ndim if p.dtype == bool else 1) if arr else 1

    n_used = sum(consumed(p, a) for p, a in zip(parts, is_array) if p is not Ellipsis)
    first, rest = [], []
    for p, arr, integer in zip(parts, is_array, is_int):
        if p is Ellipsis:
            fill = [slice(None)] * (ndim - n_used)
            first += fill
            rest += fill
        elif integer:
            first.append(p)
        elif p is None or isinstance(p, (bool, np.bool_)):
            rest.append(p)
        else:
            k = consumed(p, arr)
            first += [slice(None)] * k
            rest.append(p)
    return tuple(first), tuple(rest)


def read_index(array, index):
    """``array[index]`` with PyTorch's axis placement (see ``_split_int_index``)."""
    split = _split_int_index(index, array.ndim)
    return array[index] if split is None else array[split[0]][split[1]]


def assign_index(array, index, value):
    """``array[index] = value`` in place, with PyTorch's axis placement: the
    value is laid out as ``read_index(array, index)`` is."""
    split = _split_int_index(index, array.ndim)
    if split is None:
        array[index] = value
    else:
        view = array[split[0]]          # basic indexing: a view into array
        view[split[1]] = value


class GetItem(Function):
    """out = x[index] with PyTorch's axis placement (integers select first);
    dE/dx = zeros with g written (or, for repeated integer indices, added) at
    the indexed positions."""

    @staticmethod
    def forward(ctx, x, index):
        split = _split_int_index(index, x.ndim)
        ctx.meta = (x.shape, x.dtype, index, split)
        try:
            if split is not None:
                return x[split[0]][split[1]]
            out = x[index]
            if not isinstance(out, type(x)):
                # NumPy gives a scalar for a full integer index; PyTorch a 0-d
                # view of the same storage (so x[0] += 1 changes x).
                out = x[(index if isinstance(index, tuple) else (index,)) + (Ellipsis,)]
            return out
        except IndexError as e:
            raise IndexError(f"index {index!r} is invalid for a tensor of shape {tuple(x.shape)}: {e}") from None

    @staticmethod
    def backward(ctx, g):
        shape, dtype, index, split = ctx.meta
        xp = array_module(g)
        gx = xp.zeros(shape, dtype=g.dtype)
        if split is not None:            # integers first, then the advanced part
            inner = gx[split[0]]         # a view into gx
            scatter_add(inner, split[1], g)
        elif _is_basic_index(index) or _is_bool_mask(index):
            gx[index] = g
        else:
            scatter_add(gx, index, g)
        return gx, None


def _is_bool_mask(index):
    return hasattr(index, "dtype") and index.dtype == bool


def promote_dtypes(dtypes):
    """PyTorch's promote_types over a list: across categories (bool < integer <
    floating) the higher category's dtype wins as it is (int64 with float32 is
    float32, not NumPy's float64); within a category the wider one."""
    def category(dt):
        return {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}[np.dtype(dt).kind]

    result = np.dtype(dtypes[0])
    for dt in dtypes[1:]:
        dt = np.dtype(dt)
        ca, cb = category(result), category(dt)
        result = (result if ca > cb else dt) if ca != cb else np.promote_types(result, dt)
    return result


def _common(arrays):
    """The arrays cast to their promoted dtype (as ``torch.cat``/``stack`` do)."""
    dt = promote_dtypes([a.dtype for a in arrays])
    return [a if a.dtype == dt else a.astype(dt) for a in arrays]


class Cat(Function):
    """out = the inputs joined along ``dim`` (promoted to one dtype, PyTorch's
    rule);  each input gets its slice of g, cast back to its dtype."""

    @staticmethod
    def forward(ctx, *arrays, dim):
        xp = array_module(*arrays)
        ctx.meta = (dim, [a.shape[dim] for a in arrays], [a.dtype for a in arrays])
        return xp.concatenate(_common(arrays), axis=dim)

    @staticmethod
    def backward(ctx, g):
        dim, sizes, dtypes = ctx.meta
        xp = array_module(g)
        cuts = []
        total = 0
        for s in sizes[:-1]:
            total += s
            cuts.append(total)
        parts = xp.split(g, cuts, axis=dim)
        return tuple(p.astype(dt, copy=False) if n else None
                     for p, dt, n in zip(parts, dtypes, ctx.needs_input_grad))


class Stack(Function):
    """out = the inputs stacked along a new ``dim`` (promoted to one dtype);
    each gets its slice of g, cast back to its dtype."""

    @staticmethod
    def forward(ctx, *arrays, dim):
        xp = array_module(*arrays)
        ctx.dim = dim
        ctx.dtypes = [a.dtype for a in arrays]
        return xp.stack(_common(arrays), axis=dim)

    @staticmethod
    def backward(ctx, g):
        xp = array_module(g)
        parts = [xp.take(g, i, axis=ctx.dim) for i in range(g.shape[ctx.dim])]
        return tuple(p.astype(dt, copy=False) if n else None
                     for p, dt, n in zip(parts, ctx.dtypes, ctx.needs_input_grad))


class Copy(Function):
    """out = x moved to another device and/or cast to another dtype;
    dE/dx = g moved and cast back."""

    @staticmethod
    def forward(ctx, x, device, dtype):
        from ..backend import device_of, to_device
        ctx.meta = (device_of(x), x.dtype)
        out = to_device(x, device) if device is not None else x
        if dtype is not None:
            out = out.astype(dtype, copy=False)
        return out

    @staticmethod
    def backward(ctx, g):
        from ..backend import to_device
        dev, dtype = ctx.meta
        return to_device(g, dev).astype(dtype, copy=False), None, None


class SetItem(Function):
    """out = x with out[index] = v (``x[index] = v`` as an op; the in-place
    machinery writes ``out`` back into x's storage).

    dE/dx = g with the written positions zeroed (their old values are gone);
    dE/dv = g[index], summed over the axes v was broadcast along.
    """

    @staticmethod
    def forward(ctx, x, v, index):
        out = x.copy()
        try:
            assign_index(out, index, v)
        except IndexError as e:
            raise IndexError(f"index {index!r} is invalid for a tensor of shape {list(x.shape)}: {e}") from None
        except ValueError as e:
            raise RuntimeError(f"index assignment: a value of shape {list(getattr(v, 'shape', ()))} cannot be "
                               f"written at {index!r} of a tensor of shape {list(x.shape)} ({e})") from None
        ctx.meta = (index, getattr(v, "shape", ()))
        return out

    @staticmethod
    def backward(ctx, g):
        index, v_shape = ctx.meta
        gx = None
        if ctx.needs_input_grad[0]:
            gx = g.copy()
            assign_index(gx, index, 0)
        gv = unbroadcast(read_index(g, index), v_shape) if ctx.needs_input_grad[1] else None
        return gx, gv, None


class CopyInto(Function):
    """out = src broadcast to dst's shape (``dst.copy_(src)`` as an op).

    dE/ddst = 0 (its old values are overwritten); dE/dsrc = g summed over the
    broadcast axes.
    """

    @staticmethod
    def forward(ctx, dst, src):
        xp = array_module(dst)
        ctx.shapes = (dst.shape, getattr(src, "shape", ()))
        return xp.broadcast_to(src, dst.shape).astype(dst.dtype, copy=True)

    @staticmethod
    def backward(ctx, g):
        xp = array_module(g)
        dst_shape, src_shape = ctx.shapes
        gd = xp.zeros(dst_shape, dtype=g.dtype) if ctx.needs_input_grad[0] else None
        gs = unbroadcast(g, src_shape) if ctx.needs_input_grad[1] else None
        return gd, gs


def _replay(array, replay):
    """Recreate a view of ``array`` from the ops that made it (see Tensor._view_replay)."""
    from ..autograd.function import Context
    for fn, args, kwargs in replay:
        array = fn.forward(Context(), array, *args, **kwargs)
    return array


class CopySlices(Function):
    """The base of a view after an in-place change of the view:
    out = base with its viewed elements replaced by the view's new values.

    dE/dbase = g with the viewed elements zeroed; dE/dview = g at the viewed
    elements (the view recreated on g by the same view ops).
    """

    @staticmethod
    def forward(ctx, base, view, replay):
        ctx.replay = replay
        return base            # the values are already in base's storage

    @staticmethod
    def backward(ctx, g):
        g_base = g.copy()
        region = _replay(g_base, ctx.replay)
        g_view = region.copy() if ctx.needs_input_grad[1] else None
        region[...] = 0
        return (g_base if ctx.needs_input_grad[0] else None), g_view, None
