"""neuronet: convolutional networks from the equations up, on NumPy or CuPy.

>>> import neuronet as nt
>>> x = nt.randn(4, 3, requires_grad=True)
>>> (x * x).sum().backward()
>>> x.grad  # == 2 x
"""
import builtins
import os as _os
import sys as _sys

if "numpy" not in _sys.modules:
    # OpenBLAS's workers spin for about 0.1 s after every multi-threaded GEMM, holding
    # a core the compiled kernels need next (measured: a ResNet-20 step's convolutions
    # 240-285 -> 150-170 ms with a short spin). Only before NumPy loads OpenBLAS, and
    # only when the user has not chosen: OPENBLAS_THREAD_TIMEOUT=4 is the shortest spin.
    _os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")

from .tensor import *  # noqa: F401,F403  (Tensor, factories, math functions, dtypes)
from .tensor import Tensor, tensor  # noqa: F401
from .autograd import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled  # noqa: F401
from .backend import Device, device, manual_seed, cupy_available  # noqa: F401
from .backend import get_default_device, set_default_device  # noqa: F401
from ._dtype import *  # noqa: F401,F403  (dtype objects and aliases, Size, finfo/iinfo, default dtype)
from ._printing import set_printoptions, get_printoptions, printoptions  # noqa: F401
from . import cuda, accelerator, backends, linalg, amp  # noqa: F401
from .amp import autocast  # noqa: F401
from ._memory_format import (memory_format, contiguous_format, channels_last, channels_last_3d,  # noqa: F401
                            preserve_format)
from . import backend, autograd  # noqa: F401
from .nn import functional as _functional  # noqa: F401  (registers relu, softmax, ... as torch.* too)
from .ops._registry import TORCH_FUNCTIONS as _TORCH_FUNCTIONS
globals().update({k: v for k, v in _TORCH_FUNCTIONS.items() if not k.startswith("_")})

__version__ = "0.1.0"

_SUBPACKAGES = {"nn", "optim", "data", "models", "train", "serialization", "report", "lab", "bench", "cli",
                "utils", "vision", "onnx", "distributions", "distributed"}


def __getattr__(name):
    # ``neuronet.nn.Conv2d`` works after a plain ``import neuronet`` (as torch.nn
    # does), while the higher layers load only when first used.
    if name in _SUBPACKAGES:
        import importlib
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'neuronet' has no attribute {name!r}: neuronet does not implement "
                         f"torch.{name} (see 'Coming from PyTorch' in the README for what differs)")


def save(obj, f, pickle_module=None, pickle_protocol=2, _use_new_zipfile_serialization=True,
         _disable_byteorder_record=False):
    """``torch.save``'s signature: save a state_dict, a checkpoint dict, or any
    nested dict/list/tuple of tensors, arrays, numbers, strings and None to
    ``f`` (a path or a binary file object). The format follows the suffix:

    - ``.npz``: neuronet's own (``.npz`` arrays + JSON; training checkpoints);
    - ``.safetensors``: safetensors (a flat dict of tensors; string metadata
      under the key ``"__metadata__"``; needs the ``safetensors`` package);
    - anything else (``.pt``, ``.pth``, ``.bin``, no suffix, file objects):
      PyTorch's zip format, readable by ``torch.load(f, weights_only=True)``
      without neuronet. Tensors that are views of one array share a storage.

    Writes to a path are atomic (temporary file + rename). Nothing neuronet
    writes contains code. ``pickle_module``/``pickle_protocol`` and the other
    flags are accepted for PyTorch code and ignored (the pickle is always
    protocol 2 data, the zip format always used)."""
    from .formats import save as _save
    _save(obj, f)


def load(f, map_location=None, pickle_module=None, *, weights_only=True, mmap=None, **pickle_load_args):
    """``torch.load``'s signature: read a model file, whatever its name says.

    Recognised from the content: PyTorch's zip format (``torch.save`` since
    1.6), PyTorch's legacy format (before 1.6), safetensors, and neuronet's
    ``.npz``. The pickle inside PyTorch files goes through an allow-list
    that can only rebuild tensors, storages, OrderedDicts and plain
    containers (what ``weights_only=True`` allows in PyTorch); anything else
    is refused with an error naming it and the file, and nothing runs.
    ``weights_only=False`` is refused: neuronet never executes pickled code.

    Tensors sharing a storage in the file share memory after loading.
    bfloat16 tensors come back as float32 (NumPy has no bfloat16; the
    widening is exact). Parameters come back as tensors with
    ``requires_grad=True``.

    ``map_location``: None (tensors go where they were saved: ``'cpu'``, or
    the GPU for tensors saved from ``'cuda'``), a device or device string
    (``'cpu'``, ``'cuda'``), a dict ``{'cuda:0': 'cpu'}``, or a callable
    ``(tensor, location) -> tensor`` (None keeps the tensor). A training
    checkpoint (``Trainer``/``neuronet train`` output) gives back the model,
    rebuilt and in eval mode.

    Raises :class:`neuronet.serialization.CheckpointError` naming the file
    for missing, truncated, corrupt or refused files.
    """
    from .serialization import CheckpointError
    if weights_only is False:
        raise CheckpointError(f"{getattr(f, 'name', f)}: load(weights_only=False) is refused: neuronet never "
                              "executes pickled code. It reads tensors, storages and plain containers "
                              "from PyTorch files with weights_only=True semantics (the default).")
    from .formats import load as _load
    obj, meta = _load(f, map_location)
    if meta.get("kind") == "checkpoint":
        from .train.checkpoint import load_checkpoint
        if hasattr(f, "seek"):
            f.seek(0)
        return load_checkpoint(f).build_model(device=_map_device(map_location))
    return obj


def _map_device(map_location):
    if map_location is None or callable(map_location):
        return None
    if isinstance(map_location, dict):
        return map_location.get("cpu")
    return map_location


def set_num_threads(n):
    """Threads for the BLAS behind matrix products (``threadpoolctl`` when
    installed; otherwise remembered only -- set OMP_NUM_THREADS before start)."""
    global _num_threads
    if not isinstance(n, builtins.int) or n < 1:
        raise ValueError(f"set_num_threads expects a positive integer, received {n!r}")
    _num_threads = n
    try:
        import threadpoolctl
        threadpoolctl.threadpool_limits(n)
    except ImportError:
        pass


def get_num_threads():
    if _num_threads is not None:
        return _num_threads
    import os
    env = os.environ.get("OMP_NUM_THREADS")
    return builtins.int(env) if env and env.isdigit() else (os.cpu_count() or 1)


_num_threads = None


def compile(model=None, *, fullgraph=False, dynamic=None, backend="inductor", mode=None, options=None,
            disable=False):  # noqa: A001
    """``torch.compile``'s signature. neuronet has no graph compiler: the model
    (or function) comes back unchanged, so results are exactly the eager ones.
    Usable as ``model = neuronet.compile(model)`` and as a decorator."""
    if model is None:
        return lambda m: m
    return model


_matmul_precision = "highest"


def set_float32_matmul_precision(precision):
    """Accepted for PyTorch code: neuronet's float32 products always run in full
    float32 precision (BLAS), which is PyTorch's "highest"; the value is kept."""
    global _matmul_precision
    if precision not in ("highest", "high", "medium"):
        raise RuntimeError(f"set_float32_matmul_precision: expected 'highest', 'high' or 'medium', "
                           f"received {precision!r}")
    _matmul_precision = precision


def get_float32_matmul_precision():
    return _matmul_precision
