"""Where the tensor-level ops announce their public names.

An op module (``ops/math.py``, ``ops/indexing.py``, ...) marks a function with
``@tensor_method`` to make it a :class:`~neuronet.Tensor` method (``x.sin()``),
with ``@torch_function`` to make it a top-level function (``neuronet.sin(x)``),
or with both. ``neuronet.tensor`` installs the methods once every op module is
loaded (a module registering later, such as ``nn.functional``, installs its
methods at once), and ``neuronet/__init__`` exports the functions, so adding an
op never means editing the Tensor class or the package's ``__init__``.
"""
from __future__ import annotations

TENSOR_METHODS: dict = {}
TORCH_FUNCTIONS: dict = {}
_tensor_class = None


def bind(tensor_class):
    """Called once by neuronet.tensor: install every method registered so far."""
    global _tensor_class
    _tensor_class = tensor_class
    for name, f in TENSOR_METHODS.items():
        setattr(tensor_class, name, f)


def tensor_method(fn=None, *, name=None):
    """Register ``fn`` as ``Tensor.<name>`` (default: the function's name)."""
    def register(f):
        TENSOR_METHODS[name or f.__name__] = f
        if _tensor_class is not None:
            setattr(_tensor_class, name or f.__name__, f)
        return f
    return register(fn) if fn is not None else register


def torch_function(fn=None, *, name=None):
    """Register ``fn`` as ``neuronet.<name>`` (default: the function's name)."""
    def register(f):
        TORCH_FUNCTIONS[name or f.__name__] = f
        return f
    return register(fn) if fn is not None else register


def both(fn=None, *, name=None):
    """Register ``fn`` as a Tensor method and a top-level function."""
    def register(f):
        tensor_method(f, name=name)
        torch_function(f, name=name)
        return f
    return register(fn) if fn is not None else register
