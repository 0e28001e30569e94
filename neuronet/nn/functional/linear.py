"""The fully connected layer: every output is a weighted sum of every input.

This is Rosenblatt's perceptron without its step function (the activation
comes after, as a separate op), and the last layers of LeNet-5, AlexNet and
VGG. Forward, backward and the equations sit together in :class:`Linear`.
"""
from __future__ import annotations

import math

from ...autograd.function import Function
from ...tensor import Tensor

__all__ = ["linear"]


class Linear(Function):
    """y = x W^T + b.

    For one sample, output unit j computes the perceptron's weighted sum

        y_j = sum_i w_ji x_i + b_j

    Shapes: x (*, in_features), W (out_features, in_features), b (out_features,),
    y (*, out_features). The leading dims ``*`` are flattened to a batch of
    M = prod(*) rows, so the whole layer is one matrix product (M, in) @ (in, out).

    Backward, with g = dE/dy flattened to (M, out):
        dE/dW = g^T x        (out, in): the delta rule, summed over the batch;
                                        w_ji moves by (error at j) * (input i)
        dE/dx = g W          (M, in):   the chain rule, errors sent back through the weights
        dE/db = sum_rows g   (out,):    each bias sees every row's error once
    Saves x only if W needs a gradient and W only if x does.
    """

    @staticmethod
    def forward(ctx, x, weight, bias):
        need_x, need_w, need_b = ctx.needs_input_grad
        lead = x.shape[:-1]
        x2 = x.reshape(math.prod(lead), x.shape[-1])   # (M, in); a view when x is contiguous
        out = x2 @ weight.T                              # (M, out): one GEMM for the batch
        if bias is not None:
            out += bias
        ctx.save_for_backward(x2 if need_w else None, weight if need_x else None)
        ctx.x_shape = x.shape
        return out.reshape(lead + (weight.shape[0],))

    @staticmethod
    def backward(ctx, g):
        need_x, need_w, need_b = ctx.needs_input_grad
        x2, weight = ctx.saved_tensors
        g2 = g.reshape(math.prod(g.shape[:-1]), g.shape[-1])   # (M, out)
        gx = (g2 @ weight).reshape(ctx.x_shape) if need_x else None
        gw = g2.T @ x2 if need_w else None
        gb = g2.sum(axis=0) if need_b else None
        return gx, gw, gb


def _describe(t) -> str:
    return f"shape {tuple(t.shape)}, dtype {t.dtype}, device {t.device}"


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """linear(input, weight, bias=None): y = x W^T + b (see :class:`Linear`).

    Shape:
        input:  (*, in_features)  -- any number of leading dims, incl. none
        weight: (out_features, in_features)
        bias:   (out_features,) or None
        output: (*, out_features)

    >>> x = neuronet.randn(8, 120); W = neuronet.randn(84, 120); b = neuronet.zeros(84)
    >>> linear(x, W, b).shape          # (8, 84): LeNet-5's F6 layer
    """
    for name, t in (("input", input), ("weight", weight), ("bias", bias)):
        if t is None and name == "bias":
            continue
        if not isinstance(t, Tensor):
            raise TypeError(f"linear: expected {name} to be a neuronet.Tensor, received {type(t).__name__}")
        if t.dtype.kind != "f":
            raise TypeError(f"linear: expected a floating-point {name}, received dtype {t.dtype}")
    if weight.ndim != 2:
        raise ValueError(f"linear: expected weight of shape (out_features, in_features), "
                         f"received weight of shape {tuple(weight.shape)}")
    out_features, in_features = weight.shape
    if input.ndim == 0 or input.shape[-1] != in_features:
        raise ValueError(f"linear: expected input with {in_features} features (last dim) for weight "
                         f"{tuple(weight.shape)}, received input of shape {tuple(input.shape)}")
    if bias is not None and tuple(bias.shape) != (out_features,):
        raise ValueError(f"linear: expected bias of shape ({out_features},) for weight "
                         f"{tuple(weight.shape)}, received bias of shape {tuple(bias.shape)}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and (t.dtype != input.dtype or t.device != input.device):
            raise TypeError(f"linear: input and {name} must have the same dtype and device; received "
                            f"input ({_describe(input)}) and {name} ({_describe(t)})")
    return Linear.apply(input, weight, bias)
