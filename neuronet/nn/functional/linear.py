"""The fully connected layer: every output is a weighted sum of every input.

This is Rosenblatt's perceptron without its step function (the activation
comes after, as a separate op), and the last layers of LeNet-5, AlexNet and
VGG. Forward, backward and the equations sit together in :class:`Linear`.
"""
from __future__ import annotations

import math

from ...backend import array_module

from ...autograd.function import Function
from ...tensor import Tensor
from ._errors import ArgumentError, DtypeNotSupported

__all__ = ["linear", "bilinear"]


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
            raise DtypeNotSupported(f"linear: expected a floating-point {name}, received dtype {t.dtype}")
    if weight.ndim != 2:
        raise ArgumentError(f"linear: expected weight of shape (out_features, in_features), "
                            f"received weight of shape {tuple(weight.shape)}")
    out_features, in_features = weight.shape
    if input.ndim == 0 or input.shape[-1] != in_features:
        raise ArgumentError(f"linear: expected input with {in_features} features (last dim) for weight "
                            f"{tuple(weight.shape)}, received input of shape {tuple(input.shape)}")
    if bias is not None and tuple(bias.shape) != (out_features,):
        raise ArgumentError(f"linear: expected bias of shape ({out_features},) for weight "
                            f"{tuple(weight.shape)}, received bias of shape {tuple(bias.shape)}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and (t.dtype != input.dtype or t.device != input.device):
            raise TypeError(f"linear: input and {name} must have the same dtype and device; received "
                            f"input ({_describe(input)}) and {name} ({_describe(t)})")
    return Linear.apply(input, weight, bias)


class Bilinear(Function):
    """y_k = x1^T W_k x2 + b_k:  x1 (*, in1), x2 (*, in2), W (out, in1, in2), b (out,) -> y (*, out).

    Backward, with g = dE/dy (*, out):
        dE/dx1_i = sum_k g_k sum_j W_kij x2_j,   dE/dx2_j = sum_k g_k sum_i W_kij x1_i,
        dE/dW_kij = sum_rows g_k x1_i x2_j,      dE/db_k = sum_rows g_k.
    """

    @staticmethod
    def forward(ctx, x1, x2, weight, bias):
        xp = array_module(x1)
        lead = x1.shape[:-1]
        a = x1.reshape(-1, x1.shape[-1])
        b = x2.reshape(-1, x2.shape[-1])
        out = xp.einsum("ni,kij,nj->nk", a, weight, b, optimize=True)
        if bias is not None:
            out += bias
        ctx.save_for_backward(a, b, weight)
        ctx.shapes = (x1.shape, x2.shape)
        return out.reshape(lead + (weight.shape[0],))

    @staticmethod
    def backward(ctx, g):
        a, b, weight = ctx.saved_tensors
        need_1, need_2, need_w, need_b = ctx.needs_input_grad
        xp = array_module(g)
        g2 = g.reshape(-1, g.shape[-1])
        s1, s2 = ctx.shapes
        g1 = xp.einsum("nk,kij,nj->ni", g2, weight, b, optimize=True).reshape(s1) if need_1 else None
        gx2 = xp.einsum("nk,kij,ni->nj", g2, weight, a, optimize=True).reshape(s2) if need_2 else None
        gw = xp.einsum("nk,ni,nj->kij", g2, a, b, optimize=True) if need_w else None
        gb = g2.sum(axis=0) if need_b else None
        return g1, gx2, gw, gb


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """bilinear(input1, input2, weight, bias=None): y_k = x1^T W_k x2 + b_k (see :class:`Bilinear`).

    Shape: input1 (*, in1), input2 (*, in2) with the same leading dims,
    weight (out, in1, in2), bias (out,) -> output (*, out).
    """
    for name, t in (("input1", input1), ("input2", input2), ("weight", weight)):
        if not isinstance(t, Tensor):
            raise TypeError(f"bilinear: expected {name} to be a neuronet.Tensor, received {type(t).__name__}")
    if weight.ndim != 3:
        raise RuntimeError(f"bilinear(): weight must be 3-D (out, in1, in2), received shape {tuple(weight.shape)}")
    if input1.ndim == 0 or tuple(input1.shape[:-1]) != tuple(input2.shape[:-1]):
        raise RuntimeError(f"bilinear(): input batch dimensions must match, received {tuple(input1.shape)} and "
                           f"{tuple(input2.shape)}")
    if input1.shape[-1] != weight.shape[1] or input2.shape[-1] != weight.shape[2]:
        raise RuntimeError(f"bilinear(): input sizes {input1.shape[-1]}, {input2.shape[-1]} do not match the "
                           f"weight's (in1, in2) = {tuple(weight.shape[1:])}")
    if bias is not None and tuple(bias.shape) != (weight.shape[0],):
        raise RuntimeError(f"bilinear(): bias must have shape ({weight.shape[0]},), received {tuple(bias.shape)}")
    return Bilinear.apply(input1, input2, weight, bias)
