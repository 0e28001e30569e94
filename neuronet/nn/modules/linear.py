"""``Linear`` (the perceptron's weighted sum, y = x W^T + b), ``Bilinear``
(y_k = x1^T W_k x2 + b_k) and ``Identity``."""
from __future__ import annotations

from .. import functional as F
from ..parameter import Parameter
from .module import Module
from ._utils import check_tensor, default_init_, empty_param_array, uniform_
from ..functional._errors import ArgumentError

__all__ = ["Identity", "Linear", "Bilinear"]


class Identity(Module):
    """Returns its input unchanged (a placeholder that keeps a network's indices).
    Accepts and ignores any constructor arguments, as PyTorch's."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, input):
        return input


class Linear(Module):
    r"""Fully connected layer: :math:`y = x W^T + b`.

    Args:
        in_features: size of each input sample (the last dim of ``x``).
        out_features: size of each output sample.
        bias: learn an additive bias (default True).

    Shape:
        ``x: (*, in_features)`` -> ``y: (*, out_features)``.

    Attributes:
        weight: ``(out_features, in_features)``, initialized from
            U(-1/sqrt(in_features), 1/sqrt(in_features)) (PyTorch's default);
        bias: ``(out_features,)``, same distribution.

    >>> fc = Linear(400, 120)
    >>> fc(neuronet.randn(8, 400)).shape
    (8, 120)
    """

    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        for name, v in (("in_features", in_features), ("out_features", out_features)):
            if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                raise ValueError(f"Linear: {name} must be a non-negative int, received {v!r}")
        self.in_features = in_features
        self.out_features = out_features
        self.weight = Parameter(empty_param_array((out_features, in_features), dtype, device))
        if bias:
            self.bias = Parameter(empty_param_array((out_features,), dtype, device))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        default_init_(self.weight, self.bias)

    def forward(self, input):
        check_tensor(input)
        if input.ndim == 0 or input.shape[-1] != self.in_features:
            raise ArgumentError(f"expected input of shape (*, {self.in_features}) (last dim = in_features), "
                                f"received {tuple(input.shape)}")
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Bilinear(Module):
    r"""Bilinear layer: :math:`y_k = x_1^T W_k x_2 + b_k`.

    Shape: ``x1: (*, in1_features)``, ``x2: (*, in2_features)`` -> ``(*, out_features)``.

    Attributes:
        weight: ``(out_features, in1_features, in2_features)``; bias: ``(out_features,)``;
        both U(-1/sqrt(in1_features), 1/sqrt(in1_features)) (PyTorch's default).
    """

    def __init__(self, in1_features, in2_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        self.in1_features = in1_features
        self.in2_features = in2_features
        self.out_features = out_features
        self.weight = Parameter(empty_param_array((out_features, in1_features, in2_features), dtype, device))
        if bias:
            self.bias = Parameter(empty_param_array((out_features,), dtype, device))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        bound = 1 / self.weight.shape[1] ** 0.5 if self.weight.shape[1] else 0.0
        uniform_(self.weight, bound)
        if self.bias is not None:
            uniform_(self.bias, bound)

    def forward(self, input1, input2):
        check_tensor(input1, "input1")
        check_tensor(input2, "input2")
        return F.bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self):
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")
