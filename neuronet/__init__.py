"""neuronet: convolutional networks from the equations up, on NumPy or CuPy.

>>> import neuronet as nt
>>> x = nt.randn(4, 3, requires_grad=True)
>>> (x * x).sum().backward()
>>> x.grad  # == 2 x
"""
from .tensor import *  # noqa: F401,F403  (Tensor, factories, math functions, dtypes)
from .tensor import Tensor, tensor  # noqa: F401
from .autograd import enable_grad, is_grad_enabled, no_grad, set_grad_enabled  # noqa: F401
from .backend import Device, device, manual_seed, cupy_available  # noqa: F401
from . import backend, autograd  # noqa: F401
from .nn import functional as _functional  # noqa: F401  (registers relu, softmax, ... as torch.* too)
from .ops._registry import TORCH_FUNCTIONS as _TORCH_FUNCTIONS
globals().update({k: v for k, v in _TORCH_FUNCTIONS.items() if not k.startswith("_")})

__version__ = "0.1.0"

_SUBPACKAGES = {"nn", "optim", "data", "models", "train", "serialization", "report", "lab", "bench", "cli"}


def __getattr__(name):
    # ``neuronet.nn.Conv2d`` works after a plain ``import neuronet`` (as torch.nn
    # does), while the higher layers load only when first used.
    if name in _SUBPACKAGES:
        import importlib
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'neuronet' has no attribute {name!r}")


def save(obj, path):
    """Save a state_dict (or any nested dict/list of tensors, arrays, numbers,
    strings) to ``path`` as ``.npz`` + JSON: atomic, never pickle."""
    from .serialization import save as _save
    _save(obj, path)


def load(path, device=None):
    """Load a file written by neuronet.

    A training checkpoint (``Trainer``/``neuronet train`` output) gives back the
    model, rebuilt from its registered name and arguments, weights loaded, in
    eval mode -- no user code needed. A file written by :func:`save` gives back
    the saved object (tensors as Tensors). Pickle files are refused.
    """
    from .serialization import load_file
    obj, meta = load_file(path)
    if meta.get("kind") == "checkpoint":
        from .train.checkpoint import load_checkpoint
        return load_checkpoint(path).build_model(device=device)
    return obj
