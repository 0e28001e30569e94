"""PyTorch's legacy format (``torch.save`` before 1.6, or with
``_use_new_zipfile_serialization=False``), read without torch.

A legacy file is a run of pickles followed by raw storages::

    pickle  0x1950a86a20f9469cfc6c      the magic number
    pickle  1001                        the protocol version
    pickle  {'protocol_version': 1001, 'little_endian': True, 'type_sizes': {...}}
    pickle  the object; storages are persistent ids
            ('storage', torch.FloatStorage, '<key>', 'cpu', numel, view_metadata)
    pickle  ['<key>', ...]              the keys of the storages that follow, in order
    then for each key: int64 element count (little-endian), the raw elements

Every pickle goes through the same allow-list as the zip format. The
storages come after the object, so the object is read twice: once to learn
which storages it needs (checking sizes, allocating nothing), then, with the
storages read and placed, to build the tensors.
"""
from __future__ import annotations

import struct

import numpy as np

from ..serialization import CheckpointError
from . import _common
from .torch_pickle import AllowListUnpickler, Storage, UnsafeFileError, itemsize

MAGIC_NUMBER = 0x1950a86a20f9469cfc6c
PROTOCOL_VERSION = 1001


def is_legacy(data, label):
    """True when ``data`` starts with the legacy magic-number pickle."""
    try:
        first = AllowListUnpickler(data, label, _no_storage(label), _no_tensor).load()
    except UnsafeFileError:
        raise
    except CheckpointError:
        return False
    return first == MAGIC_NUMBER


def _no_storage(label):
    def refuse(pid):
        raise CheckpointError(f"{label}: corrupted: a storage in the legacy header")
    return refuse


def _no_tensor(*args):
    raise AssertionError("unreachable: no storage, so no tensor")


def load(data, label, placement):
    """Read the legacy-format bytes ``data``."""
    pos = 0

    def next_pickle(persistent_load=None, make_tensor=_no_tensor):
        nonlocal pos
        u = AllowListUnpickler(data, label, persistent_load or _no_storage(label), make_tensor,
                               _common.make_size, _common.make_device, pos=pos)
        value = u.load()
        pos = u.pos
        return value

    if next_pickle() != MAGIC_NUMBER:
        raise CheckpointError(f"{label}: not a PyTorch legacy file (wrong magic number)")
    version = next_pickle()
    if version != PROTOCOL_VERSION:
        raise CheckpointError(f"{label}: PyTorch legacy protocol version {version!r}; neuronet reads "
                              f"{PROTOCOL_VERSION}")
    info = next_pickle()
    if not isinstance(info, dict) or info.get("little_endian") is not True:
        raise CheckpointError(f"{label}: written on a big-endian machine (or header {info!r} is "
                              "malformed); neuronet reads little-endian files only")

    # Pass 1: which storages, of what dtype and size (zero-stride stand-ins
    # let the size checks of each tensor view run without allocating).
    wanted = {}
    start = pos

    def declare(pid):
        _, stype, key, location, numel = pid[:5]
        if not isinstance(key, str) or not isinstance(numel, int) or numel < 0 or stype.dtype is None:
            raise CheckpointError(f"{label}: corrupted: storage id {pid[2:]!r} is malformed")
        if numel * itemsize(stype.dtype) > len(data):
            raise CheckpointError(f"{label}: corrupted or truncated: storage '{key}' declares {numel} "
                                  f"elements, more than the file's {len(data)} bytes hold")
        old = wanted.setdefault(key, (stype.dtype, numel, location))
        if old[:2] != (stype.dtype, numel):
            raise CheckpointError(f"{label}: corrupted: storage '{key}' declared twice differently")
        stand_in = np.lib.stride_tricks.as_strided(np.zeros(1, _np_dtype(stype.dtype)), (numel,), (0,))
        return _view_of(pid, Storage(stand_in, stype.dtype, location, key), label)

    next_pickle(declare, _common.tensor_factory(_common.Placement(None, label)))
    keys = next_pickle()
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise CheckpointError(f"{label}: corrupted: the storage key list is {type(keys).__name__}")

    # The raw storages, in the order of the key list.
    storages = {}
    for key in keys:
        if pos + 8 > len(data):
            raise CheckpointError(f"{label}: truncated: storage '{key}' is missing")
        (numel,) = struct.unpack_from("<q", data, pos)
        pos += 8
        if key not in wanted:
            raise CheckpointError(f"{label}: corrupted: storage '{key}' is not used by the object")
        dtype, declared, location = wanted[key]
        if numel != declared:
            raise CheckpointError(f"{label}: corrupted: storage '{key}' holds {numel} elements, the "
                                  f"object declares {declared}")
        nbytes = numel * itemsize(dtype)
        if pos + nbytes > len(data):
            raise CheckpointError(f"{label}: truncated: storage '{key}' needs {nbytes} bytes, "
                                  f"{len(data) - pos} left")
        raw = np.frombuffer(data, np.uint8, nbytes, pos).copy()
        pos += nbytes
        storages[key] = _common.new_storage(raw, dtype, location, key, placement)
    missing = set(wanted) - set(storages)
    if missing:
        raise CheckpointError(f"{label}: truncated: storages {sorted(missing)[:5]} are missing")

    # Pass 2: the object, over the real storages.
    pos = start
    obj = next_pickle(lambda pid: _view_of(pid, storages[pid[2]], label), _common.tensor_factory(placement))
    return placement.finish(obj)


def _np_dtype(name):
    return np.dtype("float32" if name == "bfloat16" else name)


def _view_of(pid, root, label):
    """The storage a legacy persistent id names: the root, or a slice of it
    (``view_metadata = (view_key, offset, size)``, from PyTorch < 1.0)."""
    view = pid[5] if len(pid) > 5 else None
    if view is None:
        return root
    try:
        view_key, offset, size = view
        offset, size = int(offset), int(size)
    except (TypeError, ValueError):
        raise CheckpointError(f"{label}: corrupted: storage view {view!r}") from None
    if offset < 0 or size < 0 or offset + size > root.array.size:
        raise CheckpointError(f"{label}: corrupted: storage view {view!r} outside its storage")
    return Storage(root.array[offset:offset + size], root.dtype, root.location, f"{root.key}/{view_key}")
