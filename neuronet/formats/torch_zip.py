"""PyTorch's zip format (``torch.save`` since 1.6), written and read without torch.

Layout of a file (``<a>`` is the archive folder: the file's stem when torch
writes to a path, ``archive`` for a buffer; readers accept any name)::

    <a>/data.pkl                  the object, pickle protocol 2; each tensor is
                                  torch._utils._rebuild_tensor_v2(storage, offset,
                                  size, stride, requires_grad, OrderedDict())
                                  with the storage as the persistent id
                                  ('storage', torch.FloatStorage, '<key>', 'cpu', numel)
    <a>/.format_version           "1"
    <a>/.storage_alignment        "64"
    <a>/byteorder                 "little"
    <a>/data/<key>                the storage's raw little-endian bytes
    <a>/version                   "3\\n"
    <a>/.data/serialization_id    40 decimal digits naming this save

Entries are stored (not compressed) and each entry's data starts at a
multiple of 64 bytes (padding in the local header's extra field, id
``FB``), as torch's writer does, so torch can memory-map them.

Saving writes every tensor's storage once: tensors that are NumPy views of
one array share one storage in the file (torch loads them as views of one
storage); other tensors are written as contiguous copies.
"""
from __future__ import annotations

import os
import struct
import zipfile

import numpy as np

from .. import backend
from ..serialization import CheckpointError
from . import _common
from .torch_pickle import NUMPY_TO_STORAGE, STORAGE_DTYPES, AllowListUnpickler, itemsize

ALIGNMENT = 64


# ------------------------------------------------------------------ writing
class _Storages:
    """Collects the storages of the tensors met while pickling."""

    def __init__(self):
        self.by_root = {}        # (id(root), dtype) -> key
        self.arrays = []         # key order: flat little-endian arrays
        self.keep = []           # roots kept alive while their id() is a key

    def __call__(self, obj, where):
        from ..tensor import Tensor
        if isinstance(obj, Tensor):
            arr, requires_grad = obj.array, bool(obj.requires_grad)
        elif isinstance(obj, np.ndarray) or hasattr(obj, "__cuda_array_interface__"):
            arr, requires_grad = obj, False
        else:
            return None
        arr = backend.to_numpy(arr)
        storage_cls = NUMPY_TO_STORAGE.get(np.dtype(arr.dtype.name)) if arr.dtype.kind != "V" else None
        if storage_cls is None:
            raise TypeError(f"save: {where} has dtype {arr.dtype}, which a PyTorch file cannot hold "
                            f"(supported: {', '.join(str(d) for d in NUMPY_TO_STORAGE)})")
        root, offset, strides = _root_of(arr)
        if root is None:                 # not a plain view of one buffer: a contiguous copy
            flat = np.ascontiguousarray(arr).reshape(-1)
            root, offset = flat, 0
            strides = _contiguous_strides(arr.shape)
        ident = (id(root), root.dtype.str)
        key = self.by_root.get(ident)
        if key is None:
            key = str(len(self.arrays))
            self.by_root[ident] = key
            self.keep.append(root)
            self.arrays.append(root.ravel(order="K"))
        numel = self.arrays[int(key)].size
        return storage_cls, key, numel, offset, tuple(arr.shape), strides, requires_grad


def _contiguous_strides(shape):
    strides, step = [], 1
    for n in reversed(shape):
        strides.append(step)
        step *= max(n, 1)
    return tuple(reversed(strides))


def _root_of(arr):
    """``(root, offset, strides)`` in elements when ``arr`` is a view of a
    contiguous array ``root`` of its dtype; ``(None, 0, None)`` otherwise."""
    root = arr
    while isinstance(root.base, np.ndarray):
        root = root.base
    if not (root.flags.c_contiguous or root.flags.f_contiguous) or root.dtype != arr.dtype:
        return None, 0, None
    item = arr.itemsize
    if any(s < 0 or s % item for s in arr.strides):
        return None, 0, None
    delta = arr.__array_interface__["data"][0] - root.__array_interface__["data"][0]
    if delta < 0 or delta % item:
        return None, 0, None
    strides = tuple(s // item for s in arr.strides)
    offset = delta // item
    if arr.size and offset + sum((n - 1) * s for n, s in zip(arr.shape, strides)) >= root.size:
        return None, 0, None
    return root, offset, strides


def _padding(header_offset, name, size):
    """The local-header extra field that puts the entry's data on a 64-byte
    boundary (zipfile adds a 20-byte zip64 field after it for big entries)."""
    zip64 = size * 1.05 > zipfile.ZIP64_LIMIT            # zipfile's own rule
    start = header_offset + 30 + len(name.encode("utf-8")) + (20 if zip64 else 0)
    pad = -start % ALIGNMENT
    if pad == 0:
        return b""
    if pad < 4:
        pad += ALIGNMENT
    return b"FB" + struct.pack("<H", pad - 4) + b"Z" * (pad - 4)


def _write_entry(zf, name, data):
    view = memoryview(data).cast("B") if not isinstance(data, (bytes, bytearray)) else memoryview(data)
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_STORED
    info.file_size = view.nbytes
    info.extra = _padding(zf.start_dir, name, view.nbytes)
    with zf.open(info, "w") as out:
        out.write(view)


def archive_name(f):
    """torch's archive folder: the stem of the file name, ``archive`` for a
    file object."""
    if hasattr(f, "write"):
        return "archive"
    stem = os.path.splitext(os.path.basename(os.fspath(f)))[0]
    return stem if stem and stem.isprintable() and "\\" not in stem else "archive"


def write(obj, fileobj, name="archive"):
    """Write ``obj`` to the seekable binary ``fileobj`` in torch's zip format."""
    from .torch_pickle import dumps
    storages = _Storages()
    pickled = dumps(obj, storages)
    serial_id = "".join(str(b % 10) for b in os.urandom(40))
    with zipfile.ZipFile(fileobj, "w", zipfile.ZIP_STORED) as zf:
        _write_entry(zf, f"{name}/data.pkl", pickled)
        _write_entry(zf, f"{name}/.format_version", b"1")
        _write_entry(zf, f"{name}/.storage_alignment", str(ALIGNMENT).encode())
        _write_entry(zf, f"{name}/byteorder", b"little")
        for key, arr in enumerate(storages.arrays):
            little = arr.astype(arr.dtype.newbyteorder("<"), copy=False)
            _write_entry(zf, f"{name}/data/{key}", np.ascontiguousarray(little).view(np.uint8))
        _write_entry(zf, f"{name}/version", b"3\n")
        _write_entry(zf, f"{name}/.data/serialization_id", serial_id.encode())


# ------------------------------------------------------------------ reading
def find_prefix(zf, label):
    """The archive folder (``'archive/'``) of a torch zip, or None. Refuses
    entries that could escape a folder (``..``, absolute paths)."""
    prefix = None
    for name in zf.namelist():
        parts = name.replace("\\", "/").split("/")
        if name.startswith(("/", "\\")) or ".." in parts or (len(name) > 1 and name[1] == ":"):
            raise CheckpointError(f"{label}: refusing to load: the archive has an entry with an unsafe "
                                  f"path {name!r}")
        if name.endswith("data.pkl") and name.count("/") == 1:
            prefix = name[:-len("data.pkl")]
    return prefix


def load(src, label, placement):
    """Read a torch zip from ``src`` (a path or a seekable binary file)."""
    try:
        zf = zipfile.ZipFile(src)
    except (zipfile.BadZipFile, OSError, EOFError) as e:
        raise CheckpointError(f"{label}: corrupted or truncated zip archive ({e})") from None
    with zf:
        total = _size_of(src)
        prefix = find_prefix(zf, label)
        if prefix is None:
            raise CheckpointError(f"{label}: a zip archive but not a PyTorch file (no <folder>/data.pkl)")
        infos = {i.filename: i for i in zf.infolist()}
        for info in infos.values():
            if info.header_offset + info.compress_size > total or (
                    info.compress_type == zipfile.ZIP_STORED and info.file_size != info.compress_size):
                raise CheckpointError(f"{label}: corrupted or truncated: entry {info.filename!r} declares "
                                      f"{info.file_size} bytes at offset {info.header_offset}, beyond the "
                                      f"file's {total} bytes")
            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED) or (
                    info.compress_type == zipfile.ZIP_DEFLATED and info.file_size > 1100 * (info.compress_size + 1)):
                raise CheckpointError(f"{label}: entry {info.filename!r} has an unsupported compression "
                                      f"(method {info.compress_type}, {info.file_size} bytes)")
        byteorder = _read(zf, infos.get(prefix + "byteorder"), label)
        if byteorder is not None and bytes(byteorder) not in (b"little", b"little\n"):
            raise CheckpointError(f"{label}: written on a {bytes(byteorder)!r}-endian machine; neuronet "
                                  "reads little-endian files only")
        storages = {}

        def persistent_load(pid):
            _, stype, key, location, numel = pid[:5]
            if not isinstance(key, str) or not isinstance(numel, int) or not isinstance(location, str):
                raise CheckpointError(f"{label}: corrupted: storage id {pid[2:]!r} is malformed")
            if key in storages:
                return storages[key]
            if stype.dtype is None:
                raise CheckpointError(f"{label}: a storage of the generic type {stype!r} without a dtype")
            info = infos.get(f"{prefix}data/{key}")
            if info is None:
                raise CheckpointError(f"{label}: corrupted: the storage '{key}' the pickle refers to is "
                                      "missing from the archive")
            need = numel * itemsize(stype.dtype)
            if numel < 0 or need > info.file_size:
                raise CheckpointError(f"{label}: corrupted: storage '{key}' declares {numel} {stype.dtype} "
                                      f"elements ({need} bytes) but holds {info.file_size} bytes")
            raw = _read(zf, info, label)[:need]
            storages[key] = _common.new_storage(raw, stype.dtype, location, key, placement)
            return storages[key]

        pickled = _read(zf, infos[prefix + "data.pkl"], label)
        unpickler = AllowListUnpickler(bytes(pickled), label, persistent_load,
                                       _common.tensor_factory(placement), _common.make_size,
                                       _common.make_device)
        obj = unpickler.load()
    return placement.finish(obj)


def _size_of(src):
    if hasattr(src, "seek"):
        here = src.tell()
        end = src.seek(0, os.SEEK_END)
        src.seek(here)
        return end
    return os.path.getsize(src)


def _read(zf, info, label):
    """An entry's bytes as a writable uint8 array (None for a missing entry)."""
    if info is None:
        return None
    out = np.empty(info.file_size, dtype=np.uint8)
    try:
        with zf.open(info) as f:
            got = f.readinto(memoryview(out)) if out.size else 0
            while 0 < got < out.size:
                more = f.readinto(memoryview(out)[got:])
                if not more:
                    break
                got += more
            if got != out.size:
                raise EOFError(f"read {got} of {out.size} bytes")
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, zipfile.LargeZipFile) as e:
        raise CheckpointError(f"{label}: corrupted or truncated entry {info.filename!r} ({e})") from None
    return out


__all__ = ["write", "load", "archive_name", "STORAGE_DTYPES"]
