"""Re-arranging ops: repeat, tile, repeat_interleave, roll, flip, rot90, the
splits (chunk, split, tensor_split, narrow, unbind, select), moving dims
(movedim, swapaxes), triangles and diagonals (tril, triu, diag, diagonal),
clone/contiguous, and the ``new_*`` factories of a tensor.

Each op moves or copies elements without changing them, so its backward
sends every output gradient to the element it came from: a permutation
(flip, roll, rot90) is undone by the inverse permutation, a copy made
several times (repeat, repeat_interleave) receives the sum of its copies'
gradients, and a masked-out element (tril/triu) receives zero. The splits
and dim moves are slicing and ``permute`` of the tensor, whose backward
already exists.
"""
from __future__ import annotations

import numpy as np

from ..autograd.function import Function
from ..backend import array_module, to_numpy
from ..backend import scatter_add as add_at
from ._registry import both, tensor_method, torch_function
from .indexing import index_array, wrap_dim


def _tensor():
    from ..tensor import Tensor
    return Tensor


def _sizes(args, op):
    """``f(2, 3)`` or ``f((2, 3))`` or ``f([2, 3])`` -> (2, 3)."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = tuple(args[0])
    out = []
    for a in args:
        if hasattr(a, "array") and a.ndim == 0:
            a = a.item()
        if not isinstance(a, (int, np.integer)) or isinstance(a, bool):
            raise TypeError(f"{op}(): expected a sequence of ints, received {args!r}")
        out.append(int(a))
    return tuple(out)


def _dims(dims, ndim, op):
    """A tuple of distinct wrapped dims."""
    dims = (dims,) if isinstance(dims, (int, np.integer)) else tuple(dims)
    out = tuple(wrap_dim(d, ndim) for d in dims)
    for d in out:
        if out.count(d) > 1:
            raise RuntimeError(f"{op}(): dim {d} appears multiple times in the list of dims")
    return out


# ---------------------------------------------------------------- repeat, tile, repeat_interleave
class Repeat(Function):
    """out = x tiled ``reps[d]`` times along each dim d (x first gets leading size-1
    dims up to ``len(reps)``).   x: (s_0, ..., s_n) -> out: (r_0 s_0, ..., r_n s_n).
    dE/dx = g viewed as (r_0, s_0, ..., r_n, s_n) summed over the r axes."""

    @staticmethod
    def forward(ctx, x, reps):
        xp = array_module(x)
        padded = (1,) * (len(reps) - x.ndim) + x.shape
        ctx.meta = (x.shape, padded, reps)
        return xp.tile(x.reshape(padded), reps)

    @staticmethod
    def backward(ctx, g):
        shape, padded, reps = ctx.meta
        split = []
        for r, s in zip(reps, padded):
            split += [r, s]
        gx = g.reshape(split).sum(axis=tuple(range(0, 2 * len(reps), 2)))
        return gx.reshape(shape), None


@tensor_method
def repeat(self, *sizes):
    """``self`` repeated ``sizes[d]`` times along each dim (``len(sizes) >= self.dim()``;
    extra sizes add leading dims). (2, 3).repeat(4, 1, 2) -> (4, 2, 6)."""
    reps = _sizes(sizes, "repeat")
    if len(reps) < self.ndim:
        raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number of dimensions "
                           f"of tensor (repeat dims {list(reps)}, tensor shape {list(self.shape)})")
    if any(r < 0 for r in reps):
        raise RuntimeError(f"repeat(): repeats can not be negative, received {list(reps)}")
    return Repeat.apply(self, reps)


@both
def tile(input, *args, dims=None):
    """:meth:`repeat` where ``dims`` shorter than the tensor's rank is padded with
    leading 1s (NumPy's ``tile``): ``tile(x, (2, 2))`` or ``x.tile(2, 2)``."""
    reps = _sizes(args if dims is None else (dims,), "tile")
    reps = (1,) * (input.ndim - len(reps)) + reps
    return repeat(input, reps)


def _host_list(counts):
    """Repeat counts as a Python list (CuPy's repeat takes an int or a list, not an array)."""
    return [int(c) for c in to_numpy(counts).reshape(-1)]


class RepeatInterleave(Function):
    """out = each slice i of x along ``dim`` repeated ``repeats[i]`` times in a row.
    dE/dx_i = the sum of the gradients of its repeats[i] copies."""

    @staticmethod
    def forward(ctx, x, repeats, dim):
        xp = array_module(x)
        ctx.meta = (x.shape, repeats, dim)
        return xp.repeat(x, repeats, axis=dim)

    @staticmethod
    def backward(ctx, g):
        shape, repeats, dim = ctx.meta
        xp = array_module(g)
        src = xp.repeat(xp.arange(shape[dim]), repeats)
        gx = xp.zeros(shape, dtype=g.dtype)
        add_at(gx, (slice(None),) * dim + (src,), g)
        return gx, None, None


@both
def repeat_interleave(input, repeats=None, dim=None, *, output_size=None):
    """Repeat each element (``dim=None``: of the flattened input) or each slice along
    ``dim`` ``repeats`` times (an int, or one count per slice).
    ``repeat_interleave(counts)`` alone gives ``[0]*counts[0] + [1]*counts[1] + ...``."""
    T = _tensor()
    xp = array_module(input.array)
    if repeats is None:
        counts = index_array(input, input.array, "repeat_interleave", "repeats")
        if counts.ndim != 1 or (counts.size and int(counts.min()) < 0):
            raise RuntimeError("repeat_interleave(): repeats must be a 1-d tensor of non-negative ints")
        return T._wrap(xp.repeat(xp.arange(counts.size, dtype=np.int64), _host_list(counts)))
    x = input.reshape(-1) if dim is None else input
    d = 0 if dim is None else wrap_dim(dim, input.ndim)
    if x.ndim == 0:
        x = x.reshape(1)
    if isinstance(repeats, (int, np.integer)):
        reps = int(repeats)
        if reps < 0:
            raise RuntimeError(f"repeat_interleave(): repeats can not be negative, received {reps}")
    else:
        reps = index_array(repeats, input.array, "repeat_interleave", "repeats")
        if reps.ndim > 1:
            raise RuntimeError("repeat_interleave(): repeats must be 0-dim or 1-dim tensor")
        if reps.size and int(reps.min()) < 0:
            raise RuntimeError("repeat_interleave(): repeats can not be negative")
        if reps.ndim == 1 and reps.size != 1 and reps.size != x.shape[d]:
            raise RuntimeError(f"repeats must have the same size as input along dim, but got repeats.size(0) = "
                               f"{reps.size} and input.size({d}) = {x.shape[d]}")
        reps = int(reps.reshape(-1)[0]) if reps.size == 1 else _host_list(reps)
    out = RepeatInterleave.apply(x, reps, d)
    if output_size is not None and out.shape[d] != output_size:
        raise RuntimeError(f"repeat_interleave(): output_size={output_size} but the result has "
                           f"{out.shape[d]} elements along dim {d}")
    return out


# ---------------------------------------------------------------- permutations: roll, flip, rot90
class Roll(Function):
    """out = x shifted cyclically by ``shifts`` along ``dims`` (None: the flattened
    tensor).  dE/dx = g rolled back by -shifts."""

    @staticmethod
    def forward(ctx, x, shifts, dims):
        xp = array_module(x)
        ctx.meta = (shifts, dims)
        return xp.roll(x, shifts, axis=dims)

    @staticmethod
    def backward(ctx, g):
        shifts, dims = ctx.meta
        xp = array_module(g)
        back = -shifts if isinstance(shifts, int) else tuple(-s for s in shifts)
        return xp.roll(g, back, axis=dims), None, None


@both
def roll(input, shifts, dims=None):
    """Shift elements cyclically: ``roll(x, 1, 0)`` moves row i to row i+1 (the last
    comes first). ``shifts``/``dims`` an int or matching tuples; no ``dims``: flatten,
    roll, restore the shape."""
    if dims is None:
        if not isinstance(shifts, (int, np.integer)):
            shifts = _sizes((shifts,), "roll")
            if len(shifts) != 1:
                raise RuntimeError(f"roll(): shifts {list(shifts)} needs dims of the same length")
            shifts = shifts[0]
        return Roll.apply(input, int(shifts), None)
    single = isinstance(dims, (int, np.integer))
    d = _dims(dims, input.ndim, "roll") if not single else (wrap_dim(dims, input.ndim),)
    s = (int(shifts),) if isinstance(shifts, (int, np.integer)) else _sizes((shifts,), "roll")
    if len(s) != len(d):
        raise RuntimeError(f"roll(): shifts and dimensions must align. shifts: {len(s)}, dims: {len(d)}")
    if input.ndim == 0:
        return Roll.apply(input, 0, None)
    return Roll.apply(input, s, d)


class Flip(Function):
    """out = x reversed along ``dims`` (a copy, as PyTorch's).  dE/dx = g reversed back."""

    @staticmethod
    def forward(ctx, x, dims):
        xp = array_module(x)
        ctx.dims = dims
        return xp.flip(x, axis=dims).copy() if dims else x.copy()

    @staticmethod
    def backward(ctx, g):
        xp = array_module(g)
        return (xp.flip(g, axis=ctx.dims) if ctx.dims else g), None


@both
def flip(input, *args, dims=None):
    """Reverse the order of elements along each of ``dims``: ``flip(x, (0, 1))``,
    ``x.flip(0, 1)``, ``x.flip(dims=[0])``."""
    if dims is None:
        if not args:
            raise TypeError("flip() missing the dims to reverse")
        dims = args[0] if len(args) == 1 else args
    d = _dims(dims, input.ndim, "flip") if input.ndim else ()
    return Flip.apply(input, d)


@both
def fliplr(input):
    """Reverse dim 1 (left/right); needs >= 2 dims."""
    if input.ndim < 2:
        raise RuntimeError(f"fliplr(): Input must be >= 2-d, received shape {list(input.shape)}")
    return flip(input, (1,))


@both
def flipud(input):
    """Reverse dim 0 (up/down); needs >= 1 dim."""
    if input.ndim < 1:
        raise RuntimeError("flipud(): Input must be >= 1-d, received a 0-d tensor")
    return flip(input, (0,))


class Rot90(Function):
    """out = x rotated by 90 degrees ``k`` times in the plane of ``dims``, from the
    first towards the second.  dE/dx = g rotated -k times."""

    @staticmethod
    def forward(ctx, x, k, dims):
        xp = array_module(x)
        ctx.meta = (k, dims)
        return xp.rot90(x, k, axes=dims).copy()

    @staticmethod
    def backward(ctx, g):
        k, dims = ctx.meta
        xp = array_module(g)
        return xp.rot90(g, -k, axes=dims), None, None


@both
def rot90(input, k=1, dims=(0, 1)):
    """Rotate by 90 degrees ``k`` times in the plane of ``dims`` (two distinct dims)."""
    dims = tuple(dims)
    if len(dims) != 2:
        raise RuntimeError(f"rot90(): expected total rotation dims == 2, but got dims = {len(dims)}")
    if input.ndim < 2:
        raise RuntimeError(f"rot90(): expected total dims >= 2, but got total dims = {input.ndim}")
    d0, d1 = wrap_dim(dims[0], input.ndim), wrap_dim(dims[1], input.ndim)
    if d0 == d1:
        raise RuntimeError(f"expected rotation dims to be different, but got dim0 = {d0} and dim1 = {d1}")
    return Rot90.apply(input, int(k) % 4, (d0, d1))


# ---------------------------------------------------------------- splits (slicing views)
def _slice(input, d, start, stop):
    index = [slice(None)] * input.ndim
    index[d] = slice(start, stop)
    return input[tuple(index)]


@both
def split(tensor, split_size_or_sections=None, dim=0, *, split_size=None):
    """Pieces of ``tensor`` along ``dim``: of ``split_size`` each (the last one
    smaller if the size does not divide), or of the listed sizes (which must add
    up to the dim's size). ``split_size=`` is the Tensor method's keyword."""
    s = split_size_or_sections if split_size is None else split_size
    if s is None:
        raise TypeError("split() missing split_size_or_sections")
    d = wrap_dim(dim, tensor.ndim)
    n = tensor.shape[d] if tensor.ndim else 1
    if hasattr(s, "array") and s.ndim == 0:
        s = int(s.item())
    if isinstance(s, (int, np.integer)):
        s = int(s)
        if s < 0:
            raise RuntimeError(f"split expects split_size be non-negative, but got split_size={s}")
        if s == 0:
            if n != 0:
                raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got dimension size of {n}")
            return (_slice(tensor, d, 0, 0),)
        sizes = [s] * (n // s) + ([n % s] if n % s else [])
        if not sizes:
            sizes = [0]
    else:
        sizes = list(_sizes((s,), "split"))
        if sum(sizes) != n or any(x < 0 for x in sizes):
            raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {n} (input tensor's size "
                               f"at dimension {d}), but got split_sizes={sizes}")
    out, start = [], 0
    for size in sizes:
        out.append(_slice(tensor, d, start, start + size))
        start += size
    return tuple(out)


@both
def chunk(input, chunks, dim=0):
    """Up to ``chunks`` pieces of ``ceil(n / chunks)`` elements along ``dim`` (fewer
    pieces when they cover the dim sooner: 6 elements in 4 chunks gives 3 of 2)."""
    if not isinstance(chunks, (int, np.integer)) or chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    d = wrap_dim(dim, input.ndim)
    n = input.shape[d]
    if n == 0:
        return tuple(_slice(input, d, 0, 0) for _ in range(chunks))
    return split(input, -(-n // chunks), d)


@both
def tensor_split(input, indices_or_sections, dim=0):
    """Split along ``dim`` into ``sections`` nearly equal pieces (the first
    ``n % sections`` one longer), or at the listed indices (like NumPy's array_split)."""
    d = wrap_dim(dim, input.ndim)
    n = input.shape[d]
    s = indices_or_sections
    if hasattr(s, "array"):
        if s.ndim > 1 or s.dtype.kind not in "iu":
            raise RuntimeError("tensor_split expected tensor_indices_or_sections to be a zero-dimensional "
                               "or one-dimensional tensor of ints")
        s = int(s.item()) if s.ndim == 0 else [int(v) for v in s.tolist()]
    if isinstance(s, (int, np.integer)):
        if s <= 0:
            raise RuntimeError(f"number of sections must be larger than 0, got {s}")
        base, extra = divmod(n, int(s))
        bounds, start = [], 0
        for i in range(int(s)):
            stop = start + base + (1 if i < extra else 0)
            bounds.append((start, stop))
            start = stop
    else:
        cuts = [0] + [min(max(int(c) if c >= 0 else int(c) + n, 0), n) for c in s] + [n]
        bounds = [(a, max(a, b)) for a, b in zip(cuts[:-1], cuts[1:])]
    return tuple(_slice(input, d, a, b) for a, b in bounds)


@both
def narrow(input, dim, start, length):
    """The ``length`` elements from ``start`` along ``dim`` (a view in PyTorch);
    a negative ``start`` counts from the end."""
    d = wrap_dim(dim, input.ndim)
    n = input.shape[d]
    if hasattr(start, "array"):
        start = int(start.item())
    if not -n <= start <= n:
        raise IndexError(f"start out of range (expected to be in range of [{-n}, {n}], but got {start})")
    start = start % n if start < 0 else start
    if length < 0 or start + length > n:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size ({n}).")
    return _slice(input, d, start, start + length)


@both
def unbind(input, dim=0):
    """The slices along ``dim`` as a tuple, that dim removed."""
    d = wrap_dim(dim, input.ndim)
    if input.ndim == 0:
        raise IndexError("unbind(): Dimension specified as 0 but tensor has no dimensions")
    return tuple(select(input, d, i) for i in range(input.shape[d]))


@both
def select(input, dim, index):
    """The slice at ``index`` along ``dim``, that dim removed (``x.select(0, i)`` is ``x[i]``)."""
    d = wrap_dim(dim, input.ndim)
    n = input.shape[d]
    if hasattr(index, "array"):
        index = int(index.item())
    if not -n <= index < n:
        raise IndexError(f"select(): index {index} out of range for tensor of size {list(input.shape)} at "
                         f"dimension {d}")
    return input[(slice(None),) * d + (int(index),)]


# ---------------------------------------------------------------- moving dims
@both
def movedim(input, source, destination):
    """Move dim(s) ``source`` to position(s) ``destination``, the others keeping their order."""
    src = (source,) if isinstance(source, (int, np.integer)) else tuple(source)
    dst = (destination,) if isinstance(destination, (int, np.integer)) else tuple(destination)
    if len(src) != len(dst):
        raise RuntimeError(f"movedim: Invalid source or destination dims: source ({list(src)} dims) should "
                           f"contain the same number of dims as destination ({list(dst)} dims)")
    nd = input.ndim
    s = [wrap_dim(x, nd) for x in src]
    t = [wrap_dim(x, nd) for x in dst]
    if len(set(s)) != len(s):
        raise RuntimeError(f"movedim: repeated dim in `source` ({list(src)})")
    if len(set(t)) != len(t):
        raise RuntimeError(f"movedim: repeated dim in `destination` ({list(dst)})")
    if nd == 0:
        return input
    rest = iter(d for d in range(nd) if d not in s)
    placed = dict(zip(t, s))
    perm = [placed[i] if i in placed else next(rest) for i in range(nd)]
    return input.permute(*perm)


@both
def moveaxis(input, source, destination):
    """Alias of :func:`movedim` (NumPy's name)."""
    return movedim(input, source, destination)


@both
def swapaxes(input, axis0, axis1):
    """Alias of ``transpose(axis0, axis1)`` (NumPy's name)."""
    return input.transpose(wrap_dim(axis0, input.ndim), wrap_dim(axis1, input.ndim))


@both
def swapdims(input, dim0, dim1):
    """Alias of ``transpose(dim0, dim1)``."""
    return input.transpose(wrap_dim(dim0, input.ndim), wrap_dim(dim1, input.ndim))


# ---------------------------------------------------------------- triangles and diagonals
class Triangle(Function):
    """out = x with the elements above (tril) or below (triu) the ``k``-th diagonal of
    the last two dims set to zero.  dE/dx = g with the same elements zeroed."""

    @staticmethod
    def forward(ctx, x, k, lower):
        xp = array_module(x)
        ctx.meta = (k, lower)
        return xp.tril(x, k) if lower else xp.triu(x, k)

    @staticmethod
    def backward(ctx, g):
        k, lower = ctx.meta
        xp = array_module(g)
        return (xp.tril(g, k) if lower else xp.triu(g, k)), None, None


class Tril(Triangle):
    """``Triangle`` keeping the lower part (its own node name, as in PyTorch)."""


class Triu(Triangle):
    """``Triangle`` keeping the upper part (its own node name, as in PyTorch)."""


def _triangle(input, diagonal, lower):
    name = "tril" if lower else "triu"
    if input.ndim < 2:
        raise RuntimeError(f"{name}: input tensor must have at least 2 dimensions, received shape "
                           f"{list(input.shape)}")
    return (Tril if lower else Triu).apply(input, int(diagonal), lower)


@both
def tril(input, diagonal=0):
    """The lower triangle of the last two dims: out[..., i, j] = x[..., i, j] if
    j - i <= diagonal else 0."""
    return _triangle(input, diagonal, True)


@both
def triu(input, diagonal=0):
    """The upper triangle of the last two dims: out[..., i, j] = x[..., i, j] if
    j - i >= diagonal else 0."""
    return _triangle(input, diagonal, False)


@tensor_method
def tril_(self, diagonal=0):
    """In-place :func:`tril`."""
    return self._apply_inplace(lambda s: tril(s, diagonal), "tril_()", clone=False)


@tensor_method
def triu_(self, diagonal=0):
    """In-place :func:`triu`."""
    return self._apply_inplace(lambda s: triu(s, diagonal), "triu_()", clone=False)


def _diag_positions(shape, offset, xp):
    """Row and column indices of the ``offset`` diagonal of a (rows, cols) matrix."""
    rows, cols = shape
    n = max(0, min(rows + min(offset, 0), cols - max(offset, 0)))
    i = xp.arange(n)
    return i - min(offset, 0), i + max(offset, 0)


class Diagonal(Function):
    """out[..., i] = x[..., i + max(-offset, 0), i + max(offset, 0)] over the plane
    (dim1, dim2), that plane replaced by a last dim of the diagonal's length.
    dE/dx = zeros with g written back on the diagonal."""

    @staticmethod
    def forward(ctx, x, offset, dim1, dim2):
        xp = array_module(x)
        ctx.meta = (x.shape, offset, dim1, dim2)
        return xp.diagonal(x, offset, dim1, dim2).copy()

    @staticmethod
    def backward(ctx, g):
        shape, offset, dim1, dim2 = ctx.meta
        xp = array_module(g)
        gx = xp.zeros(shape, dtype=g.dtype)
        plane = xp.moveaxis(gx, (dim1, dim2), (-2, -1))     # a view: writes land in gx
        r, c = _diag_positions(plane.shape[-2:], offset, xp)
        plane[..., r, c] = g
        return gx, None, None, None


@both
def diagonal(input, offset=0, dim1=0, dim2=1):
    """The ``offset``-th diagonal of the plane (dim1, dim2), as a new last dim (a copy
    here; a view in PyTorch)."""
    d1, d2 = wrap_dim(dim1, input.ndim), wrap_dim(dim2, input.ndim)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return Diagonal.apply(input, int(offset), d1, d2)


class DiagEmbed1d(Function):
    """out = the square matrix with x on its ``k``-th diagonal and zeros elsewhere.
    x: (n,) -> out: (n + |k|, n + |k|).  dE/dx = that diagonal of g."""

    @staticmethod
    def forward(ctx, x, k):
        xp = array_module(x)
        ctx.k = k
        return xp.diag(x, k)

    @staticmethod
    def backward(ctx, g):
        xp = array_module(g)
        return xp.diagonal(g, ctx.k).copy(), None


@both
def diag(input, diagonal=0):
    """1-d input: the matrix with it on the ``diagonal``-th diagonal. 2-d input: that
    diagonal as a 1-d tensor."""
    if input.ndim == 1:
        return DiagEmbed1d.apply(input, int(diagonal))
    if input.ndim == 2:
        return Diagonal.apply(input, int(diagonal), 0, 1)
    raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {input.ndim}D")


# ---------------------------------------------------------------- copies and new tensors
class Clone(Function):
    """out = a copy of x (same shape, dtype, device);  dE/dx = g."""

    @staticmethod
    def forward(ctx, x):
        return x.copy()

    @staticmethod
    def backward(ctx, g):
        return g


@both
def clone(input, *, memory_format=None):
    """A copy of ``input`` that stays in the graph (the gradient flows through)."""
    return Clone.apply(input)


@tensor_method
def contiguous(self, memory_format=None):
    """``self`` if already laid out in ``memory_format`` (default: row-major),
    else a copy in that layout (same values; see :mod:`neuronet._memory_format`)."""
    from .. import _memory_format as _mf
    fmt = _mf.contiguous_format if memory_format is None else memory_format
    if fmt is _mf.preserve_format or _mf.strides_match(self.array, fmt):
        return self
    return Relayout.apply(self, fmt)


@tensor_method
def is_contiguous(self, memory_format=None):
    """Whether the data is laid out densely in ``memory_format`` (default row-major)."""
    from .. import _memory_format as _mf
    return _mf.strides_match(self.array, _mf.contiguous_format if memory_format is None else memory_format)


class Relayout(Function):
    """out = x with its elements re-laid out in memory (values unchanged); dE/dx = g."""

    @staticmethod
    def forward(ctx, x, fmt):
        from .. import _memory_format as _mf
        return _mf.relayout(x, fmt, array_module(x))

    @staticmethod
    def backward(ctx, g):
        return g, None


def _new(self, factory, size, dtype, device, requires_grad):
    """``factory(size)`` (zeros, ones, empty) with self's dtype and device by default."""
    return factory(_sizes(size, "new tensor") if size else (), dtype=dtype or self.dtype,
                   device=device or self.device, requires_grad=requires_grad)


@tensor_method
def new_zeros(self, *size, dtype=None, device=None, requires_grad=False):
    """Zeros of ``size`` with self's dtype and device (unless given)."""
    from ..tensor import zeros
    return _new(self, zeros, size, dtype, device, requires_grad)


@tensor_method
def new_ones(self, *size, dtype=None, device=None, requires_grad=False):
    """Ones of ``size`` with self's dtype and device (unless given)."""
    from ..tensor import ones
    return _new(self, ones, size, dtype, device, requires_grad)


@tensor_method
def new_empty(self, *size, dtype=None, device=None, requires_grad=False):
    """An uninitialized tensor of ``size`` with self's dtype and device (unless given)."""
    from ..tensor import empty
    return _new(self, empty, size, dtype, device, requires_grad)


@tensor_method
def new_full(self, size, fill_value, *, dtype=None, device=None, requires_grad=False):
    """``fill_value`` everywhere, of ``size``, with self's dtype and device (unless given)."""
    from ..tensor import full
    t = full(_sizes((size,), "new_full"), fill_value, dtype=dtype or self.dtype, device=device or self.device)
    return t.requires_grad_(True) if requires_grad else t


@tensor_method
def new_tensor(self, data, *, dtype=None, device=None, requires_grad=False):
    """A new tensor (a copy) from ``data`` with self's dtype and device (unless given)."""
    from ..tensor import tensor
    if hasattr(data, "array"):
        data = data.detach()
    return tensor(data, dtype=dtype or self.dtype, device=device or self.device, requires_grad=requires_grad)


# ---------------------------------------------------------------- grids, blocks, stacking
@torch_function
def meshgrid(*tensors, indexing="ij"):
    """Coordinate grids from 1-d tensors of sizes n_0, ..., n_k: the i-th output is
    tensor i broadcast to (n_0, ..., n_k) along dim i. ``indexing='xy'`` swaps
    the first two dims (NumPy/MATLAB's convention)."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f"meshgrid: indexing must be one of 'xy' or 'ij', but received: {indexing}")
    if not tensors:
        raise RuntimeError("meshgrid expects a non-empty TensorList")
    for i, t in enumerate(tensors):
        if t.ndim > 1:
            raise RuntimeError(f"meshgrid: Expected 0D or 1D tensor in the tensor list but got tensor {i} "
                               f"with {t.ndim} dimensions")
    flat = [t.reshape(-1) for t in tensors]
    sizes = [t.shape[0] for t in flat]
    order = list(range(len(flat)))
    if indexing == "xy" and len(flat) >= 2:
        order[0], order[1] = 1, 0
    shape = tuple(sizes[o] for o in order)
    out = []
    for i, t in enumerate(flat):
        view = [1] * len(flat)
        view[order.index(i)] = sizes[i]
        out.append(t.reshape(tuple(view)).expand(shape))
    return tuple(out)


@torch_function
def cartesian_prod(*tensors):
    """Every combination of one element from each 1-d tensor, one per row (row-major)."""
    if len(tensors) == 1:
        return tensors[0]
    grids = meshgrid(*tensors, indexing="ij")
    from ..tensor import stack
    return stack([g.reshape(-1) for g in grids], dim=1)


@both
def combinations(input, r=2, with_replacement=False):
    """The length-``r`` combinations of a 1-d tensor's elements (itertools' order), one per row."""
    import itertools
    if input.ndim != 1:
        raise RuntimeError(f"combinations(): Expect a 1D vector, but got shape {list(input.shape)}")
    make = itertools.combinations_with_replacement if with_replacement else itertools.combinations
    rows = list(make(range(input.shape[0]), r))
    if not rows or r == 0:
        return input.new_empty(0) if r == 0 else input.new_empty(0, r)
    xp = array_module(input.array)
    idx = xp.asarray(np.asarray(rows, dtype=np.int64))
    from .indexing import take
    return take(input, _tensor()._wrap(idx))


class DiagEmbed(Function):
    """out[..., i + max(-offset, 0), i + max(offset, 0)] = x[..., i] in the plane
    (dim1, dim2) of an output with one more dim; zeros elsewhere.
    x: (*, n) -> out: (*, n + |offset|, n + |offset|) with that plane moved to (dim1, dim2).
    dE/dx = that diagonal of g."""

    @staticmethod
    def forward(ctx, x, offset, dim1, dim2):
        xp = array_module(x)
        n = x.shape[-1] + abs(offset)
        out = xp.zeros(x.shape[:-1] + (n, n), dtype=x.dtype)
        r, c = _diag_positions((n, n), offset, xp)
        out[..., r, c] = x
        ctx.meta = (offset, dim1, dim2, n)
        return xp.moveaxis(out, (-2, -1), (dim1, dim2))

    @staticmethod
    def backward(ctx, g):
        offset, dim1, dim2, n = ctx.meta
        xp = array_module(g)
        plane = xp.moveaxis(g, (dim1, dim2), (-2, -1))
        r, c = _diag_positions((n, n), offset, xp)
        return plane[..., r, c], None, None, None


@both
def diag_embed(input, offset=0, dim1=-2, dim2=-1):
    """Batched :func:`diag`: input's last dim becomes the ``offset`` diagonal of the
    plane (dim1, dim2) of a tensor with one more dim."""
    nd = input.ndim + 1
    d1, d2 = wrap_dim(dim1, nd), wrap_dim(dim2, nd)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    x = input.reshape(1) if input.ndim == 0 else input
    return DiagEmbed.apply(x, int(offset), d1, d2)


@both
def diagflat(input, offset=0):
    """The flattened input on the ``offset`` diagonal of a square matrix."""
    return DiagEmbed1d.apply(input.reshape(-1), int(offset))


def _triangle_indices(row, col, offset, dtype, device, lower):
    from ..backend import Device
    from ..tensor import _as_dtype
    xp = Device(device if device is not None else "cpu").xp
    r, c = (xp.tril_indices if lower else xp.triu_indices)(row, offset, col)
    dt = _as_dtype(dtype) or np.dtype(np.int64)
    return _tensor()._wrap(xp.stack([r, c]).astype(dt).reshape(2, -1))


@torch_function
def tril_indices(row, col, offset=0, *, dtype=None, device=None, layout=None):
    """(2, N) coordinates of the lower triangle (j - i <= offset) of a row x col
    matrix, in row-major order."""
    return _triangle_indices(row, col, offset, dtype, device, True)


@torch_function
def triu_indices(row, col, offset=0, *, dtype=None, device=None, layout=None):
    """(2, N) coordinates of the upper triangle (j - i >= offset) of a row x col
    matrix, in row-major order."""
    return _triangle_indices(row, col, offset, dtype, device, False)


class BlockDiag(Function):
    """out = the 2-d blocks along the diagonal of a zero matrix;  each block's
    gradient is its window of g."""

    @staticmethod
    def forward(ctx, *blocks):
        xp = array_module(*blocks)
        rows = sum(b.shape[0] for b in blocks)
        cols = sum(b.shape[1] for b in blocks)
        dtype = np.result_type(*[b.dtype for b in blocks])
        out = xp.zeros((rows, cols), dtype=dtype)
        spans, r, c = [], 0, 0
        for b in blocks:
            out[r:r + b.shape[0], c:c + b.shape[1]] = b
            spans.append((r, c, b.shape))
            r += b.shape[0]
            c += b.shape[1]
        ctx.spans = spans
        return out

    @staticmethod
    def backward(ctx, g):
        return tuple(g[r:r + s[0], c:c + s[1]] if n else None
                     for (r, c, s), n in zip(ctx.spans, ctx.needs_input_grad))


@torch_function
def block_diag(*tensors):
    """A block-diagonal matrix of the inputs (0-d: 1x1, 1-d of n: 1 x n, 2-d as is)."""
    blocks = []
    for i, t in enumerate(tensors):
        if t.ndim > 2:
            raise RuntimeError(f"torch.block_diag: Input tensors must have 2 or fewer dimensions. Input {i} has "
                               f"{t.ndim} dimensions")
        blocks.append(t.reshape(1, 1) if t.ndim == 0 else (t.reshape(1, -1) if t.ndim == 1 else t))
    if not blocks:
        from ..tensor import zeros
        return zeros(1, 0)
    return BlockDiag.apply(*blocks)


def _atleast(tensors, make):
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        return tuple(make(t) for t in tensors[0])
    out = tuple(make(t) for t in tensors)
    return out[0] if len(out) == 1 else out


def _as_1d(t):
    return t.reshape(1) if t.ndim == 0 else t


def _as_2d(t):
    return t.reshape(1, -1) if t.ndim < 2 else t


def _as_3d(t):
    if t.ndim == 0:
        return t.reshape(1, 1, 1)
    if t.ndim == 1:
        return t.reshape(1, -1, 1)
    if t.ndim == 2:
        return t.unsqueeze(-1)
    return t


@torch_function
def atleast_1d(*tensors):
    """0-d tensors become (1,); others unchanged."""
    return _atleast(tensors, _as_1d)


@torch_function
def atleast_2d(*tensors):
    """0-d -> (1, 1), (n,) -> (1, n); others unchanged."""
    return _atleast(tensors, _as_2d)


@torch_function
def atleast_3d(*tensors):
    """0-d -> (1, 1, 1), (n,) -> (1, n, 1), (m, n) -> (m, n, 1); others unchanged."""
    return _atleast(tensors, _as_3d)


def _cat(tensors, dim, op):
    from ..tensor import cat
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError(f"{op} expects a non-empty TensorList")
    return cat(tensors, dim)


@torch_function
def hstack(tensors):
    """Join horizontally: along dim 0 for 1-d inputs, else along dim 1."""
    ts = [_as_1d(t) for t in tensors]
    return _cat(ts, 0 if ts and ts[0].ndim == 1 else 1, "hstack")


@torch_function
def vstack(tensors):
    """Join vertically (dim 0) after making each input at least 2-d."""
    return _cat([_as_2d(t) for t in tensors], 0, "vstack")


@torch_function
def row_stack(tensors):
    """Alias of :func:`vstack`."""
    return vstack(tensors)


@torch_function
def dstack(tensors):
    """Join along depth (dim 2) after making each input at least 3-d."""
    return _cat([_as_3d(t) for t in tensors], 2, "dstack")


@torch_function
def column_stack(tensors):
    """Join as columns: 0-d and 1-d inputs of n become (n, 1), then along dim 1."""
    return _cat([t.reshape(-1, 1) if t.ndim < 2 else t for t in tensors], 1, "column_stack")


# ---------------------------------------------------------------- linspace values
def _split(a):
    """Veltkamp's split of float64 ``a`` into a 26-bit high part and the rest."""
    c = 134217729.0 * a            # 2**27 + 1
    hi = c - (c - a)
    return hi, a - hi


def _fma(a, b, c):
    """a * b + c with a single rounding (emulated: Dekker's exact product and a
    compensated sum), as the fused multiply-add PyTorch's CPU kernel uses."""
    p = a * b
    ah, al = _split(a)
    bh, bl = _split(b)
    err = ((ah * bh - p) + ah * bl + al * bh) + al * bl
    s = p + c
    bb = s - p
    t = (p - (s - bb)) + (c - bb)
    return s + (t + err)


def linspace_values(xp, start, end, steps, dtype):
    """The ``steps`` values of ``linspace(start, end, steps)`` in ``dtype``, as
    PyTorch computes them: step = (end - start) / (steps - 1); the first half
    start + i*step, the second half end - (steps-1-i)*step (so both ends are
    exact), each a fused multiply-add in float64. For an integer dtype, start
    and end are first converted to it and the values truncated toward zero
    (NumPy's integer linspace floors instead: descending or negative ranges
    differ).

    Raises RuntimeError for a negative ``steps`` (PyTorch's type)."""
    if steps < 0:
        raise RuntimeError(f"linspace(): number of steps must be non-negative, received steps={steps}")
    dtype = np.dtype(dtype)
    if dtype.kind in "iub":
        start, end = int(start), int(end)
    if steps <= 1:
        return xp.full((steps,), start, dtype=dtype)
    i = xp.arange(steps, dtype=xp.float64)
    step = (float(end) - float(start)) / (steps - 1)
    first = _fma(xp.full(steps, step), i, xp.full(steps, float(start)))
    second = _fma(xp.full(steps, -step), (steps - 1) - i, xp.full(steps, float(end)))
    values = xp.where(i < steps // 2, first, second)
    if dtype.kind in "iu":
        values = xp.trunc(values)
    return values.astype(dtype)


# ``x.mT``: the last two dims swapped (batched matrix transpose).
tensor_method(property(lambda self: self.transpose(-2, -1), doc="The last two dims swapped (x.transpose(-2, -1))."),
              name="mT")
