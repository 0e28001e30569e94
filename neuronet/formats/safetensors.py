"""safetensors files (Hugging Face's format): a flat dict of named tensors.

Layout: an 8-byte little-endian header length ``n``, ``n`` bytes of UTF-8
JSON ``{"name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin,
end]}, ..., "__metadata__": {"key": "string"}}``, then the raw little-endian
tensor bytes (offsets count from the end of the header). There is no code in
the format, so reading needs no allow-list, only bounds checks.

Writing uses the ``safetensors`` package (the reference implementation; the
optional extra ``neuronet[safetensors]``). String metadata goes in with the
key ``"__metadata__"``: ``neuronet.save({"w": w, "__metadata__": {"format":
"pt"}}, "m.safetensors")``; :func:`read_metadata` reads it back.
Reading is done here, so BF16 tensors (widened to float32) load too.
"""
from __future__ import annotations

import json
import os
import struct

import numpy as np

from .. import backend
from ..serialization import CheckpointError
from . import _common

DTYPES = {"F64": "float64", "F32": "float32", "F16": "float16", "BF16": "bfloat16", "I64": "int64",
          "I32": "int32", "I16": "int16", "I8": "int8", "U8": "uint8", "U16": "uint16", "U32": "uint32",
          "U64": "uint64", "BOOL": "bool", "C64": "complex64", "C128": "complex128"}
MAX_HEADER = 100 * 1024 * 1024


def looks_like(head, total):
    """Whether the first bytes ``head`` of a ``total``-byte file start a safetensors file."""
    if len(head) < 9:
        return False
    (n,) = struct.unpack_from("<Q", head)
    return 8 + n <= total and head[8:9] == b"{"


def save(obj, f):
    """Write the flat dict ``obj`` of tensors (and an optional
    ``"__metadata__"`` dict of strings) as safetensors; returns the bytes when
    ``f`` is None."""
    from ..tensor import Tensor
    try:
        import safetensors.numpy as st
    except ImportError:
        raise ImportError("saving .safetensors needs the 'safetensors' package: pip install safetensors "
                          "(or neuronet[safetensors])") from None
    label = _common.file_label(f)
    if not isinstance(obj, dict):
        raise TypeError(f"save: {label}: a safetensors file holds a flat dict of tensors, received "
                        f"{type(obj).__name__}")
    metadata = obj.get("__metadata__")
    if metadata is not None and not (isinstance(metadata, dict) and all(
            isinstance(k, str) and isinstance(v, str) for k, v in metadata.items())):
        raise TypeError(f"save: {label}: '__metadata__' must be a dict of strings to strings")
    arrays = {}
    for k, v in obj.items():
        if k == "__metadata__":
            continue
        if not isinstance(k, str):
            raise TypeError(f"save: {label}: safetensors keys are strings, received the key {k!r}")
        if isinstance(v, Tensor):
            v = v.array
        if not (isinstance(v, np.ndarray) or hasattr(v, "__cuda_array_interface__")):
            raise TypeError(f"save: {label}: obj[{k!r}] is a {type(v).__name__}; a safetensors file holds "
                            "only tensors (nested dicts, lists and numbers need .pt or .npz)")
        arr = backend.to_numpy(v)
        if np.dtype(arr.dtype.name).name not in DTYPES.values():
            raise TypeError(f"save: {label}: obj[{k!r}] has dtype {arr.dtype}, which safetensors cannot hold")
        arrays[k] = np.ascontiguousarray(arr.astype(arr.dtype.newbyteorder("<"), copy=False))
    return st.save(arrays, metadata=metadata)


def _header(read, total, label):
    if total < 8:
        raise CheckpointError(f"{label}: truncated safetensors file ({total} bytes)")
    (n,) = struct.unpack("<Q", read(0, 8))
    if n > MAX_HEADER or 8 + n > total:
        raise CheckpointError(f"{label}: corrupted or truncated safetensors file: header of {n} bytes "
                              f"declared, file has {total}")
    try:
        header = json.loads(bytes(read(8, n)).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CheckpointError(f"{label}: corrupted safetensors header ({e})") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{label}: corrupted safetensors header (not a JSON object)")
    return header, 8 + n


def read_metadata(f):
    """The ``__metadata__`` strings of a safetensors file (``{}`` if none)."""
    data = f.read() if hasattr(f, "read") else open(os.fspath(f), "rb").read()
    header, _ = _header(lambda o, n: data[o:o + n], len(data), _common.file_label(f))
    return dict(header.get("__metadata__") or {})


def load(src, label, placement):
    """Read a safetensors file from ``src`` (a path or a seekable binary
    file); returns a dict of tensors in file order."""
    own = not hasattr(src, "read")
    fh = open(src, "rb") if own else src
    try:
        total = fh.seek(0, os.SEEK_END)

        def read(offset, n):
            fh.seek(offset)
            out = np.empty(n, np.uint8)
            got = fh.readinto(memoryview(out)) if n else 0
            if got != n:
                raise CheckpointError(f"{label}: truncated safetensors file")
            return out

        header, start = _header(read, total, label)
        make_tensor = _common.tensor_factory(placement)
        out = {}
        for name, entry in header.items():
            if name == "__metadata__":
                continue
            try:
                dtype = DTYPES[entry["dtype"]]
                shape = tuple(int(s) for s in entry["shape"])
                begin, end = (int(v) for v in entry["data_offsets"])
            except (KeyError, TypeError, ValueError):
                raise CheckpointError(f"{label}: corrupted safetensors entry {name!r}: {entry!r} (dtype "
                                      f"must be one of {', '.join(DTYPES)})") from None
            numel = int(np.prod(shape, dtype=np.int64)) if shape else 1
            item = 2 if dtype == "bfloat16" else np.dtype(dtype).itemsize
            if any(s < 0 for s in shape) or begin < 0 or end - begin != numel * item or start + end > total:
                raise CheckpointError(f"{label}: corrupted or truncated: tensor {name!r} of shape "
                                      f"{list(shape)} {entry['dtype']} declares bytes [{begin}, {end}) of "
                                      f"{total - start}")
            from .torch_pickle import raw_to_numpy
            arr = raw_to_numpy(read(start + begin, end - begin), dtype).reshape(shape)
            out[name] = make_tensor(placement.place(arr, "cpu"), False, None)
        return placement.finish(out)
    except OSError as e:
        raise CheckpointError(f"{label}: cannot read ({e})") from None
    finally:
        if own:
            fh.close()
