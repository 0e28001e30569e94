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

Loading validates before it allocates or trusts anything: only regular
files are opened (a FIFO would block forever); the entries' declared sizes
must fit the file (at most ``MAX_INFLATION`` times its size, or
``INFLATION_ALLOWANCE`` bytes), so a zip bomb is refused before it inflates;
each array's ``.npy`` header must describe exactly the bytes its entry
holds, with a numeric or text dtype; the JSON structure is checked node by
node (types, array references, depth). Every failure is a
:class:`CheckpointError` naming the file and what was wrong.
"""
from __future__ import annotations

import io
import json
import os
import stat
import tempfile
import time
import zipfile

import numpy as np

from . import backend

FORMAT_NAME = "neuronet"
FORMAT_VERSION = 1
_META_KEY = "__neuronet__"
# Declared uncompressed sizes may add up to this many times the file's size
# (neuronet writes entries uncompressed: ratio 1; a compressed .npz of weights
# stays near 1 too), or to INFLATION_ALLOWANCE bytes for small files.
MAX_INFLATION = 20
INFLATION_ALLOWANCE = 64 << 20
MAX_DEPTH = 100          # nesting of the JSON structure
_ARRAY_KINDS = "biufcUS"  # bool, integers, floats, complex, text; never objects, void, datetimes
_TMP_PREFIX = ".tmp-"

__all__ = ["save", "load_file", "FORMAT_VERSION", "CheckpointError", "check_regular_file",
           "clean_stale_temporaries"]


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


def _decode(obj, arrays, as_tensor, path, where="obj", depth=0):
    """The structure back from its JSON form, checked node by node: a
    malformed node raises :class:`CheckpointError` naming the file and where."""
    from .tensor import Tensor

    def bad(msg):
        return CheckpointError(f"{path}: malformed metadata at {where}: {msg}")

    if depth > MAX_DEPTH:
        raise bad(f"nested more than {MAX_DEPTH} levels deep")
    if isinstance(obj, dict):
        for tag in ("__tensor__", "__ndarray__"):
            if tag in obj:
                key = obj[tag]
                if len(obj) != 1 or not isinstance(key, str) or key not in arrays:
                    raise bad(f"{tag} refers to array entry {key!r}, which the file does not hold")
                arr = arrays[key]
                if tag == "__tensor__":
                    if arr.dtype.kind not in "biufc":
                        raise bad(f"a tensor stored as {arr.dtype} (entry {key!r}); tensors hold numbers")
                    return Tensor._wrap(arr) if as_tensor else arr
                return arr
        if "__tuple__" in obj:
            items = obj["__tuple__"]
            if len(obj) != 1 or not isinstance(items, list):
                raise bad(f"__tuple__ must hold a list, found {type(items).__name__}")
            return tuple(_decode(v, arrays, as_tensor, path, f"{where}[{i}]", depth + 1)
                         for i, v in enumerate(items))
        if "__float__" in obj:
            text = obj["__float__"]
            if len(obj) != 1 or text not in ("nan", "inf", "-inf"):
                raise bad(f"__float__ must be 'nan', 'inf' or '-inf', found {text!r}")
            return float(text)
        if "__dict__" in obj:
            pairs = obj["__dict__"]
            if len(obj) != 1 or not isinstance(pairs, list):
                raise bad(f"__dict__ must hold a list of [key, value] pairs, found {type(pairs).__name__}")
            out = {}
            for pair in pairs:
                if not isinstance(pair, list) or len(pair) != 2 or isinstance(pair[0], bool) \
                        or not isinstance(pair[0], (str, int)):
                    raise bad(f"__dict__ items must be [str or int key, value] pairs, found {pair!r:.80}")
                out[pair[0]] = _decode(pair[1], arrays, as_tensor, path, f"{where}[{pair[0]!r}]", depth + 1)
            return out
        return {k: _decode(v, arrays, as_tensor, path, f"{where}[{k!r}]", depth + 1) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_decode(v, arrays, as_tensor, path, f"{where}[{i}]", depth + 1) for i, v in enumerate(obj)]
    return obj


def _pid_alive(pid):
    """Whether process ``pid`` runs (a zombie, killed but not reaped, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:          # EPERM: it exists, owned by someone else
        return True
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def check_regular_file(path, what="file"):
    """``os.stat`` of ``path`` if it is a regular file (links followed); a
    missing file, a directory, a FIFO (which would block a reader forever),
    a socket or a device raises :class:`CheckpointError` naming it."""
    path = os.fspath(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such file") from None
    except OSError as e:
        raise CheckpointError(f"{path}: cannot read ({e.strerror or e})") from None
    if not stat.S_ISREG(st.st_mode):
        kind = ("a directory" if stat.S_ISDIR(st.st_mode) else "a FIFO (named pipe)" if stat.S_ISFIFO(st.st_mode)
                else "a socket" if stat.S_ISSOCK(st.st_mode) else "a device" if stat.S_ISCHR(st.st_mode)
                or stat.S_ISBLK(st.st_mode) else "not a plain file")
        raise CheckpointError(f"{path}: is {kind}, not a regular {what}; neuronet reads regular files only")
    return st


def clean_stale_temporaries(directory, basename=None, min_age_s=60.0):
    """Remove the temporary files that killed saves left in ``directory``
    (``.tmp-<pid>-...``, of ``basename`` only when given): those of processes
    that no longer run; names without a process id (older neuronet) once
    older than ``min_age_s``. Returns the names removed."""
    removed = []
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return removed
    now = time.time()
    for e in entries:
        name = e.name
        if not name.startswith(_TMP_PREFIX) or (basename is not None and not name.endswith(basename)):
            continue
        pid = name[len(_TMP_PREFIX):].split("-", 1)[0]
        try:
            if not e.is_file(follow_symlinks=False):
                continue
            if pid.isdigit():
                if int(pid) == os.getpid() or _pid_alive(int(pid)):
                    continue
            elif now - e.stat(follow_symlinks=False).st_mtime < min_age_s:
                continue
            os.unlink(e.path)
            removed.append(name)
        except OSError:
            continue
    return removed


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
        # the process id in the name tells a later save whether its writer still runs
        fd, tmp = tempfile.mkstemp(prefix=f"{_TMP_PREFIX}{os.getpid()}-", suffix="-" + os.path.basename(path),
                                   dir=directory)
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
    clean_stale_temporaries(directory, "-" + os.path.basename(path))


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

    Raises :class:`CheckpointError` naming the file for: a missing file or
    one that is not a regular file, a file that is not a neuronet save, a
    truncated or corrupted file, a pickle-bearing file, entries whose sizes
    do not fit the file (see the module docstring), malformed metadata, and a
    format version that is not an integer from 1 to this library's.
    """
    if hasattr(path, "read"):
        # A file object: read what is left of it, then parse it as a file.
        name = getattr(path, "name", "<file object>")
        data = path.read()
        if not isinstance(data, bytes):
            raise CheckpointError(f"{name}: open the file in binary mode ('rb') to load it")
        path = _NamedBytes(data, name)
        head, size = data[:4], len(data)
    else:
        path = os.fspath(path)
        size = check_regular_file(path, "neuronet file").st_size
        try:
            with open(path, "rb") as f:
                head = f.read(4)
        except OSError as e:
            raise CheckpointError(f"{path}: cannot read ({e.strerror})") from None
    if head[:1] == b"\x80":
        raise CheckpointError(f"{path}: refusing to load a pickle file (neuronet never unpickles: "
                              "it can run arbitrary code). Convert the weights to .npz first.")
    if head != b"PK\x03\x04":
        raise CheckpointError(f"{path}: not a neuronet file (expected a .npz zip archive, "
                              f"found leading bytes {head!r})")
    try:
        with zipfile.ZipFile(path) as z:
            infos = z.infolist()
            _check_sizes(path, infos, size)
            if _META_KEY + ".npy" not in {i.filename for i in infos}:
                raise CheckpointError(f"{path}: a .npz archive but not a neuronet save (no {_META_KEY} entry)")
            arrays = {i.filename[:-4]: _read_npy(z, i, path) for i in infos}
    except CheckpointError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError, NotImplementedError,
            RuntimeError) as e:   # RuntimeError: an encrypted entry
        raise CheckpointError(f"{path}: corrupted or truncated file ({type(e).__name__}: {e})") from None
    meta = _read_meta(path, arrays.pop(_META_KEY))
    return _decode(meta["object"], arrays, as_tensor, path), meta


def _check_sizes(path, infos, size):
    """Refuse entries that would inflate beyond what the file's size allows,
    before anything is decompressed."""
    limit = max(INFLATION_ALLOWANCE, MAX_INFLATION * size)
    total = 0
    for info in infos:
        if not info.filename.endswith(".npy") or "/" in info.filename:
            raise CheckpointError(f"{path}: unexpected entry {info.filename!r} (a neuronet save holds only "
                                  "top-level .npy arrays)")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise CheckpointError(f"{path}: entry {info.filename!r} uses zip compression method "
                                  f"{info.compress_type}; neuronet reads stored or deflated entries")
        total += info.file_size
        if total > limit:
            raise CheckpointError(
                f"{path}: entries declare {total:,} bytes or more once inflated, more than {MAX_INFLATION} times "
                f"the file's {size:,} bytes (limit {limit:,}): refusing to inflate it (a zip bomb or a "
                "corrupted directory)")


def _read_npy(z, info, path):
    """One ``.npy`` entry, its header checked against the bytes the entry
    holds before anything is allocated."""
    name = info.filename[:-4]
    fmt = np.lib.format
    with z.open(info) as f:
        try:
            version = fmt.read_magic(f)
            if version == (1, 0):
                shape, fortran, dtype = fmt.read_array_header_1_0(f)
            elif version == (2, 0):
                shape, fortran, dtype = fmt.read_array_header_2_0(f)
            else:
                raise ValueError(f"unsupported .npy format version {version}")
        except ValueError as e:
            raise CheckpointError(f"{path}: entry {name!r}: unreadable array header ({e})") from None
        if dtype.hasobject or dtype.kind not in _ARRAY_KINDS:
            what = "a pickled object" if dtype.hasobject else f"dtype {dtype}"
            raise CheckpointError(f"{path}: refusing to load entry {name!r}: it holds {what} "
                                  "(neuronet reads numeric and text arrays only, allow_pickle=False)")
        count = 1
        for d in shape:
            count *= d
        nbytes = count * dtype.itemsize
        held = info.file_size - f.tell()
        if nbytes != held:
            raise CheckpointError(f"{path}: entry {name!r}: its header declares shape {tuple(shape)} of {dtype} "
                                  f"({nbytes:,} bytes) but the entry holds {held:,} bytes")
        data = f.read(nbytes)
        if len(data) != nbytes:
            raise CheckpointError(f"{path}: entry {name!r} is truncated")
        f.read()          # to the end, so that the CRC is checked
    arr = np.frombuffer(bytearray(data), dtype=dtype) if nbytes else np.empty(count, dtype)
    return arr.reshape(shape, order="F" if fortran else "C")


def _read_meta(path, raw):
    if raw.dtype != np.uint8 or raw.ndim != 1:
        raise CheckpointError(f"{path}: malformed metadata: the {_META_KEY} entry must be bytes (uint8), "
                              f"found {raw.dtype} of shape {raw.shape}")
    try:
        meta = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CheckpointError(f"{path}: malformed metadata: not UTF-8 JSON ({e})") from None
    except RecursionError:
        raise CheckpointError(f"{path}: malformed metadata: nested too deeply") from None
    if not isinstance(meta, dict):
        raise CheckpointError(f"{path}: malformed metadata: expected a JSON object, found {type(meta).__name__}")
    if meta.get("format") != FORMAT_NAME:
        raise CheckpointError(f"{path}: not a neuronet save (format {meta.get('format')!r})")
    version = meta.get("version")
    if type(version) is not int or version < 1:
        raise CheckpointError(f"{path}: invalid format version {version!r} (expected an integer from 1 to "
                              f"{FORMAT_VERSION})")
    if version > FORMAT_VERSION:
        raise CheckpointError(f"{path}: written by a newer neuronet (format version {version}; this "
                              f"version reads up to {FORMAT_VERSION}). Upgrade neuronet to load it.")
    if not isinstance(meta.get("kind", "object"), str):
        raise CheckpointError(f"{path}: malformed metadata: 'kind' must be a string, found {meta['kind']!r:.60}")
    if "object" not in meta:
        raise CheckpointError(f"{path}: malformed metadata: no 'object' entry")
    return meta


class _NamedBytes(io.BytesIO):
    """In-memory file contents that print as the file they came from (for errors)."""

    def __init__(self, data, name):
        super().__init__(data)
        self.label = name

    def __str__(self):
        return str(self.label)

    __format__ = lambda self, spec: format(str(self), spec)  # noqa: E731
