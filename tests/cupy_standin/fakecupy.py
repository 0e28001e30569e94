"""A strict CPU stand-in for CuPy: NumPy underneath, CuPy's rules on top.

What it enforces, because real CuPy enforces it and our plumbing must obey:

- its arrays refuse implicit conversion to NumPy (``np.asarray(x)`` raises
  CuPy's "Implicit conversion to a NumPy array is not allowed");
- a NumPy array (ndim > 0) inside a device op raises, as CuPy's kernels do;
- ``random.default_rng()`` returns a ``Generator`` with exactly the methods of
  CuPy v14's ``cupy.random.Generator`` (no ``normal``/``uniform``/
  ``permutation``/``shuffle``/``choice``);
- every host synchronisation (``get()``, ``item()``, ``tolist()``, ``bool()``,
  ``float()``, ``int()``, ``asnumpy``) is counted in ``SYNCS`` so a test can
  assert a training step's budget;
- every host-to-device copy (``asarray``/``array`` of host data, ``ndarray.set``)
  is counted in ``TRANSFERS`` (``h2d``; ``h2d_async`` for ``set(..., stream=s)``
  from page-locked memory, the only copy CUDA can run asynchronously), so a
  test can assert that device-resident data never makes a host round trip;
- page-locked host memory as CuPy hands it out: ``cuda.alloc_pinned_memory(n)``
  returns a ``PinnedMemoryPointer`` that NumPy arrays can be built on
  (``numpy.ndarray(shape, dtype, buffer=mem)``, whose ``.base`` is ``mem``);
  streams ``record()`` events that are always ``done`` (copies are immediate).

Device ops delegate to NumPy, so numbers equal the CPU path bit for bit.
"""
from __future__ import annotations

import builtins
import collections
import types

import numpy

__version__ = "14.0.0-standin"

import weakref  # noqa: E402
_live = weakref.WeakValueDictionary()     # id -> every live device array, for the memory pool's byte count

# ------------------------------------------------------------------ sync counter
SYNCS = collections.Counter()
_TRACE = None          # a list to append (kind, stack) to, when tracing


TRANSFERS = collections.Counter()   # host -> device copies, by kind
TRANSFERRED_BYTES = collections.Counter()   # their sizes, by kind


def reset_syncs():
    SYNCS.clear()
    TRANSFERS.clear()
    TRANSFERRED_BYTES.clear()


def total_syncs() -> int:
    return builtins.sum(SYNCS.values())


def _sync(kind):
    SYNCS[kind] += 1
    if _TRACE is not None:
        import traceback
        _TRACE.append((kind, "".join(traceback.format_stack(limit=8)[:-2])))


def _holds_host_data(obj):
    if type(obj) is ndarray:
        return False
    if isinstance(obj, (list, tuple)) and obj:
        return builtins.any(_holds_host_data(o) for o in obj)
    return True


def _upload(obj, kind="h2d"):
    # Counted only for host data: device arrays passed along are no copy.
    if _holds_host_data(obj):
        TRANSFERS[kind] += 1
        try:
            TRANSFERRED_BYTES[kind] += numpy.asarray(_unwrap_nested(obj)).nbytes
        except (ValueError, TypeError):     # ragged or odd input: CuPy refuses it below anyway
            pass


class _HostArrayError(TypeError):
    pass


def _unwrap(x, where):
    """Device value -> NumPy array for the delegate; host arrays refused."""
    if type(x) is ndarray:
        return x._a
    if isinstance(x, numpy.ndarray):
        if x.ndim == 0:
            return x
        raise _HostArrayError(
            f"Unsupported type <class 'numpy.ndarray'> (a host array of shape {x.shape}) "
            f"passed to the device op {where}: move it with cupy.asarray first")
    if isinstance(x, (list, tuple)):
        return type(x)(_unwrap(v, where) for v in x)
    if isinstance(x, dict):
        return {k: _unwrap(v, where) for k, v in x.items()}
    return x


def _root(a):
    while isinstance(a, numpy.ndarray) and a.base is not None:
        a = a.base
    return a


def _wrap(r, src=None):
    """NumPy result -> device array; a view of ``src``'s memory gets ``src``'s
    owner as ``.base``, one object, as CuPy's views do."""
    if isinstance(r, numpy.ndarray):
        o = ndarray._of(r)
        if src is not None and r.base is not None and _root(r) is _root(src._a):
            o._base = src if src._base is None else src._base
            o._dev = src._dev
        return o
    if isinstance(r, numpy.generic):
        return ndarray._of(numpy.asarray(r))
    if isinstance(r, tuple):
        return tuple(_wrap(v, src) for v in r)
    if isinstance(r, list):
        return [_wrap(v, src) for v in r]
    return r


def _first_device(args):
    for a in args:
        if type(a) is ndarray:
            return a
        if isinstance(a, (list, tuple)) and a and type(a[0]) is ndarray:
            return None      # a list of arrays (concatenate & co.) makes new memory
    return None


def _index(key):
    # CuPy accepts device arrays, host index arrays and lists as indices
    # (uploading the host ones: a counted transfer).
    if type(key) is ndarray:
        return key._a
    if (isinstance(key, numpy.ndarray) and key.ndim > 0) or (isinstance(key, list) and _holds_host_data(key)):
        _upload(key)
    if isinstance(key, tuple):
        return tuple(_index(k) for k in key)
    return key


class _DeviceInfo:
    def __init__(self, id=0):
        self.id = int(id)
        self._prev = []

    def use(self):
        cuda._current = self.id

    def synchronize(self):
        pass

    def __enter__(self):
        self._prev.append(cuda._current)
        cuda._current = self.id
        return self

    def __exit__(self, *exc):
        cuda._current = self._prev.pop()

    def __eq__(self, other):
        return isinstance(other, _DeviceInfo) and other.id == self.id

    def __hash__(self):
        return self.id

    def __repr__(self):
        return f"<CUDA Device {self.id}>"


class ndarray:
    """A device array: a NumPy array that only the device module may touch."""

    __slots__ = ("_a", "_dev", "_base", "__weakref__")
    __array_priority__ = 100

    def __init__(self, shape, dtype=float, memptr=None, strides=None, order="C"):
        self._a = numpy.empty(shape, dtype=dtype, order=order)
        self._dev = cuda._current
        self._base = None

    @classmethod
    def _of(cls, a, dev=None):
        o = object.__new__(cls)
        o._a = a
        o._dev = cuda._current if dev is None else dev
        o._base = None
        _live[id(o)] = o
        return o

    # ---- the refusals
    def __array__(self, dtype=None, copy=None):
        raise TypeError("Implicit conversion to a NumPy array is not allowed. "
                        "Please use `.get()` to construct a NumPy array explicitly.")

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        name = f"{ufunc.__name__}.{method}" if method != "__call__" else ufunc.__name__
        out = kwargs.get("out")
        args = [_unwrap(i, name) for i in inputs]
        kw = {k: _unwrap(v, name) for k, v in kwargs.items()}
        r = getattr(ufunc, method)(*args, **kw)
        if out is not None:
            return out[0] if isinstance(out, tuple) and len(out) == 1 else out
        return _wrap(r)

    def __array_function__(self, func, types_, args, kwargs):
        name = func.__name__
        mine = globals().get(name)
        if callable(mine) and not isinstance(mine, type):
            return mine(*args, **kwargs)
        return _wrap(func(*_unwrap(args, name), **_unwrap(kwargs, name)), _first_device(args))

    # ---- explicit transfers and syncs
    def set(self, arr, stream=None):
        """Copy host ``arr`` in (CuPy's checks); with ``stream`` from page-locked
        memory the copy is asynchronous (``h2d_async``), otherwise blocking."""
        if not isinstance(arr, numpy.ndarray):
            raise TypeError("Only numpy.ndarray can be set to cupy.ndarray")
        if self.dtype != arr.dtype:
            raise TypeError(f"{arr.dtype} array cannot be set to {self.dtype} array")
        if self.shape != arr.shape:
            raise ValueError(f"Shape mismatch. Old shape: {self.shape}, new shape: {arr.shape}")
        if not self._a.flags.c_contiguous:
            raise RuntimeError("Cannot set to non-contiguous array")
        arr = numpy.ascontiguousarray(arr)
        kind = "h2d_async" if stream is not None and _is_pinned(arr) else "h2d"
        TRANSFERS[kind] += 1
        TRANSFERRED_BYTES[kind] += arr.nbytes
        self._a[...] = arr

    def get(self, stream=None, order="C", out=None):
        _sync("get")
        return self._a.copy()

    def item(self):
        _sync("item")
        return self._a.item()

    def tolist(self):
        _sync("tolist")
        return self._a.tolist()

    def __bool__(self):
        _sync("bool")
        return builtins.bool(self._a)

    def __float__(self):
        _sync("float")
        return builtins.float(self._a)

    def __int__(self):
        _sync("int")
        return builtins.int(self._a)

    def __complex__(self):
        _sync("complex")
        return builtins.complex(self._a)

    def __index__(self):
        _sync("index")
        return self._a.__index__()

    def __repr__(self):
        return repr(self._a).replace("array(", "array(", 1)

    def __str__(self):
        return str(self._a)

    def __format__(self, spec):
        _sync("format")
        return format(self._a.item() if self._a.ndim == 0 else self._a, spec)

    def __iter__(self):
        if self._a.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        return (_wrap(self._a[i], self) for i in range(self._a.shape[0]))

    def __len__(self):
        return len(self._a)

    def __reduce__(self):
        raise TypeError("a stand-in device array cannot be pickled; call .get() first")

    def __copy__(self):
        return ndarray._of(self._a.copy(), self._dev)

    def __deepcopy__(self, memo):
        return ndarray._of(self._a.copy(), self._dev)

    # ---- attributes
    shape = property(lambda self: self._a.shape)
    dtype = property(lambda self: self._a.dtype)
    ndim = property(lambda self: self._a.ndim)
    size = property(lambda self: self._a.size)
    itemsize = property(lambda self: self._a.itemsize)
    nbytes = property(lambda self: self._a.nbytes)
    strides = property(lambda self: self._a.strides)
    flags = property(lambda self: self._a.flags)
    base = property(lambda self: self._base)
    T = property(lambda self: _wrap(self._a.T, self))
    mT = property(lambda self: _wrap(self._a.mT, self))
    device = property(lambda self: _DeviceInfo(self._dev))

    @property
    def real(self):
        return ndarray._of(self._a.real, self._dev)

    @property
    def imag(self):
        return ndarray._of(self._a.imag, self._dev)

    @property
    def data(self):
        return types.SimpleNamespace(ptr=self._a.__array_interface__["data"][0])

    @property
    def __cuda_array_interface__(self):
        d = dict(self._a.__array_interface__)
        d["version"] = 3
        return d

    # ---- indexing
    def __getitem__(self, key):
        k = _index(key)
        r = self._a[k]
        if isinstance(r, numpy.generic):      # CuPy: a 0-d view, never a host scalar
            r = self._a[(k if isinstance(k, tuple) else (k,)) + (Ellipsis,)]
        return _wrap(r, self)

    def __setitem__(self, key, value):
        self._a[_index(key)] = _unwrap(value, "__setitem__")

    def fill(self, value):
        if isinstance(value, numpy.ndarray) and value.ndim > 0:
            raise ValueError("non-scalar numpy.ndarray cannot be used for fill")
        if type(value) is ndarray:
            if value.ndim > 0:
                raise ValueError("non-scalar cupy.ndarray cannot be used for fill")
            value = value._a
        self._a.fill(value)

    # ---- methods delegate (arguments unwrapped, host arrays refused)
    def __getattr__(self, name):
        if name.startswith("__"):      # never leak __array_interface__ & co.
            raise AttributeError(name)
        attr = getattr(self._a, name)
        if not callable(attr):
            return _wrap(attr)

        def method(*args, **kwargs):
            where = f"ndarray.{name}"
            r = attr(*_unwrap(args, where), **_unwrap(kwargs, where))
            return _wrap(r, self)
        return method

    def copy(self, order="C"):
        return ndarray._of(self._a.copy(order=order), self._dev)

    def astype(self, dtype, order="K", casting=None, subok=None, copy=True):
        return ndarray._of(self._a.astype(dtype, order=order, copy=copy), self._dev)

    def view(self, *a, **k):
        return _wrap(self._a.view(*a, **k), self)

    def __dlpack__(self, *a, **k):
        raise TypeError("the stand-in does not export DLPack")


def _binop(name):
    uf = getattr(numpy, name)

    def f(self, other):
        return uf(self, other)

    def r(self, other):
        return uf(other, self)

    def i(self, other):
        uf(self, other, out=(self,))
        return self
    return f, r, i


for _op, _uf in [("add", "add"), ("sub", "subtract"), ("mul", "multiply"), ("truediv", "true_divide"),
                 ("floordiv", "floor_divide"), ("mod", "remainder"), ("pow", "power"),
                 ("matmul", "matmul"), ("and", "bitwise_and"), ("or", "bitwise_or"), ("xor", "bitwise_xor"),
                 ("lshift", "left_shift"), ("rshift", "right_shift")]:
    _f, _r, _i = _binop(_uf)
    setattr(ndarray, f"__{_op}__", _f)
    setattr(ndarray, f"__r{_op}__", _r)
    setattr(ndarray, f"__i{_op}__", _i)
for _op, _uf in [("lt", "less"), ("le", "less_equal"), ("gt", "greater"), ("ge", "greater_equal"),
                 ("eq", "equal"), ("ne", "not_equal")]:
    setattr(ndarray, f"__{_op}__", _binop(_uf)[0])
for _op, _uf in [("neg", "negative"), ("pos", "positive"), ("abs", "absolute"), ("invert", "invert")]:
    setattr(ndarray, f"__{_op}__", (lambda u: lambda self: u(self))(getattr(numpy, _uf)))
ndarray.__hash__ = None


# ------------------------------------------------------------------ the module
def asarray(a, dtype=None, order=None, *, blocking=False):
    if type(a) is ndarray:
        return a if dtype is None or a.dtype == dtype else a.astype(dtype)
    if isinstance(a, numpy.ndarray) and a.dtype == object:
        raise ValueError("Unsupported dtype object")
    if hasattr(a, "__cuda_array_interface__") and not isinstance(a, numpy.ndarray):
        raise TypeError(f"cannot take {type(a).__name__} as a stand-in device array")
    _upload(a)
    return ndarray._of(numpy.array(_unwrap_nested(a), dtype=dtype, order=order or "K"))


def array(obj, dtype=None, copy=True, order="K", subok=False, ndmin=0, *, blocking=False):
    if type(obj) is ndarray:
        if obj._dev != cuda._current:       # CuPy copies across to the current device
            copy = True
        r = numpy.array(obj._a, dtype=dtype, copy=copy, order=order, ndmin=ndmin)
        return ndarray._of(r, obj._dev if r is obj._a else None)
    _upload(obj)
    return ndarray._of(numpy.array(_unwrap_nested(obj), dtype=dtype, copy=True, order=order, ndmin=ndmin))


def _unwrap_nested(obj):
    if type(obj) is ndarray:
        return obj._a
    if isinstance(obj, (list, tuple)):
        return [_unwrap_nested(o) for o in obj]
    return obj


ascontiguousarray = lambda a, dtype=None: _wrap(numpy.ascontiguousarray(_unwrap(a, "ascontiguousarray"),  # noqa
                                                                        dtype=dtype))


def asnumpy(a, stream=None, order="C", out=None, blocking=True):
    if type(a) is ndarray:
        _sync("asnumpy")
        return a._a.copy()
    return numpy.asarray(a, order=order)


def get_array_module(*args):
    for a in args:
        if type(a) is ndarray:
            return _this
    return numpy


def _delegate(name):
    fn = getattr(numpy, name)

    def f(*args, **kwargs):
        return _wrap(fn(*_unwrap(args, name), **_unwrap(kwargs, name)), _first_device(args))
    f.__name__ = name
    return f


_this = None  # set below


def __getattr__(name):
    # Everything else: NumPy's function of that name, on device arrays only.
    if name.startswith("__"):
        raise AttributeError(name)
    obj = getattr(numpy, name)
    if isinstance(obj, (type, numpy.dtype)) or not callable(obj):
        return obj
    f = _delegate(name)
    globals()[name] = f
    return f


newaxis = None
ndarray.__module__ = "cupy"

# ------------------------------------------------------------------ random
class _BitGenerator:
    def __init__(self, seed=None):
        self._np = numpy.random.default_rng(seed)
        self.generator = 0

    def state(self):
        return self._np.bit_generator.state


class Generator:
    """Exactly the methods of CuPy v14's ``cupy.random.Generator``."""

    def __init__(self, bit_generator):
        self.bit_generator = bit_generator

    @property
    def _g(self):
        return self.bit_generator._np

    def random(self, size=None, dtype=numpy.float64, out=None):
        y = ndarray._of(self._g.random(size).astype(dtype, copy=False))
        if out is not None:
            out[...] = y
            return out
        return y

    def integers(self, low, high=None, size=None, dtype=numpy.int64, endpoint=False):
        return ndarray._of(numpy.asarray(self._g.integers(low, high, size, dtype=dtype, endpoint=endpoint)))

    def beta(self, a, b, size=None, dtype=numpy.float64):
        return ndarray._of(numpy.asarray(self._g.beta(a, b, size)).astype(dtype, copy=False))

    def exponential(self, scale=1.0, size=None):
        return self.standard_exponential(size) * scale

    def standard_exponential(self, size=None, dtype=numpy.float64, method="inv", out=None):
        y = ndarray._of(numpy.asarray(self._g.standard_exponential(size)).astype(dtype, copy=False))
        if out is not None:
            out[...] = y
            return out
        return y

    def poisson(self, lam=1.0, size=None):
        return ndarray._of(numpy.asarray(self._g.poisson(_unwrap(lam, "poisson"), size)))

    def standard_normal(self, size=None, dtype=numpy.float64, out=None):
        if numpy.dtype(dtype).char not in "fd":
            raise TypeError(f"Unsupported dtype {numpy.dtype(dtype).name} for standard_normal")
        y = ndarray._of(numpy.asarray(self._g.standard_normal(size, dtype=dtype)))
        if out is not None:
            out[...] = y
            return out
        return y

    def gamma(self, shape, scale=1.0, size=None):
        return self.standard_gamma(shape, size) * scale

    def standard_gamma(self, shape, size=None, dtype=numpy.float64, out=None):
        if not (type(shape) is ndarray or type(shape) in (float, int)):
            raise ValueError("shape is required to be a cupy.ndarray or a scalar")
        y = ndarray._of(numpy.asarray(self._g.standard_gamma(_unwrap(shape, "standard_gamma"), size))
                        .astype(dtype, copy=False))
        if out is not None:
            out[...] = y
            return out
        return y


def _default_rng(seed=None):
    if isinstance(seed, numpy.random.Generator):
        raise TypeError("cupy.random.default_rng does not take a numpy Generator")
    return Generator(_BitGenerator(seed))


random = types.ModuleType("cupy.random")
random.default_rng = _default_rng
random.Generator = Generator


# ------------------------------------------------------------------ cuda
class _Runtime:
    device_count = 2       # two "GPUs", so cuda:1 can be told apart from cuda:0

    def getDeviceCount(self):
        return self.device_count

    def getDevice(self):
        return cuda._current

    def getDeviceProperties(self, i):
        return {"name": b"CuPy stand-in (CPU)", "totalGlobalMem": 1 << 34}

    def runtimeGetVersion(self):
        return 13000


class _MemoryPool:
    """Bytes of the live device arrays that own their memory (views excluded)."""

    def used_bytes(self):
        return builtins.sum(o._a.nbytes for o in list(_live.values()) if o._base is None and o._a.base is None)

    def total_bytes(self):
        return self.used_bytes()

    def free_all_blocks(self):
        pass


cuda = types.ModuleType("cupy.cuda")
cuda._current = 0
cuda.Device = _DeviceInfo
cuda.runtime = _Runtime()


class _Event:
    """Copies and kernels finish at once on the stand-in: every event is done."""
    done = True

    def synchronize(self):
        pass


class _Stream:
    def __init__(self, null=False, non_blocking=False, ptds=False):
        self.ptr = 0 if null else id(self)

    def synchronize(self):
        pass

    def record(self, event=None):
        return _Event() if event is None else event

    def use(self):
        cuda._stream = self
        return self

    def __enter__(self):
        self._prev = cuda._stream
        cuda._stream = self
        return self

    def __exit__(self, *exc):
        cuda._stream = self._prev


class PinnedMemoryPointer(bytearray):
    """Page-locked host memory (on the stand-in: ordinary memory tagged as
    such). NumPy arrays are built on it as on CuPy's: ``numpy.ndarray(shape,
    dtype, buffer=mem)``, whose ``.base`` is this object."""

    @property
    def ptr(self):
        return numpy.frombuffer(self, numpy.uint8).__array_interface__["data"][0] if len(self) else 0


def alloc_pinned_memory(size):
    return PinnedMemoryPointer(builtins.int(size))


def _is_pinned(a):
    while isinstance(a, numpy.ndarray):
        a = a.base
    return isinstance(a, PinnedMemoryPointer)


cuda.Stream = _Stream
cuda.Stream.null = _Stream(null=True)
cuda.Event = _Event
cuda._stream = cuda.Stream.null
cuda.get_current_stream = lambda device_id=None: cuda._stream
cuda.PinnedMemoryPointer = PinnedMemoryPointer
cuda.alloc_pinned_memory = alloc_pinned_memory
_pool, _pinned = _MemoryPool(), _MemoryPool()


def get_default_memory_pool():
    return _pool


def get_default_pinned_memory_pool():
    return _pinned


# ------------------------------------------------------------------ cupyx
cupyx = types.ModuleType("cupyx")


def _scatter(op):
    def f(a, slices, value):
        getattr(numpy, op).at(a._a, _index(slices), _unwrap(value, f"cupyx.scatter_{op}"))
    return f


cupyx.scatter_add = _scatter("add")
cupyx.scatter_max = _scatter("maximum")
cupyx.scatter_min = _scatter("minimum")
cupyx.scipy = types.ModuleType("cupyx.scipy")
cupyx.scipy.special = types.ModuleType("cupyx.scipy.special")


def _special(fn):
    uf = numpy.frompyfunc(fn, 1, 1)

    def f(x):
        a = _unwrap(x, fn.__name__)
        dt = a.dtype if a.dtype.kind == "f" else numpy.result_type(a.dtype, numpy.float64)
        return _wrap(numpy.asarray(uf(a), dtype=dt))
    return f


import math as _math  # noqa: E402
for _n, _fn in (("erf", _math.erf), ("erfc", _math.erfc), ("gammaln", _math.lgamma)):
    setattr(cupyx.scipy.special, _n, _special(_fn))


def _as_strided(x, shape=None, strides=None):
    if type(x) is not ndarray:
        raise TypeError(f"as_strided expects a device array, received {type(x).__name__}")
    return _wrap(numpy.lib.stride_tricks.as_strided(x._a, shape=shape, strides=strides), x)


def _sliding_window_view(x, window_shape, axis=None, *, subok=False, writeable=False):
    if type(x) is not ndarray:
        raise TypeError(f"sliding_window_view expects a device array, received {type(x).__name__}")
    return _wrap(numpy.lib.stride_tricks.sliding_window_view(x._a, window_shape, axis=axis,
                                                             writeable=writeable), x)


lib = types.ModuleType("cupy.lib")
lib.stride_tricks = types.ModuleType("cupy.lib.stride_tricks")
lib.stride_tricks.as_strided = _as_strided
lib.stride_tricks.sliding_window_view = _sliding_window_view

import sys as _sys  # noqa: E402
_this = _sys.modules[__name__]


def install():
    """Register as ``cupy``/``cupyx`` in sys.modules (only when real CuPy is absent)."""
    _sys.modules.setdefault("cupy", _this)
    _sys.modules.setdefault("cupy.random", random)
    _sys.modules.setdefault("cupy.cuda", cuda)
    _sys.modules.setdefault("cupyx", cupyx)
    _sys.modules.setdefault("cupyx.scipy", cupyx.scipy)
    _sys.modules.setdefault("cupyx.scipy.special", cupyx.scipy.special)
    return _sys.modules["cupy"]


def uninstall():
    """Remove what :func:`install` registered (entries that are the stand-in's)."""
    mine = {"cupy": _this, "cupy.random": random, "cupy.cuda": cuda, "cupyx": cupyx,
            "cupyx.scipy": cupyx.scipy, "cupyx.scipy.special": cupyx.scipy.special}
    for name, mod in mine.items():
        if _sys.modules.get(name) is mod:
            del _sys.modules[name]


def as_cuda_backend(backend):
    """Make the stand-in ``cuda``'s array module of neuronet's ``backend`` for a
    test, production checks (debug off); returns a function that restores the
    previous state. The ``standin`` fixtures of the GPU-path tests use it."""
    saved = (backend._cupy, backend._cupy_checked, backend.default_device, backend.debug_checks)
    installed = saved[0] is not _this and "cupy" not in _sys.modules
    if saved[0] is not _this:
        install()
        backend.use_cupy_module(_this)
    backend.debug_checks = False

    def restore():
        backend._cupy, backend._cupy_checked, backend.default_device, backend.debug_checks = saved
        backend._generators.pop(_this, None)
        if installed:
            uninstall()
    return restore

