"""dtypes: ``neuronet.float32``, ``neuronet.int64``, ... as PyTorch names them.

A :class:`dtype` is a thin name over a NumPy dtype, so it goes wherever NumPy
or CuPy takes one (``np.zeros(3, dtype=neuronet.float32)``,
``arr.astype(t.dtype)``, ``np.dtype(neuronet.int64)``: NumPy reads its
``.dtype`` attribute) and it compares and hashes equal to that NumPy dtype
(``t.dtype == np.float32``, dict lookups keyed by either).

They print as PyTorch prints its own, ``torch.float32``, not
``neuronet.float32``: programs written for PyTorch compare and log printed
output, and with ``import neuronet as torch`` that output stays the same.

PyTorch's aliases are the same objects: ``float`` is ``float32``, ``double``
``float64``, ``half`` ``float16``, ``long`` ``int64``, ``int`` ``int32``,
``short`` ``int16``, ``cfloat`` ``complex64``, ``cdouble`` ``complex128``.
NumPy has no bfloat16, so neuronet has none either.
"""
from __future__ import annotations

import builtins
import operator

import numpy as np

from . import backend

__all__ = ["dtype", "float32", "float64", "float16", "complex64", "complex128", "uint8", "uint16",
           "uint32", "uint64", "int8", "int16", "int32", "int64", "bool", "float", "double", "half",
           "cfloat", "cdouble", "long", "int", "short", "get_default_dtype", "set_default_dtype",
           "is_floating_point", "is_complex", "finfo", "iinfo", "promote_types", "as_dtype",
           "from_numpy_dtype", "Size"]


class dtype:  # noqa: N801  (PyTorch's spelling: torch.dtype)
    """One element type; see the module docstring.

    Attributes as ``torch.dtype``: ``is_floating_point``, ``is_complex``,
    ``is_signed``, ``itemsize`` (bytes). NumPy's ``kind``, ``char``, ``name``,
    ``type``, ``str`` and ``dtype`` are there too, so code written against
    NumPy dtypes keeps working on ``Tensor.dtype``.
    """

    __slots__ = ("_np", "_torch_name", "is_floating_point", "is_complex", "is_signed", "itemsize")

    def __init__(self, torch_name: str, np_dtype):
        self._np = np.dtype(np_dtype)
        self._torch_name = torch_name
        self.is_floating_point = self._np.kind == "f"
        self.is_complex = self._np.kind == "c"
        self.is_signed = self._np.kind in "fic"
        self.itemsize = self._np.itemsize

    # NumPy and CuPy accept any object whose ``.dtype`` is a numpy.dtype.
    @property
    def dtype(self) -> np.dtype:
        return self._np

    @property
    def kind(self):
        return self._np.kind

    @property
    def char(self):
        return self._np.char

    @property
    def name(self):
        return self._np.name

    @property
    def type(self):
        return self._np.type

    @property
    def str(self):
        return self._np.str

    def to_complex(self) -> "dtype":
        """The complex dtype whose parts have this float dtype (float32 -> complex64)."""
        table = {"float32": complex64, "float64": complex128}
        if self.is_complex:
            return self
        if self._np.name not in table:
            raise ValueError(f"to_complex(): no complex dtype has {self} parts")
        return table[self._np.name]

    def to_real(self) -> "dtype":
        """The float dtype of this complex dtype's parts (complex64 -> float32)."""
        if not self.is_complex:
            return self
        return from_numpy_dtype(np.dtype(f"float{self.itemsize * 4}"))

    def __eq__(self, other):
        if isinstance(other, dtype):
            return self._np == other._np
        if isinstance(other, builtins.str):
            # PyTorch's names ('float' is float32 here, float64 in NumPy).
            other = _NAMES.get(other, other)
            if isinstance(other, dtype):
                return self._np == other._np
        try:
            return self._np == np.dtype(other)
        except (TypeError, ValueError):
            return NotImplemented

    def __ne__(self, other):
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    def __hash__(self):
        return hash(self._np)

    def __repr__(self):
        return "torch." + self._torch_name

    __str__ = __repr__

    def __reduce__(self):
        # Pickle/deepcopy give back the module's singleton.
        return (from_numpy_dtype, (self._np.str,))


def _make(torch_name, np_name):
    return dtype(torch_name, np.dtype(np_name))


float32 = _make("float32", "float32")
float64 = _make("float64", "float64")
float16 = _make("float16", "float16")
complex64 = _make("complex64", "complex64")
complex128 = _make("complex128", "complex128")
uint8 = _make("uint8", "uint8")
uint16 = _make("uint16", "uint16")
uint32 = _make("uint32", "uint32")
uint64 = _make("uint64", "uint64")
int8 = _make("int8", "int8")
int16 = _make("int16", "int16")
int32 = _make("int32", "int32")
int64 = _make("int64", "int64")
bool = _make("bool", "bool")  # noqa: A001  (torch.bool)

float = float32     # noqa: A001
double = float64
half = float16
cfloat = complex64
cdouble = complex128
long = int64
int = int32         # noqa: A001
short = int16

_ALL = (float32, float64, float16, complex64, complex128, uint8, uint16, uint32, uint64,
        int8, int16, int32, int64, bool)
_FROM_NP = {d._np: d for d in _ALL}
_NAMES = {d._torch_name: d for d in _ALL}
_NAMES.update({"float": float32, "double": float64, "half": float16, "cfloat": complex64,
               "cdouble": complex128, "long": int64, "int": int32, "short": int16})


def from_numpy_dtype(np_dtype) -> dtype:
    """The neuronet dtype of a NumPy dtype (one object per dtype, made once)."""
    d = _FROM_NP.get(np_dtype)
    if d is None:
        npd = np.dtype(np_dtype)
        d = _FROM_NP.get(npd)
        if d is None:
            # Non-native byte order, strings, ...: named as NumPy names them.
            d = dtype(npd.name, npd)
            _FROM_NP[npd] = d
    return d


def as_dtype(spec) -> "dtype | None":
    """``spec`` as a neuronet dtype: a dtype, a NumPy dtype or scalar type,
    Python's ``float``/``int``/``bool``/``complex`` (as PyTorch: float64,
    int64, bool, complex128), or a name ('float32', 'float', 'long', ...). None stays None."""
    if spec is None or isinstance(spec, dtype):
        return spec
    if isinstance(spec, builtins.str):
        if spec not in _NAMES:
            raise TypeError(f"unknown dtype {spec!r}; expected one of {sorted(_NAMES)}")
        return _NAMES[spec]
    # Python's types as PyTorch maps them (float -> float64, as a Python float is a double).
    if spec is builtins.float:
        return float64
    if spec is builtins.int:
        return int64
    if spec is builtins.bool:
        return bool
    if spec is builtins.complex:
        return complex128
    try:
        return from_numpy_dtype(np.dtype(spec))
    except TypeError:
        raise TypeError(f"unknown dtype {spec!r}: expected a neuronet dtype such as "
                        "neuronet.float32, a NumPy dtype, or a name like 'float32'") from None


# ---------------------------------------------------------------- default dtype
def get_default_dtype() -> dtype:
    """The dtype of float tensors made from Python floats or by factories
    (``neuronet.zeros``, ``randn``...): float32 unless changed."""
    return from_numpy_dtype(np.dtype(backend.default_dtype))


def set_default_dtype(d):
    """Make ``d`` (float32, float64 or float16) the default floating dtype.

    The single place it is kept is ``neuronet.backend.default_dtype``.
    """
    dt = as_dtype(d)
    if dt is None or not dt.is_floating_point:
        raise TypeError(f"only floating-point types are supported as the default type, received {d!r}")
    backend.default_dtype = dt._np


def is_floating_point(input) -> builtins.bool:
    """True when ``input``'s dtype is a floating-point type (float16/32/64)."""
    if not hasattr(input, "dtype") or not hasattr(input, "array"):
        raise TypeError(f"is_floating_point(): argument 'input' must be Tensor, not {type(input).__name__}")
    return as_dtype(input.dtype).is_floating_point


def is_complex(input) -> builtins.bool:
    """True when ``input``'s dtype is complex64 or complex128."""
    if not hasattr(input, "dtype") or not hasattr(input, "array"):
        raise TypeError(f"is_complex(): argument 'input' must be Tensor, not {type(input).__name__}")
    return as_dtype(input.dtype).is_complex


def promote_types(type1, type2) -> dtype:
    """The smallest dtype both ``type1`` and ``type2`` convert to without loss
    (PyTorch's table for the types both libraries share: int64 + float32 ->
    float32, int8 + uint8 -> int16, bool + anything -> the other)."""
    a, b = as_dtype(type1), as_dtype(type2)
    if a == b:
        return a
    wide_unsigned = ("uint16", "uint32", "uint64")
    if (a.name in wide_unsigned and b.kind in "biu") or (b.name in wide_unsigned and a.kind in "biu"):
        raise RuntimeError(f"promote_types(): promotion between {a} and {b} is not supported "
                           "(as in PyTorch, uint16/32/64 promote only with floating types)")
    if a.is_complex or b.is_complex:
        real = promote_types(a.to_real(), b.to_real())
        return real.to_complex() if real.is_floating_point else (a if a.is_complex else b)
    # PyTorch keeps a float's width when it meets an integer (NumPy widens to float64).
    if a.is_floating_point and b.kind in "biu":
        return a
    if b.is_floating_point and a.kind in "biu":
        return b
    return from_numpy_dtype(np.promote_types(a._np, b._np))


class finfo:  # noqa: N801
    """Limits of a floating dtype: ``bits``, ``eps``, ``max``, ``min``, ``tiny``
    (= ``smallest_normal``), ``resolution``. ``finfo()`` is the default dtype's."""

    def __init__(self, type=None):  # noqa: A002
        d = get_default_dtype() if type is None else as_dtype(type)
        if not (d.is_floating_point or d.is_complex):
            raise TypeError(f"{d} is not supported by finfo (expected a floating point or complex dtype)")
        fi = np.finfo(d._np)
        self.dtype = d.to_real().name
        self.bits = builtins.int(fi.bits)
        self.eps = builtins.float(fi.eps)
        self.max = builtins.float(fi.max)
        self.min = builtins.float(fi.min)
        self.tiny = self.smallest_normal = builtins.float(fi.smallest_normal)
        self.resolution = 10.0 ** -builtins.int(fi.precision)

    def __repr__(self):
        return (f"finfo(resolution={self.resolution:g}, min={self.min:g}, max={self.max:g}, "
                f"eps={self.eps:g}, smallest_normal={self.smallest_normal:g}, "
                f"tiny={self.tiny:g}, dtype={self.dtype})")


class iinfo:  # noqa: N801
    """Limits of an integer dtype: ``bits``, ``max``, ``min``."""

    def __init__(self, type):  # noqa: A002
        d = as_dtype(type)
        if d.kind not in "iu":
            raise TypeError(f"{d} is not supported by iinfo (expected an integer dtype)")
        ii = np.iinfo(d._np)
        self.dtype = d.name
        self.bits = builtins.int(ii.bits)
        self.max = builtins.int(ii.max)
        self.min = builtins.int(ii.min)

    def __repr__(self):
        return f"iinfo(min={builtins.float(self.min):g}, max={builtins.float(self.max):g}, dtype={self.dtype})"


# ---------------------------------------------------------------- shapes
class Size(tuple):
    """A tensor's shape: a tuple of ints, as ``torch.Size``.

    ``t.shape`` and ``t.size()`` return one. It is a tuple (``t.shape == (2, 3)``,
    unpacking, indexing), slicing and ``+``/``*`` keep it a Size, and
    ``numel()`` is the product of the sizes. It prints ``torch.Size([2, 3])``,
    as PyTorch prints it (see the module docstring for why).
    """

    __slots__ = ()

    def __new__(cls, sizes=()):
        items = []
        for k, s in enumerate(sizes):
            try:
                items.append(operator.index(s))
            except TypeError:
                raise TypeError(f"Size() takes an iterable of 'int' (item {k} is "
                                f"'{type(s).__name__}')") from None
        return tuple.__new__(cls, items)

    @classmethod
    def _of(cls, shape_tuple):
        """Wrap a tuple known to hold ints (an ndarray's shape), unchecked."""
        return tuple.__new__(cls, shape_tuple)

    def numel(self) -> builtins.int:
        """The number of elements of a tensor of this shape."""
        n = 1
        for s in self:
            n *= s
        return n

    def __getitem__(self, index):
        out = tuple.__getitem__(self, index)
        return tuple.__new__(Size, out) if isinstance(index, slice) else out

    def __add__(self, other):
        if not isinstance(other, tuple):
            return NotImplemented
        return Size(tuple.__add__(self, other))

    def __radd__(self, other):
        if not isinstance(other, tuple):
            return NotImplemented
        return Size(tuple.__add__(other, self))

    def __mul__(self, n):
        return tuple.__new__(Size, tuple.__mul__(self, n))

    __rmul__ = __mul__

    def __repr__(self):
        return f"torch.Size([{', '.join(builtins.str(s) for s in self)}])"

    __str__ = __repr__

    def __reduce__(self):
        return (Size, (tuple(self),))
