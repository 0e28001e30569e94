"""Parametrizations (PyTorch's ``torch.nn.utils.parametrize``): a module
attribute such as ``weight`` becomes a function of hidden tensors, recomputed
at every access.

``register_parametrization(module, "weight", p)`` moves the current weight to
``module.parametrizations.weight.original`` (or ``original0``, ``original1``,
... when ``p.right_inverse`` splits it into several tensors) and makes
``module.weight`` a property returning ``p(original)``. The module's class is
swapped for a subclass ``Parametrized<Class>`` holding that property (PyTorch's
design), so state_dict keys are PyTorch's:
``parametrizations.weight.original0``, ``parametrizations.weight.0._u``, ...
"""
from __future__ import annotations

from contextlib import contextmanager

from ...autograd.grad_mode import no_grad
from ...tensor import Tensor
from ..modules.container import ModuleDict, ModuleList
from ..modules.module import Module
from ..parameter import Parameter

__all__ = ["register_parametrization", "remove_parametrizations", "is_parametrized", "cached",
           "ParametrizationList"]

_cache_enabled = 0
_cache = {}


@contextmanager
def cached():
    """Within this context each parametrized tensor is computed once per module
    (the first access) and reused, e.g. for a weight read at every step of an RNN."""
    global _cache_enabled
    _cache_enabled += 1
    try:
        yield
    finally:
        _cache_enabled -= 1
        if not _cache_enabled:
            _cache.clear()


class ParametrizationList(ModuleList):
    """The parametrizations of one tensor, applied in order, and the original
    tensor(s) they act on (``original`` or ``original0``, ``original1``, ...)."""

    def __init__(self, modules, original, unsafe=False):
        super().__init__(modules)
        self.unsafe = unsafe
        with no_grad():
            new = original
            for module in reversed(list(self)):
                if hasattr(module, "right_inverse"):
                    new = module.right_inverse(new)
        self.is_tensor = isinstance(new, Tensor)
        if self.is_tensor:
            if tuple(new.shape) == tuple(original.shape) and new.dtype == original.dtype:
                original.array[...] = new.array          # keep the Parameter object (optimizers hold it)
                self.register_parameter("original", original if isinstance(original, Parameter)
                                        else Parameter(original))
            else:
                self.register_parameter("original", Parameter(new.detach(), requires_grad=original.requires_grad))
            self.ntensors = 1
        else:
            self.ntensors = len(new)
            for i, t in enumerate(new):
                self.register_parameter(f"original{i}", Parameter(t.detach(), requires_grad=original.requires_grad))

    def right_inverse(self, value):
        """Assign ``value`` to the parametrized tensor: store ``right_inverse(value)``."""
        with no_grad():
            for module in reversed(list(self)):
                if hasattr(module, "right_inverse"):
                    value = module.right_inverse(value)
                elif not self.unsafe:
                    raise RuntimeError(f"parametrization {type(module).__name__} does not implement "
                                       "right_inverse.")
            if self.is_tensor:
                self.original.array[...] = value.array
            else:
                for i, t in enumerate(value):
                    getattr(self, f"original{i}").array[...] = t.array

    def forward(self):
        if self.is_tensor:
            x = self[0](self.original)
        else:
            x = self[0](*(getattr(self, f"original{i}") for i in range(self.ntensors)))
        for module in list(self)[1:]:
            x = module(x)
        return x


def is_parametrized(module, tensor_name=None):
    """Whether ``module`` has parametrizations (for ``tensor_name`` if given)."""
    plists = module.__dict__.get("_modules", {}).get("parametrizations")
    if plists is None or not isinstance(plists, ModuleDict):
        return False
    return True if tensor_name is None else tensor_name in plists


def _inject_new_class(module):
    cls = module.__class__
    module.__class__ = type(f"Parametrized{cls.__name__}", (cls,), {"_neuronet_parametrized_base": cls})


def _inject_property(module, tensor_name):
    def getter(self):
        key = (id(self), tensor_name)
        if _cache_enabled and key in _cache:
            return _cache[key]
        value = self.parametrizations[tensor_name]()
        if _cache_enabled:
            _cache[key] = value
        return value

    def setter(self, value):
        self.parametrizations[tensor_name].right_inverse(value)

    setattr(module.__class__, tensor_name, property(getter, setter))


def register_parametrization(module, tensor_name, parametrization, *, unsafe=False):
    """Make ``module.<tensor_name>`` equal to ``parametrization(original)`` at every
    access (see the module docstring); a second call on the same name chains
    the parametrizations. Returns the module."""
    if not isinstance(parametrization, Module):
        raise TypeError(f"parametrization must be an nn.Module, received {type(parametrization).__name__}")
    parametrization.train(module.training)
    if is_parametrized(module, tensor_name):
        if not unsafe:
            with no_grad():
                current = getattr(module, tensor_name)
                out = parametrization(current)
            if tuple(out.shape) != tuple(current.shape) or out.dtype != current.dtype:
                raise ValueError(f"Registering a parametrization may not change the shape or dtype of the tensor, "
                                 f"unless `unsafe` flag is enabled: {tuple(current.shape)} -> {tuple(out.shape)}")
        module.parametrizations[tensor_name].append(parametrization)
        return module
    if tensor_name not in module._parameters and tensor_name not in module._buffers:
        raise ValueError(f"Module '{module}' does not have a parameter, a buffer, or a parametrized element with "
                         f"name '{tensor_name}'")
    original = getattr(module, tensor_name)
    plist = ParametrizationList([parametrization], original, unsafe=unsafe)
    delattr(module, tensor_name)
    if not is_parametrized(module):
        _inject_new_class(module)
        module.parametrizations = ModuleDict()
    module.parametrizations[tensor_name] = plist
    _inject_property(module, tensor_name)
    return module


def remove_parametrizations(module, tensor_name, leave_parametrized=True):
    """Undo the parametrizations of ``tensor_name``: it becomes a plain parameter
    holding the parametrized value (``leave_parametrized=True``) or the original."""
    if not is_parametrized(module, tensor_name):
        raise ValueError(f"Module {module} does not have a parametrization on {tensor_name}")
    plist = module.parametrizations[tensor_name]
    with no_grad():
        if leave_parametrized:
            value = Parameter(getattr(module, tensor_name).detach() * 1)
        elif plist.is_tensor:
            value = plist.original
        else:
            raise ValueError("Cannot leave unparametrized (`leave_parametrized=False`) a tensor that is "
                             "parametrized in terms of a sequence of tensors.")
    delattr(module.__class__, tensor_name)
    del module.parametrizations[tensor_name]
    module.register_parameter(tensor_name, value if isinstance(value, Parameter) else Parameter(value))
    if len(module.parametrizations) == 0:
        delattr(module, "parametrizations")
        module.__class__ = module.__class__._neuronet_parametrized_base
    return module
