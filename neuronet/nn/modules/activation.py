"""Activation layers: thin modules over the functionals (which hold the
equations and their derivatives)."""
from __future__ import annotations

import warnings

import numpy as np

from .. import functional as F
from ..parameter import Parameter
from .module import Module
from ._utils import check_tensor, empty_param_array

__all__ = ["ReLU", "ReLU6", "LeakyReLU", "ELU", "GELU", "Sigmoid", "Tanh", "Softmax", "LogSoftmax",
           "SELU", "CELU", "Threshold", "Hardtanh", "SiLU", "Mish", "Softplus", "Hardswish", "Hardsigmoid",
           "LogSigmoid", "Softsign", "Tanhshrink", "Hardshrink", "Softshrink", "PReLU", "RReLU", "GLU", "Softmin",
           "Softmax2d"]


class ReLU(Module):
    """``max(0, x)`` elementwise (Nair & Hinton 2010)."""

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):
        check_tensor(input)
        return F.relu(input, inplace=self.inplace)

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class ReLU6(Module):
    """``min(max(0, x), 6)`` elementwise (the gradient is 1 on (0, 6), else 0)."""

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):
        check_tensor(input)
        return F.relu6(input, inplace=self.inplace)

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class LeakyReLU(Module):
    """``x`` for x >= 0, ``negative_slope * x`` otherwise."""

    def __init__(self, negative_slope=0.01, inplace=False):
        super().__init__()
        self.negative_slope = negative_slope
        self.inplace = inplace

    def forward(self, input):
        check_tensor(input)
        return F.leaky_relu(input, self.negative_slope, self.inplace)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class ELU(Module):
    """``x`` for x > 0, ``alpha (exp(x) - 1)`` otherwise (Clevert et al. 2015)."""

    def __init__(self, alpha=1.0, inplace=False):
        super().__init__()
        self.alpha = alpha
        self.inplace = inplace

    def forward(self, input):
        check_tensor(input)
        return F.elu(input, self.alpha, self.inplace)

    def extra_repr(self):
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class GELU(Module):
    """``x Phi(x)`` (Hendrycks & Gimpel 2016); ``approximate='tanh'`` uses
    ``0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))``."""

    def __init__(self, approximate="none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', received {approximate!r}")
        self.approximate = approximate

    def forward(self, input):
        check_tensor(input)
        return F.gelu(input, approximate=self.approximate)

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


class Sigmoid(Module):
    """``1 / (1 + exp(-x))`` elementwise."""

    def forward(self, input):
        check_tensor(input)
        return F.sigmoid(input)


class Tanh(Module):
    """``tanh(x)`` elementwise."""

    def forward(self, input):
        check_tensor(input)
        return F.tanh(input)


def _legacy_softmax_dim(ndim, name):
    # PyTorch's rule for dim=None (deprecated there too): 0 for 0-, 1- and 3-D inputs, else 1.
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call to include "
                  "dim=X as an argument.", stacklevel=3)
    return 0 if ndim in (0, 1, 3) else 1


class Softmax(Module):
    r""":math:`\mathrm{softmax}(x)_i = e^{x_i} / \sum_j e^{x_j}` along ``dim``."""

    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, input):
        check_tensor(input)
        dim = self.dim if self.dim is not None else _legacy_softmax_dim(input.ndim, "softmax")
        return F.softmax(input, dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class LogSoftmax(Module):
    r""":math:`\log \mathrm{softmax}(x)_i = x_i - \log\sum_j e^{x_j}` along ``dim``."""

    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, input):
        check_tensor(input)
        dim = self.dim if self.dim is not None else _legacy_softmax_dim(input.ndim, "log_softmax")
        return F.log_softmax(input, dim)

    def extra_repr(self):
        return f"dim={self.dim}"


def _inplace_repr(inplace):
    return "inplace=True" if inplace else ""


class _Elementwise(Module):
    """An activation without parameters: ``forward`` applies ``self._fn`` (a
    functional) to the input with the module's keyword arguments."""

    _fn = None
    _args = ()          # attribute names passed, in order, after the input

    def forward(self, input):
        check_tensor(input)
        return type(self)._fn(input, *(getattr(self, a) for a in self._args))


class SELU(_Elementwise):
    """``scale * (x if x > 0 else alpha * (exp(x) - 1))``, alpha = 1.6733, scale = 1.0507
    (Klambauer et al. 2017: self-normalizing networks)."""

    _fn = staticmethod(F.selu)
    _args = ("inplace",)

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def extra_repr(self):
        return _inplace_repr(self.inplace)


class CELU(_Elementwise):
    """``x if x > 0 else alpha * (exp(x / alpha) - 1)`` (Barron 2017)."""

    _fn = staticmethod(F.celu)
    _args = ("alpha", "inplace")

    def __init__(self, alpha=1.0, inplace=False):
        super().__init__()
        self.alpha = alpha
        self.inplace = inplace

    def extra_repr(self):
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class Threshold(_Elementwise):
    """``x if x > threshold else value``."""

    _fn = staticmethod(F.threshold)
    _args = ("threshold", "value", "inplace")

    def __init__(self, threshold, value, inplace=False):
        super().__init__()
        self.threshold = threshold
        self.value = value
        self.inplace = inplace

    def extra_repr(self):
        return f"threshold={self.threshold}, value={self.value}" + (", inplace=True" if self.inplace else "")


class Hardtanh(_Elementwise):
    """``x`` clipped to ``[min_val, max_val]``."""

    _fn = staticmethod(F.hardtanh)
    _args = ("min_val", "max_val", "inplace")

    def __init__(self, min_val=-1.0, max_val=1.0, inplace=False):
        super().__init__()
        if min_val > max_val:
            raise ValueError(f"Hardtanh: min_val cannot be greater than max_val, received min_val={min_val}, "
                             f"max_val={max_val}")
        self.min_val = min_val
        self.max_val = max_val
        self.inplace = inplace

    def extra_repr(self):
        return f"min_val={self.min_val}, max_val={self.max_val}" + (", inplace=True" if self.inplace else "")


class SiLU(_Elementwise):
    """``x * sigmoid(x)`` (Elfwing et al. 2018; "swish")."""

    _fn = staticmethod(F.silu)
    _args = ("inplace",)

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def extra_repr(self):
        return _inplace_repr(self.inplace)


class Mish(SiLU):
    """``x * tanh(softplus(x))`` (Misra 2019)."""

    _fn = staticmethod(F.mish)


class Hardswish(SiLU):
    """``x * relu6(x + 3) / 6`` (Howard et al. 2019, MobileNetV3)."""

    _fn = staticmethod(F.hardswish)


class Hardsigmoid(SiLU):
    """``relu6(x + 3) / 6``."""

    _fn = staticmethod(F.hardsigmoid)


class Softplus(_Elementwise):
    """``1/beta * log(1 + exp(beta x))``, linear where ``beta x > threshold``."""

    _fn = staticmethod(F.softplus)
    _args = ("beta", "threshold")

    def __init__(self, beta=1.0, threshold=20.0):
        super().__init__()
        self.beta = beta
        self.threshold = threshold

    def extra_repr(self):
        return f"beta={self.beta}, threshold={self.threshold}"


class LogSigmoid(_Elementwise):
    """``log(sigmoid(x))``."""

    _fn = staticmethod(F.logsigmoid)


class Softsign(_Elementwise):
    """``x / (1 + |x|)``."""

    _fn = staticmethod(F.softsign)


class Tanhshrink(_Elementwise):
    """``x - tanh(x)``."""

    _fn = staticmethod(F.tanhshrink)


class Hardshrink(_Elementwise):
    """``x`` where ``|x| > lambd``, else 0."""

    _fn = staticmethod(F.hardshrink)
    _args = ("lambd",)

    def __init__(self, lambd=0.5):
        super().__init__()
        self.lambd = lambd

    def extra_repr(self):
        return f"{self.lambd}"


class Softshrink(Hardshrink):
    """``x - lambd * sign(x)`` where ``|x| > lambd``, else 0."""

    _fn = staticmethod(F.softshrink)


class PReLU(Module):
    """``x`` for x > 0, ``a * x`` otherwise, with a learned slope ``a`` (He et al. 2015):
    one shared (``num_parameters=1``) or one per channel (dim 1 of the input).

    Parameter: ``weight`` of shape ``(num_parameters,)``, filled with ``init`` (0.25).
    """

    def __init__(self, num_parameters=1, init=0.25, device=None, dtype=None):
        super().__init__()
        if not isinstance(num_parameters, int) or num_parameters < 1:
            raise ValueError(f"PReLU: num_parameters must be a positive int, received {num_parameters!r}")
        self.num_parameters = num_parameters
        self.init = init
        arr = empty_param_array((num_parameters,), dtype, device)
        arr[...] = init
        self.weight = Parameter(arr)

    def reset_parameters(self):
        self.weight.array[...] = self.init

    def forward(self, input):
        check_tensor(input)
        return F.prelu(input, self.weight)

    def extra_repr(self):
        return f"num_parameters={self.num_parameters}"


class RReLU(Module):
    """Leaky ReLU with a random negative slope ~ U(lower, upper) per element in
    training and (lower + upper) / 2 in eval (Xu et al. 2015)."""

    def __init__(self, lower=1.0 / 8, upper=1.0 / 3, inplace=False):
        super().__init__()
        self.lower = lower
        self.upper = upper
        self.inplace = inplace

    def forward(self, input):
        check_tensor(input)
        return F.rrelu(input, self.lower, self.upper, self.training, self.inplace)

    def extra_repr(self):
        return f"lower={self.lower}, upper={self.upper}" + (", inplace=True" if self.inplace else "")


class GLU(Module):
    """Gated linear unit: first half of ``dim`` times sigmoid of the second half
    (Dauphin et al. 2017). Shape ``(*, 2n, *)`` -> ``(*, n, *)``."""

    def __init__(self, dim=-1):
        super().__init__()
        self.dim = dim

    def forward(self, input):
        check_tensor(input)
        return F.glu(input, self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class Softmin(Module):
    """``softmax(-x)`` along ``dim``."""

    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, input):
        check_tensor(input)
        dim = self.dim if self.dim is not None else _legacy_softmax_dim(input.ndim, "softmin")
        return F.softmin(input, dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class Softmax2d(Module):
    """Softmax over the channels at every position: input ``(N, C, H, W)`` or ``(C, H, W)``."""

    def forward(self, input):
        check_tensor(input)
        if input.ndim not in (3, 4):
            raise ValueError(f"Softmax2d: expected input of 3 or 4 dimensions (C, H, W) or (N, C, H, W), "
                             f"received a {input.ndim}-D input of shape {tuple(input.shape)}")
        return F.softmax(input, -3)
