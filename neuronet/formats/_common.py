"""What the format readers share: where tensors go (``map_location``), how a
storage becomes tensors, and the naming of files in errors."""
from __future__ import annotations

import os

import numpy as np

from .. import backend
from ..serialization import CheckpointError
from .torch_pickle import Storage, TorchDtype, _Global, _StorageType


def file_label(f):
    """How errors name ``f``: the path, or a file object's name."""
    if hasattr(f, "read") or hasattr(f, "write"):
        name = getattr(f, "name", None)
        return str(name) if isinstance(name, (str, bytes, os.PathLike)) else "<file object>"
    return os.fspath(f)


class Placement:
    """``map_location`` as ``torch.load`` takes it, applied per storage (so
    tensors that share a storage still share it on the device), except a
    callable, which gets each tensor and its saved location afterwards."""

    def __init__(self, map_location, label):
        self.map_location = map_location
        self.label = label
        self.is_callable = callable(map_location) and not isinstance(map_location, (str, backend.Device))
        self.tensors = []      # (tensor, location) for a callable map_location

    def target(self, location):
        m = self.map_location
        if m is None or self.is_callable:
            where = location
        elif isinstance(m, dict):
            where = m.get(location, location)
        else:
            where = m
        where = str(where)
        if self.is_callable:
            return "cpu"
        try:
            return backend.Device(where)
        except (ValueError, TypeError):
            raise CheckpointError(f"{self.label}: tensors saved on {location!r}, which neuronet cannot "
                                  "place; pass map_location='cpu'") from None

    def place(self, array, location):
        dev = self.target(location)
        if str(dev) == "cpu":
            return array
        try:
            return backend.to_device(array, dev)
        except backend.CudaUnavailableError as e:
            raise CheckpointError(f"{self.label}: tensors saved on {location!r} but {e}; pass "
                                  "map_location='cpu' to load them on the CPU") from None

    def finish(self, obj):
        """Apply a callable ``map_location`` and turn torch dtypes into
        neuronet's; returns the final object."""
        moved = {}
        for t, loc in self.tensors if self.is_callable else ():
            out = self.map_location(t, loc)
            moved[id(t)] = t if out is None else out
        try:
            return _translate(obj, moved)
        except CheckpointError as e:
            raise CheckpointError(f"{self.label}: {e}") from None


def _translate(obj, moved):
    from ..tensor import Tensor
    if isinstance(obj, Tensor):
        return moved.get(id(obj), obj) if moved else obj
    if isinstance(obj, (Storage, _Global, _StorageType)):
        raise CheckpointError(f"a bare {obj!r} in the file's object: only tensors built from storages "
                              "are loaded")
    if isinstance(obj, TorchDtype):
        from .._dtype import from_numpy_dtype
        return from_numpy_dtype(np.dtype("float32" if obj.name == "bfloat16" else obj.name))
    if isinstance(obj, dict):
        for k, v in list(obj.items()):
            new = _translate(v, moved)
            if new is not v:
                obj[k] = new
        return obj
    if isinstance(obj, list):
        for i, v in enumerate(obj):
            new = _translate(v, moved)
            if new is not v:
                obj[i] = new
        return obj
    if isinstance(obj, tuple) and not hasattr(obj, "_fields"):
        items = [_translate(v, moved) for v in obj]
        if any(a is not b for a, b in zip(items, obj)):
            return type(obj)(items) if type(obj) is not tuple else tuple(items)
        return obj
    return obj


def tensor_factory(placement):
    """``make_tensor(array_or_tensor, requires_grad, storage)`` for the
    unpickler: tensors over one storage share its version counter, as views
    of one tensor do."""
    from ..tensor import Tensor
    counters = {}

    def make_tensor(data, requires_grad, storage=None):
        if isinstance(data, Tensor):
            t = data
        else:
            t = Tensor._wrap(data)
            if storage is not None:
                t._vc = counters.setdefault(id(storage), [0])
            if placement.is_callable:
                placement.tensors.append((t, "cpu" if storage is None else storage.location))
        t.requires_grad = bool(requires_grad) and t.array.dtype.kind in "fc"
        return t
    return make_tensor


def make_size(*args):
    from .._dtype import Size
    return Size(*args)


def make_device(spec):
    return backend.Device(spec)


def new_storage(raw, dtype, location, key, placement):
    """A :class:`Storage` over the little-endian bytes ``raw`` (writable
    uint8), placed where ``map_location`` says."""
    from .torch_pickle import raw_to_numpy
    arr = raw_to_numpy(raw, dtype)
    return Storage(placement.place(arr, location), dtype, location, key)
