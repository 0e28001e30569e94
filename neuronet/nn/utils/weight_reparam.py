"""Weight reparameterizations that a forward pre-hook recomputes before every call
(PyTorch's ``torch.nn.utils.weight_norm`` / ``spectral_norm``, same parameter
and buffer names so state_dicts move either way).

- weight norm (Salimans & Kingma 2016): w = g * v / ||v||, the norm over every
  dim but ``dim``; ``g`` (``weight_g``) and ``v`` (``weight_v``) are learned.
- spectral norm (Miyato et al. 2018): w = W / sigma(W), sigma the largest
  singular value of W seen as a matrix (``dim`` first), estimated by power
  iteration with the vectors ``weight_u``/``weight_v`` kept as buffers and
  advanced ``n_power_iterations`` steps per training-mode call.

The recomputed weight is built from differentiable ops, so gradients reach
``g``/``v`` or ``weight_orig``; the power iteration itself runs without
gradient (as PyTorch).
"""
from __future__ import annotations

import warnings

from ...autograd.grad_mode import no_grad
from ...backend import array_module, generator
from ...tensor import Tensor
from ..functional.distance import normalize
from ..parameter import Parameter

__all__ = ["weight_norm", "remove_weight_norm", "spectral_norm", "remove_spectral_norm"]


def _norm_except_dim(v, dim):
    """||v|| over every dim but ``dim`` (keepdim), or over all of v when dim is None."""
    if dim is None:
        return (v * v).sum().sqrt()
    axes = [i for i in range(v.ndim) if i != dim]
    return (v * v).sum(axes, keepdim=True).sqrt() if axes else v.abs()


class _WeightNorm:
    def __init__(self, name, dim):
        self.name = name
        self.dim = dim

    def compute_weight(self, module):
        g = getattr(module, self.name + "_g")
        v = getattr(module, self.name + "_v")
        return v * (g / _norm_except_dim(v, self.dim))

    def __call__(self, module, inputs):
        object.__setattr__(module, self.name, self.compute_weight(module))


def weight_norm(module, name="weight", dim=0):
    """Reparameterize ``module.<name>`` as ``g * v / ||v||`` (norm over every dim but
    ``dim``; ``dim=None``: the whole tensor). Adds parameters ``<name>_g`` and
    ``<name>_v``; the weight is recomputed before each forward. Returns the module."""
    warnings.warn("torch.nn.utils.weight_norm is deprecated in favor of "
                  "torch.nn.utils.parametrizations.weight_norm.", FutureWarning, stacklevel=2)
    if dim == -1:
        dim = None
    for hook in module._forward_pre_hooks.values():
        if isinstance(hook, _WeightNorm) and hook.name == name:
            raise RuntimeError(f"Cannot register two weight_norm hooks on the same parameter {name}")
    weight = getattr(module, name)
    if dim is not None:
        dim %= weight.ndim
    fn = _WeightNorm(name, dim)
    del module._parameters[name]
    with no_grad():
        g = _norm_except_dim(weight.detach(), dim)
    module.register_parameter(name + "_g", Parameter(g.detach()))
    module.register_parameter(name + "_v", Parameter(weight.detach()))
    object.__setattr__(module, name, fn.compute_weight(module))
    module.register_forward_pre_hook(fn)
    return module


def remove_weight_norm(module, name="weight"):
    """Undo :func:`weight_norm`: ``<name>`` becomes a plain parameter again."""
    for hid, hook in list(module._forward_pre_hooks.items()):
        if isinstance(hook, _WeightNorm) and hook.name == name:
            with no_grad():
                w = hook.compute_weight(module).detach()
            del module._forward_pre_hooks[hid]
            del module._parameters[name + "_g"]
            del module._parameters[name + "_v"]
            module.__dict__.pop(name, None)
            module.register_parameter(name, Parameter(w))
            return module
    raise ValueError(f"weight_norm of '{name}' not found in {module}")


class _SpectralNorm:
    def __init__(self, name, n_power_iterations, dim, eps):
        self.name = name
        self.n_power_iterations = n_power_iterations
        self.dim = dim
        self.eps = eps

    def reshape_weight_to_matrix(self, weight):
        w = weight
        if self.dim != 0:
            w = w.permute(self.dim, *[d for d in range(w.ndim) if d != self.dim])
        return w.reshape(w.shape[0], -1)

    def compute_weight(self, module, do_power_iteration):
        weight = getattr(module, self.name + "_orig")
        u = getattr(module, self.name + "_u")
        v = getattr(module, self.name + "_v")
        mat = self.reshape_weight_to_matrix(weight)
        if do_power_iteration:
            with no_grad():
                m = mat.detach()
                for _ in range(self.n_power_iterations):
                    v.array[...] = normalize(m.t() @ u, dim=0, eps=self.eps).array
                    u.array[...] = normalize(m @ v, dim=0, eps=self.eps).array
                u._vc[0] += 1
                v._vc[0] += 1
            u_c, v_c = Tensor._wrap(u.array.copy()), Tensor._wrap(v.array.copy())
        else:
            u_c, v_c = u, v
        sigma = (u_c * (mat @ v_c)).sum()
        return weight / sigma

    def __call__(self, module, inputs):
        object.__setattr__(module, self.name, self.compute_weight(module, do_power_iteration=module.training))


def spectral_norm(module, name="weight", n_power_iterations=1, eps=1e-12, dim=None):
    """Divide ``module.<name>`` by its spectral norm before each forward (Miyato et al. 2018).
    Adds the parameter ``<name>_orig`` and buffers ``<name>_u``, ``<name>_v``; ``dim``
    defaults to 0 (1 for transposed convolutions). Returns the module."""
    if n_power_iterations <= 0:
        raise ValueError(f"Expected n_power_iterations to be positive, but got n_power_iterations="
                         f"{n_power_iterations}")
    for hook in module._forward_pre_hooks.values():
        if isinstance(hook, _SpectralNorm) and hook.name == name:
            raise RuntimeError(f"Cannot register two spectral_norm hooks on the same parameter {name}")
    if dim is None:
        dim = 1 if type(module).__name__.startswith("ConvTranspose") else 0
    fn = _SpectralNorm(name, n_power_iterations, dim, eps)
    weight = module._parameters[name]
    with no_grad():
        mat = fn.reshape_weight_to_matrix(weight.detach())
        h, w = mat.shape
        xp = array_module(weight.array)
        rng = generator(xp)
        u = normalize(Tensor._wrap(rng.standard_normal(h).astype(weight.dtype)), dim=0, eps=eps)
        v = normalize(Tensor._wrap(rng.standard_normal(w).astype(weight.dtype)), dim=0, eps=eps)
    del module._parameters[name]
    module.register_parameter(name + "_orig", weight)
    object.__setattr__(module, name, weight.detach() * 1)
    module.register_buffer(name + "_u", u)
    module.register_buffer(name + "_v", v)
    module.register_forward_pre_hook(fn)
    return module


def remove_spectral_norm(module, name="weight"):
    """Undo :func:`spectral_norm`: ``<name>`` becomes a plain parameter holding the normalized weight."""
    for hid, hook in list(module._forward_pre_hooks.items()):
        if isinstance(hook, _SpectralNorm) and hook.name == name:
            with no_grad():
                w = hook.compute_weight(module, do_power_iteration=False).detach()
            del module._forward_pre_hooks[hid]
            del module._parameters[name + "_orig"]
            del module._buffers[name + "_u"]
            del module._buffers[name + "_v"]
            module.__dict__.pop(name, None)
            module.register_parameter(name, Parameter(w))
            return module
    raise ValueError(f"spectral_norm of '{name}' not found in {module}")
