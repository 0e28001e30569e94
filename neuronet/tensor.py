"""``Tensor``: an ndarray of the active backend plus what autograd needs.

A tensor wraps ``array`` (a NumPy or CuPy ndarray), a ``requires_grad`` flag,
``grad`` (a Tensor, filled by ``backward``) and, for results of ops, the graph
node that produced it. Operators follow NumPy broadcasting and PyTorch's names
(``dim``, ``keepdim``); the ops themselves live in :mod:`neuronet.ops`.
"""
from __future__ import annotations

import builtins
import contextlib
import numbers
import threading
import weakref
from collections import deque, namedtuple

import numpy as np

from . import _dtype as _dtypes
from . import _printing, backend
from .autograd.grad_mode import _state as _grad_state
from .autograd.grad_mode import no_grad

__all__ = ["Tensor", "tensor", "as_tensor", "from_numpy", "zeros", "ones", "full", "empty",
           "randn", "rand", "randint", "arange", "linspace", "eye", "zeros_like", "ones_like",
           "full_like", "empty_like", "cat", "stack", "where", "sum", "mean", "var", "std", "max", "min", "amax", "amin", "argmax",
           "argmin", "logsumexp", "flatten", "reshape", "permute", "transpose", "squeeze",
           "unsqueeze", "is_tensor", "float32", "float64", "float16", "int64",
           "int32", "uint8", "bool_", "long", "float", "double"]

# dtypes are neuronet.dtype objects (see _dtype.py): they print as torch.float32 and
# compare and hash equal to NumPy's dtypes, which accept them anywhere.
float32, float64, float16 = _dtypes.float32, _dtypes.float64, _dtypes.float16
int64, int32, uint8 = _dtypes.int64, _dtypes.int32, _dtypes.uint8
bool_ = _dtypes.bool
long = int64
float = float32   # noqa: A001  (PyTorch's aliases: neuronet.float is float32)
double = float64
Size = _dtypes.Size
_new_tuple = tuple.__new__
_DTYPE_OF = _dtypes._FROM_NP      # numpy.dtype -> neuronet dtype, for the hot Tensor.dtype

MaxResult = namedtuple("MaxResult", ["values", "indices"])

_DTYPE_ALIASES = _dtypes._NAMES    # 'float32', 'float', 'long', ... -> dtype
_as_dtype = _dtypes.as_dtype       # dtype, NumPy dtype, Python type or name -> dtype (None stays None)


def _infer_array(data, dtype, device):
    """Build an ndarray from Python data with PyTorch's default dtypes
    (floats -> float32, ints -> int64, bools -> bool); ndarrays keep theirs."""
    dev = backend.Device(device) if device is not None else None
    if isinstance(data, Tensor):
        arr = data.array
    elif hasattr(data, "__cuda_array_interface__") or isinstance(data, np.ndarray):
        arr = data
    else:
        if isinstance(data, (list, tuple)) and any(isinstance(d, Tensor) for d in _flat(data)):
            if dev is None:     # tensor([cuda tensors]) stays on their GPU, as in PyTorch
                dev = next((d.device for d in _flat(data) if isinstance(d, Tensor) and d.is_cuda), None)
            data = _nested_to_numpy(data)
        arr = np.asarray(data)
        if dtype is None:
            if arr.dtype.kind == "f":
                arr = arr.astype(backend.default_dtype)
            elif arr.dtype.kind in "iu":
                arr = arr.astype(np.int64)
            elif arr.dtype.kind not in "b":
                raise TypeError(f"cannot make a tensor from data of type {arr.dtype} ({type(data).__name__})")
    if dev is None and not isinstance(data, Tensor) and backend.default_device.type != "cpu":
        dev = backend.default_device       # torch.set_default_device('cuda')
    if dev is not None:
        arr = backend.to_device(arr, dev)
    if dtype is not None:
        arr = arr.astype(_as_dtype(dtype), copy=False)
    return arr


def _flat(data):
    for d in data:
        if isinstance(d, (list, tuple)):
            yield from _flat(d)
        else:
            yield d


def _nested_to_numpy(data):
    if isinstance(data, (list, tuple)):
        return [_nested_to_numpy(d) for d in data]
    if isinstance(data, Tensor):
        return data.numpy()
    return data


def _size_args(size):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    for s in size:
        if not isinstance(s, (int, np.integer)) or s < 0:
            raise ValueError(f"sizes must be non-negative ints, received {tuple(size)}")
    return tuple(int(s) for s in size)


def _unwrap(x):
    return x.array if isinstance(x, Tensor) else x


def _is_pinned(array, cp) -> bool:
    """Whether host ``array`` lies in CuPy's page-locked memory: built on a
    ``cp.cuda.alloc_pinned_memory`` block (its base chain ends there)."""
    while isinstance(array, np.ndarray):
        array = array.base
    return isinstance(array, cp.cuda.PinnedMemoryPointer)


_inflight = deque()       # (event, host array) of copies still running
_inflight_lock = threading.Lock()


def _upload_async(array, dev):
    """``array`` copied to GPU ``dev`` without waiting, or None when it cannot be
    (not a C-contiguous page-locked host array: CUDA would copy synchronously).

    The copy runs on the current stream, so the GPU work queued after it reads
    the data in order (PyTorch's semantics for ``non_blocking=True``). The host
    array is kept alive until the copy's event has fired, so page-locked
    memory going back to CuPy's pool is never reused while still being read.
    """
    cp = dev.xp
    if not (isinstance(array, np.ndarray) and array.flags.c_contiguous and _is_pinned(array, cp)):
        return None
    with cp.cuda.Device(dev.index) if dev.index is not None else contextlib.nullcontext():
        out = cp.empty(array.shape, dtype=array.dtype)
        stream = cp.cuda.get_current_stream()
        out.set(array, stream=stream)
        with _inflight_lock:
            while _inflight and _inflight[0][0].done:
                _inflight.popleft()
            _inflight.append((stream.record(), array))
    return out


class Tensor:
    """A multi-dimensional array that can record the ops applied to it.

    Build one with :func:`neuronet.tensor` (or ``Tensor(data)``), or with the
    factories ``zeros``, ``randn``, ... . Float data defaults to float32.
    """

    # _vc: the version counter ([n], shared by views of one storage); _base /
    # _view_replay: for a view, the tensor it views and how to recreate it.
    __slots__ = ("array", "requires_grad", "grad", "_node", "_hooks", "_retains_grad", "_vc", "_base",
                 "_view_replay", "__weakref__", "__dict__")
    # Make NumPy defer to our reflected operators (``ndarray + Tensor``).
    __array_priority__ = 1000
    __array_ufunc__ = None

    def __init__(self, *data, dtype=None, requires_grad=False, device=None):
        # PyTorch's legacy constructor: Tensor(2, 3) / Tensor(Size) is an
        # uninitialized float tensor of that shape; Tensor(data) copies data.
        if not data:
            data = (np.zeros((0,), dtype=backend.default_dtype),)
        if len(data) > 1 or (isinstance(data[0], (int, np.integer)) and not isinstance(data[0], bool)):
            shape = _size_args(data)
            data = (np.empty(shape, dtype=backend.default_dtype),)
        elif isinstance(data[0], tuple) and type(data[0]) is not tuple:      # a Size
            data = (np.empty(_size_args(data), dtype=backend.default_dtype),)
        if dtype is None and isinstance(data[0], (list, tuple, builtins_float)):
            dtype = backend.default_dtype       # torch.Tensor([1, 2]) is a float tensor
        self.array = _infer_array(data[0], dtype, device)
        self.grad = None
        self._node = None
        self._hooks = None
        self._retains_grad = False
        self._vc = [0]
        self._base = None
        self._view_replay = None
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _wrap(cls, array, requires_grad=False):
        t = Tensor.__new__(Tensor)
        t.array = array
        t.requires_grad = requires_grad
        t.grad = None
        t._node = None
        t._hooks = None
        t._retains_grad = False
        t._vc = [0]
        t._base = None
        t._view_replay = None
        return t

    # ------------------------------------------------------------ attributes
    @property
    def shape(self):
        """The sizes of the dimensions, as a :class:`neuronet.Size` (a tuple)."""
        return _new_tuple(Size, self.array.shape)     # Size._of, without the call overhead

    @property
    def ndim(self):
        return self.array.ndim

    @property
    def dtype(self):
        """The element type, a :class:`neuronet.dtype` (prints ``torch.float32``;
        equal to the NumPy dtype of ``array``)."""
        return _DTYPE_OF.get(self.array.dtype) or _dtypes.from_numpy_dtype(self.array.dtype)

    @property
    def is_cuda(self):
        """True when the data lives on a GPU (a CuPy array)."""
        return backend.device_of(self.array).type == "cuda"

    @property
    def is_cpu(self):
        return not self.is_cuda

    def is_floating_point(self):
        """True for float16/float32/float64 tensors."""
        return self.array.dtype.kind == "f"

    def is_complex(self):
        return self.array.dtype.kind == "c"

    def is_signed(self):
        return self.array.dtype.kind in "fic"

    @property
    def device(self):
        return backend.device_of(self.array)

    @property
    def is_leaf(self):
        return self._node is None

    @property
    def grad_fn(self):
        return self._node

    @property
    def _version(self):
        """How many in-place changes this tensor's storage has seen."""
        return self._vc[0]

    @property
    def data(self):
        """A tensor sharing this one's array, outside the graph and outside the
        version counter (as ``torch``'s ``.data``: changes through it are not
        seen by autograd's in-place check)."""
        return Tensor._wrap(self.array)

    @data.setter
    def data(self, value):
        if not isinstance(value, Tensor):
            raise TypeError(f"data must be set to a Tensor, received {type(value).__name__}")
        # A GPU tensor stays on its GPU: host data is copied over (a parameter
        # that silently moved to the host would then fail, or run, elsewhere).
        same = self.device == value.device or self.device.type == "cpu"
        self.array = value.array if same else backend.to_device(value.array, self.device)

    @property
    def T(self):
        return self.permute(*reversed(range(self.ndim)))

    def size(self, dim=None):
        """``size()``: the shape, a :class:`neuronet.Size`; ``size(dim)``: one int."""
        if dim is None:
            return self.shape
        try:
            return self.shape[dim]
        except (IndexError, TypeError):
            if self.ndim == 0 or not isinstance(dim, (int, np.integer)):
                raise
            raise IndexError(f"Dimension out of range (expected to be in range of "
                             f"[{-self.ndim}, {self.ndim - 1}], but got {dim})") from None

    def dim(self):
        return self.ndim

    def numel(self):
        return int(self.array.size)

    def element_size(self):
        return self.array.itemsize

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __iter__(self):
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.shape[0]))

    def __hash__(self):
        return id(self)

    def __getattr__(self, name):
        # Only reached when normal lookup fails: say it is a missing feature.
        if name.startswith("__"):
            raise AttributeError(name)
        raise AttributeError(f"'Tensor' object has no attribute {name!r}: neuronet does not implement "
                             f"Tensor.{name} (see 'Coming from PyTorch' in the README)")

    def __repr__(self):
        """PyTorch's layout, e.g. ``tensor([1.0000, 2.5000], requires_grad=True)``
        (see :mod:`neuronet._printing`; options: ``neuronet.set_printoptions``)."""
        return _printing.tensor_repr(self)

    def __str__(self):
        return self.__repr__()      # a subclass's repr (Parameter containing: ...) prints too

    def __format__(self, format_spec):
        # As torch: a 0-d tensor formats as its Python number (f"{loss:.4f}");
        # any other tensor accepts only the empty spec.
        if self.ndim == 0 and type(self) is Tensor:
            return self.array.item().__format__(format_spec)
        return object.__format__(self, format_spec)

    # ------------------------------------------------------------ conversion
    def numpy(self):
        """The data as a NumPy array (shares memory on the CPU)."""
        return backend.to_numpy(self.array)

    def __array__(self, dtype=None, copy=None):
        arr = self.numpy()
        return arr.astype(dtype) if dtype is not None else arr

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self.array.size != 1:
            raise RuntimeError(f"a Tensor with {self.array.size} elements cannot be converted to Scalar")
        return self.array.reshape(()).item()

    def tolist(self):
        return self.numpy().tolist()

    def _scalar(self):
        if self.array.size != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        return self.array.reshape(()).item()

    def __float__(self):
        return builtins_float(self._scalar())

    def __int__(self):
        return int(self._scalar())

    def __complex__(self):
        return complex(self._scalar())

    def __bool__(self):
        n = self.array.size
        if n != 1:
            raise RuntimeError("Boolean value of Tensor with "
                               + ("no values" if n == 0 else "more than one value") + " is ambiguous")
        return bool(self.array.reshape(()).item())

    def __index__(self):
        if self.array.size != 1 or self.array.dtype.kind not in "iub":
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.array.reshape(()).item())

    def detach(self):
        """A tensor with the same data, cut from the graph. It shares the version
        counter: an in-place change through it is seen by backward's check."""
        t = Tensor._wrap(self.array)
        t._vc = self._vc
        return t

    def detach_(self):
        if self._base is not None and self._base.requires_grad:
            raise RuntimeError("detach_(): cannot detach a view of a tensor that requires grad in "
                               "place; use detach()")
        self._node = None
        self.requires_grad = False
        return self

    def to(self, *args, **kwargs):
        """``t.to('cuda')``, ``t.to(neuronet.float64)``, ``t.to(device, dtype)``.

        ``non_blocking=True`` from page-locked host memory (a batch of
        ``DataLoader(pin_memory=True)``) to a GPU is an asynchronous copy on
        the current stream; from anywhere else, and back to the host, the
        copy is an ordinary blocking one (as PyTorch's for pageable memory).
        """
        device = kwargs.pop("device", None)
        dtype = kwargs.pop("dtype", None)
        non_blocking = kwargs.pop("non_blocking", False)
        kwargs.pop("copy", None)
        fmt = kwargs.pop("memory_format", None)
        if kwargs:
            raise TypeError(f"to() got unexpected arguments {sorted(kwargs)}")
        flags = [a for a in args if isinstance(a, bool)]      # PyTorch's positional non_blocking, copy
        args = [a for a in args if not isinstance(a, bool)]
        non_blocking = bool(flags[0]) if flags else non_blocking
        if fmt is not None:
            out = self.to(*args, device=device, dtype=dtype, non_blocking=non_blocking)
            return out.contiguous(memory_format=fmt)
        for a in args:
            if isinstance(a, (backend.Device,)) or (isinstance(a, str) and a.split(":")[0] in ("cpu", "cuda")):
                device = a
            elif isinstance(a, Tensor):
                device, dtype = a.device, a.dtype
            elif isinstance(a, str) and a not in _DTYPE_ALIASES:
                raise ValueError(f"to(): {a!r} is neither a device ('cpu', 'cuda', 'cuda:N') "
                                 f"nor a dtype name ({', '.join(sorted(_DTYPE_ALIASES))})")
            else:
                dtype = a
        dev = backend.Device(device) if device is not None else None
        dt = _as_dtype(dtype)
        same_dev = dev is None or dev == self.device
        same_dt = dt is None or dt == self.dtype
        if same_dev and same_dt:
            return self
        if non_blocking and not same_dev and dev.type == "cuda" and not self.requires_grad:
            out = _upload_async(self.array, dev)
            if out is not None:
                return Tensor._wrap(out) if same_dt else Tensor._wrap(out).to(dt)
        if dt is not None and np.dtype(dt).kind not in "fc":
            # Integer and bool tensors carry no gradient (PyTorch: requires_grad=False).
            with no_grad():
                return _ops_sh.Copy.apply(self, None if same_dev else dev, None if same_dt else dt)
        return _ops_sh.Copy.apply(self, None if same_dev else dev, None if same_dt else dt)

    def cpu(self):
        return self.to("cpu")

    def cuda(self, device=None, non_blocking=False, memory_format=None):
        """A copy on GPU ``device`` (default: the current one); raises a
        RuntimeError naming the reason when CuPy or a GPU is missing.
        ``non_blocking``: as in :meth:`to`."""
        backend.require_cuda()
        dev = backend.Device("cuda", device) if isinstance(device, (int, np.integer)) or device is None \
            else backend.Device(device)
        return self.to(dev, non_blocking=non_blocking, memory_format=memory_format)

    def type(self, dtype=None, non_blocking=False):
        """``t.type()``: PyTorch's type name (``'torch.FloatTensor'``); ``t.type(dtype)``:
        the tensor converted (a dtype, or a name such as ``'torch.LongTensor'``)."""
        if dtype is None:
            from .autograd.function import _TYPE_NAMES
            name = _TYPE_NAMES.get(self.array.dtype.name, self.array.dtype.name)
            return f"torch.{'cuda.' if self.device.type == 'cuda' else ''}{name}"
        if isinstance(dtype, str) and dtype.startswith("torch.") and dtype.endswith("Tensor"):
            from .autograd.function import _TYPE_NAMES
            names = {v: k for k, v in _TYPE_NAMES.items()}
            kind = dtype.split(".")[-1]
            if kind not in names:
                raise ValueError(f"type(): unknown tensor type {dtype!r}")
            return self.to(names[kind]) if ".cuda." not in dtype else self.to("cuda", names[kind])
        return self.to(dtype)

    def float(self):
        return self.to(float32)

    def double(self):
        return self.to(float64)

    def half(self):
        return self.to(float16)

    def long(self):
        return self.to(int64)

    def int(self):
        return self.to(int32)

    def bool(self):
        return self.to(bool_)

    def type_as(self, other):
        return self.to(other.dtype)

    # ------------------------------------------------------------ autograd
    def retain_grad(self):
        """Keep ``.grad`` for this non-leaf tensor after backward."""
        if self._node is not None:
            self._retains_grad = True
            self._node.out_ref = weakref.ref(self)
        return self

    def register_hook(self, hook):
        """``hook(grad) -> new grad or None`` runs when this tensor's gradient is computed."""
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that does not require grad")
        if self._hooks is None:
            self._hooks = []
        self._hooks.append(hook)
        if self._node is not None:
            self._node.out_ref = weakref.ref(self)
        hooks = self._hooks

        class _Handle:
            def remove(self_inner):
                if hook in hooks:
                    hooks.remove(hook)
        return _Handle()

    def _on_grad(self, g):
        """Run hooks on (and, if asked, keep) the full gradient of a non-leaf."""
        if self._hooks:
            g = self._run_hooks(g)
        if self._retains_grad:
            self.grad = Tensor._wrap(g.copy()) if self.grad is None else Tensor._wrap(self.grad.array + g)
        return g

    def _run_hooks(self, g):
        for hook in self._hooks:
            res = hook(Tensor._wrap(g))
            if res is not None:
                g = _unwrap(res)
        return g

    def _accumulate(self, g):
        if self._hooks:
            g = self._run_hooks(g)
        if self.grad is None:
            # Own a fresh copy: ``g`` may be shared with another input or be a broadcast view.
            self.grad = Tensor._wrap(g.astype(self.array.dtype, copy=True))
        else:
            self.grad.array += g

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """Compute d(self)/d(leaf) for every leaf that requires grad, into ``leaf.grad``.

        ``gradient``: dE/d(self), needed unless self has one element.
        ``retain_graph``: keep saved buffers so backward can run again.
        ``inputs``: accumulate only into these leaves' ``.grad``.
        """
        from .autograd.graph import backward as _backward
        _backward([self], None if gradient is None else [gradient], retain_graph, create_graph, inputs)

    def _seed_gradient(self, gradient, who="backward"):
        """The gradient that starts backward at this tensor, as an ndarray."""
        if not self.requires_grad:
            raise RuntimeError(
                "element 0 of tensors does not require grad and does not have a grad_fn: "
                "no input of the computation had requires_grad=True (or it ran under no_grad())")
        xp = backend.array_module(self.array)
        if gradient is None:
            if self.array.size != 1:
                raise RuntimeError(
                    f"grad can be implicitly created only for scalar outputs; this tensor has shape "
                    f"{tuple(self.shape)}: pass {who}(gradient) with dE/d(output) of that shape, or "
                    "reduce it first (e.g. loss.sum())")
            return xp.ones(self.array.shape, dtype=self.array.dtype)
        g = xp.asarray(_unwrap(gradient), dtype=self.array.dtype)
        if g.shape != self.array.shape:
            raise RuntimeError(f"{who}(gradient): gradient has shape {tuple(g.shape)} but "
                               f"the tensor has shape {tuple(self.shape)}")
        return g

    # ------------------------------------------------------------ in place
    # PyTorch's semantics: the result lands in this tensor's storage (the same
    # object, the same array, seen by every view), the version counter moves,
    # and when autograd records, this tensor's grad_fn becomes the op's.
    def _apply_inplace(self, compute, name, clone=True):
        """Replace this tensor's values by ``compute(src)`` in place.

        ``compute`` is any composition of differentiable ops applied to ``src``,
        a tensor standing for this tensor's current value. When autograd
        records (grad mode on and this tensor or an operand requires grad),
        ``src`` carries this tensor's graph history and the result's history
        becomes this tensor's. ``clone=False`` skips copying the current values
        for ``src``; pass it only when ``compute`` does not save ``src`` for
        backward (if it does, backward raises the version error, never a wrong
        gradient).
        """
        if _grad_state["enabled"]:
            self._check_inplace_view(name)
            src = Tensor._wrap(self.array.copy() if clone else self.array, requires_grad=self.requires_grad)
            src._node = self._node
            src._vc = [0] if clone else self._vc
            result = compute(src)
            if result.requires_grad:
                return self._take_inplace(result, name)
        else:
            src = Tensor._wrap(self.array)
            src._vc = self._vc
            result = compute(src)
        self._write(result.array, name)
        return self

    def _write(self, values, name):
        """Copy ``values`` into this tensor's storage (PyTorch's casting rule) and
        count the change."""
        xp = backend.array_module(self.array)
        values = values if xp is np or not isinstance(values, np.ndarray) else xp.asarray(values)
        if getattr(values, "shape", self.shape) != self.array.shape:
            raise RuntimeError(f"{name}: output with shape {list(self.shape)} doesn't match the broadcast "
                               f"shape {list(values.shape)}")
        vdt = getattr(values, "dtype", None)
        if vdt is not None and vdt != self.array.dtype and not np.can_cast(vdt, self.array.dtype, "same_kind"):
            raise RuntimeError(f"{name}: result type {_type_name(vdt)} can't be cast to the desired output "
                               f"type {_type_name(self.array.dtype)}")
        if values is not self.array:
            try:
                self.array[...] = values
            except ValueError as e:
                if "read-only" in str(e):
                    raise RuntimeError(
                        f"{name}: unsupported operation: more than one element of the written-to tensor "
                        "refers to a single memory location (an expand()ed tensor or a read-only array); "
                        "clone() it before the in-place operation") from None
                raise
        self._vc[0] += 1

    def _take_inplace(self, result, name):
        """Write ``result`` into this storage and make its graph history ours;
        for a view, also re-route the base's history through the change."""
        from .autograd.function import storage_root
        self._write(result.array, name)
        node = result._node
        # The op may have saved its output: point that at our storage (the
        # copy can go) and guard it with our counter like any saved tensor.
        out = result.array
        ctx = node.ctx
        if any(x is out for x in (ctx.saved_tensors or ())):
            ctx.saved_tensors = tuple(self.array if x is out else x for x in ctx.saved_tensors)
        for k, v in list(ctx.__dict__.items()):
            if v is out:
                setattr(ctx, k, self.array)
        if any(x is self.array for x in (ctx.saved_tensors or ())) or \
                any(v is self.array for v in ctx.__dict__.values()):
            node.saved_versions = node.saved_versions + (
                (self._vc, self._vc[0], self.array.shape, self.array.dtype),)
        if self._retains_grad or self._hooks:
            node.out_ref = weakref.ref(self)
        self._node = node
        self.requires_grad = True
        base = self._base
        if base is not None and storage_root(base.array) is storage_root(self.array):
            if self._view_replay is None:
                raise RuntimeError(
                    f"{name}: in-place change of a view of a tensor that is part of the autograd graph; "
                    "neuronet can re-route the gradient only for views made by indexing, reshape, view, "
                    "permute, transpose, squeeze or unsqueeze of one tensor. Use an out-of-place op "
                    "(or clone() the view first).")
            rebased = _ops_sh.CopySlices.apply(base._as_input(), self, self._view_replay)
            base._node = rebased._node
            base.requires_grad = True
        return self

    def _as_input(self):
        """A stand-in with this tensor's array and graph history (for rebasing)."""
        t = Tensor._wrap(self.array, requires_grad=self.requires_grad)
        t._node = self._node
        return t

    def _check_inplace(self, op):
        """PyTorch's refusal of an in-place change of a leaf that requires grad
        while gradients are recorded."""
        if _grad_state["enabled"] and self.requires_grad and self._node is None:
            raise RuntimeError(
                f"{op}: a leaf Variable that requires grad is being used in an in-place operation. "
                "(Wrap the update in `with neuronet.no_grad():`.)")

    def _check_inplace_view(self, op):
        """``_check_inplace``, and the same refusal for a view of such a leaf."""
        self._check_inplace(op)
        base = self._base
        if _grad_state["enabled"] and base is not None and base.requires_grad and base._node is None:
            raise RuntimeError(f"{op}: a view of a leaf Variable that requires grad is being used in an "
                               "in-place operation.")

    def _fill_from(self, values, name):
        """In-place fill that records no graph (random fills, zero_, fill_ with a number)."""
        self._check_inplace_view(name)
        xp = backend.array_module(self.array)
        if self._node is not None and _grad_state["enabled"]:
            # A graph tensor overwritten by constants: its history ends here
            # (the old values get a zero gradient).
            const = Tensor._wrap(xp.asarray(values, dtype=self.dtype))
            return self._apply_inplace(lambda s: _ops_sh.CopyInto.apply(s, const), name, clone=False)
        self._write(xp.broadcast_to(xp.asarray(values, dtype=self.dtype), self.shape), name)
        return self

    def requires_grad_(self, requires_grad=True):
        if requires_grad and self.array.dtype.kind not in "fc":
            raise RuntimeError(
                f"only Tensors of floating point dtype can require gradients, received dtype {self.dtype}")
        if not requires_grad and self._node is not None:
            raise RuntimeError("you can only change requires_grad flags of leaf variables. If you want "
                               "to use a computed variable in a subgraph that doesn't require "
                               "differentiation use var_no_grad = var.detach().")
        self.requires_grad = bool(requires_grad)
        return self

    def zero_(self):
        return self._fill_from(0, "zero_()")

    def fill_(self, value):
        if isinstance(value, Tensor):
            if value.ndim != 0:
                raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor with "
                                   f"{value.ndim} dimensions.")
            if value.requires_grad:
                return self._apply_inplace(lambda s: value.expand(self.shape).to(self.dtype) + s * 0,
                                           "fill_()", clone=False)
            value = value.array
        return self._fill_from(value, "fill_()")

    def copy_(self, src, non_blocking=False):
        if isinstance(src, Tensor):
            s = src.array
        else:
            s = backend.array_module(self.array).asarray(src)
        if tuple(s.shape) != self.shape:
            try:
                np.broadcast_shapes(tuple(s.shape), self.shape)
            except ValueError:
                raise RuntimeError(f"copy_(): the source of shape {list(s.shape)} does not broadcast to "
                                   f"the destination's shape {list(self.shape)}") from None
        if isinstance(src, Tensor) and src.requires_grad and _grad_state["enabled"]:
            return self._apply_inplace(lambda d: _ops_sh.CopyInto.apply(d, src.to(self.device, self.dtype)),
                                       "copy_()", clone=False)
        s = backend.to_device(s, self.device)
        if s.dtype != self.dtype:
            s = s.astype(self.dtype)     # copy_ converts any dtype, unlike the arithmetic in-place ops
        if self._node is not None and _grad_state["enabled"]:
            return self._apply_inplace(
                lambda d: _ops_sh.CopyInto.apply(d, Tensor._wrap(s)), "copy_()", clone=False)
        self._check_inplace("copy_()")
        self._write(backend.array_module(self.array).broadcast_to(s, self.shape), "copy_()")
        return self

    def _arith_(self, other, op, name, clone):
        """``self = self <op> other`` in place. The current values are copied
        for the op (``clone``) only when autograd records it: otherwise nothing
        keeps them for a backward."""
        records = _grad_state["enabled"] and (self.requires_grad or
                                              (isinstance(other, Tensor) and other.requires_grad))
        return self._apply_inplace(lambda s: op(s, _operand(other, s)), name, clone=clone and records)

    def add_(self, other, alpha=1):
        other = other if alpha == 1 else other * alpha
        return self._arith_(other, lambda a, b: a + b, "add_()", False)

    def sub_(self, other, alpha=1):
        other = other if alpha == 1 else other * alpha
        return self._arith_(other, lambda a, b: a - b, "sub_()", False)

    def mul_(self, other):
        return self._arith_(other, lambda a, b: a * b, "mul_()", True)

    def div_(self, other, rounding_mode=None):
        if rounding_mode is not None:
            return self._apply_inplace(lambda s: s.div(other, rounding_mode=rounding_mode), "div_()")
        return self._arith_(other, lambda a, b: a / b, "div_()", True)

    def pow_(self, other):
        return self._arith_(other, _ops_math.pow, "pow_()", True)

    def matmul_(self, other):
        return self._arith_(other, lambda a, b: a @ b, "matmul_()", True)

    true_divide_ = div_

    def __iadd__(self, o):
        return self.add_(o)

    def __isub__(self, o):
        return self.sub_(o)

    def __imul__(self, o):
        return self.mul_(o)

    def __itruediv__(self, o):
        return self.div_(o)

    def __ipow__(self, o):
        return self.pow_(o)

    def __imatmul__(self, o):
        return self.matmul_(o)

    def __ifloordiv__(self, o):
        return self._apply_inplace(lambda s: s // o, "floor_divide_()")

    def __imod__(self, o):
        return self._apply_inplace(lambda s: s % o, "remainder_()")

    def __iand__(self, o):
        return self._apply_inplace(lambda s: s & o, "bitwise_and_()", clone=False)

    def __ior__(self, o):
        return self._apply_inplace(lambda s: s | o, "bitwise_or_()", clone=False)

    def __ixor__(self, o):
        return self._apply_inplace(lambda s: s ^ o, "bitwise_xor_()", clone=False)

    def clamp_(self, min=None, max=None):  # noqa: A002
        return self._apply_inplace(lambda s: s.clamp(min, max), "clamp_()")

    clip_ = clamp_

    def uniform_(self, a=0.0, b=1.0, generator=None):
        xp = backend.array_module(self.array)
        gen = generator._generator(xp) if generator is not None else backend.generator(xp)
        # a + (b - a) * U[0, 1): NumPy's uniform() on its stream; CuPy's Generator has only random()
        return self._fill_from((a + (b - a) * gen.random(self.shape)).astype(self.dtype, copy=False),
                               "uniform_()")

    def normal_(self, mean=0.0, std=1.0, generator=None):
        xp = backend.array_module(self.array)
        gen = generator._generator(xp) if generator is not None else backend.generator(xp)
        return self._fill_from((gen.standard_normal(self.shape) * std + mean).astype(self.dtype, copy=False),
                               "normal_()")

    def __setitem__(self, index, value):
        idx = _index_arrays(index)
        if _grad_state["enabled"] and (self.requires_grad or (isinstance(value, Tensor) and value.requires_grad)):
            v = value if isinstance(value, Tensor) else Tensor._wrap(
                backend.array_module(self.array).asarray(value, dtype=self.dtype))
            self._apply_inplace(lambda s: _ops_sh.SetItem.apply(s, v.to(self.device), idx),
                                "index assignment", clone=False)
            return
        self._check_inplace("index assignment")
        v = backend.to_device(_unwrap(value), self.device) if isinstance(value, Tensor) else value
        if isinstance(v, (list, tuple)):
            v = np.asarray(v, dtype=self.dtype)
        if isinstance(v, np.ndarray) and v.ndim and self.is_cuda:
            v = backend.to_device(v, self.device)      # a host array into a GPU tensor: copy it over
        try:
            _ops_sh.assign_index(self.array, idx, v)
        except IndexError as e:
            raise IndexError(f"index {index!r} is invalid for a tensor of shape {list(self.shape)}: {e}") from None
        except ValueError as e:
            if "read-only" in str(e):
                raise RuntimeError("index assignment: unsupported operation: more than one element of the "
                                   "written-to tensor refers to a single memory location; clone() it first") from None
            raise RuntimeError(f"index assignment into a tensor of shape {list(self.shape)}: {e}") from None
        self._vc[0] += 1

    # ------------------------------------------------------------ arithmetic
    def __add__(self, o):
        a, b = _promote(self, o)
        return _ops_el.Add.apply(a, b)

    def __radd__(self, o):
        a, b = _promote(o, self)
        return _ops_el.Add.apply(a, b)

    def __sub__(self, o):
        _ops_el.check_bool_subtraction(self, o)
        a, b = _promote(self, o)
        return _ops_el.Sub.apply(a, b)

    def __rsub__(self, o):
        _ops_el.check_bool_subtraction(o, self)
        a, b = _promote(o, self)
        return _ops_el.Sub.apply(a, b)

    def __mul__(self, o):
        a, b = _promote(self, o)
        return _ops_el.Mul.apply(a, b)

    def __rmul__(self, o):
        a, b = _promote(o, self)
        return _ops_el.Mul.apply(a, b)

    def __truediv__(self, o):
        a, b = _promote(self, o, True)
        return _ops_el.Div.apply(a, b)

    def __rtruediv__(self, o):
        a, b = _promote(o, self, True)
        return _ops_el.Div.apply(a, b)

    def __pow__(self, o):
        return _ops_math.pow(self, o)

    def __rpow__(self, o):
        return _ops_math.pow(o, self)

    def __matmul__(self, o):
        return _ops_el.MatMul.apply(self, _as_tensor_like(o, self))

    def __rmatmul__(self, o):
        return _ops_el.MatMul.apply(_as_tensor_like(o, self), self)

    def __neg__(self):
        return _ops_el.Neg.apply(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return self.abs()

    # comparisons: elementwise, bool results, no gradient
    def __eq__(self, o):
        return Tensor._wrap(self.array == _unwrap(o))

    def __ne__(self, o):
        return Tensor._wrap(self.array != _unwrap(o))

    def __lt__(self, o):
        return Tensor._wrap(self.array < _unwrap(o))

    def __le__(self, o):
        return Tensor._wrap(self.array <= _unwrap(o))

    def __gt__(self, o):
        return Tensor._wrap(self.array > _unwrap(o))

    def __ge__(self, o):
        return Tensor._wrap(self.array >= _unwrap(o))

    def __invert__(self):
        return Tensor._wrap(~self.array)

    def __and__(self, o):
        return _ops_math.bitwise_and(self, o)

    def __or__(self, o):
        return _ops_math.bitwise_or(self, o)

    def __rand__(self, o):
        return _ops_math.bitwise_and(o, self)

    def __ror__(self, o):
        return _ops_math.bitwise_or(o, self)

    # ------------------------------------------------------------ reductions
    # ``dim`` may be an int, a tuple of ints or None (all dims); NumPy's ``axis=``
    # is accepted as PyTorch accepts it. A 0-d tensor reduces over dim 0 / -1
    # as over nothing.
    def _dims(self, dim, axis, op):
        if axis is not None:
            if dim is not None:
                raise TypeError(f"{op}(): pass either dim or axis, not both")
            dim = axis
        if dim is None:
            return None
        n = builtins.max(self.ndim, 1)
        for d in ((dim,) if isinstance(dim, (int, np.integer)) else dim):
            if not -n <= d < n:
                raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], "
                                 f"but got {d})")
        if self.ndim == 0:
            return None
        return dim if isinstance(dim, (int, np.integer)) else tuple(dim)

    def sum(self, dim=None, keepdim=False, dtype=None, *, axis=None):
        x = self if dtype is None else self.to(dtype)
        return _ops_red.Sum.apply(x, self._dims(dim, axis, "sum"), keepdim)

    def mean(self, dim=None, keepdim=False, dtype=None, *, axis=None):
        x = self if dtype is None else self.to(dtype)
        if x.dtype.kind not in "fc":
            raise RuntimeError("mean(): could not infer output dtype. Input dtype must be either a floating "
                               f"point or complex dtype. Got: {_type_name(x.dtype)}")
        return _ops_red.Mean.apply(x, self._dims(dim, axis, "mean"), keepdim)

    def var(self, dim=None, unbiased=None, keepdim=False, correction=None, *, axis=None):
        if correction is None:
            correction = 1 if unbiased is None else int(bool(unbiased))
        return _ops_red.Var.apply(self, self._dims(dim, axis, "var"), correction, keepdim)

    def std(self, dim=None, unbiased=None, keepdim=False, correction=None, *, axis=None):
        if correction is None:
            correction = 1 if unbiased is None else int(bool(unbiased))
        return _ops_red.Std.apply(self, self._dims(dim, axis, "std"), correction, keepdim)

    def max(self, dim=None, keepdim=False, *, axis=None):
        """Without ``dim``: the largest element. With ``dim``: ``(values, indices)``;
        with a tensor: the elementwise maximum."""
        if isinstance(dim, Tensor):
            return self.maximum(dim)
        d = self._dims(dim, axis, "max")
        if d is None and (dim is not None or axis is not None):      # 0-d with dim=0
            return MaxResult(self.clone(), Tensor._wrap(backend.array_module(self.array).zeros((), np.int64)))
        res = _ops_red.MaxMin.apply(self, d, keepdim, True)
        return res if d is None else MaxResult(*res)

    def min(self, dim=None, keepdim=False, *, axis=None):
        if isinstance(dim, Tensor):
            return self.minimum(dim)
        d = self._dims(dim, axis, "min")
        if d is None and (dim is not None or axis is not None):
            return MaxResult(self.clone(), Tensor._wrap(backend.array_module(self.array).zeros((), np.int64)))
        res = _ops_red.MaxMin.apply(self, d, keepdim, False)
        return res if d is None else MaxResult(*res)

    def amax(self, dim=None, keepdim=False, *, axis=None):
        return _ops_red.AMaxMin.apply(self, self._dims(dim, axis, "amax"), keepdim, True)

    def amin(self, dim=None, keepdim=False, *, axis=None):
        return _ops_red.AMaxMin.apply(self, self._dims(dim, axis, "amin"), keepdim, False)

    def argmax(self, dim=None, keepdim=False, *, axis=None):
        return _argext(self, self._dims(dim, axis, "argmax"), keepdim, True)

    def argmin(self, dim=None, keepdim=False, *, axis=None):
        return _argext(self, self._dims(dim, axis, "argmin"), keepdim, False)

    def logsumexp(self, dim=None, keepdim=False, *, axis=None):
        if dim is None and axis is None:
            raise TypeError("logsumexp() missing required argument 'dim'")
        d = self._dims(dim, axis, "logsumexp")
        return _ops_red.LogSumExp.apply(self if d is not None else self.reshape(1), 0 if d is None else d,
                                        keepdim and d is not None)

    # ------------------------------------------------------------ shape
    def reshape(self, *shape):
        shape = _shape_arg(shape)
        if tuple(shape) == self.shape:
            return self
        return _ops_sh.Reshape.apply(self, shape)

    def view(self, *shape):
        return self.reshape(*shape)

    def view_as(self, other):
        return self.reshape(other.shape)

    def reshape_as(self, other):
        return self.reshape(other.shape)

    def flatten(self, start_dim=0, end_dim=-1):
        s = _ops_idx.wrap_dim(start_dim, self.ndim)
        e = _ops_idx.wrap_dim(end_dim, self.ndim)
        if self.ndim == 0:
            return self.reshape(1)
        if s > e:
            raise RuntimeError(f"flatten() has invalid args: start_dim ({start_dim}) cannot come after "
                               f"end_dim ({end_dim})")
        shape = self.shape
        n = 1
        for d in shape[s:e + 1]:
            n *= d
        return self.reshape(shape[:s] + (n,) + shape[e + 1:])

    def permute(self, *dims):
        dims = _shape_arg(dims)
        if len(dims) != self.ndim:
            raise RuntimeError(f"permute(sparse_coo): number of dimensions in the tensor input does not "
                               f"match the length of the desired ordering of dimensions i.e. input.dim() = "
                               f"{self.ndim} is not equal to len(dims) = {len(dims)}")
        wrapped = tuple(_ops_idx.wrap_dim(d, self.ndim) for d in dims)
        if len(set(wrapped)) != len(wrapped):
            raise RuntimeError(f"permute(): duplicate dims are not allowed, received {tuple(dims)}")
        if self.ndim == 0:
            return self
        return _ops_sh.Permute.apply(self, wrapped)

    def transpose(self, dim0, dim1):
        d0, d1 = _ops_idx.wrap_dim(dim0, self.ndim), _ops_idx.wrap_dim(dim1, self.ndim)
        if self.ndim == 0:
            return self
        dims = list(range(self.ndim))
        dims[d0], dims[d1] = dims[d1], dims[d0]
        return self.permute(*dims)

    def t(self):
        if self.ndim > 2:
            raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {self.ndim}D")
        return self.T

    def squeeze(self, dim=None):
        if dim is None:
            return self.reshape(tuple(s for s in self.shape if s != 1))
        dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
        dims = {_ops_idx.wrap_dim(d, self.ndim) for d in dims}
        return self.reshape(tuple(s for i, s in enumerate(self.shape) if not (i in dims and s == 1)))

    def unsqueeze(self, dim):
        d = _ops_idx.wrap_dim(dim, self.ndim + 1)
        return self.reshape(self.shape[:d] + (1,) + self.shape[d:])

    def expand(self, *sizes):
        sizes = _shape_arg(sizes)
        if len(sizes) < self.ndim:
            raise RuntimeError(f"expand(torch.FloatTensor{{{list(self.shape)}}}, size={list(sizes)}): the "
                               f"number of sizes provided ({len(sizes)}) must be greater or equal to the "
                               f"number of dimensions in the tensor ({self.ndim})")
        lead = len(sizes) - self.ndim
        shape = tuple(self.shape[i - lead] if (s == -1 and i >= lead) else s for i, s in enumerate(sizes))
        try:
            backend.array_module(self.array).broadcast_shapes(self.shape, shape)
        except ValueError:
            raise RuntimeError(f"expand(): cannot expand shape {tuple(self.shape)} to {tuple(sizes)}") from None
        return _ops_sh.Expand.apply(self, shape)

    def expand_as(self, other):
        return self.expand(other.shape)

    def __getitem__(self, index):
        return _ops_sh.GetItem.apply(self, _index_arrays(index))


builtins_float = builtins.float


def _type_name(dtype):
    return {"f": "Float", "i": "Long", "u": "Byte", "b": "Bool", "c": "ComplexFloat"}.get(
        np.dtype(dtype).kind, str(dtype)) if np.dtype(dtype) not in (np.float64, np.int32) else         ("Double" if np.dtype(dtype) == np.float64 else "Int")


def _index_arrays(index):
    """Replace Tensors inside an index by their arrays."""
    if isinstance(index, Tensor):
        return index.array
    if isinstance(index, tuple):
        return tuple(i.array if isinstance(i, Tensor) else i for i in index)
    if isinstance(index, list):
        return np.asarray([i.item() if isinstance(i, Tensor) else i for i in index])
    return index


def _shape_arg(shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(int(s) for s in shape[0])
    return tuple(int(s) for s in shape)


def _operand(o, like):
    """Python scalars stay scalars (NumPy then keeps ``like``'s dtype)."""
    if isinstance(o, Tensor):
        return o
    if isinstance(o, numbers.Number):
        return o
    return Tensor._wrap(backend.array_module(like.array).asarray(o, dtype=like.dtype)
                        if not hasattr(o, "dtype") else o)


def result_type(a, b, true_division=False):
    """The dtype PyTorch gives ``a (op) b`` for tensors and Python numbers
    (``torch.result_type``; true division of integers gives the default float)."""
    result = _ops_math.result_type(a, b)
    if true_division and result.kind not in "fc":
        result = np.dtype(backend.default_dtype)
    return _dtypes.as_dtype(result)


def _promote(a, b, true_division=False):
    """Both operands of a binary op, cast to PyTorch's result dtype. Python
    numbers stay numbers (NumPy then keeps the tensor's dtype)."""
    ta, tb = isinstance(a, Tensor), isinstance(b, Tensor)
    if not (ta and tb):
        t, o = (a, b) if ta else (b, a)
        if not isinstance(o, numbers.Number):
            o = _operand(o, t)
            a, b = (t, o) if ta else (o, t)
            if not isinstance(o, Tensor):
                return a, b
    if ta and tb and a.array.dtype == b.array.dtype and not true_division:
        return a, b
    dt = result_type(a, b, true_division)
    if isinstance(a, Tensor) and a.array.dtype != dt:
        a = a.to(dt)
    if isinstance(b, Tensor) and b.array.dtype != dt:
        b = b.to(dt)
    if dt.kind in "iu":
        a, b = _wrap_int(a, dt), _wrap_int(b, dt)
    return a, b


def _wrap_int(o, dt):
    """A Python int outside an integer dtype's range wraps around, as in PyTorch
    (uint8 tensor + -3); NumPy would raise OverflowError."""
    if isinstance(o, int) and not isinstance(o, bool):
        info = np.iinfo(np.dtype(dt))
        if not info.min <= o <= info.max:
            return np.asarray(o).astype(np.dtype(dt))
    return o


def _as_tensor_like(o, like):
    if isinstance(o, Tensor):
        return o
    xp = backend.array_module(like.array)
    return Tensor._wrap(xp.asarray(o, dtype=like.dtype))


def _argext(t, dim, keepdim, is_max):
    xp = backend.array_module(t.array)
    if dim is None:
        idx = xp.asarray(xp.argmax(t.array) if is_max else xp.argmin(t.array), dtype=xp.int64)
        return Tensor._wrap(idx.reshape((1,) * t.ndim) if keepdim else idx)
    idx = xp.argmax(t.array, axis=dim) if is_max else xp.argmin(t.array, axis=dim)
    if keepdim:
        idx = xp.expand_dims(idx, dim)
    return Tensor._wrap(idx.astype(xp.int64))


# ---------------------------------------------------------------- factories
def tensor(data, dtype=None, device=None, requires_grad=False):
    """A new tensor from Python data or an array (copied).

    >>> neuronet.tensor([[1., 2.], [3., 4.]], requires_grad=True)
    """
    arr = _infer_array(data, dtype, device)
    if arr is (data.array if isinstance(data, Tensor) else data):
        arr = arr.copy()
    return Tensor._wrap(arr).requires_grad_(requires_grad) if requires_grad else Tensor._wrap(arr)


def as_tensor(data, dtype=None, device=None):
    """Like :func:`tensor` but shares memory with an ndarray when it can."""
    if isinstance(data, Tensor) and dtype is None and device is None:
        return data
    return Tensor._wrap(_infer_array(data, dtype, device))


def from_numpy(array):
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy() expects a numpy.ndarray, received {type(array).__name__}")
    return Tensor._wrap(array)


def is_tensor(obj):
    return isinstance(obj, Tensor)


def _factory(make, size, dtype, device, requires_grad):
    dev = backend.Device(device) if device is not None else backend.default_device
    xp = dev.xp
    dt = _as_dtype(dtype) or np.dtype(backend.default_dtype)
    if dev.type == "cuda" and dev.index is not None:    # 'cuda:N': allocate on GPU N
        with xp.cuda.Device(dev.index):
            arr = make(xp, _size_args(size), dt)
    else:
        arr = make(xp, _size_args(size), dt)
    t = Tensor._wrap(arr)
    if requires_grad:
        t.requires_grad_(True)
    return t


def zeros(*size, dtype=None, device=None, requires_grad=False):
    return _factory(lambda xp, s, dt: xp.zeros(s, dtype=dt), size, dtype, device, requires_grad)


def ones(*size, dtype=None, device=None, requires_grad=False):
    return _factory(lambda xp, s, dt: xp.ones(s, dtype=dt), size, dtype, device, requires_grad)


def empty(*size, dtype=None, device=None, requires_grad=False):
    return _factory(lambda xp, s, dt: xp.empty(s, dtype=dt), size, dtype, device, requires_grad)


def full(size, fill_value, dtype=None, device=None, requires_grad=False):
    if dtype is None and isinstance(fill_value, (bool, np.bool_)):
        dtype = bool_
    elif dtype is None and isinstance(fill_value, (int, np.integer)):
        dtype = int64
    return _factory(lambda xp, s, dt: xp.full(s, fill_value, dtype=dt), (size,), dtype, device,
                    requires_grad)


def randn(*size, dtype=None, device=None, requires_grad=False):
    """Standard normal samples from the generator seeded by ``manual_seed``."""
    return _factory(lambda xp, s, dt: backend.generator(xp).standard_normal(s).astype(dt, copy=False),
                    size, dtype, device, requires_grad)


def rand(*size, dtype=None, device=None, requires_grad=False):
    """Uniform samples in [0, 1)."""
    return _factory(lambda xp, s, dt: backend.generator(xp).random(s).astype(dt, copy=False),
                    size, dtype, device, requires_grad)


def randint(low, high=None, size=None, *, generator=None, dtype=None, device=None, requires_grad=False):
    """Integers in [low, high): ``randint(high, size)`` or ``randint(low, high, size)``."""
    if size is None and isinstance(high, (tuple, list)):      # randint(high, size)
        low, high, size = 0, low, high
    if high is None:
        low, high = 0, low
    if size is None:
        raise TypeError("randint() missing required argument 'size'")
    return _factory(lambda xp, s, dt: backend.generator(xp).integers(low, high, s).astype(dt),
                    (tuple(size),), dtype or int64, device, False)


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False):
    if end is None:
        start, end = 0, start
    if dtype is None:
        is_int = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
        dtype = int64 if is_int else backend.default_dtype
    if step == 0:
        raise RuntimeError("arange(): step must be nonzero")
    if (end - start) * step < 0:
        raise RuntimeError(f"arange(): upper bound and larger bound inconsistent with step sign "
                           f"(start={start}, end={end}, step={step})")
    dev = backend.Device(device) if device is not None else backend.default_device
    arr = dev.xp.arange(start, end, step, dtype=_as_dtype(dtype))
    t = Tensor._wrap(arr)
    return t.requires_grad_(True) if requires_grad else t


def linspace(start, end, steps, dtype=None, device=None):
    dev = backend.Device(device) if device is not None else backend.default_device
    return Tensor._wrap(_ops_arr.linspace_values(dev.xp, start, end, steps,
                                                 _as_dtype(dtype) or np.dtype(backend.default_dtype)))


def eye(n, m=None, dtype=None, device=None, requires_grad=False):
    dev = backend.Device(device) if device is not None else backend.default_device
    t = Tensor._wrap(dev.xp.eye(n, m, dtype=_as_dtype(dtype) or backend.default_dtype))
    return t.requires_grad_(True) if requires_grad else t


def _like(make):
    def f(t, dtype=None, device=None, requires_grad=False):
        return make(*t.shape, dtype=dtype or t.dtype, device=device or t.device, requires_grad=requires_grad)
    return f


zeros_like = _like(zeros)
ones_like = _like(ones)
empty_like = _like(empty)


def full_like(t, fill_value, dtype=None, device=None, requires_grad=False):
    return full(t.shape, fill_value, dtype=dtype or t.dtype, device=device or t.device,
                requires_grad=requires_grad)


# ---------------------------------------------------------------- functions
def _check_same_rank(tensors, op):
    if not tensors:
        raise ValueError(f"{op}() expects a non-empty sequence of tensors")
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}(): element {i} is a {type(t).__name__}, expected a Tensor")


def cat(tensors, dim=0):
    """Join tensors along an existing ``dim`` (all other sizes must match)."""
    tensors = list(tensors)
    _check_same_rank(tensors, "cat")
    for i, t in enumerate(tensors):
        if t.ndim == 0:
            raise RuntimeError(f"zero-dimensional tensor (at position {i}) cannot be concatenated")
    # PyTorch accepts 1-d empty tensors beside tensors of any rank (a common way
    # to start an accumulation): they join as an empty slice of the others' shape.
    ref_t = next((t for t in tensors if not (t.ndim == 1 and t.shape[0] == 0)), None)
    if ref_t is None:
        return _ops_sh.Cat.apply(*tensors, dim=_ops_idx.wrap_dim(dim, 1))
    d = _ops_idx.wrap_dim(dim, ref_t.ndim)
    if ref_t.ndim != 1:
        empty_shape = tuple(0 if j == d else n for j, n in enumerate(ref_t.shape))
        tensors = [t.reshape(empty_shape) if (t.ndim == 1 and t.shape[0] == 0) else t for t in tensors]
    nd = tensors[0].ndim
    ref = tensors[0].shape
    for i, t in enumerate(tensors):
        if t.ndim != nd or any(a != b for j, (a, b) in enumerate(zip(t.shape, ref)) if j != d):
            raise RuntimeError(f"cat(): sizes must match except in dim {dim}; tensor 0 has shape {ref}, "
                               f"tensor {i} has shape {t.shape}")
    return _ops_sh.Cat.apply(*tensors, dim=d)


concatenate = cat


def stack(tensors, dim=0):
    """Join same-shaped tensors along a new ``dim``."""
    tensors = list(tensors)
    _check_same_rank(tensors, "stack")
    for i, t in enumerate(tensors):
        if t.shape != tensors[0].shape:
            raise RuntimeError(f"stack(): all tensors must have the same shape; tensor 0 has shape "
                               f"{tensors[0].shape}, tensor {i} has shape {t.shape}")
    return _ops_sh.Stack.apply(*tensors, dim=_ops_idx.wrap_dim(dim, tensors[0].ndim + 1))


def where(condition, input=None, other=None):  # noqa: A002
    """``where(cond, x, y)``: x where cond holds, else y (broadcast; PyTorch's
    promotion for the two values). ``where(cond)``: ``nonzero(cond, as_tuple=True)``."""
    if input is None and other is None:
        return _ops_idx.nonzero(condition, as_tuple=True)
    if input is None or other is None:
        raise TypeError("where() expects a condition and both values, or the condition alone")
    cond = _unwrap(condition)
    if getattr(cond, "dtype", None) is not None and cond.dtype != np.bool_:
        cond = cond.astype(bool)
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        dt = result_type(input, other)
        xp = backend.array_module(cond)
        input, other = Tensor._wrap(xp.asarray(input, dtype=dt)), Tensor._wrap(xp.asarray(other, dtype=dt))
    else:
        input, other = _promote(input, other)
        like = input if isinstance(input, Tensor) else other
        input = input if isinstance(input, Tensor) else _as_tensor_like(input, like)
        other = other if isinstance(other, Tensor) else _as_tensor_like(other, like)
    return _ops_el.Where.apply(cond, input, other)


def sum(input, dim=None, keepdim=False, *, dtype=None, axis=None): return input.sum(dim, keepdim, dtype, axis=axis)  # noqa: E704,A001,E501
def mean(input, dim=None, keepdim=False, *, dtype=None, axis=None): return input.mean(dim, keepdim, dtype, axis=axis)  # noqa: E704,E501
def var(input, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None): return input.var(dim, unbiased, keepdim, correction, axis=axis)  # noqa: E704,E501
def std(input, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None): return input.std(dim, unbiased, keepdim, correction, axis=axis)  # noqa: E704,E501
def max(input, dim=None, keepdim=False, *, axis=None): return input.max(dim, keepdim, axis=axis)  # noqa: E704,A001
def min(input, dim=None, keepdim=False, *, axis=None): return input.min(dim, keepdim, axis=axis)  # noqa: E704,A001
def amax(input, dim=None, keepdim=False, *, axis=None): return input.amax(dim, keepdim, axis=axis)  # noqa: E704
def amin(input, dim=None, keepdim=False, *, axis=None): return input.amin(dim, keepdim, axis=axis)  # noqa: E704
def argmax(input, dim=None, keepdim=False, *, axis=None): return input.argmax(dim, keepdim, axis=axis)  # noqa: E704
def argmin(input, dim=None, keepdim=False, *, axis=None): return input.argmin(dim, keepdim, axis=axis)  # noqa: E704
def logsumexp(input, dim=None, keepdim=False, *, axis=None): return input.logsumexp(dim, keepdim, axis=axis)  # noqa: E704,E501
def flatten(x, start_dim=0, end_dim=-1): return x.flatten(start_dim, end_dim)  # noqa: E704
def reshape(x, shape): return x.reshape(shape)   # noqa: E704
def permute(x, dims): return x.permute(dims)     # noqa: E704
def transpose(x, d0, d1): return x.transpose(d0, d1)  # noqa: E704
def squeeze(x, dim=None): return x.squeeze(dim)  # noqa: E704
def unsqueeze(x, dim): return x.unsqueeze(dim)   # noqa: E704


# The ops build Tensors through Function.apply: bind Tensor there, then load them.
from .autograd import function as _function  # noqa: E402
_function.Tensor = Tensor
from .ops import elementwise as _ops_el  # noqa: E402
from .ops import reduction as _ops_red  # noqa: E402
from .ops import shape as _ops_sh  # noqa: E402
# The op families that register their names through ops/_registry.py.
from .ops import math as _ops_math, linalg as _ops_linalg, indexing as _ops_idx  # noqa: E402,F401
from .ops import sorting as _ops_sort, sampling as _ops_samp, arrange as _ops_arr  # noqa: E402,F401
from .ops import distance as _ops_dist  # noqa: E402,F401
from .ops import _registry  # noqa: E402
_registry.bind(Tensor)
