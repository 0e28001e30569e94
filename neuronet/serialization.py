"""Saving and loading without pickle: ``.npz`` arrays plus JSON structure.

``save(obj, path)`` writes a nested structure of dicts, lists, tuples,
numbers, strings, None, Tensors and ndarrays (a ``state_dict``, an optimizer
state, a whole checkpoint) to one file:

- every array goes into a NumPy ``.npz`` (zip) entry ``a0``, ``a1``, ...;
- the structure, with ``{"__tensor__": "a0"}`` / ``{"__ndarray__": "a0"}``
  placeholders, goes into the entry ``__neuronet__`` as UTF-8 JSON, together
  with the format name and version.

Loading uses ``numpy.load(allow_pickle=False)``: a file that contains a
pickled object is refused, never executed. Writes are atomic (a temporary
file in the same directory, fsync, then ``os.replace``), so a crash leaves
either the old file or the new one, never half of one.
"""
from __future__ import annotations

import io
import json
import os
import tempfile
import zipfile

import numpy as np

from . import backend

FORMAT_NAME = "neuronet"
FORMAT_VERSION = 1
_META_KEY = "__neuronet__"

__all__ = ["save", "load_file", "FORMAT_VERSION", "CheckpointError"]


class CheckpointError(RuntimeError):
    """A file that cannot be read as a neuronet save: names the file and why."""


def _encode(obj, arrays, where):
    from .tensor import Tensor
    if isinstance(obj, Tensor):
        key = f"a{len(arrays)}"
        arrays[key] = backend.to_numpy(obj.array)
        return {"__tensor__": key}
    if isinstance(obj, np.ndarray) or hasattr(obj, "__cuda_array_interface__"):
        arr = backend.to_numpy(obj)
        if arr.dtype == object:
            raise TypeError(f"save: {where} is an object array; only numeric arrays can be saved")
        key = f"a{len(arrays)}"
        arrays[key] = arr
        return {"__ndarray__": key}
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, dict):
        out = {}
        keys = []
        for k, v in obj.items():
            if isinstance(k, (bool, np.bool_)) or not isinstance(k, (str, int, np.integer)):
                raise TypeError(f"save: dict keys must be str or int, {where} has key {k!r}")
            keys.append(k if isinstance(k, str) else int(k))
            out[str(k)] = _encode(v, arrays, f"{where}[{k!r}]")
        int_keys = [i for i, k in enumerate(keys) if not isinstance(k, str)]
        if int_keys:   # JSON keys are strings: remember which were ints (optimizer state)
            return {"__dict__": [[k, out[str(k)]] for k in keys]}
        return out
    if isinstance(obj, (list, tuple)):
        items = [_encode(v, arrays, f"{where}[{i}]") for i, v in enumerate(obj)]
        return {"__tuple__": items} if isinstance(obj, tuple) else items
    if obj is None or isinstance(obj, (bool, int, float, str)):
        if isinstance(obj, float) and not np.isfinite(obj):
            return {"__float__": repr(obj)}
        return obj
    raise TypeError(f"save: cannot store {where} of type {type(obj).__name__}; supported: dict, list, "
                    "tuple, str, int, float, bool, None, Tensor, numpy array")


def _decode(obj, arrays, as_tensor):
    from .tensor import Tensor
    if isinstance(obj, dict):
        if "__tensor__" in obj:
            arr = arrays[obj["__tensor__"]]
            return Tensor._wrap(arr) if as_tensor else arr
        if "__ndarray__" in obj:
            return arrays[obj["__ndarray__"]]
        if "__tuple__" in obj:
            return tuple(_decode(v, arrays, as_tensor) for v in obj["__tuple__"])
        if "__float__" in obj:
            return float(obj["__float__"])
        if "__dict__" in obj:
            return {k: _decode(v, arrays, as_tensor) for k, v in obj["__dict__"]}
        return {k: _decode(v, arrays, as_tensor) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_decode(v, arrays, as_tensor) for v in obj]
    return obj


def atomic_write_bytes(path, data: bytes):
    """Write ``data`` to ``path`` via a temporary file and an atomic rename."""
    atomic_write(path, lambda f: f.write(data))


def _umask():
    # Linux reports it in /proc; elsewhere os.umask can only be read by
    # setting it, so put it straight back.
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write(path, write):
    """Call ``write(f)`` on a temporary binary file next to ``path``, fsync
    it, then rename it over ``path``: readers see the old file or the whole
    new one, never part of one. If ``write`` raises, ``path`` is untouched and
    the temporary file is removed. The new file gets the permissions any new
    file gets (0666 less the umask), not the temporary file's 0600."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(directory, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=os.path.basename(path), dir=directory)
    except OSError as e:
        raise OSError(f"cannot write {path}: {e.strerror or e}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def save(obj, path, kind="object"):
    """Write ``obj`` (see the module docstring) to ``path`` atomically; no pickle.
    ``path`` may also be a binary file object (``io.BytesIO``, an open file)."""
    arrays: dict = {}
    structure = _encode(obj, arrays, "obj")
    meta = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "kind": kind, "object": structure}
    buf = io.BytesIO()
    payload = dict(arrays)
    payload[_META_KEY] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
    np.savez(buf, **payload)
    if hasattr(path, "write"):
        path.write(buf.getvalue())
        return
    atomic_write_bytes(path, buf.getvalue())


def load_file(path, as_tensor=True):
    """Read a file written by :func:`save`. Returns ``(obj, meta)``.

    Raises :class:`CheckpointError` naming the file for: a missing file, a
    file that is not a neuronet save, a truncated or corrupted file, a
    pickle-bearing file, and a format version newer than this library's.
    """
    if hasattr(path, "read"):
        # A file object: read what is left of it, then parse it as a file.
        name = getattr(path, "name", "<file object>")
        data = path.read()
        if not isinstance(data, bytes):
            raise CheckpointError(f"{name}: open the file in binary mode ('rb') to load it")
        path = _NamedBytes(data, name)
        head = data[:4]
    else:
        path = os.fspath(path)
        if not os.path.exists(path):
            raise CheckpointError(f"{path}: no such file")
        try:
            with open(path, "rb") as f:
                head = f.read(4)
        except OSError as e:
            raise CheckpointError(f"{path}: cannot read ({e.strerror})") from None
    if head[:2] == b"\x80\x04" or head[:1] == b"\x80" or head[:2] == b"\x80\x02":
        raise CheckpointError(f"{path}: refusing to load a pickle file (neuronet never unpickles: "
                              "it can run arbitrary code). Convert the weights to .npz first.")
    if head != b"PK\x03\x04":
        raise CheckpointError(f"{path}: not a neuronet file (expected a .npz zip archive, "
                              f"found leading bytes {head!r})")
    try:
        with zipfile.ZipFile(path) as z:
            bad = z.testzip()
            if bad is not None:
                raise CheckpointError(f"{path}: corrupted (CRC mismatch in entry {bad!r})")
            names = set(z.namelist())
        if _META_KEY + ".npy" not in names:
            raise CheckpointError(f"{path}: a .npz archive but not a neuronet save (no {_META_KEY} entry)")
        if hasattr(path, "seek"):
            path.seek(0)
        with np.load(path, allow_pickle=False) as npz:
            meta = json.loads(bytes(npz[_META_KEY]).decode("utf-8"))
            arrays = {k: npz[k] for k in npz.files if k != _META_KEY}
    except CheckpointError:
        raise
    except ValueError as e:
        if "pickle" in str(e).lower():
            raise CheckpointError(f"{path}: refusing to load: the file contains a pickled object "
                                  "(allow_pickle=False)") from None
        raise CheckpointError(f"{path}: corrupted or truncated ({e})") from None
    except (zipfile.BadZipFile, EOFError, OSError, KeyError, UnicodeDecodeError,
            json.JSONDecodeError) as e:
        raise CheckpointError(f"{path}: corrupted or truncated file ({type(e).__name__}: {e})") from None
    if meta.get("format") != FORMAT_NAME:
        raise CheckpointError(f"{path}: not a neuronet save (format {meta.get('format')!r})")
    version = meta.get("version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise CheckpointError(f"{path}: written by a newer neuronet (format version {version}; this "
                              f"version reads up to {FORMAT_VERSION}). Upgrade neuronet to load it.")
    expected = {k for k in _collect_refs(meta["object"])}
    missing = expected - set(arrays)
    if missing:
        raise CheckpointError(f"{path}: corrupted: array entries {sorted(missing)[:5]} are missing")
    return _decode(meta["object"], arrays, as_tensor), meta


class _NamedBytes(io.BytesIO):
    """In-memory file contents that print as the file they came from (for errors)."""

    def __init__(self, data, name):
        super().__init__(data)
        self.label = name

    def __str__(self):
        return str(self.label)

    __format__ = lambda self, spec: format(str(self), spec)  # noqa: E731


def _collect_refs(obj):
    if isinstance(obj, dict):
        for k in ("__tensor__", "__ndarray__"):
            if k in obj:
                yield obj[k]
                return
        for v in obj.values():
            yield from _collect_refs(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _collect_refs(v)
