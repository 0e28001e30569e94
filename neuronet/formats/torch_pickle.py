"""The pickle inside PyTorch files, read by an allow-list and written by hand.

Reading: :class:`AllowListUnpickler` interprets the pickle opcodes itself
(it never calls :mod:`pickle`), so the only code a file can reach is the
short table ``ALLOWED`` below -- what ``torch.load(weights_only=True)``
allows: tensor rebuild functions, storage classes, ``OrderedDict`` /
``Counter``, ``torch.Size``, ``torch.device``, torch dtypes, ``set``,
``complex``, ``bytearray`` and ``_codecs.encode`` (how protocol 2 spells
``bytes``). Any other global, a ``REDUCE``/``NEWOBJ`` of anything else, a
``BUILD`` on anything but an ``OrderedDict``, an unknown persistent id or an
opcode outside the data-only set stops the load with one
:class:`UnsafeFileError` naming it and the file, before anything is built
from it.

Writing: :func:`dumps` emits protocol 2 opcodes for dicts, lists, tuples,
numbers, strings, None, dtypes, devices and tensors; a tensor becomes
``torch._utils._rebuild_tensor_v2(<storage>, offset, size, stride,
requires_grad, OrderedDict())`` with the storage as the persistent id
``('storage', torch.<Type>Storage, key, 'cpu', numel)``, exactly what
``torch.save`` writes.
"""
from __future__ import annotations

import collections
import struct

import numpy as np

from .. import backend
from .._dtype import dtype as _nt_dtype
from ..serialization import CheckpointError


class UnsafeFileError(CheckpointError):
    """A model file whose pickle asks for something outside the allow-list."""


# ------------------------------------------------------------------ dtypes
# torch storage class -> NumPy dtype of one element. bfloat16 has no NumPy
# dtype: its raw uint16 bits are read and widened to float32 (exact).
STORAGE_DTYPES = {
    "DoubleStorage": "float64", "FloatStorage": "float32", "HalfStorage": "float16",
    "BFloat16Storage": "bfloat16", "LongStorage": "int64", "IntStorage": "int32",
    "ShortStorage": "int16", "CharStorage": "int8", "ByteStorage": "uint8", "BoolStorage": "bool",
    "ComplexFloatStorage": "complex64", "ComplexDoubleStorage": "complex128",
}
# torch dtype name -> the same spelling as above (what _rebuild_tensor_v3 and
# UntypedStorage carry).
TORCH_DTYPES = {
    "float64": "float64", "double": "float64", "float32": "float32", "float": "float32",
    "float16": "float16", "half": "float16", "bfloat16": "bfloat16", "int64": "int64",
    "long": "int64", "int32": "int32", "int": "int32", "int16": "int16", "short": "int16",
    "int8": "int8", "uint8": "uint8", "bool": "bool", "uint16": "uint16", "uint32": "uint32",
    "uint64": "uint64", "complex64": "complex64", "cfloat": "complex64", "complex128": "complex128",
    "cdouble": "complex128",
}
NUMPY_TO_STORAGE = {np.dtype(v): k for k, v in STORAGE_DTYPES.items() if v != "bfloat16"}


def itemsize(name):
    return 2 if name == "bfloat16" else np.dtype(name).itemsize


def raw_to_numpy(raw, name):
    """A 1-D array of dtype ``name`` over the little-endian bytes ``raw``
    (a writable uint8 array); bfloat16 comes back widened to float32."""
    if name == "bfloat16":
        bits = raw.view("<u2").astype(np.uint32) << 16
        return bits.view(np.float32)
    arr = raw.view(np.dtype(name).newbyteorder("<"))
    return arr if arr.dtype.isnative else arr.astype(np.dtype(name))


# ------------------------------------------------------------------ reading
class Storage:
    """One storage of the file: its elements as a 1-D NumPy array (shared by
    every tensor that views it), its dtype name and saved location."""

    __slots__ = ("array", "dtype", "location", "key")

    def __init__(self, array, dtype, location, key):
        self.array, self.dtype, self.location, self.key = array, dtype, location, key


class _Global:
    """A name the allow-list resolved; only these can be called by REDUCE."""

    __slots__ = ("name", "fn", "newobj")

    def __init__(self, name, fn, newobj=False):
        self.name, self.fn, self.newobj = name, fn, newobj

    def __repr__(self):
        return self.name


class _StorageType:
    """``torch.FloatStorage`` and friends, and ``torch.UntypedStorage``: only
    meaningful inside a persistent id."""

    __slots__ = ("name", "dtype")

    def __init__(self, name, dtype):
        self.name, self.dtype = name, dtype

    def __repr__(self):
        return "torch." + self.name


class TorchDtype:
    """A torch dtype named in a pickle (``torch.float16``): its NumPy
    spelling, ``'bfloat16'`` for bfloat16."""

    __slots__ = ("name",)

    def __init__(self, name):
        self.name = name




class AllowListUnpickler:
    """Read one pickle from ``data`` (bytes) at ``pos`` with the allow-list.

    ``persistent_load(pid_tuple) -> Storage`` supplies storages;
    ``make_tensor(array, requires_grad, storage)`` turns a rebuilt array into the
    caller's tensor type; ``make_size(tuple)`` and ``make_device(str)`` give
    the caller's objects for those globals. torch dtypes come back as
    :class:`TorchDtype` for the caller to translate.
    """

    def __init__(self, data, name, persistent_load, make_tensor, make_size=None, make_device=None, pos=0):
        self.data = memoryview(data)
        self.pos = pos
        self.name = name
        self.persistent_load = persistent_load
        self.make_tensor = make_tensor
        self.make_size = make_size or tuple
        self.make_device = make_device or str
        self.stack = []
        self.metastack = []
        self.memo = {}
        self._allowed = self._allow_list()

    # -- errors
    def refuse(self, what):
        raise UnsafeFileError(
            f"{self.name}: refusing to load: {what}. neuronet reads only tensors, storages and plain "
            "containers from PyTorch files (what torch.load(weights_only=True) allows) and never "
            "executes pickled code") from None

    def corrupt(self, what):
        raise CheckpointError(f"{self.name}: corrupted or truncated pickle ({what})") from None

    # -- the allow-list
    def _allow_list(self):
        allowed = {
            "collections.OrderedDict": _Global("collections.OrderedDict", collections.OrderedDict, True),
            "collections.Counter": _Global("collections.Counter", collections.Counter, True),
            "builtins.set": _Global("builtins.set", set, True),
            "builtins.frozenset": _Global("builtins.frozenset", frozenset, True),
            "builtins.complex": _Global("builtins.complex", self._complex),
            "builtins.bytearray": _Global("builtins.bytearray", self._bytearray),
            "_codecs.encode": _Global("_codecs.encode", self._encode),
            "torch.Size": _Global("torch.Size", lambda *a: self.make_size(*a), True),
            "torch.device": _Global("torch.device", self._device),
            "torch._utils._rebuild_tensor": _Global("torch._utils._rebuild_tensor", self._rebuild_tensor),
            "torch._utils._rebuild_tensor_v2": _Global("torch._utils._rebuild_tensor_v2",
                                                       self._rebuild_tensor_v2),
            "torch._utils._rebuild_tensor_v3": _Global("torch._utils._rebuild_tensor_v3",
                                                       self._rebuild_tensor_v3),
            "torch._utils._rebuild_parameter": _Global("torch._utils._rebuild_parameter",
                                                       self._rebuild_parameter),
            "torch._utils._rebuild_parameter_with_state": _Global(
                "torch._utils._rebuild_parameter_with_state", self._rebuild_parameter_with_state),
            "torch._tensor._rebuild_from_type_v2": _Global("torch._tensor._rebuild_from_type_v2",
                                                           self._rebuild_from_type_v2),
            "torch.Tensor": _Global("torch.Tensor", None),
            "torch.nn.parameter.Parameter": _Global("torch.nn.parameter.Parameter", None),
            "torch.storage.UntypedStorage": _StorageType("UntypedStorage", "uint8"),
            "torch.UntypedStorage": _StorageType("UntypedStorage", "uint8"),
            "torch.storage.TypedStorage": _StorageType("TypedStorage", None),
        }
        for cls, dt in STORAGE_DTYPES.items():
            allowed["torch." + cls] = _StorageType(cls, dt)
        for name, dt in TORCH_DTYPES.items():
            allowed["torch." + name] = ("dtype", TorchDtype(dt))
        return allowed

    def find_global(self, module, qualname):
        # Protocol 2 spells Python 3's builtins with Python 2's module name.
        module = {"__builtin__": "builtins"}.get(module, module)
        full = f"{module}.{qualname}"
        hit = self._allowed.get(full)
        if hit is None:
            self.refuse(f"the pickle asks for the global '{full}', which is not on the allow-list")
        if isinstance(hit, tuple):            # a dtype value
            return hit[1]
        return hit

    # -- allowed callables
    def _complex(self, real=0.0, imag=0.0):
        if not all(isinstance(v, (int, float)) for v in (real, imag)):
            self.refuse("builtins.complex called with non-numbers")
        return complex(real, imag)

    def _bytearray(self, *args):
        if args and not isinstance(args[0], (bytes, bytearray, str)):
            self.refuse("builtins.bytearray called with a non-bytes argument")
        if args and isinstance(args[0], str):
            return bytearray(args[0], *(args[1:2] or ("latin1",)))
        return bytearray(*args[:1])

    def _encode(self, text, encoding="utf-8"):
        if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
            self.refuse(f"_codecs.encode called with ({type(text).__name__}, {encoding!r}); only the "
                        "latin1 form pickle uses for bytes is allowed")
        return text.encode("latin1")

    def _device(self, spec, index=None):
        if not isinstance(spec, str):
            self.refuse("torch.device called with a non-string")
        return self.make_device(spec if index is None else f"{spec}:{int(index)}")

    def _view(self, storage, offset, size, stride, dtype=None):
        if not isinstance(storage, Storage):
            self.refuse(f"a tensor rebuild got {type(storage).__name__} where a storage belongs")
        try:
            offset = int(offset)
            size = tuple(int(s) for s in size)
            stride = tuple(int(s) for s in stride)
        except (TypeError, ValueError):
            self.corrupt(f"tensor offset/size/stride are not integers: {offset!r}, {size!r}, {stride!r}")
        arr = storage.array
        if dtype is not None and dtype.name != storage.dtype:
            if storage.dtype != "uint8":
                self.corrupt(f"tensor of dtype {dtype.name} over a {storage.dtype} storage")
            raw = storage.array
            if raw.nbytes % itemsize(dtype.name):
                self.corrupt(f"untyped storage of {raw.nbytes} bytes is not a whole number of "
                             f"{dtype.name} elements")
            arr = raw_to_numpy(raw, dtype.name)
        if len(size) != len(stride) or any(s < 0 for s in size) or any(s < 0 for s in stride) or offset < 0:
            self.corrupt(f"tensor size {size} / stride {stride} / offset {offset} are not a valid view")
        if 0 not in size:
            last = offset + sum((n - 1) * s for n, s in zip(size, stride))
            if last >= arr.size:
                self.corrupt(f"a tensor of size {list(size)} at offset {offset} with stride {list(stride)} "
                             f"reaches element {last}, but its storage '{storage.key}' holds {arr.size}")
        elif offset > arr.size:
            self.corrupt(f"tensor offset {offset} beyond its storage of {arr.size} elements")
        item = arr.itemsize
        xp = backend.array_module(arr)
        return xp.lib.stride_tricks.as_strided(arr[offset:] if arr.size else arr, shape=size,
                                               strides=tuple(s * item for s in stride))

    def _rebuild_tensor(self, storage, offset, size, stride):
        return self.make_tensor(self._view(storage, offset, size, stride), False, storage)

    def _rebuild_tensor_v2(self, storage, offset, size, stride, requires_grad=False, hooks=None,
                           metadata=None):
        return self.make_tensor(self._view(storage, offset, size, stride), bool(requires_grad), storage)

    def _rebuild_tensor_v3(self, storage, offset, size, stride, requires_grad, hooks, dtype,
                           metadata=None):
        if not isinstance(dtype, TorchDtype):
            self.refuse(f"_rebuild_tensor_v3 with {_describe(dtype)} where a torch dtype belongs")
        return self.make_tensor(self._view(storage, offset, size, stride, dtype), bool(requires_grad),
                                storage)

    def _rebuild_parameter(self, data, requires_grad=True, hooks=None, state=None):
        if not hasattr(data, "requires_grad_"):
            self.refuse("_rebuild_parameter of something that is not a tensor")
        return self.make_tensor(data, bool(requires_grad), None)

    def _rebuild_parameter_with_state(self, data, requires_grad, hooks, state):
        return self._rebuild_parameter(data, requires_grad)

    def _rebuild_from_type_v2(self, func, new_type, args, state):
        if not isinstance(func, _Global) or func.fn is None or not func.name.startswith("torch._utils."):
            self.refuse(f"_rebuild_from_type_v2 with the function {func!r}")
        if not (isinstance(new_type, _Global) and new_type.name in ("torch.Tensor",
                                                                     "torch.nn.parameter.Parameter")):
            self.refuse(f"_rebuild_from_type_v2 to the type {new_type!r} (only torch.Tensor / Parameter)")
        return func.fn(*args)

    # -- the interpreter
    def _read(self, n):
        if self.pos + n > len(self.data):
            self.corrupt(f"ends inside an opcode at byte {self.pos}")
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def _readline(self):
        end = bytes(self.data[self.pos:self.pos + 4096]).find(b"\n")
        if end < 0:
            self.corrupt(f"unterminated text argument at byte {self.pos}")
        line = bytes(self.data[self.pos:self.pos + end])
        self.pos += end + 1
        return line

    def _pop_mark(self):
        if not self.metastack:
            self.corrupt("MARK missing")
        items = self.stack
        self.stack = self.metastack.pop()
        return items

    def _pop(self):
        if not self.stack:
            self.corrupt("stack underflow")
        return self.stack.pop()

    def _top(self):
        if not self.stack:
            self.corrupt("stack underflow")
        return self.stack[-1]

    def load(self):
        """Run the opcodes to STOP; returns the object."""
        dispatch = _DISPATCH
        while True:
            code = self._read(1)[0]
            handler = dispatch.get(code)
            if handler is None:
                name = _OPCODE_NAMES.get(code)
                if name is not None:
                    self.refuse(f"the pickle uses the opcode {name}, which only code-running pickles need")
                self.corrupt(f"unknown opcode 0x{code:02x} at byte {self.pos - 1}")
            if handler is _stop:
                value = self._pop()
                return value
            handler(self)


def _u(fmt, n):
    s = struct.Struct(fmt)
    return lambda self: s.unpack(self._read(n))[0]


_r_u1, _r_u2, _r_i4, _r_u4, _r_u8, _r_f8 = (_u("<B", 1), _u("<H", 2), _u("<i", 4), _u("<I", 4),
                                             _u("<Q", 8), _u(">d", 8))


def _stop(self):
    pass


def _push(value):
    return lambda self: self.stack.append(value)


def _proto(self):
    _r_u1(self)


def _frame(self):
    _r_u8(self)


def _mark(self):
    self.metastack.append(self.stack)
    self.stack = []


def _pop_op(self):
    if self.stack:
        self.stack.pop()
    else:
        self._pop_mark()


def _int_text(self):
    line = self._readline()
    try:
        if line in (b"00", b"01"):
            self.stack.append(line == b"01")
        else:
            self.stack.append(int(line))
    except ValueError:
        self.corrupt(f"bad INT {line!r}")


def _long_text(self):
    line = self._readline().rstrip(b"L")
    try:
        self.stack.append(int(line))
    except ValueError:
        self.corrupt(f"bad LONG {line!r}")


def _float_text(self):
    line = self._readline()
    try:
        self.stack.append(float(line))
    except ValueError:
        self.corrupt(f"bad FLOAT {line!r}")


def _long_n(nbytes_reader):
    def op(self):
        n = nbytes_reader(self)
        if n < 0 or n > 1 << 16:
            self.corrupt(f"LONG of {n} bytes")
        self.stack.append(int.from_bytes(self._read(n), "little", signed=True))
    return op


def _text(len_reader, decode):
    def op(self):
        n = len_reader(self)
        if n < 0:
            self.corrupt("negative length")
        raw = bytes(self._read(n))
        try:
            self.stack.append(decode(raw))
        except UnicodeDecodeError:
            self.corrupt("a string is not valid UTF-8")
    return op


def _string_text(self):
    line = self._readline()
    if len(line) >= 2 and line[:1] == line[-1:] and line[:1] in b"'\"":
        line = line[1:-1]
    else:
        self.corrupt("STRING argument is not quoted")
    self.stack.append(line.decode("unicode_escape" if b"\\" in line else "latin1"))


def _unicode_text(self):
    self.stack.append(self._readline().decode("raw-unicode-escape"))


def _tuple(self):
    items = tuple(self._pop_mark())      # pop first: it swaps self.stack
    self.stack.append(items)


def _tuple_n(n):
    def op(self):
        if len(self.stack) < n:
            self.corrupt("stack underflow")
        items = tuple(self.stack[len(self.stack) - n:])
        del self.stack[len(self.stack) - n:]
        self.stack.append(items)
    return op


def _list(self):
    items = self._pop_mark()
    self.stack.append(items)


def _dict(self):
    items = self._pop_mark()
    out = {}
    for i in range(0, len(items) - 1, 2):
        out[_key(self, items[i])] = items[i + 1]
    self.stack.append(out)


def _key(self, k):
    try:
        hash(k)
    except TypeError:
        self.corrupt(f"a dict key of type {type(k).__name__}")
    return k


def _append(self):
    item = self._pop()
    target = self._top()
    if type(target) is not list:
        self.refuse(f"APPEND to a {type(target).__name__} (only lists)")
    target.append(item)


def _appends(self):
    items = self._pop_mark()
    target = self._top()
    if type(target) is not list:
        self.refuse(f"APPENDS to a {type(target).__name__} (only lists)")
    target.extend(items)


_DICT_TYPES = (dict, collections.OrderedDict, collections.Counter)


def _setitem(self):
    v = self._pop()
    k = self._pop()
    target = self._top()
    if type(target) not in _DICT_TYPES:
        self.refuse(f"SETITEM on a {type(target).__name__} (only dicts)")
    target[_key(self, k)] = v


def _setitems(self):
    items = self._pop_mark()
    target = self._top()
    if type(target) not in _DICT_TYPES:
        self.refuse(f"SETITEMS on a {type(target).__name__} (only dicts)")
    for i in range(0, len(items) - 1, 2):
        target[_key(self, items[i])] = items[i + 1]


def _additems(self):
    items = self._pop_mark()
    target = self._top()
    if type(target) is not set:
        self.refuse(f"ADDITEMS on a {type(target).__name__} (only sets)")
    for item in items:
        target.add(_key(self, item))


def _frozenset(self):
    items = self._pop_mark()
    self.stack.append(frozenset(_key(self, k) for k in items))


def _get_text(self):
    _memo_get(self, _int_line(self))


def _int_line(self):
    line = self._readline()
    try:
        return int(line)
    except ValueError:
        self.corrupt(f"bad memo index {line!r}")


def _memo_get(self, idx):
    if idx not in self.memo:
        self.corrupt(f"memo entry {idx} read before it was written")
    self.stack.append(self.memo[idx])


def _put_text(self):
    self.memo[_int_line(self)] = self._top()


def _memoize(self):
    self.memo[len(self.memo)] = self._top()


def _global(self):
    module = self._readline().decode("utf-8", "replace")
    name = self._readline().decode("utf-8", "replace")
    self.stack.append(self.find_global(module, name))


def _stack_global(self):
    name = self._pop()
    module = self._pop()
    if not isinstance(module, str) or not isinstance(name, str):
        self.corrupt("STACK_GLOBAL of non-strings")
    self.stack.append(self.find_global(module, name))


def _reduce(self):
    args = self._pop()
    func = self._pop()
    if not isinstance(func, _Global) or func.fn is None:
        self.refuse(f"the pickle calls {_describe(func)}, which is not an allowed function")
    if not isinstance(args, tuple):
        self.corrupt("REDUCE arguments are not a tuple")
    try:
        result = func.fn(*args)
    except TypeError as e:
        self.corrupt(f"{func.name} called with the wrong arguments ({e})")
    self.stack.append(result)


def _newobj(self):
    args = self._pop()
    cls = self._pop()
    if not isinstance(cls, _Global) or not cls.newobj:
        self.refuse(f"the pickle creates an object of {_describe(cls)}, which is not an allowed class")
    if not isinstance(args, tuple):
        self.corrupt("NEWOBJ arguments are not a tuple")
    if cls.fn in (collections.OrderedDict, collections.Counter, set, frozenset):
        args = ()        # cls.__new__ ignores its arguments for these
    try:
        self.stack.append(cls.fn(*args))
    except TypeError as e:
        self.corrupt(f"{cls.name} created with the wrong arguments ({e})")


def _build(self):
    state = self._pop()
    inst = self._top()
    if type(inst) is collections.OrderedDict and isinstance(state, dict) and all(
            isinstance(k, str) and not k.startswith("__") for k in state):
        inst.__dict__.update(state)      # a state_dict's _metadata
        return
    if hasattr(inst, "requires_grad_") and not state:
        return                           # a tensor with no extra state
    self.refuse(f"the pickle sets the state of a {type(inst).__name__} (BUILD is allowed only on "
                "OrderedDict)")


def _inst(self):
    module = self._readline().decode("utf-8", "replace")
    name = self._readline().decode("utf-8", "replace")
    self.refuse(f"the pickle creates an object of '{module}.{name}' with the opcode INST")


def _persid_text(self):
    self.refuse("the pickle uses a text persistent id (PERSID); PyTorch writes only BINPERSID")


def _binpersid(self):
    pid = self._pop()
    if not (isinstance(pid, tuple) and len(pid) in (5, 6) and pid[0] == "storage"):
        kind = pid[0] if isinstance(pid, tuple) and pid else pid
        self.refuse(f"the pickle refers to the persistent id {kind!r}; only 'storage' is allowed")
    if not isinstance(pid[1], _StorageType):
        self.refuse(f"the persistent id names the storage type {_describe(pid[1])}")
    self.stack.append(self.persistent_load(pid))


def _dup(self):
    self.stack.append(self._top())


def _describe(obj):
    if isinstance(obj, (_Global, _StorageType)):
        return repr(obj)
    return f"a {type(obj).__name__} value"


_DISPATCH = {
    0x80: _proto, 0x95: _frame, ord("."): _stop, ord("("): _mark, ord("0"): _pop_op,
    ord("1"): lambda self: self._pop_mark(), ord("2"): _dup,
    ord("N"): _push(None), 0x88: _push(True), 0x89: _push(False),
    ord("I"): _int_text, ord("J"): lambda self: self.stack.append(_r_i4(self)),
    ord("K"): lambda self: self.stack.append(_r_u1(self)),
    ord("M"): lambda self: self.stack.append(_r_u2(self)),
    ord("L"): _long_text, 0x8a: _long_n(_r_u1), 0x8b: _long_n(_r_i4),
    ord("F"): _float_text, ord("G"): lambda self: self.stack.append(_r_f8(self)),
    ord("X"): _text(_r_u4, lambda b: b.decode("utf-8", "surrogatepass")),
    0x8c: _text(_r_u1, lambda b: b.decode("utf-8", "surrogatepass")),
    0x8d: _text(_r_u8, lambda b: b.decode("utf-8", "surrogatepass")),
    ord("V"): _unicode_text, ord("S"): _string_text,
    ord("T"): _text(_r_i4, lambda b: b.decode("latin1")), ord("U"): _text(_r_u1, lambda b: b.decode("latin1")),
    ord("B"): _text(_r_u4, bytes), ord("C"): _text(_r_u1, bytes), 0x8e: _text(_r_u8, bytes),
    0x96: _text(_r_u8, bytearray),
    ord(")"): lambda self: self.stack.append(()),
    ord("t"): _tuple, 0x85: _tuple_n(1), 0x86: _tuple_n(2), 0x87: _tuple_n(3),
    ord("]"): lambda self: self.stack.append([]), ord("l"): _list, ord("a"): _append, ord("e"): _appends,
    ord("}"): lambda self: self.stack.append({}), ord("d"): _dict, ord("s"): _setitem,
    ord("u"): _setitems,
    0x8f: lambda self: self.stack.append(set()), 0x90: _additems, 0x91: _frozenset,
    ord("g"): _get_text, ord("h"): lambda self: _memo_get(self, _r_u1(self)),
    ord("j"): lambda self: _memo_get(self, _r_u4(self)),
    ord("p"): _put_text, ord("q"): lambda self: self.memo.__setitem__(_r_u1(self), self._top()),
    ord("r"): lambda self: self.memo.__setitem__(_r_u4(self), self._top()), 0x94: _memoize,
    ord("c"): _global, 0x93: _stack_global, ord("R"): _reduce, 0x81: _newobj, ord("b"): _build,
    ord("P"): _persid_text, ord("Q"): _binpersid, ord("i"): _inst,
}
# Opcodes that exist but that no data-only pickle needs: refused by name.
_OPCODE_NAMES = {ord("o"): "OBJ", 0x82: "EXT1", 0x83: "EXT2", 0x84: "EXT4",
                 0x92: "NEWOBJ_EX", 0x97: "NEXT_BUFFER", 0x98: "READONLY_BUFFER"}


# ------------------------------------------------------------------ writing
class _Writer:
    """Protocol 2 opcodes for data-only objects (see the module docstring)."""

    def __init__(self, storage_of, where="obj"):
        self.out = bytearray(b"\x80\x02")
        self.storage_of = storage_of        # tensor -> (storage class, key, numel, offset, size, stride, rg)

    def global_(self, module, name):
        self.out += b"c" + module.encode() + b"\n" + name.encode() + b"\n"

    def int_(self, v):
        if 0 <= v < 256:
            self.out += b"K" + bytes([v])
        elif 0 <= v < 65536:
            self.out += b"M" + struct.pack("<H", v)
        elif -2 ** 31 <= v < 2 ** 31:
            self.out += b"J" + struct.pack("<i", v)
        else:
            raw = v.to_bytes((v.bit_length() + 8) // 8, "little", signed=True)
            self.out += b"\x8a" + bytes([len(raw)]) + raw

    def str_(self, s):
        raw = s.encode("utf-8", "surrogatepass")
        self.out += b"X" + struct.pack("<I", len(raw)) + raw

    def tuple_(self, items, where):
        self.out += b"("
        for i, v in enumerate(items):
            self.value(v, f"{where}[{i}]")
        self.out += b"t"

    def value(self, obj, where):
        out = self.out
        if obj is None:
            out += b"N"
        elif obj is True or obj is False or isinstance(obj, np.bool_):
            out += b"\x88" if obj else b"\x89"
        elif isinstance(obj, (int, np.integer)):
            self.int_(int(obj))
        elif isinstance(obj, (float, np.floating)):
            out += b"G" + struct.pack(">d", float(obj))
        elif isinstance(obj, str):
            self.str_(obj)
        elif isinstance(obj, dict):
            if isinstance(obj, collections.OrderedDict):
                self.global_("collections", "OrderedDict")
                out += b")R"
            else:
                out += b"}"
            items = list(obj.items())
            for start in range(0, len(items), 1000):
                out += b"("
                for k, v in items[start:start + 1000]:
                    if not isinstance(k, (str, int, np.integer, float, bool, tuple)) and k is not None:
                        raise TypeError(f"save: dict keys must be str, int, float, bool, None or tuples; "
                                        f"{where} has the key {k!r}")
                    self.value(k, f"{where} key")
                    self.value(v, f"{where}[{k!r}]")
                out += b"u"
        elif isinstance(obj, list):
            out += b"]"
            for start in range(0, len(obj), 1000):
                out += b"("
                for i, v in enumerate(obj[start:start + 1000], start):
                    self.value(v, f"{where}[{i}]")
                out += b"e"
        elif isinstance(obj, tuple):
            self.tuple_(obj, where)
        elif isinstance(obj, _nt_dtype):
            self.global_("torch", obj._torch_name)          # torch.float32 etc. are allowed globals
        elif isinstance(obj, backend.Device):
            self.global_("torch", "device")
            self.str_(str(obj))
            out += b"\x85R"
        else:
            spec = self.storage_of(obj, where)
            if spec is None:
                raise TypeError(f"save: cannot store {where} of type {type(obj).__name__} in a PyTorch "
                                "file; supported: dict, OrderedDict, list, tuple, str, int, float, bool, "
                                "None, Tensor, numpy array" + _whole_object_hint(obj))
            storage_cls, key, numel, offset, size, stride, requires_grad = spec
            self.global_("torch._utils", "_rebuild_tensor_v2")
            out += b"(("
            self.str_("storage")
            self.global_("torch", storage_cls)
            self.str_(key)
            self.str_("cpu")
            self.int_(numel)
            out += b"tQ"
            self.int_(offset)
            self.tuple_(size, where)
            self.tuple_(stride, where)
            out += b"\x88" if requires_grad else b"\x89"
            self.global_("collections", "OrderedDict")
            out += b")Rt"
            out += b"R"


def dumps(obj, storage_of):
    """The protocol 2 pickle of ``obj``. ``storage_of(x, where)`` returns, for
    a tensor or array ``x``, ``(storage class name, key, numel, offset, size,
    stride, requires_grad)``, or None for an object that cannot be stored."""
    w = _Writer(storage_of)
    w.value(obj, "obj")
    w.out += b"."
    return bytes(w.out)


def _whole_object_hint(obj):
    """Saving a whole module or optimizer needs pickle, which neuronet never uses."""
    if hasattr(obj, "state_dict") and callable(obj.state_dict):
        return (f". A whole {type(obj).__name__} object can only be stored by pickling its class, which "
                "neuronet never does: save obj.state_dict() and load it into a new instance with "
                "load_state_dict()")
    return ""
