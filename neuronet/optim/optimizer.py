"""``Optimizer``: the base class every update rule shares.

An optimizer holds **parameter groups** -- dicts with a ``'params'`` list and
that group's hyperparameters (``lr``, ``weight_decay``, ...), filled in from
``defaults`` where the group does not set them -- and a per-parameter
``state`` dict (momentum buffers, running averages, step counts) keyed by the
parameter tensor itself, as PyTorch's. ``step()`` walks every parameter that
has a gradient and applies the subclass's ``_update`` **in place** on the
backend arrays (``p.array``), so one code path serves NumPy and CuPy and no
state buffer is reallocated after its first step.

Checkpoints use PyTorch's ``state_dict`` layout::

    {'state': {0: {'step': 3, 'exp_avg': Tensor, ...}, 1: {...}},
     'param_groups': [{'lr': 0.001, 'betas': (0.9, 0.999), ..., 'params': [0, 1]}]}

Parameters are numbered in group order; ``state`` holds only plain numbers and
tensors, ``param_groups`` only numbers, strings, bools, lists/tuples, so a
checkpoint writer can store arrays in ``.npz`` and the rest as JSON -- no pickle.
"""
from __future__ import annotations

import copy
import math
from collections import defaultdict

import numpy as np

from .. import backend
from ..autograd.grad_mode import enable_grad, no_grad
from ..tensor import Tensor

__all__ = ["Optimizer", "check_finite_grads", "required"]

# State entries kept as Python numbers (PyTorch keeps them as 0-d tensors).
_SCALAR_STATE = ("step", "mu_product")


class _RequiredParameter:
    """Marks a hyperparameter that every param group must set (no default)."""

    def __repr__(self):
        return "<required parameter>"


required = _RequiredParameter()


def _param_label(name, group_index, index, shape):
    where = f"param_groups[{group_index}]['params'][{index}]"
    return (f"'{name}' ({where}, shape {shape})" if name is not None else f"{where} (shape {shape})")


def _nonfinite_message(label, g, who):
    xp = backend.array_module(g)
    n_nan = int(xp.isnan(g).sum())
    n_inf = int(xp.isinf(g).sum())
    return (f"{who}: the gradient of parameter {label} is not finite ({n_nan} NaN, {n_inf} inf "
            f"of {g.size} values); refusing to update the weights with it. Usual causes: a loss "
            "that overflowed (log of 0, exp of a large logit), a learning rate that is too high, "
            "or a division by zero in the model. Lower the learning rate, clip gradients with "
            "neuronet.nn.utils.clip_grad_norm_, or pass check_finite=False to skip this check.")


def _all_finite(arrays):
    """True when every array is free of NaN/inf. One device sync per array module,
    not one per array.

    A NaN or inf anywhere makes the float64 sum of all elements NaN or inf, so
    one reduction per array (no boolean temporary the size of the gradient)
    answers the question; float64 accumulation cannot overflow for finite
    float32 gradients. Only when it says "no" are the arrays inspected one by one.
    """
    by_xp = {}
    for a in arrays:
        by_xp.setdefault(backend.array_module(a), []).append(a)
    for xp, arrs in by_xp.items():
        total = xp.stack([a.sum(dtype=xp.float64) for a in arrs]).sum()
        if not bool(xp.isfinite(total)):
            return False
    return True


def check_finite_grads(named_params, who="check_finite_grads"):
    """Raise ``RuntimeError`` naming every parameter whose ``.grad`` holds NaN or inf.

    ``named_params``: an iterable of ``(name, tensor)`` pairs (as from
    ``model.named_parameters()``) or of tensors (then named by position).
    Parameters without a gradient are skipped. Returns None when all are finite.

    Cost: one ``isfinite`` pass over each gradient (a read of every gradient
    element and a boolean temporary) plus one device sync per array module.
    """
    items = []
    for i, item in enumerate(named_params):
        name, p = item if isinstance(item, tuple) else (None, item)
        if not isinstance(p, Tensor):
            raise TypeError(f"{who}: expected tensors or (name, tensor) pairs, element {i} is "
                            f"{type(p).__name__}")
        if p.grad is not None:
            items.append((name if name is not None else f"#{i}", p))
    if _all_finite([p.grad.array for _, p in items]):
        return None
    bad = []
    for name, p in items:
        g = p.grad.array
        xp = backend.array_module(g)
        if not bool(xp.isfinite(g).all()):
            bad.append(f"'{name}' (shape {p.shape}: {int(xp.isnan(g).sum())} NaN, "
                       f"{int(xp.isinf(g).sum())} inf)")
    raise RuntimeError(f"{who}: non-finite gradients in " + ", ".join(bad))


# Hyperparameters that tell optimizer classes apart; a saved group holding one
# that this optimizer lacks comes from another class. (Other unknown keys, such
# as PyTorch's newer flags, are carried along as PyTorch does.)
_FOREIGN_HYPERPARAMETERS = {"momentum", "dampening", "nesterov", "betas", "amsgrad", "alpha", "centered",
                            "lr_decay", "initial_accumulator_value", "momentum_decay", "decoupled_weight_decay",
                            "rho", "lambd", "t0", "etas", "step_sizes", "max_iter", "history_size",
                            "line_search_fn", "tolerance_grad", "tolerance_change", "max_eval"}


class Optimizer:
    """Base class of all optimizers (PyTorch's ``torch.optim.Optimizer``).

    Args:
        params: an iterable of leaf tensors that require grad, of
            ``(name, tensor)`` pairs (``model.named_parameters()``), or of dicts
            ``{'params': [...], 'lr': ..., ...}`` -- one parameter group each,
            with per-group hyperparameters overriding ``defaults``.
        defaults: the hyperparameters a group gets when it does not set them.
        check_finite: before updating, check every gradient for NaN/inf and
            raise ``RuntimeError`` naming the parameter instead of silently
            poisoning the weights (costs one ``isfinite`` pass over the
            gradients per step). Not saved in ``state_dict``.

    Subclasses implement ``_update(p, g, state, group)`` on raw arrays: ``p`` is
    the parameter's array (update it in place), ``g`` its gradient (do not
    modify it), ``state`` the parameter's state dict.

    Example -- no weight decay on biases and normalization parameters (their
    scale carries no overfitting risk, and decaying BatchNorm's gamma fights the
    normalization), the usual recipe::

        decay, no_decay = [], []
        for name, p in model.named_parameters():
            (no_decay if p.ndim <= 1 or name.endswith(".bias") else decay).append(p)
        opt = neuronet.optim.SGD([{'params': decay, 'weight_decay': 5e-4},
                                  {'params': no_decay, 'weight_decay': 0.0}],
                                 lr=0.1, momentum=0.9)
    """

    def __init__(self, params, defaults: dict, check_finite: bool = True):
        self.defaults = defaults
        self.check_finite = bool(check_finite)
        self._opt_called = False
        who = type(self).__name__
        if isinstance(params, Tensor):
            raise TypeError(f"{who}: params should be an iterable of Tensors or dicts, but got a "
                            f"single Tensor of shape {params.shape}; wrap it in a list: [tensor]")
        if isinstance(params, (set, frozenset)):
            raise TypeError(f"{who}: optimizer parameters need to be organized in ordered "
                            "collections, but the ordering of tensors in sets will change between "
                            "runs. Please use a list instead.")
        if isinstance(params, dict):
            raise TypeError(f"{who}: params should be an iterable of Tensors or of param-group "
                            "dicts; received a single dict: wrap it in a list: [{'params': ...}]")
        self.state = defaultdict(dict)
        self.param_groups: list[dict] = []
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError(f"{who}: optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for group in param_groups:
            self.add_param_group(group)

    # ------------------------------------------------------------------ groups
    def add_param_group(self, param_group: dict):
        """Add a group (a dict with ``'params'`` and optional hyperparameters),
        e.g. to unfreeze layers during fine-tuning with their own ``lr``."""
        who = type(self).__name__
        if not isinstance(param_group, dict):
            raise TypeError(f"{who}.add_param_group: param_group must be a dict, but got "
                            f"{type(param_group).__name__}")
        if "params" not in param_group:
            raise ValueError(f"{who}.add_param_group: the group dict has no 'params' key "
                             f"(keys: {sorted(param_group)})")
        group = dict(param_group)
        params = group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError(f"{who}: optimizer parameters need to be organized in ordered "
                            "collections, but the ordering of tensors in sets will change between "
                            "runs. Please use a list instead.")
        params = list(params)
        tensors, names = [], []
        for item in params:
            if isinstance(item, tuple):
                if len(item) != 2 or not isinstance(item[0], str):
                    raise TypeError(f"{who}: named parameters must be (name, tensor) pairs, "
                                    f"received a tuple of length {len(item)}")
                names.append(item[0])
                tensors.append(item[1])
            else:
                tensors.append(item)
        if names and len(names) != len(tensors):
            raise ValueError(f"{who}: all optimizer params should be with/without names. "
                             "Some param names are missing")
        gi = len(self.param_groups)
        for i, p in enumerate(tensors):
            label = f"'{names[i]}'" if names else f"param_groups[{gi}]['params'][{i}]"
            if not isinstance(p, Tensor):
                raise TypeError(f"{who}: optimizer can only optimize Tensors, but parameter "
                                f"{label} is a {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError(f"{who}: can't optimize a non-leaf Tensor ({label}, shape "
                                 f"{p.shape}, produced by {p.grad_fn!r}); optimize the leaf "
                                 "tensors it was computed from")
            # A frozen parameter (requires_grad=False) is accepted, as in PyTorch: it has no
            # gradient, so step() skips it until it is unfrozen (fine-tuning recipes rely on it).
        group["params"] = tensors
        if names:
            group["param_names"] = names
        for key, default in self.defaults.items():
            if default is required and key not in group:
                raise ValueError(f"{who}: parameter group didn't specify a value of required "
                                 f"optimization parameter {key}")
            group.setdefault(key, default)
        self._validate_group(group)

        ids = [id(p) for p in tensors]
        if len(set(ids)) != len(ids):
            raise ValueError(f"{who}: a parameter group contains the same parameter more than once")
        for other in self.param_groups:
            if ("param_names" in other) != ("param_names" in group):
                txt = "with names" if names else "without names"
                raise ValueError(f"{who}: all optimizer param groups should be with/without "
                                 f"names. cannot add param group {txt} to the optimizer")
            if not set(ids).isdisjoint(id(q) for q in other["params"]):
                raise ValueError(f"{who}: some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    def _validate_group(self, group):
        """Subclasses check their hyperparameters here (runs for every group)."""

    # ------------------------------------------------------------------ grads
    def zero_grad(self, set_to_none: bool = True):
        """Reset gradients: ``p.grad = None`` (default; frees memory and lets the
        next backward write instead of add), or fill them with zeros."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    p.grad.detach_()
                    p.grad.zero_()

    def _named(self):
        """(name or None, group index, index in group, tensor) for every parameter."""
        for gi, group in enumerate(self.param_groups):
            names = group.get("param_names")
            for i, p in enumerate(group["params"]):
                yield (names[i] if names else None), gi, i, p

    def _check_finite(self):
        grads = [p.grad.array for _, _, _, p in self._named() if p.grad is not None]
        if _all_finite(grads):
            return
        for name, gi, i, p in self._named():
            if p.grad is None:
                continue
            g = p.grad.array
            if not bool(backend.array_module(g).isfinite(g).all()):
                raise RuntimeError(_nonfinite_message(_param_label(name, gi, i, p.shape), g,
                                                      f"{type(self).__name__}.step()"))

    # ------------------------------------------------------------------ step
    def step(self, closure=None):
        """One update of every parameter that has a gradient (``.grad`` None: skipped).

        ``closure``: optional callable that re-evaluates the model and returns
        the loss (run with gradients enabled); its result is returned.
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        self._opt_called = True
        with no_grad():
            if self.check_finite:
                self._check_finite()
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    g = p.grad.array
                    if g.shape != p.array.shape:
                        raise RuntimeError(f"{type(self).__name__}.step(): gradient of shape "
                                           f"{tuple(g.shape)} for a parameter of shape {p.shape}")
                    self._update(p.array, g, self.state[p], group)
                    p._vc[0] += 1       # an in-place change, seen by autograd's saved-tensor check
        return loss

    def _update(self, p, g, state, group):  # pragma: no cover - abstract
        raise NotImplementedError

    @staticmethod
    def _buffer(p, fill=0.0):
        """A state buffer shaped and typed like parameter array ``p``, as a Tensor."""
        xp = backend.array_module(p)
        return Tensor._wrap(xp.full(p.shape, fill, dtype=p.dtype))

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict:
        """``{'state': {index: {...}}, 'param_groups': [{..., 'params': [indices]}]}``.

        Like PyTorch's, the state tensors are the live buffers (not copies):
        serialize the dict (or deep-copy it) before stepping again.
        """
        index_of = {}
        groups = []
        for group in self.param_groups:
            packed = {k: (list(v) if k == "param_names" else v)
                      for k, v in group.items() if k != "params"}
            packed["params"] = []
            for p in group["params"]:
                index_of.setdefault(id(p), len(index_of))
                packed["params"].append(index_of[id(p)])
            groups.append(packed)
        state = {}
        for p, s in self.state.items():
            if id(p) in index_of:
                state[index_of[id(p)]] = dict(s)
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict):
        """Restore hyperparameters and per-parameter state saved by ``state_dict``.

        State arrays (Tensors or ndarrays) are copied onto each parameter's
        device and dtype, so the input is never aliased. Parameters are matched
        by position, so build the optimizer over the same parameters in the same
        order as the one that was saved.
        """
        who = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state_dict, dict) or "state" not in state_dict \
                or "param_groups" not in state_dict:
            raise ValueError(f"{who}: expected a dict with 'state' and 'param_groups' keys, "
                             f"received {type(state_dict).__name__}"
                             + (f" with keys {sorted(state_dict)}" if isinstance(state_dict, dict)
                                else ""))
        saved_groups = state_dict["param_groups"]
        if not isinstance(saved_groups, list) or not all(
                isinstance(g, dict) and isinstance(g.get("params"), list) for g in saved_groups) \
                or not isinstance(state_dict["state"], dict) \
                or not all(isinstance(v, dict) for v in state_dict["state"].values()):
            raise ValueError(f"{who}: expected 'param_groups', a list of dicts with 'params' lists, and "
                             "'state', a dict of dicts")
        for gi, (g, sg) in enumerate(zip(self.param_groups, saved_groups)):
            # another optimizer class has other hyperparameters (Adam's betas in SGD's place)
            foreign = sorted(k for k in sg if k not in g and k not in ("params", "param_names")
                             and k in _FOREIGN_HYPERPARAMETERS)
            if foreign:
                raise ValueError(f"{who}: parameter group {gi} of the state has hyperparameters {foreign} "
                                 f"that {type(self).__name__} does not use (a state saved by another "
                                 "optimizer class?)")
            if any(callable(v) for k, v in sg.items() if k != "params"):
                raise ValueError(f"{who}: parameter group {gi} of the state holds a callable")
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"{who}: loaded state dict has {len(saved_groups)} parameter groups, "
                             f"this optimizer has {len(self.param_groups)}")
        id_map = {}
        for gi, (g, sg) in enumerate(zip(self.param_groups, saved_groups)):
            if len(g["params"]) != len(sg["params"]):
                raise ValueError(f"{who}: loaded state dict contains a parameter group "
                                 "that doesn't match the size of optimizer's group "
                                 f"(group {gi}: {len(sg['params'])} saved vs "
                                 f"{len(g['params'])} here)")
            for idx, p in zip(sg["params"], g["params"]):
                id_map[int(idx)] = p

        new_state = defaultdict(dict)
        for key, s in state_dict["state"].items():
            k = int(key)   # JSON turns int keys into strings
            if k not in id_map:
                raise ValueError(f"{who}: state for parameter index {key} matches no parameter")
            p = id_map[k]
            new_state[p] = {name: self._cast_state(p, name, v, k, who) for name, v in s.items()}

        new_groups = []
        for g, sg in zip(self.param_groups, saved_groups):
            ng = copy.deepcopy({k: v for k, v in sg.items() if k != "params"})
            for k, v in ng.items():   # JSON turns tuples (betas) into lists
                if isinstance(v, list) and isinstance(g.get(k), tuple):
                    ng[k] = tuple(v)
            ng["params"] = g["params"]
            if "param_names" in g and "param_names" not in ng:
                ng["param_names"] = g["param_names"]
            new_groups.append(ng)
        self.state = new_state
        self.param_groups = new_groups

    @staticmethod
    def _cast_state(p, name, value, index, who):
        if isinstance(value, Tensor):
            value = value.array
        if hasattr(value, "shape") and hasattr(value, "dtype"):
            if name in _SCALAR_STATE:
                return value.item()   # counters / scalar products stay Python numbers
            if tuple(value.shape) != p.shape:
                raise ValueError(f"{who}: state '{name}' of parameter {index} has shape "
                                 f"{tuple(value.shape)} but the parameter has shape {p.shape}")
            arr = backend.to_device(value, p.device)
            return Tensor._wrap(arr.astype(p.dtype, copy=True))
        return copy.deepcopy(value)

    def __repr__(self):
        lines = [type(self).__name__ + " ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(group):
                if key not in ("params", "param_names"):
                    lines.append(f"    {key}: {group[key]}")
        return "\n".join(lines) + "\n)"


def _adam_gradient(p, g, group):
    """The Adam family's gradient: ``maximize`` flips its sign; weight decay is
    coupled (``g + wd p``, L2) or decoupled (``p *= 1 - lr wd`` in place,
    Loshchilov & Hutter 2019) as the group's ``decoupled_weight_decay`` says."""
    if group["maximize"]:
        g = -g
    wd = group["weight_decay"]
    if wd != 0:
        if group["decoupled_weight_decay"]:
            p *= 1 - group["lr"] * wd
        else:
            g = g + wd * p
    return g


def _update_moments(xp, m, v, g, beta1, beta2):
    """m <- beta1 m + (1 - beta1) g and v <- beta2 v + (1 - beta2) g^2, in place,
    through one scratch array, which is returned for the caller to reuse."""
    tmp = g - m
    tmp *= 1 - beta1
    m += tmp                         # m + (1 - beta1)(g - m)
    xp.multiply(g, g, out=tmp)
    tmp *= 1 - beta2
    v *= beta2
    v += tmp
    return tmp


def _check_lr(who, lr):
    if not isinstance(lr, (int, float, np.floating, np.integer)) or isinstance(lr, bool) \
            or not math.isfinite(lr) or lr < 0:
        raise ValueError(f"{who}: Invalid learning rate: {lr!r} (expected a finite number >= 0)")


def _check_nonneg(who, name, value):
    if not isinstance(value, (int, float, np.floating, np.integer)) or isinstance(value, bool) \
            or not value >= 0:
        raise ValueError(f"{who}: Invalid {name} value: {value!r} (expected a number >= 0)")


def _check_betas(who, betas):
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise ValueError(f"{who}: betas must be a pair (beta1, beta2), received {betas!r}")
    for i, b in enumerate(betas):
        if not isinstance(b, (int, float, np.floating)) or not 0.0 <= b < 1.0:
            raise ValueError(f"{who}: Invalid beta parameter at index {i}: {b!r} "
                             "(expected 0 <= beta < 1)")
