"""Weight normalizations as parametrizations (PyTorch's
``torch.nn.utils.parametrizations``): ``weight_norm`` (Salimans & Kingma 2016)
and ``spectral_norm`` (Miyato et al. 2018). ``module.weight`` is recomputed
from ``module.parametrizations.weight.original*`` at every access."""
from __future__ import annotations

from ...autograd.grad_mode import no_grad
from ...backend import generator, array_module
from ...tensor import Tensor
from ..functional.distance import normalize
from ..modules.module import Module
from .parametrize import register_parametrization

__all__ = ["weight_norm", "spectral_norm"]


def _norm_except_dim(v, dim):
    if dim == -1 or dim is None:
        return (v * v).sum().sqrt()
    axes = [i for i in range(v.ndim) if i != dim]
    return (v * v).sum(axes, keepdim=True).sqrt() if axes else v.abs()


class _WeightNorm(Module):
    """w = g * v / ||v|| (norm over every dim but ``dim``; -1: the whole tensor)."""

    def __init__(self, dim=0):
        super().__init__()
        self.dim = -1 if dim is None else dim

    def forward(self, weight_g, weight_v):
        return weight_v * (weight_g / _norm_except_dim(weight_v, self.dim))

    def right_inverse(self, weight):
        return _norm_except_dim(weight, self.dim), weight


def weight_norm(module, name="weight", dim=0):
    """``module.<name> = g * v / ||v||`` with ``parametrizations.<name>.original0`` = g
    and ``original1`` = v (``dim=None``: one norm for the whole tensor). Returns the module."""
    if dim is not None and dim != -1:
        dim %= getattr(module, name).ndim
    register_parametrization(module, name, _WeightNorm(dim), unsafe=True)
    return module


class _SpectralNorm(Module):
    """W / sigma(W), sigma estimated by power iteration on the buffers ``_u``, ``_v``
    (advanced ``n_power_iterations`` steps per training-mode access; 15 at creation)."""

    def __init__(self, weight, n_power_iterations=1, dim=0, eps=1e-12):
        super().__init__()
        ndim = weight.ndim
        if dim >= ndim or dim < -ndim:
            raise IndexError("Dimension out of range (expected to be in range of "
                             f"[-{ndim}, {ndim - 1}] but got {dim})")
        if n_power_iterations <= 0:
            raise ValueError(f"Expected n_power_iterations to be positive, but got n_power_iterations="
                             f"{n_power_iterations}")
        self.dim = dim if dim >= 0 else dim + ndim
        self.eps = eps
        if ndim > 1:
            self.n_power_iterations = n_power_iterations
            mat = self._reshape_weight_to_matrix(weight.detach())
            h, w = mat.shape
            rng = generator(array_module(weight.array))
            u = Tensor._wrap(rng.standard_normal(h).astype(weight.dtype))
            v = Tensor._wrap(rng.standard_normal(w).astype(weight.dtype))
            self.register_buffer("_u", normalize(u, dim=0, eps=self.eps))
            self.register_buffer("_v", normalize(v, dim=0, eps=self.eps))
            self._power_method(mat, 15)

    def _reshape_weight_to_matrix(self, weight):
        if self.dim != 0:
            weight = weight.permute(self.dim, *[d for d in range(weight.ndim) if d != self.dim])
        return weight.reshape(weight.shape[0], -1)

    def _power_method(self, mat, n):
        with no_grad():
            m = mat.detach()
            for _ in range(n):
                self._u.array[...] = normalize(m @ self._v, dim=0, eps=self.eps).array
                self._v.array[...] = normalize(m.t() @ self._u, dim=0, eps=self.eps).array
            self._u._vc[0] += 1
            self._v._vc[0] += 1

    def forward(self, weight):
        if weight.ndim == 1:
            return normalize(weight, dim=0, eps=self.eps)
        mat = self._reshape_weight_to_matrix(weight)
        if self.training:
            self._power_method(mat, self.n_power_iterations)
        u = Tensor._wrap(self._u.array.copy())
        v = Tensor._wrap(self._v.array.copy())
        sigma = (u * (mat @ v)).sum()
        return weight / sigma

    def right_inverse(self, value):
        return value


def spectral_norm(module, name="weight", n_power_iterations=1, eps=1e-12, dim=None):
    """``module.<name> = W / sigma(W)`` with W = ``parametrizations.<name>.original`` and
    the power-iteration vectors in ``parametrizations.<name>.0._u`` / ``._v``.
    ``dim`` defaults to 0 (1 for transposed convolutions). Returns the module."""
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if dim is None:
        dim = 1 if type(module).__name__.startswith("ConvTranspose") else 0
    register_parametrization(module, name, _SpectralNorm(weight, n_power_iterations, dim, eps))
    return module
