"""The export table: one function per neuronet op, writing its ONNX nodes.

Each mapping is called as ``handler(g, args, kwargs, out, aux)`` with the
arguments the op's ``Function.apply`` received (Tensors and constants), its
output tensor and auxiliary outputs, and returns the ONNX name of the output
(or a list: output, aux...). ``g`` is the :class:`~neuronet.onnx.export.GraphBuilder`.
A call that has no ONNX form raises :class:`~neuronet.onnx.export.Unsupported`
with the reason.

Where ONNX has no operator of the same meaning the mapping composes exact
ones: adaptive average pooling and interpolation are contractions with the
per-axis matrices neuronet itself uses (``MatMul``); ceil-mode pooling is
explicit end padding; an average pool's border divisor is a constant factor.
"""
from __future__ import annotations

import importlib

import numpy as np

from ..tensor import Tensor
from .export import Unsupported, _to_numpy


def _module(name):
    # ``neuronet.nn.functional`` re-exports functions named like some of its
    # submodules (``linear``, ``dropout``): fetch the modules themselves.
    return importlib.import_module(f"neuronet.{name}")


A = _module("nn.functional.activation")
C = _module("nn.functional.convolution")
D = _module("nn.functional.dropout")
L = _module("nn.functional.linear")
N = _module("nn.functional.normalization")
P = _module("nn.functional.padding")
PO = _module("nn.functional.pooling")
S = _module("nn.functional.sparse")
U = _module("nn.functional.upsampling")
E = _module("ops.elementwise")
M = _module("ops.math")
R = _module("ops.reduction")
SH = _module("ops.shape")

INT64_MAX = np.iinfo(np.int64).max

HANDLERS = {}


def handles(*fns):
    def deco(f):
        for fn in fns:
            HANDLERS[fn] = f
        return f
    return deco


def handler_for(fn):
    h = HANDLERS.get(fn)
    if h is None and issubclass(fn, M._Unary):
        return _UNARY_TABLE.get(fn.__name__)
    return h


def _pair(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


# ----------------------------------------------------------------------------- convolution


@handles(C.Conv2d)
def conv2d(g, args, kw, out, aux):
    x, w, b, stride, pads, dilation, groups, unbatched = args
    xn = g.name(x)
    if unbatched:
        xn = g.op("Unsqueeze", [xn, g.ints([0])])
    t, bt, l, r = pads
    inputs = [xn, g.name(w)] + ([g.name(b)] if b is not None else [])
    y = g.op("Conv", inputs, kernel_shape=list(w.shape[2:]), strides=list(stride), pads=[t, l, bt, r],
             dilations=list(dilation), group=int(groups))
    if unbatched:
        y = g.op("Squeeze", [y, g.ints([0])])
    return y


@handles(C.ConvTranspose2d)
def conv_transpose2d(g, args, kw, out, aux):
    x, w, b, stride, padding, output_padding, groups, dilation, unbatched = args
    xn = g.name(x)
    if unbatched:
        xn = g.op("Unsqueeze", [xn, g.ints([0])])
    p = _pair(padding)
    inputs = [xn, g.name(w)] + ([g.name(b)] if b is not None else [])
    y = g.op("ConvTranspose", inputs, kernel_shape=list(w.shape[2:]), strides=list(_pair(stride)),
             pads=[p[0], p[1], p[0], p[1]], output_padding=list(_pair(output_padding)),
             dilations=list(_pair(dilation)), group=int(groups))
    if unbatched:
        y = g.op("Squeeze", [y, g.ints([0])])
    return y


@handles(L.Linear)
def linear(g, args, kw, out, aux):
    x, w, b = args
    if x.ndim == 2:
        return g.op("Gemm", [g.name(x), g.name(w)] + ([g.name(b)] if b is not None else []), transB=1)
    y = g.op("MatMul", [g.name(x), g.op("Transpose", [g.name(w)], perm=[1, 0])])
    return g.op("Add", [y, g.name(b)]) if b is not None else y


# ----------------------------------------------------------------------------- pooling


def _end_pads(shape, k, s, p, d, out_hw):
    """Extra padding at the end of each spatial axis so that the floor-mode
    size formula gives ``out_hw`` (how neuronet's ceil mode is written)."""
    extra = []
    for L_in, kk, ss, pp, dd, o in zip(shape[-2:], k, s, p, d, out_hw):
        need = (o - 1) * ss + dd * (kk - 1) + 1 - (L_in + 2 * pp)
        extra.append(max(0, need))
    return extra


def _plane_indices(g, x_name, global_idx):
    """ONNX MaxPool indices count over the whole (N, C, H, W) tensor; PyTorch's
    count within each (H, W) plane. Subtract each plane's offset, read from
    the indices of a 1x1 max pooling of the input itself."""
    _, all_idx = g.op("MaxPool", [x_name], outputs=2, kernel_shape=[1, 1])
    offsets = g.op("Slice", [all_idx, g.ints([0, 0]), g.ints([1, 1]), g.ints([2, 3])])
    return g.op("Sub", [global_idx, offsets])


@handles(PO._MaxPool2d)
def max_pool2d(g, args, kw, out, aux):
    x, k, s, p, d, out_hw, return_indices = args
    if x.ndim != 4:
        raise Unsupported(f"max pooling of a {x.ndim}D array")
    e = _end_pads(x.shape, k, s, p, d, out_hw)
    attrs = dict(kernel_shape=list(k), strides=list(s), pads=[p[0], p[1], p[0] + e[0], p[1] + e[1]],
                 dilations=list(d))
    xn = g.name(x)
    if not return_indices:
        return g.op("MaxPool", [xn], **attrs)
    y, idx = g.op("MaxPool", [xn], outputs=2, **attrs)
    plane = _plane_indices(g, xn, idx)
    g.global_indices[plane] = idx
    return [y, plane]


@handles(PO._AvgPool2d)
def avg_pool2d(g, args, kw, out, aux):
    x, k, s, p, out_hw, div = args
    if x.ndim != 4:
        raise Unsupported(f"average pooling of a {x.ndim}D array")
    e = _end_pads(x.shape, k, s, p, (1, 1), out_hw)
    xn = g.name(x)
    if any(p) or any(e):
        xn = g.op("Pad", [xn, g.ints([0, 0, p[0], p[1], 0, 0, p[0] + e[0], p[1] + e[1]])], mode="constant")
    # zeros stand in for the padding, so the mean is over k0*k1 values: sum / (k0 k1)
    y = g.op("AveragePool", [xn], kernel_shape=list(k), strides=list(s))
    area = float(k[0] * k[1])
    factor = area / np.asarray(div, dtype=np.float64)
    if np.all(factor == 1.0):
        return y
    return g.op("Mul", [y, g.const(factor.astype(x.dtype))])


def _adaptive_matrix(L_in, L_out, dtype):
    """Row i averages input [floor(i L_in / L_out), ceil((i + 1) L_in / L_out))."""
    m = np.zeros((L_out, L_in), dtype=np.float64)
    for i in range(L_out):
        a = (i * L_in) // L_out
        b = -((-(i + 1) * L_in) // L_out)
        m[i, a:b] = 1.0 / (b - a)
    return m.astype(dtype)


def _contract_spatial(g, xn, ndim, matrices, dtype):
    """y = x contracted along each spatial axis 2+k with matrices[k] (L_out, L_in)."""
    y = xn
    for k, m in enumerate(matrices):
        axis = 2 + k
        if axis == ndim - 1:
            y = g.op("MatMul", [y, g.const(np.ascontiguousarray(np.asarray(m).T).astype(dtype))])
        elif axis == ndim - 2:
            y = g.op("MatMul", [g.const(np.asarray(m).astype(dtype)), y])
        else:
            perm = list(range(ndim))
            perm[axis], perm[ndim - 1] = perm[ndim - 1], perm[axis]
            y = g.op("Transpose", [y], perm=perm)
            y = g.op("MatMul", [y, g.const(np.ascontiguousarray(np.asarray(m).T).astype(dtype))])
            y = g.op("Transpose", [y], perm=perm)
    return y


@handles(PO._AdaptiveAvgPool2d)
def adaptive_avg_pool2d(g, args, kw, out, aux):
    x, out_hw = args
    H, W = x.shape[-2:]
    oh, ow = out_hw
    xn = g.name(x)
    if (oh, ow) == (1, 1) and x.ndim == 4:
        return g.op("GlobalAveragePool", [xn])
    if H % oh == 0 and W % ow == 0 and x.ndim == 4:
        k = [H // oh, W // ow]
        return g.op("AveragePool", [xn], kernel_shape=k, strides=k)
    mats = [_adaptive_matrix(H, oh, x.dtype), _adaptive_matrix(W, ow, x.dtype)]
    return _contract_spatial(g, xn, x.ndim, mats, x.dtype)


@handles(PO._AdaptiveMaxPool2d)
def adaptive_max_pool2d(g, args, kw, out, aux):
    x, out_hw = args
    if aux:
        raise Unsupported("adaptive max pooling with return_indices=True")
    H, W = x.shape[-2:]
    oh, ow = out_hw
    xn = g.name(x)
    if x.ndim == 4 and (oh, ow) == (1, 1):
        return g.op("GlobalMaxPool", [xn])
    if x.ndim == 4 and H % oh == 0 and W % ow == 0:
        k = [H // oh, W // ow]
        return g.op("MaxPool", [xn], kernel_shape=k, strides=k)
    raise Unsupported(f"adaptive max pooling from {H}x{W} to {oh}x{ow} (only sizes that divide evenly)")


@handles(PO._MaxUnpool2d)
def max_unpool2d(g, args, kw, out, aux):
    x, indices, out_hw = args
    idx = g.global_indices.get(g.name(indices))
    if idx is None:
        raise Unsupported("max unpooling with indices that do not come from a traced max pooling")
    H, W = x.shape[-2:]
    oh, ow = out_hw
    k = [max(1, -(-oh // H)), max(1, -(-ow // W))]
    inputs = [g.name(x), idx]
    if [(H - 1) * k[0] + k[0], (W - 1) * k[1] + k[1]] != [oh, ow]:
        size = g.op("Concat", [g.shape_of(g.name(x), 0, 2), g.ints([oh, ow])], axis=0)
        inputs.append(size)
    return g.op("MaxUnpool", inputs, kernel_shape=k, strides=k)


# ----------------------------------------------------------------------------- normalization


def _affine(g, w, b, C, dtype):
    scale = g.name(w) if w is not None else g.const(np.ones(C, dtype))
    bias = g.name(b) if b is not None else g.const(np.zeros(C, dtype))
    return scale, bias


def _batch_stats_norm(g, x, w, b, eps):
    """(x - mean) / sqrt(var + eps) * w + b with the batch's own statistics."""
    xn = g.name(x)
    axes = [0] + list(range(2, x.ndim))
    mean = _reduce(g, "ReduceMean", xn, axes, True)
    centred = g.op("Sub", [xn, mean])
    var = _reduce(g, "ReduceMean", g.op("Mul", [centred, centred]), axes, True)
    y = g.op("Div", [centred, g.op("Sqrt", [g.op("Add", [var, g.scalar(eps, x.dtype)])])])
    shape = [-1] + [1] * (x.ndim - 2)
    if w is not None:
        y = g.op("Mul", [y, g.op("Reshape", [g.name(w), g.ints(shape)])])
    if b is not None:
        y = g.op("Add", [y, g.op("Reshape", [g.name(b), g.ints(shape)])])
    return y


def _batch_norm(g, x, w, b, rm, rv, training, eps):
    if training or rm is None or rv is None:
        return _batch_stats_norm(g, x, w, b, eps)
    scale, bias = _affine(g, w, b, x.shape[1], x.dtype)
    return g.op("BatchNormalization", [g.name(x), scale, bias, g.name(rm), g.name(rv)], epsilon=float(eps))


@handles(N.BatchNorm)
def batch_norm(g, args, kw, out, aux):
    x, w, b, rm, rv, training, momentum, eps = args
    return _batch_norm(g, x, w, b, rm, rv, training, eps)


@handles(N.LayerNorm)
def layer_norm(g, args, kw, out, aux):
    x, w, b, n_norm, eps = args
    shape = x.shape[x.ndim - n_norm:]
    scale = g.name(w) if w is not None else g.const(np.ones(shape, x.dtype))
    inputs = [g.name(x), scale] + ([g.name(b)] if b is not None else [])
    return g.op("LayerNormalization", inputs, axis=-int(n_norm), epsilon=float(eps))


@handles(N.GroupNorm)
def group_norm(g, args, kw, out, aux):
    x, w, b, groups, eps = args
    xn = g.name(x)
    grouped = g.op("Reshape", [xn, g.ints([0, groups, -1])])
    mean = _reduce(g, "ReduceMean", grouped, [2], True)
    centred = g.op("Sub", [grouped, mean])
    var = _reduce(g, "ReduceMean", g.op("Mul", [centred, centred]), [2], True)
    y = g.op("Div", [centred, g.op("Sqrt", [g.op("Add", [var, g.scalar(eps, x.dtype)])])])
    y = g.op("Reshape", [y, g.shape_of(xn)])
    shape = [-1] + [1] * (x.ndim - 2)
    if w is not None:
        y = g.op("Mul", [y, g.op("Reshape", [g.name(w), g.ints(shape)])])
    if b is not None:
        y = g.op("Add", [y, g.op("Reshape", [g.name(b), g.ints(shape)])])
    return y


@handles(N.LocalResponseNorm)
def local_response_norm(g, args, kw, out, aux):
    x, size, alpha, beta, k = args
    xn = g.name(x)
    if size % 2 == 1:
        return g.op("LRN", [xn], size=int(size), alpha=float(alpha), beta=float(beta), bias=float(k))
    # even sizes: PyTorch pads size//2 channels before and (size-1)//2 after, ONNX the other way round
    sq = g.op("Unsqueeze", [g.op("Mul", [xn, xn]), g.ints([1])])            # (N, 1, C, ...)
    pads = [0] * (x.ndim + 1) * 2
    pads[2] = size // 2
    pads[x.ndim + 1 + 2] = (size - 1) // 2
    sq = g.op("Pad", [sq, g.ints(pads)], mode="constant")
    kernel = [size] + [1] * (x.ndim - 2)
    avg = g.op("Squeeze", [g.op("AveragePool", [sq], kernel_shape=kernel), g.ints([1])])
    den = g.op("Pow", [g.op("Add", [g.op("Mul", [avg, g.scalar(alpha, x.dtype)]), g.scalar(k, x.dtype)]),
                       g.scalar(beta, x.dtype)])
    return g.op("Div", [xn, den])


# ----------------------------------------------------------------------------- activations


def _simple(op_type, **attrs):
    def h(g, args, kw, out, aux):
        return g.op(op_type, [g.name(args[0])], **attrs)
    return h


HANDLERS[A.ReLU] = _simple("Relu")
HANDLERS[E.Tanh] = _simple("Tanh")
HANDLERS[E.Sigmoid] = _simple("Sigmoid")
HANDLERS[E.Exp] = _simple("Exp")
HANDLERS[E.Log] = _simple("Log")
HANDLERS[E.Sqrt] = _simple("Sqrt")
HANDLERS[E.Abs] = _simple("Abs")
HANDLERS[E.Neg] = _simple("Neg")
HANDLERS[A.Softsign] = _simple("Softsign")
HANDLERS[A.Hardswish] = _simple("HardSwish")
HANDLERS[A.Hardsigmoid] = _simple("HardSigmoid", alpha=1.0 / 6.0, beta=0.5)


@handles(A.Hardtanh)
def hardtanh(g, args, kw, out, aux):
    x, lo, hi = args
    return g.op("Clip", [g.name(x), g.scalar(lo, x.dtype), g.scalar(hi, x.dtype)])


@handles(A.LeakyReLU)
def leaky_relu(g, args, kw, out, aux):
    x, slope = args
    return g.op("LeakyRelu", [g.name(x)], alpha=float(slope))


@handles(A.ELU)
def elu(g, args, kw, out, aux):
    x, alpha, *rest = args
    scale, input_scale = (list(rest) + [1.0, 1.0])[:2]
    xn = g.name(x)
    if scale == 1.0 and input_scale == 1.0:
        return g.op("Elu", [xn], alpha=float(alpha))
    if input_scale == 1.0:
        return g.op("Selu", [xn], alpha=float(alpha), gamma=float(scale))
    if scale == 1.0 and abs(input_scale * alpha - 1.0) < 1e-12:
        return g.op("Celu", [xn], alpha=float(alpha))
    raise Unsupported(f"ELU with scale={scale}, input_scale={input_scale}")


@handles(A.Threshold)
def threshold(g, args, kw, out, aux):
    x, th, value = args
    xn = g.name(x)
    return g.op("Where", [g.op("Greater", [xn, g.scalar(th, x.dtype)]), xn, g.scalar(value, x.dtype)])


@handles(A.GELU)
def gelu(g, args, kw, out, aux):
    x, approximate = args
    xn = g.name(x)
    dt = x.dtype
    half = g.op("Mul", [xn, g.scalar(0.5, dt)])
    if approximate == "tanh":
        cube = g.op("Mul", [g.op("Mul", [xn, xn]), xn])
        inner = g.op("Add", [xn, g.op("Mul", [cube, g.scalar(0.044715, dt)])])
        t = g.op("Tanh", [g.op("Mul", [inner, g.scalar(np.sqrt(2.0 / np.pi), dt)])])
    else:
        t = g.op("Erf", [g.op("Mul", [xn, g.scalar(1.0 / np.sqrt(2.0), dt)])])
    return g.op("Mul", [half, g.op("Add", [t, g.scalar(1.0, dt)])])


@handles(A.Softplus)
def softplus(g, args, kw, out, aux):
    x, beta, th = args
    xn = g.name(x)
    bx = g.op("Mul", [xn, g.scalar(beta, x.dtype)]) if beta != 1 else xn
    sp = g.op("Softplus", [bx])
    if beta != 1:
        sp = g.op("Div", [sp, g.scalar(beta, x.dtype)])
    return g.op("Where", [g.op("Greater", [bx, g.scalar(th, x.dtype)]), xn, sp])


@handles(A.SiLU)
def silu(g, args, kw, out, aux):
    xn = g.name(args[0])
    return g.op("Mul", [xn, g.op("Sigmoid", [xn])])


@handles(A.LogSigmoid)
def log_sigmoid(g, args, kw, out, aux):
    return g.op("Neg", [g.op("Softplus", [g.op("Neg", [g.name(args[0])])])])


@handles(A.Mish)
def mish(g, args, kw, out, aux):
    xn = g.name(args[0])
    return g.op("Mul", [xn, g.op("Tanh", [g.op("Softplus", [xn])])])


@handles(A.Tanhshrink)
def tanhshrink(g, args, kw, out, aux):
    xn = g.name(args[0])
    return g.op("Sub", [xn, g.op("Tanh", [xn])])


@handles(A.Shrink)
def shrink(g, args, kw, out, aux):
    x, lambd, soft = args
    return g.op("Shrink", [g.name(x)], lambd=float(lambd), bias=float(lambd) if soft else 0.0)


@handles(A.PReLU)
def prelu(g, args, kw, out, aux):
    x, w = args
    slope = g.name(w)
    if x.ndim > 2 and w.array.size > 1:
        slope = g.op("Reshape", [slope, g.ints([-1] + [1] * (x.ndim - 2))])
    return g.op("PRelu", [g.name(x), slope])


@handles(A.RReLU)
def rrelu(g, args, kw, out, aux):
    x, lower, upper, training = args
    if training:
        raise Unsupported("RReLU in training mode (random slopes)")
    return g.op("LeakyRelu", [g.name(x)], alpha=float((lower + upper) / 2))


@handles(A.GLU)
def glu(g, args, kw, out, aux):
    x, dim = args
    xn = g.name(x)
    dim = dim % x.ndim
    half = x.shape[dim] // 2
    a = g.op("Slice", [xn, g.ints([0]), g.ints([half]), g.ints([dim])])
    b = g.op("Slice", [xn, g.ints([half]), g.ints([INT64_MAX]), g.ints([dim])])
    return g.op("Mul", [a, g.op("Sigmoid", [b])])


@handles(A.Softmax)
def softmax(g, args, kw, out, aux):
    x, dim = args
    return g.op("Softmax", [g.name(x)], axis=int(dim))


@handles(A.LogSoftmax)
def log_softmax(g, args, kw, out, aux):
    x, dim = args
    return g.op("LogSoftmax", [g.name(x)], axis=int(dim))


@handles(D.Dropout)
def dropout(g, args, kw, out, aux):
    raise Unsupported("dropout called with training=True inside an eval-mode export "
                      "(F.dropout(x, training=True)); pass training=self.training")


# ----------------------------------------------------------------------------- elementwise


def _binary(op_type):
    def h(g, args, kw, out, aux):
        a, b = args
        dt = out.array.dtype
        return g.op(op_type, [g.operand(a, dt), g.operand(b, dt)])
    return h


HANDLERS[E.Add] = _binary("Add")
HANDLERS[E.Sub] = _binary("Sub")
HANDLERS[E.Mul] = _binary("Mul")
HANDLERS[E.Div] = _binary("Div")
HANDLERS[E.Pow] = _binary("Pow")
HANDLERS[M.PowFn] = _binary("Pow")


@handles(E.MatMul)
def matmul(g, args, kw, out, aux):
    a, b = args
    return g.op("MatMul", [g.name(a), g.name(b)])


@handles(E.Clamp)
def clamp(g, args, kw, out, aux):
    x, lo, hi = args
    dt = out.array.dtype
    y = g.operand(x, dt)
    if isinstance(lo, Tensor) or isinstance(hi, Tensor):
        if lo is not None:
            y = g.op("Max", [y, g.operand(lo, dt)])
        if hi is not None:
            y = g.op("Min", [y, g.operand(hi, dt)])
        return y
    return g.op("Clip", [y, g.scalar(lo, dt) if lo is not None else "", g.scalar(hi, dt) if hi is not None else ""])


@handles(E.Where)
def where(g, args, kw, out, aux):
    cond, a, b = args
    dt = out.array.dtype
    c = g.operand(cond, np.dtype(bool))
    return g.op("Where", [c, g.operand(a, dt), g.operand(b, dt)])


@handles(E.Extremum)
def extremum(g, args, kw, out, aux):
    a, b, take_max = args
    dt = out.array.dtype
    return g.op("Max" if take_max else "Min", [g.operand(a, dt), g.operand(b, dt)])


def _unary_chain(*steps):
    """A table entry for neuronet's math ops (``ops.math``): a composition of ONNX ops."""
    def h(g, args, kw, out, aux):
        x = args[0]
        dt = out.array.dtype
        y = g.operand(x, dt)
        for step in steps:
            if isinstance(step, str):
                y = g.op(step, [y])
            else:
                y = step(g, y, dt)
        return y
    return h


def _scale(c):
    return lambda g, y, dt: g.op("Mul", [y, g.scalar(c, dt)])


def _shift(c):
    return lambda g, y, dt: g.op("Add", [y, g.scalar(c, dt)])


_UNARY_TABLE = {name.capitalize(): _unary_chain(name.capitalize()) for name in
                ("sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "asinh", "acosh", "atanh",
                 "erf", "sign", "floor", "ceil", "reciprocal")}
_UNARY_TABLE.update({
    "Square": _unary_chain(lambda g, y, dt: g.op("Mul", [y, y])),
    "Rsqrt": _unary_chain("Sqrt", "Reciprocal"),
    "Log2": _unary_chain("Log", _scale(1.0 / np.log(2.0))),
    "Log10": _unary_chain("Log", _scale(1.0 / np.log(10.0))),
    "Log1p": _unary_chain(_shift(1.0), "Log"),
    "Expm1": _unary_chain("Exp", _shift(-1.0)),
    "Exp2": _unary_chain(_scale(np.log(2.0)), "Exp"),
    "Erfc": _unary_chain("Erf", _scale(-1.0), _shift(1.0)),
})


# ----------------------------------------------------------------------------- reductions


def _reduce(g, op_type, xn, axes, keepdims):
    if axes is None:
        return g.op(op_type, [xn], keepdims=int(keepdims))
    axes = [int(a) for a in axes]
    if g.opset >= 18 or op_type == "ReduceSum":
        return g.op(op_type, [xn, g.ints(axes)], keepdims=int(keepdims))
    return g.op(op_type, [xn], axes=axes, keepdims=int(keepdims))


def _dims(dim, ndim):
    if dim is None:
        return None
    if isinstance(dim, (tuple, list)):
        return [d % ndim for d in dim] if dim else None
    return [dim % ndim]


@handles(R.Sum)
def reduce_sum(g, args, kw, out, aux):
    x, dim, keepdim = args
    return _reduce(g, "ReduceSum", g.operand(x, out.array.dtype), _dims(dim, x.ndim), keepdim)


@handles(R.Mean)
def reduce_mean(g, args, kw, out, aux):
    x, dim, keepdim = args
    return _reduce(g, "ReduceMean", g.operand(x, out.array.dtype), _dims(dim, x.ndim), keepdim)


@handles(R.AMaxMin)
def reduce_amax(g, args, kw, out, aux):
    x, dim, keepdim, is_max = args
    return _reduce(g, "ReduceMax" if is_max else "ReduceMin", g.name(x), _dims(dim, x.ndim), keepdim)


@handles(R.MaxMin)
def reduce_max_with_indices(g, args, kw, out, aux):
    x, dim, keepdim, is_max = args
    xn = g.name(x)
    axes = _dims(dim, x.ndim)
    y = _reduce(g, "ReduceMax" if is_max else "ReduceMin", xn, axes, keepdim)
    if not aux:
        return y
    if axes is None or len(axes) != 1:
        raise Unsupported("max/min with indices over several dimensions")
    i = g.op("ArgMax" if is_max else "ArgMin", [xn], axis=axes[0], keepdims=int(keepdim),
             select_last_index=0)
    return [y, i]


@handles(R.LogSumExp)
def reduce_logsumexp(g, args, kw, out, aux):
    x, dim, keepdim = args
    return _reduce(g, "ReduceLogSumExp", g.name(x), _dims(dim, x.ndim), keepdim)


# ----------------------------------------------------------------------------- shapes


@handles(SH.Reshape)
def reshape(g, args, kw, out, aux):
    x, _ = args
    xn = g.name(x)
    target = list(out.shape)
    src = list(x.shape)
    if len(src) > 2 and len(target) == 2 and target[0] == src[0] and g.is_dynamic(x):
        return g.op("Flatten", [xn], axis=1)
    if g.dynamic and g.is_dynamic(x) and target and src:
        # the batch axis: copy it from the input (0) or let it absorb the rest (-1)
        target[0] = 0 if target[0] == src[0] else -1
    return g.op("Reshape", [xn, g.ints(target)])


@handles(SH.Permute)
def permute(g, args, kw, out, aux):
    x, dims = args
    return g.op("Transpose", [g.name(x)], perm=[int(d) % max(x.ndim, 1) for d in dims])


@handles(SH.Expand)
def expand(g, args, kw, out, aux):
    x, _ = args
    target = list(out.shape)
    src = [1] * (len(target) - x.ndim) + list(x.shape)
    if g.is_dynamic(x):
        target = [1 if s == t else t for s, t in zip(src, target)]
    return g.op("Expand", [g.name(x), g.ints(target)])


@handles(SH.Copy)
def copy(g, args, kw, out, aux):
    x, device, dtype = args
    if out.array.dtype != x.array.dtype:
        return g.cast(g.name(x), out.array.dtype)
    return g.op("Identity", [g.name(x)])


def _same_except(g, sibling, axis, size):
    """The shape of ``sibling`` with ``axis`` replaced by ``size``, computed at run time."""
    shp = g.shape_of(g.name(sibling))
    parts = []
    if axis > 0:
        parts.append(g.op("Slice", [shp, g.ints([0]), g.ints([axis])]))
    parts.append(g.ints([size]))
    if axis < sibling.ndim - 1:
        parts.append(g.op("Slice", [shp, g.ints([axis + 1]), g.ints([INT64_MAX])]))
    return g.op("Concat", parts, axis=0) if len(parts) > 1 else parts[0]


@handles(SH.Cat)
def cat(g, args, kw, out, aux):
    dim = kw.get("dim", 0)
    arrays = [a for a in args if isinstance(a, Tensor)]
    axis = dim % out.ndim
    dynamic = next((a for a in arrays if g.is_dynamic(a)), None)
    names = []
    for a in arrays:
        value = g.const_value(a)
        if g.dynamic and dynamic is not None and value is not None and value.size and \
                a.shape[0] == dynamic.shape[0] and axis != 0 and np.all(value == value.flat[0]):
            # a constant sized by the batch (zero channels, say): build it at run time
            fill = np.asarray([value.flat[0]], dtype=value.dtype)
            shape = _same_except(g, dynamic, axis, a.shape[axis])
            names.append(g.op("ConstantOfShape", [shape],
                              value=g.onnx.numpy_helper.from_array(fill)))
        else:
            names.append(g.operand(a, out.array.dtype))
    return g.op("Concat", names, axis=axis)


@handles(SH.Stack)
def stack(g, args, kw, out, aux):
    dim = kw.get("dim", 0)
    axis = dim % out.ndim
    arrays = [a for a in args if isinstance(a, Tensor)]
    parts = [g.op("Unsqueeze", [g.operand(a, out.array.dtype), g.ints([axis])]) for a in arrays]
    return g.op("Concat", parts, axis=axis)


@handles(SH.GetItem)
def getitem(g, args, kw, out, aux):
    x, index = args
    items = list(index) if isinstance(index, tuple) else [index]
    arrays = [i for i in items if isinstance(i, (np.ndarray, list, Tensor)) or
              (hasattr(i, "shape") and hasattr(i, "dtype") and not np.isscalar(i))]
    if len(arrays) > 1:
        raise Unsupported("indexing with more than one index array")
    consumed = sum(1 for i in items if i is not None and i is not Ellipsis)
    if Ellipsis in [i for i in items if not hasattr(i, "shape")]:
        k = [j for j, i in enumerate(items) if i is Ellipsis and not hasattr(i, "shape")][0]
        items = items[:k] + [slice(None)] * (x.ndim - consumed) + items[k + 1:]
    y = g.name(x)
    starts, ends, axes_, steps = [], [], [], []
    squeeze, gather, news = [], None, []
    axis = 0
    out_pos = 0
    for it in items:
        if it is None:
            news.append(out_pos)
            out_pos += 1
            continue
        n = x.shape[axis]
        if isinstance(it, slice):
            start, stop, step = it.indices(n)
            if step <= 0:
                raise Unsupported(f"slicing with step {step}")
            if (start, stop, step) != (0, n, 1):
                starts.append(start)
                ends.append(INT64_MAX if stop >= n else stop)
                axes_.append(axis)
                steps.append(step)
            out_pos += 1
        elif isinstance(it, (bool, np.bool_)):
            raise Unsupported("indexing with a boolean scalar")
        elif isinstance(it, (int, np.integer)):
            i = int(it) % n
            starts.append(i)
            ends.append(i + 1)
            axes_.append(axis)
            steps.append(1)
            squeeze.append(axis)
        else:
            arr = it.array if isinstance(it, Tensor) else it
            if not hasattr(arr, "dtype"):
                arr = np.asarray(arr)           # a list of ints
            if arr.dtype.kind == "b":
                raise Unsupported("indexing with a boolean mask")
            gather = (axis, it, out_pos)
            out_pos += np.ndim(arr)
        axis += 1
    if starts:
        y = g.op("Slice", [y, g.ints(starts), g.ints(ends), g.ints(axes_), g.ints(steps)])
    if gather is not None:
        ax, it, _ = gather
        if isinstance(it, Tensor):
            idx = g.name(it)
            if it.array.dtype != np.int64:
                idx = g.cast(idx, np.int64)
        else:
            idx = g.const(np.asarray(_to_numpy(it) if hasattr(it, "dtype") else it, dtype=np.int64), "index")
        y = g.op("Gather", [y, idx], axis=ax)
        shift = np.ndim(it.array if isinstance(it, Tensor) else it) - 1
        squeeze = [s + shift if s > ax else s for s in squeeze]
    if squeeze:
        y = g.op("Squeeze", [y, g.ints(squeeze)])
    if news:
        y = g.op("Unsqueeze", [y, g.ints(news)])
    return y


# ----------------------------------------------------------------------------- other layers


@handles(P.Pad)
def pad(g, args, kw, out, aux):
    x, pairs, mode, value = args
    n = x.ndim
    pads = [0] * (2 * n)
    for axis, (b, a) in pairs.items():
        pads[axis % n] = int(b)
        pads[n + axis % n] = int(a)
    modes = {"constant": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}
    if mode not in modes or (mode == "circular" and g.opset < 19):
        raise Unsupported(f"padding mode {mode!r}" + (" (needs opset_version >= 19)" if mode == "circular" else ""))
    inputs = [g.name(x), g.ints(pads)]
    if mode == "constant" and value:
        inputs.append(g.scalar(value, x.dtype))
    return g.op("Pad", inputs, mode=modes[mode])


@handles(U.Resample)
def resample(g, args, kw, out, aux):
    x, matrices = args
    mats = [_to_numpy(m) for m in matrices]
    return _contract_spatial(g, g.name(x), x.ndim, mats, x.dtype)


@handles(S.Embedding)
def embedding(g, args, kw, out, aux):
    idx, weight, padding_idx, scale = args
    i = g.name(idx)
    if getattr(idx, "array", idx).dtype != np.int64:
        i = g.cast(i, np.int64)
    return g.op("Gather", [g.name(weight), i], axis=0)
