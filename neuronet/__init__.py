"""neuronet: convolutional networks from the equations up, on NumPy or CuPy.

>>> import neuronet as nt
>>> x = nt.randn(4, 3, requires_grad=True)
>>> (x * x).sum().backward()
>>> x.grad  # == 2 x
"""
import builtins

from .tensor import *  # noqa: F401,F403  (Tensor, factories, math functions, dtypes)
from .tensor import Tensor, tensor  # noqa: F401
from .autograd import enable_grad, is_grad_enabled, no_grad, set_grad_enabled  # noqa: F401
from .backend import Device, device, manual_seed, cupy_available  # noqa: F401
from ._dtype import *  # noqa: F401,F403  (dtype objects and aliases, Size, finfo/iinfo, default dtype)
from ._printing import set_printoptions, get_printoptions, printoptions  # noqa: F401
from . import cuda, accelerator, backends, linalg  # noqa: F401
from . import backend, autograd  # noqa: F401
from .nn import functional as _functional  # noqa: F401  (registers relu, softmax, ... as torch.* too)
from .ops._registry import TORCH_FUNCTIONS as _TORCH_FUNCTIONS
globals().update({k: v for k, v in _TORCH_FUNCTIONS.items() if not k.startswith("_")})

__version__ = "0.1.0"

_SUBPACKAGES = {"nn", "optim", "data", "models", "train", "serialization", "report", "lab", "bench", "cli",
                "utils", "vision"}


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
    ``f`` (a path or a binary file object), as ``.npz`` + JSON: atomic, never
    pickle. ``pickle_module``/``pickle_protocol`` are accepted for PyTorch code
    and ignored (nothing is pickled)."""
    from .serialization import save as _save
    _save(obj, f)


def load(f, map_location=None, pickle_module=None, *, weights_only=True, mmap=None, **pickle_load_args):
    """``torch.load``'s signature: load what :func:`save` wrote to ``f`` (a path
    or a binary file object).

    ``map_location``: None (tensors come back where saved: neuronet saves host
    arrays, so on the CPU), a device or device string (``'cpu'``, ``'cuda'``),
    a dict ``{'cuda:0': 'cpu'}``, or a callable ``(tensor, location) -> tensor``.
    ``weights_only`` is accepted either way: neuronet's files hold data only and
    loading never runs code. A training checkpoint (``Trainer``/``neuronet
    train`` output) gives back the model, rebuilt and in eval mode.
    """
    from .serialization import load_file
    obj, meta = load_file(f)
    if meta.get("kind") == "checkpoint":
        from .train.checkpoint import load_checkpoint
        device = _map_device(map_location)
        return load_checkpoint(f).build_model(device=device)
    if map_location is None:
        return obj
    return _map_tensors(obj, map_location)


def _map_device(map_location):
    if map_location is None or callable(map_location):
        return None
    if isinstance(map_location, dict):
        return map_location.get("cpu")
    return map_location


def _map_tensors(obj, map_location):
    if isinstance(obj, Tensor):
        if callable(map_location) and not isinstance(map_location, (str, Device)):
            out = map_location(obj, "cpu")
            return obj if out is None else out
        target = _map_device(map_location)
        return obj if target is None else obj.to(target)
    if isinstance(obj, dict):
        return type(obj)((k, _map_tensors(v, map_location)) for k, v in obj.items())
    if isinstance(obj, (list, tuple)):
        return type(obj)(_map_tensors(v, map_location) for v in obj)
    return obj


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
