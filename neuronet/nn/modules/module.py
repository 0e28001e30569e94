"""``Module``: the base class of every layer and network (PyTorch's ``nn.Module``).

A module owns three ordered registries, filled by plain attribute assignment:

- ``_parameters``: :class:`Parameter` objects (learned, returned by ``parameters()``);
- ``_buffers``: tensors that are state but not learned (BatchNorm's running
  statistics), saved in the ``state_dict`` unless registered non-persistent;
- ``_modules``: child modules, which makes the network a tree.

``state_dict()`` walks the tree and names every entry by its path
(``features.0.weight``, ``bn.running_mean``): the same keys PyTorch writes for
the same architecture, so weights move between the two through NumPy arrays.

Calling a module (``module(x)``) runs the forward pre-hooks, ``forward``, then
the forward hooks. With full backward (pre-)hooks registered, the call also
routes its tensor inputs and outputs through identity nodes whose backward
hands the boundary gradients to the hooks (PyTorch's BackwardHook).

When ``forward`` fails with a ValueError/RuntimeError/TypeError/IndexError,
the message is prefixed with the failing layer, and each enclosing module adds
its child's name, so a user sees
``features.3 (Conv2d(6, 16, kernel_size=(5, 5), stride=(1, 1))): expected ...``.
"""
from __future__ import annotations

import itertools
import warnings
from collections import OrderedDict, namedtuple
from collections.abc import Mapping

import numpy as np

from ... import backend
from ...tensor import Tensor, _as_dtype
from ...autograd.function import Function
from ...autograd.grad_mode import is_grad_enabled, no_grad
from ..parameter import Buffer, Parameter

__all__ = ["Module"]


class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    """What ``load_state_dict(strict=False)`` returns (as PyTorch)."""

    def __repr__(self):
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


class RemovableHandle:
    """Returned by ``register_*_hook``; ``handle.remove()`` unregisters the hook."""

    _next_id = itertools.count()

    def __init__(self, *hook_dicts):
        self.id = next(RemovableHandle._next_id)
        self._dicts = hook_dicts

    def remove(self):
        for d in self._dicts:
            d.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


def _addindent(s, num_spaces):
    """Indent every line but the first (PyTorch's repr helper)."""
    lines = s.split("\n")
    if len(lines) == 1:
        return s
    first = lines.pop(0)
    lines = [(num_spaces * " ") + line if line.strip() else "" for line in lines]
    return first + "\n" + "\n".join(lines)


# Errors from a layer's forward that are about its input or configuration:
# these get the layer's name prefixed (see Module.__call__).
_ANNOTATED_ERRORS = (ValueError, RuntimeError, TypeError, IndexError)


def _name_layer_in_error(err, module):
    """Prefix ``err``'s message with the layer that raised it.

    The innermost module that sees the error names itself by its one-line repr;
    each enclosing module then prepends the attribute name of the child it came
    through, giving ``features.3 (Conv2d(...)): message``. The outermost module
    (the one the user called) is never named: the user knows what they called.
    """
    if not err.args or not isinstance(err.args[0], str):
        return
    info = getattr(err, "_neuronet_layer", None)
    if info is None:
        info = {"module": module, "path": [], "label": module._short_repr(), "message": err.args[0]}
        try:
            err._neuronet_layer = info
        except AttributeError:  # an exception type without a __dict__
            return
    else:
        name = next((n for n, c in module._modules.items() if c is info["module"]), None)
        if name is None:   # raised by a module that is not a registered child: keep as is
            return
        info["path"].insert(0, name)
        info["module"] = module
    if info["path"]:
        text = f"{'.'.join(info['path'])} ({info['label']}): {info['message']}"
    else:
        text = f"{info['label']}: {info['message']}"
    err.args = (text,) + tuple(err.args[1:])


def _parse_to_args(args, kwargs):
    """``to('cuda')``, ``to(neuronet.float64)``, ``to(device, dtype)``, ``to(tensor)``."""
    device = kwargs.pop("device", None)
    dtype = kwargs.pop("dtype", None)
    kwargs.pop("non_blocking", None)
    kwargs.pop("memory_format", None)     # applied by Module.to to 4-D weights (see below)
    if kwargs:
        raise TypeError(f"to() got unexpected arguments {sorted(kwargs)}")
    for a in args:
        if isinstance(a, backend.Device) or (isinstance(a, str) and a.split(":")[0] in ("cpu", "cuda")):
            device = a
        elif isinstance(a, Tensor):
            device, dtype = a.device, a.dtype
        else:
            dtype = a
    dev = backend.Device(device) if device is not None else None
    dt = _as_dtype(dtype)
    if dt is not None and dt.kind not in "fc":
        raise TypeError(f"Module.to() only accepts floating point dtypes, received {dt}")
    return dev, dt


def _to_array(value, key):
    """A state_dict value as an ndarray: neuronet tensors, NumPy/CuPy arrays,
    torch tensors (``.detach().cpu().numpy()``), objects with ``__array__``,
    and Python numbers or nested lists."""
    if isinstance(value, Tensor):
        return value.array
    if isinstance(value, np.ndarray) or hasattr(value, "__cuda_array_interface__"):
        return value
    if callable(getattr(value, "numpy", None)):
        v = value
        for step in ("detach", "cpu"):   # a torch tensor may require grad or sit on a GPU
            if callable(getattr(v, step, None)):
                v = getattr(v, step)()
        return np.asarray(v.numpy())
    arr = np.asarray(value)
    if arr.dtype == object:
        raise TypeError(f"load_state_dict: the value for {key!r} is a {type(value).__name__}, expected a "
                        "Tensor, an ndarray, or an object with __array__ or .numpy()")
    return arr


class _BackwardHookIdentity(Function):
    """y = x, whose backward hands dE/dy to ``callback`` and passes on what it returns.

    Placed on a hooked module's tensor inputs and outputs so that the module's
    full backward hooks see the gradients at its boundary (PyTorch's
    BackwardHookFunction).
    """

    @staticmethod
    def forward(ctx, x, callback):
        ctx.callback = callback
        return x

    @staticmethod
    def backward(ctx, g):
        return ctx.callback(g), None


def _through_hook(t, callback):
    """``t`` routed through :class:`_BackwardHookIdentity`. The result shares
    ``t``'s storage and version counter, like a view, so an in-place change
    through either is seen by the autograd's checks."""
    out = _BackwardHookIdentity.apply(t, callback)
    out._vc = t._vc
    return out


class _BackwardHookState:
    """One call's bookkeeping for full backward hooks: the gradients at the
    module's outputs, then at its inputs; the hooks run once all have arrived."""

    def __init__(self, module, n_inputs, n_outputs):
        self.module = module
        self.grad_inputs = [None] * n_inputs
        self.grad_outputs = [None] * n_outputs
        self.inputs_pending = set()
        self.outputs_pending = set()
        self.n_inputs_needing_grad = 0

    def output_callback(self, k):
        def callback(g):
            self.grad_outputs[k] = Tensor._wrap(g)
            self.outputs_pending.discard(k)
            if self.outputs_pending:
                return g
            grad_outputs = tuple(self.grad_outputs)
            for hook in list(self.module.__dict__.get("_backward_pre_hooks", {}).values()):
                res = hook(self.module, grad_outputs)
                if res is not None:
                    grad_outputs = self._check_replacement(res, grad_outputs, "backward pre-hook", "grad_output")
            self.grad_outputs = list(grad_outputs)
            if not self.inputs_pending:       # no input needs a gradient: the hooks run now
                self._run_hooks()
            new = self.grad_outputs[k]
            return g if new is None else new.array
        return callback

    def input_callback(self, k):
        def callback(g):
            self.grad_inputs[k] = Tensor._wrap(g)
            self.inputs_pending.discard(k)
            if self.inputs_pending:
                return g
            before = list(self.grad_inputs)
            self._run_hooks()
            replaced = any(a is not b for a, b in zip(before, self.grad_inputs))
            if replaced and self.n_inputs_needing_grad > 1:
                raise RuntimeError("a full backward hook replaced grad_input of a module with several inputs "
                                   "that require grad; neuronet supports replacing grad_input only for "
                                   "modules with one such input")
            new = self.grad_inputs[k]
            return g if new is None else new.array
        return callback

    def _run_hooks(self):
        grad_inputs, grad_outputs = tuple(self.grad_inputs), tuple(self.grad_outputs)
        for hook in list(self.module.__dict__.get("_backward_hooks", {}).values()):
            res = hook(self.module, grad_inputs, grad_outputs)
            if res is not None:
                grad_inputs = self._check_replacement(res, grad_inputs, "backward hook", "grad_input")
        self.grad_inputs = list(grad_inputs)

    @staticmethod
    def _check_replacement(res, old, what, name):
        res = tuple(res) if isinstance(res, (tuple, list)) else (res,)
        if len(res) != len(old):
            raise RuntimeError(f"{what} returned {len(res)} values for {name} but {len(old)} were expected")
        for new, prev in zip(res, old):
            if new is not None and prev is not None and tuple(new.shape) != tuple(prev.shape):
                raise RuntimeError(f"{what} returned a {name} of shape {tuple(new.shape)}, expected "
                                   f"{tuple(prev.shape)}")
        return res


class Module:
    """Base class for all layers and networks.

    Subclasses set their parameters and children in ``__init__`` (after
    ``super().__init__()``) and define ``forward``::

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(4, 2)

            def forward(self, x):
                return self.fc(x).relu()

    Call the module (``net(x)``), not ``forward``, so that hooks run.
    """

    def __init__(self, *args, **kwargs):
        if args or kwargs:
            raise TypeError(f"{type(self).__name__}.__init__() got unexpected arguments; Module.__init__() "
                            "takes none")
        d = self.__dict__
        d["training"] = True
        d["_parameters"] = OrderedDict()
        d["_buffers"] = OrderedDict()
        d["_non_persistent_buffers_set"] = set()
        d["_modules"] = OrderedDict()
        d["_forward_pre_hooks"] = OrderedDict()
        d["_forward_pre_hooks_with_kwargs"] = {}
        d["_forward_hooks"] = OrderedDict()
        d["_forward_hooks_with_kwargs"] = {}
        d["_forward_hooks_always_called"] = {}
        d["_backward_hooks"] = OrderedDict()
        d["_backward_pre_hooks"] = OrderedDict()

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing the required "forward" function')

    # ------------------------------------------------------------------ registration
    def _check_name(self, name, kind):
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"cannot assign {kind} before Module.__init__() call")
        if not isinstance(name, str):
            raise TypeError(f"{kind} name should be a string, received {type(name).__name__}")
        if name == "":
            raise KeyError(f'{kind} name cannot be empty string ""')
        if "." in name:
            raise KeyError(f'{kind} name cannot contain ".", received "{name}"')

    def register_parameter(self, name, param):
        """Add ``param`` (a :class:`Parameter`, or None for an absent one like
        ``bias=False``) under ``name``."""
        self._check_name(name, "parameter")
        if hasattr(self, name) and name not in self._parameters:
            raise KeyError(f"attribute '{name}' already exists")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot assign '{type(param).__name__}' object to parameter '{name}' "
                            "(neuronet.nn.Parameter or None required)")
        if param is not None and param.grad_fn is not None:
            raise ValueError(f"cannot assign non-leaf Tensor to parameter '{name}': parameters must be "
                             "leaves; wrap a detached tensor, e.g. Parameter(t.detach())")
        self._parameters[name] = param

    def register_buffer(self, name, tensor, persistent=True):
        """Add a non-learned state tensor (or None) under ``name``; persistent
        buffers go into the ``state_dict``."""
        self._check_name(name, "buffer")
        if hasattr(self, name) and name not in self._buffers:
            raise KeyError(f"attribute '{name}' already exists")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot assign '{type(tensor).__name__}' object to buffer '{name}' "
                            "(neuronet Tensor or None required)")
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)

    def add_module(self, name, module):
        """Add the child ``module`` (or None) under ``name``."""
        self._check_name(name, "module")
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        if hasattr(self, name) and name not in self._modules:
            raise KeyError(f"attribute '{name}' already exists")
        self._modules[name] = module

    register_module = add_module

    def __setattr__(self, name, value):
        d = self.__dict__
        params = d.get("_parameters")
        if isinstance(value, Parameter):
            if params is None:
                raise AttributeError("cannot assign parameters before Module.__init__() call")
            self._remove_from(name, d, self._buffers, self._modules, self._non_persistent_buffers_set)
            self.register_parameter(name, value)
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(f"cannot assign '{type(value).__name__}' as parameter '{name}' "
                                "(neuronet.nn.Parameter or None expected)")
            self.register_parameter(name, value)
        elif isinstance(value, Buffer):
            if params is None:
                raise AttributeError("cannot assign buffer before Module.__init__() call")
            self._remove_from(name, d, self._parameters, self._modules)
            d["_buffers"].pop(name, None)
            self.register_buffer(name, Tensor._wrap(value.array), persistent=value.persistent)
        elif isinstance(value, Module):
            if params is None:
                raise AttributeError("cannot assign module before Module.__init__() call")
            self._remove_from(name, d, self._parameters, self._buffers, self._non_persistent_buffers_set)
            self._modules[name] = value
        elif params is not None and name in d["_modules"]:
            if value is not None:
                raise TypeError(f"cannot assign '{type(value).__name__}' as child module '{name}' "
                                "(neuronet.nn.Module or None expected)")
            d["_modules"][name] = value
        elif params is not None and name in d["_buffers"]:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign '{type(value).__name__}' as buffer '{name}' "
                                "(neuronet Tensor or None expected)")
            d["_buffers"][name] = value
        else:
            object.__setattr__(self, name, value)

    @staticmethod
    def _remove_from(name, *containers):
        for c in containers:
            if name in c:
                if isinstance(c, set):
                    c.discard(name)
                else:
                    del c[name]

    def __getattr__(self, name):
        # Only reached when normal lookup fails. Read __dict__ directly: during
        # copy/unpickling the registries may not exist yet.
        d = self.__dict__
        for registry in ("_parameters", "_buffers", "_modules"):
            reg = d.get(registry)
            if reg is not None and name in reg:
                return reg[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name):
        for registry in ("_parameters", "_buffers", "_modules"):
            reg = self.__dict__.get(registry)
            if reg is not None and name in reg:
                del reg[name]
                self._non_persistent_buffers_set.discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self):
        keys = list(dir(type(self))) + list(self.__dict__) + list(self._parameters) + \
            list(self._modules) + list(self._buffers)
        return sorted(k for k in set(keys) if not k[0].isdigit())

    # ------------------------------------------------------------------ calling, hooks
    def register_forward_pre_hook(self, hook, *, prepend=False, with_kwargs=False):
        """``hook(module, args) -> None or new args`` runs before ``forward``
        (``hook(module, args, kwargs) -> None or (args, kwargs)`` with ``with_kwargs``)."""
        handle = RemovableHandle(self._forward_pre_hooks, self._forward_pre_hooks_with_kwargs)
        self._forward_pre_hooks[handle.id] = hook
        if with_kwargs:
            self._forward_pre_hooks_with_kwargs[handle.id] = True
        if prepend:
            self._forward_pre_hooks.move_to_end(handle.id, last=False)
        return handle

    def register_forward_hook(self, hook, *, prepend=False, with_kwargs=False, always_call=False):
        """``hook(module, args, output) -> None or new output`` runs after ``forward``
        (``hook(module, args, kwargs, output)`` with ``with_kwargs``). With
        ``always_call`` it also runs when ``forward`` raised (output None)."""
        always = self.__dict__.setdefault("_forward_hooks_always_called", {})
        handle = RemovableHandle(self._forward_hooks, self._forward_hooks_with_kwargs, always)
        self._forward_hooks[handle.id] = hook
        if with_kwargs:
            self._forward_hooks_with_kwargs[handle.id] = True
        if always_call:
            always[handle.id] = True
        if prepend:
            self._forward_hooks.move_to_end(handle.id, last=False)
        return handle

    def _hook_dict(self, name):
        # Modules unpickled from an older neuronet may lack the newer registries.
        return self.__dict__.setdefault(name, OrderedDict())

    def register_full_backward_hook(self, hook, prepend=False):
        """``hook(module, grad_input, grad_output) -> None or new grad_input`` runs
        when the gradients with respect to the module's inputs are computed.

        ``grad_input`` has one entry per Tensor positional argument (None for
        those that need no gradient), ``grad_output`` one per Tensor output.
        Replacing ``grad_input`` is supported when one input needs a gradient.
        """
        hooks = self._hook_dict("_backward_hooks")
        handle = RemovableHandle(hooks)
        hooks[handle.id] = hook
        if prepend:
            hooks.move_to_end(handle.id, last=False)
        return handle

    def register_full_backward_pre_hook(self, hook, prepend=False):
        """``hook(module, grad_output) -> None or new grad_output`` runs when the
        gradients with respect to the module's outputs are known, before they
        flow into the module."""
        hooks = self._hook_dict("_backward_pre_hooks")
        handle = RemovableHandle(hooks)
        hooks[handle.id] = hook
        if prepend:
            hooks.move_to_end(handle.id, last=False)
        return handle

    def register_backward_hook(self, hook):
        """Deprecated in PyTorch; registered here as a full backward hook (the
        gradients at the module's inputs and outputs), which is what the old
        hook meant for single-op modules."""
        warnings.warn("Using a non-full backward hook when the forward contains multiple autograd Nodes is "
                      "deprecated; neuronet registers it as register_full_backward_hook", FutureWarning,
                      stacklevel=2)
        return self.register_full_backward_hook(hook)

    def _wrap_for_backward_hooks(self, args):
        """Route the Tensor arguments through the input side of the backward
        hooks; return the new args and the call's hook state (None if unused)."""
        if not (self.__dict__.get("_backward_hooks") or self.__dict__.get("_backward_pre_hooks")) \
                or not is_grad_enabled():
            return args, None
        tensor_pos = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        state = _BackwardHookState(self, len(tensor_pos), 0)
        new_args = list(args)
        for k, i in enumerate(tensor_pos):
            if args[i].requires_grad:
                state.inputs_pending.add(k)
                new_args[i] = _through_hook(args[i], state.input_callback(k))
        state.n_inputs_needing_grad = len(state.inputs_pending)
        return tuple(new_args), state

    @staticmethod
    def _wrap_outputs_for_backward_hooks(result, state):
        single = isinstance(result, Tensor)
        outs = (result,) if single else result
        if not isinstance(outs, (tuple, list)):
            return result
        tensor_pos = [i for i, o in enumerate(outs) if isinstance(o, Tensor)]
        state.grad_outputs = [None] * len(tensor_pos)
        new = list(outs)
        for k, i in enumerate(tensor_pos):
            if outs[i].requires_grad:
                state.outputs_pending.add(k)
                new[i] = _through_hook(outs[i], state.output_callback(k))
        if single:
            return new[0]
        if type(outs) is tuple:
            return tuple(new)
        return type(outs)(*new) if isinstance(outs, tuple) else new     # a namedtuple, or a list

    def __call__(self, *args, **kwargs):
        for hid, hook in list(self._forward_pre_hooks.items()):
            if hid in self._forward_pre_hooks_with_kwargs:
                res = hook(self, args, kwargs)
                if res is not None:
                    if not (isinstance(res, tuple) and len(res) == 2):
                        raise RuntimeError("a forward pre-hook registered with with_kwargs=True must "
                                           f"return None or (args, kwargs), received {res!r}")
                    args, kwargs = res
            else:
                res = hook(self, args)
                if res is not None:
                    args = res if isinstance(res, tuple) else (res,)
        args, hook_state = self._wrap_for_backward_hooks(args)
        try:
            result = self.forward(*args, **kwargs)
        except _ANNOTATED_ERRORS as err:
            _name_layer_in_error(err, self)
            self._run_always_called_hooks(args, kwargs)
            raise
        except Exception:
            self._run_always_called_hooks(args, kwargs)
            raise
        if hook_state is not None:
            result = self._wrap_outputs_for_backward_hooks(result, hook_state)
        for hid, hook in list(self._forward_hooks.items()):
            if hid in self._forward_hooks_with_kwargs:
                res = hook(self, args, kwargs, result)
            else:
                res = hook(self, args, result)
            if res is not None:
                result = res
        return result

    def _run_always_called_hooks(self, args, kwargs):
        always = self.__dict__.get("_forward_hooks_always_called") or {}
        for hid, hook in list(self._forward_hooks.items()):
            if hid in always:
                if hid in self._forward_hooks_with_kwargs:
                    hook(self, args, kwargs, None)
                else:
                    hook(self, args, None)

    # ------------------------------------------------------------------ traversal
    def _named_members(self, get_members, prefix="", recurse=True, remove_duplicate=True):
        memo = set()
        modules = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse \
            else [(prefix, self)]
        for module_prefix, module in modules:
            for k, v in get_members(module):
                if v is None or (remove_duplicate and id(v) in memo):
                    continue
                if remove_duplicate:
                    memo.add(id(v))
                yield (module_prefix + ("." if module_prefix else "") + k), v

    def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
        """``(name, Parameter)`` pairs in registration order, each shared parameter once."""
        yield from self._named_members(lambda m: m._parameters.items(), prefix, recurse, remove_duplicate)

    def parameters(self, recurse=True):
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix="", recurse=True, remove_duplicate=True):
        yield from self._named_members(lambda m: m._buffers.items(), prefix, recurse, remove_duplicate)

    def buffers(self, recurse=True):
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def named_children(self):
        memo = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in memo:
                memo.add(id(module))
                yield name, module

    def children(self):
        for _, m in self.named_children():
            yield m

    def named_modules(self, memo=None, prefix="", remove_duplicate=True):
        """This module and all below it, depth first, as ``(dotted name, module)``."""
        if memo is None:
            memo = set()
        if id(self) in memo:
            return
        if remove_duplicate:
            memo.add(id(self))
        yield prefix, self
        for name, module in self._modules.items():
            if module is None:
                continue
            sub = prefix + ("." if prefix else "") + name
            yield from module.named_modules(memo, sub, remove_duplicate)

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def get_submodule(self, target):
        """The module at dotted path ``target`` (``'features.0'``); ``''`` is self."""
        if target == "":
            return self
        mod = self
        for item in target.split("."):
            if not isinstance(mod, Module) or item not in mod._modules:
                raise AttributeError(f"{mod._get_name()} has no submodule `{item}` (looking up {target!r})")
            mod = mod._modules[item]
        return mod

    def set_submodule(self, target, module, strict=False):
        """Put ``module`` at dotted path ``target`` (its parent must exist; with
        ``strict`` the attribute must already be a submodule)."""
        if target == "":
            raise ValueError("Cannot set the submodule without a target name!")
        if not isinstance(module, Module):
            raise ValueError(f"`module` is not an nn.Module, found {type(module)}")
        parent_path, _, name = target.rpartition(".")
        parent = self.get_submodule(parent_path)
        if strict and name not in parent._modules:
            raise AttributeError(f"{parent._get_name()} has no attribute `{name}`")
        if hasattr(parent, name) and name not in parent._modules:
            raise AttributeError(f"`{name}` is not an nn.Module")
        setattr(parent, name, module)

    def get_parameter(self, target):
        """The parameter at dotted path ``target`` (``'features.0.weight'``)."""
        module_path, _, name = target.rpartition(".")
        mod = self.get_submodule(module_path)
        if not hasattr(mod, name):
            raise AttributeError(f"{mod._get_name()} has no attribute `{name}`")
        if name not in mod._parameters:
            raise AttributeError(f"`{name}` is not an nn.Parameter")
        return mod._parameters[name]

    def get_buffer(self, target):
        """The buffer at dotted path ``target`` (``'bn.running_mean'``)."""
        module_path, _, name = target.rpartition(".")
        mod = self.get_submodule(module_path)
        if not hasattr(mod, name):
            raise AttributeError(f"{mod._get_name()} has no attribute `{name}`")
        if name not in mod._buffers:
            raise AttributeError(f"`{name}` is not a buffer")
        return mod._buffers[name]

    def get_extra_state(self):
        """Extra state for the state_dict (override with set_extra_state)."""
        raise RuntimeError("Reached a code path in Module.get_extra_state() that should never be called.")

    def set_extra_state(self, state):
        raise RuntimeError("Reached a code path in Module.set_extra_state() that should never be called.")

    def share_memory(self):
        """PyTorch moves storages to shared memory for multiprocessing; NumPy
        arrays are already shared by fork, so this returns self unchanged."""
        return self

    def compile(self, *args, **kwargs):
        """``torch.compile`` of this module in place. neuronet has no graph
        compiler: the module keeps running eagerly (same results)."""
        return None

    def apply(self, fn):
        """Call ``fn(m)`` on every submodule (children first) and on self; returns self."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    # ------------------------------------------------------------------ modes, grads
    def train(self, mode=True):
        """Set training mode (dropout active, batch norm uses batch statistics)."""
        if not isinstance(mode, bool):
            raise ValueError(f"training mode is expected to be boolean, received {mode!r}")
        self.training = mode
        for m in self.children():
            m.train(mode)
        return self

    def eval(self):
        """Set evaluation mode (dropout off, batch norm uses running statistics)."""
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none=True):
        """Reset the gradients of all parameters (to None by default, as PyTorch)."""
        for p in self.parameters():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                p.grad.array[...] = 0

    # ------------------------------------------------------------------ device and dtype
    def _apply_to_arrays(self, fn):
        """Replace every parameter's and buffer's array (and gradient) by ``fn(array)``,
        keeping the Parameter/Tensor objects, so optimizers that hold them keep working."""
        seen = set()
        for m in self.modules():
            for t in itertools.chain(m._parameters.values(), m._buffers.values()):
                if t is None or id(t) in seen:
                    continue
                seen.add(id(t))
                t.array = fn(t.array)
                if t.grad is not None:
                    t.grad.array = fn(t.grad.array)
        return self

    def to(self, *args, **kwargs):
        """Move (``'cpu'``, ``'cuda'``) and/or cast (floating dtypes only) all
        parameters and buffers in place; integer buffers keep their dtype."""
        fmt = kwargs.get("memory_format")
        dev, dt = _parse_to_args(args, kwargs)

        def convert(a):
            if dev is not None and backend.device_of(a) != dev:
                a = backend.to_device(a, dev)
            if dt is not None and a.dtype.kind in "fc" and a.dtype != dt:
                a = a.astype(dt)
            if fmt is not None and a.ndim == len(getattr(fmt, "order", None) or ()):
                # As PyTorch: 4-D (5-D) parameters take the channels-last layout.
                from ... import _memory_format as _mf
                if not _mf.strides_match(a, fmt):
                    a = _mf.relayout(a, fmt, backend.array_module(a))
            return a
        return self._apply_to_arrays(convert)

    def cpu(self):
        return self.to("cpu")

    def cuda(self, device=None):
        return self.to("cuda" if device is None else f"cuda:{device}" if isinstance(device, int) else device)

    def float(self):
        return self.to(np.float32)

    def double(self):
        return self.to(np.float64)

    def half(self):
        return self.to(np.float16)

    def bfloat16(self):
        raise TypeError("bfloat16 is not supported by neuronet (NumPy has no bfloat16); use half() or float()")

    def to_empty(self, *, device=None, recurse=True):
        """Move parameters and buffers to ``device`` with uninitialized storage
        (PyTorch's use: materialize meta-device modules before loading weights)."""
        dev = backend.Device(device) if device is not None else None

        def fresh(a):
            target = dev if dev is not None else backend.device_of(a)
            return target.xp.empty(a.shape, dtype=a.dtype)
        return self._apply_to_arrays(fresh)

    def type(self, dst_type):
        return self.to(dst_type)

    # ------------------------------------------------------------------ state dict
    def _save_to_state_dict(self, destination, prefix, keep_vars):
        for name, p in self._parameters.items():
            if p is not None:
                destination[prefix + name] = p if keep_vars else p.detach()
        for name, b in self._buffers.items():
            if b is not None and name not in self._non_persistent_buffers_set:
                destination[prefix + name] = b if keep_vars else b.detach()

    def state_dict(self, destination=None, prefix="", keep_vars=False):
        """An OrderedDict ``dotted name -> tensor`` of every parameter and
        persistent buffer, in PyTorch's order: a module's own parameters, then
        its buffers, then its children's entries. Tensors are detached and
        share memory with the model (copy them to snapshot)."""
        if destination is None:
            destination = OrderedDict()
        self._save_to_state_dict(destination, prefix, keep_vars)
        for name, module in self._modules.items():
            if module is not None:
                module.state_dict(destination=destination, prefix=prefix + name + ".", keep_vars=keep_vars)
        return destination

    def _state_entries(self, prefix, state_dict):
        """``(key, tensor)`` this module expects in a state_dict (own entries only).
        Subclasses may adapt ``state_dict`` for older formats (see BatchNorm)."""
        entries = [(prefix + n, p) for n, p in self._parameters.items() if p is not None]
        entries += [(prefix + n, b) for n, b in self._buffers.items()
                    if b is not None and n not in self._non_persistent_buffers_set]
        return entries

    def load_state_dict(self, state_dict, strict=True):
        """Copy ``state_dict``'s values into this module's parameters and buffers.

        Values may be neuronet tensors, NumPy arrays, or anything with
        ``__array__`` / ``.numpy()`` (e.g. ``torch_model.state_dict()`` values).
        Each is cast to the dtype and moved to the device of the entry it
        replaces and copied into its existing array, so optimizers holding the
        parameters see the new values.

        All keys are checked before anything is copied: with ``strict=True``
        missing keys, unexpected keys and shape mismatches are reported together
        in one RuntimeError and the model is left unchanged. With
        ``strict=False`` missing/unexpected keys are returned as
        ``(missing_keys, unexpected_keys)``; shape mismatches still raise.
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict).__name__}.")
        state_dict = OrderedDict(state_dict)
        missing, mismatched, to_copy = [], [], []
        expected = set()
        for prefix_name, module in self.named_modules(remove_duplicate=False):
            prefix = prefix_name + "." if prefix_name else ""
            for key, target in module._state_entries(prefix, state_dict):
                expected.add(key)
                if key not in state_dict:
                    missing.append(key)
                    continue
                value = _to_array(state_dict[key], key)
                if target.ndim == 0 and value.ndim == 1 and value.shape[0] == 1:
                    value = value.reshape(())   # PyTorch's allowance for old scalar buffers
                if tuple(value.shape) != target.shape:
                    mismatched.append(f"size mismatch for {key}: copying a param with shape "
                                      f"{tuple(value.shape)}, the model expects {tuple(target.shape)}")
                    continue
                to_copy.append((target, value))
        unexpected = [k for k in state_dict if k not in expected]
        errors = []
        if strict:
            if missing:
                errors.append("Missing key(s) in state_dict: " + ", ".join(f'"{k}"' for k in missing) + ".")
            if unexpected:
                errors.append("Unexpected key(s) in state_dict: " + ", ".join(f'"{k}"' for k in unexpected)
                              + ".")
        errors += mismatched
        if errors:
            raise RuntimeError(f"Error(s) in loading state_dict for {self._get_name()}:\n\t"
                               + "\n\t".join(errors))
        with no_grad():
            for target, value in to_copy:
                xp = backend.array_module(target.array)
                value = backend.to_device(value, target.device)
                target.array[...] = xp.asarray(value).astype(target.dtype, copy=False)
        return _IncompatibleKeys(missing, unexpected)

    # ------------------------------------------------------------------ repr
    def _get_name(self):
        return type(self).__name__

    def extra_repr(self):
        """The text inside the parentheses of this module's repr (override)."""
        return ""

    def __repr__(self):
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = []
        for key, module in self._modules.items():
            child_lines.append("(" + key + "): " + _addindent(repr(module), 2))
        lines = extra_lines + child_lines
        main = self._get_name() + "("
        if lines:
            if len(extra_lines) == 1 and not child_lines:
                main += extra_lines[0]
            else:
                main += "\n  " + "\n  ".join(lines) + "\n"
        return main + ")"

    def _short_repr(self):
        """One line naming this module in error messages."""
        extra = self.extra_repr()
        if not self._modules and "\n" not in extra:
            return repr(self)
        return self._get_name()
