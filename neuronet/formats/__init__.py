"""Model files: PyTorch's, safetensors and neuronet's own, in and out.

=====================  =========================================  ====================
format                 read (``neuronet.load``, by content)       write (``neuronet.save``, by suffix)
=====================  =========================================  ====================
PyTorch zip            yes (any archive folder name)              ``.pt``, ``.pth``, ``.bin``, other / none, file objects
PyTorch legacy (<1.6)  yes                                        no
safetensors            yes (BF16 widened to float32)              ``.safetensors`` (needs the ``safetensors`` package)
neuronet ``.npz``      yes (checkpoints rebuild their model)      ``.npz``
=====================  =========================================  ====================

**Safety rule.** neuronet never executes pickled code. The pickle inside
PyTorch files is interpreted by :mod:`.torch_pickle`'s allow-list, which can
only rebuild tensors, storages, ``OrderedDict`` and plain containers -- what
``torch.load(weights_only=True)`` allows; anything else is refused by name
before anything is built. ``weights_only=False`` is refused.

What comes back from PyTorch files: tensors as :class:`neuronet.Tensor`
(parameters become tensors with ``requires_grad=True``), storages shared
between tensors stay shared (NumPy views of one buffer), ``torch.Size`` as
:class:`neuronet.Size`, torch dtypes as neuronet dtypes. bfloat16 has no NumPy
dtype: bfloat16 tensors are widened to float32 (exact: every bfloat16 is a
float32). Big-endian files are refused.
"""
from __future__ import annotations

import io
import os

from .. import serialization
from ..serialization import CheckpointError
from . import _common, safetensors, torch_legacy, torch_zip
from .torch_pickle import UnsafeFileError

__all__ = ["save", "load", "detect", "CheckpointError", "UnsafeFileError"]


def _suffix(f):
    if hasattr(f, "write"):
        return ""
    return os.path.splitext(os.fspath(f))[1].lower()


def save(obj, f, kind="object"):
    """Write ``obj`` to ``f`` in the format its suffix names (see the table);
    atomic for paths. ``kind`` is recorded by the ``.npz`` format only."""
    suffix = _suffix(f)
    if suffix == ".npz":
        serialization.save(obj, f, kind=kind)
        return
    if suffix == ".safetensors":
        data = safetensors.save(obj, f)
        if hasattr(f, "write"):
            f.write(data)
        else:
            serialization.atomic_write_bytes(f, data)
        return
    name = torch_zip.archive_name(f)
    if hasattr(f, "write"):
        buf = io.BytesIO()
        torch_zip.write(obj, buf, name)
        f.write(buf.getvalue())
        return
    serialization.atomic_write(f, lambda out: torch_zip.write(obj, out, name))


def detect(head, total):
    """The format of a file from its first bytes: ``'zip'``, ``'pickle'``,
    ``'safetensors'``, ``'tar'`` or None."""
    if head[:4] == b"PK\x03\x04":
        return "zip"
    if head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        return "pickle"
    if safetensors.looks_like(head, total):
        return "safetensors"
    if head[257:262] == b"ustar":
        return "tar"
    return None


def load(f, map_location=None):
    """Read a model file (format recognised from its content). Returns
    ``(obj, meta)`` with ``meta['format']`` one of ``'pytorch'``,
    ``'pytorch-legacy'``, ``'safetensors'``, ``'neuronet'`` and, for
    neuronet files, ``meta['kind']``."""
    label = _common.file_label(f)
    if hasattr(f, "read"):
        data = f.read()
        if not isinstance(data, (bytes, bytearray)):
            raise CheckpointError(f"{label}: open the file in binary mode ('rb') to load it")
        src = serialization._NamedBytes(bytes(data), label)
        head, total = data[:512], len(data)
    else:
        src = os.fspath(f)
        # Regular files only: a FIFO would block the reader forever.
        total = serialization.check_regular_file(src, "model file").st_size
        try:
            with open(src, "rb") as fh:
                head = fh.read(512)
        except OSError as e:
            raise CheckpointError(f"{label}: cannot read ({e.strerror})") from None
    if total == 0:
        raise CheckpointError(f"{label}: empty file")
    kind = detect(head, total)
    placement = _common.Placement(map_location, label)
    if kind == "zip":
        if _is_npz(src, label):
            if hasattr(src, "seek"):
                src.seek(0)
            obj, meta = serialization.load_file(src)
            if meta.get("kind") != "checkpoint":
                obj = _place_npz(obj, placement)
            return obj, meta
        if hasattr(src, "seek"):
            src.seek(0)
        return torch_zip.load(src, label, placement), {"format": "pytorch", "kind": "object"}
    if kind == "safetensors":
        return safetensors.load(src, label, placement), {"format": "safetensors", "kind": "object"}
    if kind == "pickle":
        data = src.getvalue() if hasattr(src, "getvalue") else _read_all(src, label)
        if not torch_legacy.is_legacy(data, label):
            raise CheckpointError(f"{label}: refusing to load a pickle file that is not a PyTorch save (no "
                                  "magic number); neuronet reads PyTorch zip and legacy files, safetensors "
                                  "and neuronet .npz, and never unpickles arbitrary objects")
        return torch_legacy.load(data, label, placement), {"format": "pytorch-legacy", "kind": "object"}
    if kind == "tar":
        raise CheckpointError(f"{label}: PyTorch's tar format (PyTorch < 0.4) is not supported; re-save it "
                              "with a recent torch.save")
    raise CheckpointError(f"{label}: not a model file neuronet can read (PyTorch zip or legacy, "
                          f"safetensors, neuronet .npz); found leading bytes {bytes(head[:8])!r}")


def _is_npz(src, label):
    import zipfile
    try:
        with zipfile.ZipFile(src) as zf:
            names = zf.namelist()
    except (zipfile.BadZipFile, OSError, EOFError) as e:
        raise CheckpointError(f"{label}: corrupted or truncated zip archive ({e})") from None
    return "__neuronet__.npy" in names


def _read_all(path, label):
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError as e:
        raise CheckpointError(f"{label}: cannot read ({e.strerror})") from None


def _place_npz(obj, placement):
    """``map_location`` for a neuronet ``.npz`` (saved from the CPU)."""
    from ..tensor import Tensor
    if placement.map_location is None:
        return obj
    make_tensor = _common.tensor_factory(placement)

    def walk(o):
        if isinstance(o, Tensor):
            return make_tensor(placement.place(o.array, "cpu"), o.requires_grad, None)
        if isinstance(o, dict):
            return type(o)((k, walk(v)) for k, v in o.items())
        if isinstance(o, list):
            return [walk(v) for v in o]
        if isinstance(o, tuple):
            return tuple(walk(v) for v in o)
        return o
    return placement.finish(walk(obj))
