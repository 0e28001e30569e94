"""ONNX operators as neuronet ops: the table :func:`neuronet.onnx.load` runs.

Every handler has the signature ``op(m, node, ins, at)``: ``m`` the
:class:`OnnxModule` (its ``training`` flag and opset), ``node`` the node,
``ins`` the input values (``None`` for an omitted optional input), ``at`` the
decoded attributes. A value is either a neuronet ``Tensor`` (data: gradients
flow through it) or a host NumPy array (shape arithmetic and constants:
``Shape -> Gather -> Unsqueeze -> Concat -> Reshape`` runs in NumPy at every
call, so dynamic sizes stay dynamic). An op whose inputs are all host arrays
computes on the host; otherwise constants are lifted to tensors on the data's
device.

Semantics follow the ONNX operator specification (onnx.ai/onnx/operators);
where PyTorch and ONNX differ (pooling indices are flat over the whole tensor
in ONNX, per plane in PyTorch; LRN's window for even sizes), the conversion is
written here.
"""
import math

import numpy as np

import neuronet as nt
from .. import backend
from ..nn import functional as F
from ..tensor import Tensor

INT64_MAX = np.iinfo(np.int64).max

# ONNX TensorProto data types -> (NumPy dtype, neuronet dtype name)
_DTYPES = {1: ("float32", "float32"), 2: ("uint8", "uint8"), 3: ("int8", "int8"), 5: ("int16", "int16"),
           6: ("int32", "int32"), 7: ("int64", "int64"), 9: ("bool", "bool"), 10: ("float16", "float16"),
           11: ("float64", "float64"), 16: ("float32", "float32")}


# ---------------------------------------------------------------------------
# values: tensors and host arrays
# ---------------------------------------------------------------------------

def is_host(v):
    return not isinstance(v, Tensor)


def as_tensor(v, like):
    """A Tensor for ``v``; host arrays are wrapped (no gradient) on ``like``'s device."""
    if isinstance(v, Tensor):
        return v
    t = Tensor._wrap(np.array(v, copy=True))
    if like is not None and str(like.device) != str(t.device):
        t = t.to(like.device)
    return t


def host(v):
    """A host NumPy array for ``v`` (shape data, indices, attributes)."""
    if isinstance(v, Tensor):
        return backend.to_numpy(v.detach().array)
    return np.asarray(v)


def _ints(v):
    return [int(i) for i in host(v).reshape(-1)]


def _first_tensor(vals):
    for v in vals:
        if isinstance(v, Tensor):
            return v
    return None


def _lift(vals):
    like = _first_tensor(vals)
    return [None if v is None else as_tensor(v, like) for v in vals]


def _axis(a, ndim):
    return a + ndim if a < 0 else a


# ---------------------------------------------------------------------------
# running a graph
# ---------------------------------------------------------------------------

def run_graph(m, nodes, env):
    """Evaluate ``nodes`` in order, reading and writing ``env`` (name -> value)."""
    for node in nodes:
        ins = [env[i] if i else None for i in node.inputs]
        try:
            if node.op == "If":
                out = _if(m, node, ins, node.attrs, env)
            else:
                out = OPS[node.op](m, node, ins, node.attrs)
        except NotImplementedError as e:
            raise NotImplementedError(f"{m._label()}: {node!r}: {e}") from None
        except Exception as e:
            raise RuntimeError(f"{m._label()}: {node!r} failed: {type(e).__name__}: {e}") from e
        if not isinstance(out, (list, tuple)):
            out = (out,)
        for name, v in zip(node.outputs, out):
            if name:
                env[name] = v


def _if(m, n, ins, at, env):
    cond = bool(host(ins[0]).reshape(-1)[0])
    branch = at["then_branch"] if cond else at["else_branch"]
    sub = dict(env)
    sub.update({k: v.copy() for k, v in branch.constants.items()})
    run_graph(m, branch.nodes, sub)
    return [sub[o] for o in branch.outputs]


# ---------------------------------------------------------------------------
# element-wise
# ---------------------------------------------------------------------------

def _np_div(a, b):
    if a.dtype.kind in "iu" and b.dtype.kind in "iu":
        return np.trunc(a / b).astype(a.dtype)     # ONNX integer Div truncates
    return a / b


def _binary(np_fn, t_fn):
    def op(m, n, ins, at):
        a, b = ins
        if is_host(a) and is_host(b):
            return np.asarray(np_fn(np.asarray(a), np.asarray(b)))
        a, b = _lift([a, b])
        return t_fn(a, b)
    return op


def _unary(np_fn, t_fn):
    def op(m, n, ins, at):
        x = ins[0]
        return np.asarray(np_fn(x)) if is_host(x) else t_fn(x)
    return op


def _variadic(np_fn, t_fn):
    def op(m, n, ins, at):
        vals = [v for v in ins if v is not None]
        if all(is_host(v) for v in vals):
            out = np.asarray(vals[0])
            for v in vals[1:]:
                out = np_fn(out, np.asarray(v))
            return out
        vals = _lift(vals)
        out = vals[0]
        for v in vals[1:]:
            out = t_fn(out, v)
        return out
    return op


def _mean(m, n, ins, at):
    vals = [v for v in ins if v is not None]
    total = _variadic(np.add, lambda a, b: a + b)(m, n, vals, at)
    return total / len(vals)


def _pow(m, n, ins, at):
    x, y = ins
    if is_host(x) and is_host(y):
        return np.power(np.asarray(x), np.asarray(y)).astype(np.asarray(x).dtype)
    if is_host(y) and np.asarray(y).size == 1:
        return as_tensor(x, None) ** float(np.asarray(y).reshape(-1)[0])
    x, y = _lift([x, y])
    return x ** y


def _where(m, n, ins, at):
    c, x, y = ins
    if all(is_host(v) for v in ins):
        return np.where(c, x, y)
    c, x, y = _lift([c, x, y])
    return nt.where(c, x, y)


def _clip(m, n, ins, at):
    x = ins[0]
    lo = ins[1] if len(ins) > 1 else None
    hi = ins[2] if len(ins) > 2 else None
    lo = at.get("min") if lo is None and "min" in at else lo
    hi = at.get("max") if hi is None and "max" in at else hi
    lo = None if lo is None else float(host(lo).reshape(-1)[0])
    hi = None if hi is None else float(host(hi).reshape(-1)[0])
    if is_host(x):
        return np.clip(x, lo, hi)
    return x.clamp(min=lo, max=hi)


def _relu(m, n, ins, at):
    x = ins[0]
    return np.maximum(x, 0) if is_host(x) else F.relu(x)


def _prelu(m, n, ins, at):
    x, slope = _lift(ins[:2])
    return x.clamp(min=0) + slope * x.clamp(max=0)


def _softmax(kind):
    fn = F.softmax if kind == "softmax" else F.log_softmax

    def op(m, n, ins, at):
        x = as_tensor(ins[0], None)
        if m.opset_version >= 13:
            return fn(x, dim=at.get("axis", -1))
        # before opset 13 the input is coerced to 2-D at `axis` (default 1)
        axis = _axis(at.get("axis", 1), x.ndim)
        if axis == x.ndim - 1:
            return fn(x, dim=-1)
        shape = x.shape
        rows = int(np.prod(shape[:axis], dtype=np.int64))
        return fn(x.reshape(rows, -1), dim=1).reshape(*shape)
    return op


def _cast(m, n, ins, at):
    to = at["to"]
    if to not in _DTYPES:
        raise NotImplementedError(f"Cast to ONNX data type {to}")
    np_name, nt_name = _DTYPES[to]
    x = ins[0]
    if is_host(x):
        return np.asarray(x).astype(np_name)
    return x.to(getattr(nt, nt_name))


# ---------------------------------------------------------------------------
# shapes and indexing
# ---------------------------------------------------------------------------

def _shape(m, n, ins, at):
    shape = list(ins[0].shape)
    start, end = at.get("start", 0), at.get("end", len(shape))
    return np.array(shape[start:end], dtype=np.int64)


def _size(m, n, ins, at):
    return np.array(int(np.prod(ins[0].shape, dtype=np.int64)), dtype=np.int64)


def _constant(m, n, ins, at):
    if "value" in at:
        return np.array(at["value"], copy=True)
    for key, dtype in (("value_float", np.float32), ("value_floats", np.float32),
                       ("value_int", np.int64), ("value_ints", np.int64)):
        if key in at:
            return np.array(at[key], dtype=dtype)
    raise NotImplementedError(f"Constant with attributes {sorted(at)} (only numeric values are supported)")


def _constant_of_shape(m, n, ins, at):
    value = at.get("value", np.zeros(1, np.float32))
    return np.full(_ints(ins[0]), value.reshape(-1)[0], dtype=value.dtype)


def _reshape(m, n, ins, at):
    x, shape = ins[0], _ints(ins[1])
    if not at.get("allowzero", 0):
        shape = [x.shape[i] if s == 0 else s for i, s in enumerate(shape)]
    return np.reshape(x, shape) if is_host(x) else x.reshape(*shape)


def _flatten(m, n, ins, at):
    x = ins[0]
    axis = _axis(at.get("axis", 1), x.ndim)
    shape = (int(np.prod(x.shape[:axis], dtype=np.int64)), int(np.prod(x.shape[axis:], dtype=np.int64)))
    return np.reshape(x, shape) if is_host(x) else x.reshape(*shape)


def _transpose(m, n, ins, at):
    x = ins[0]
    perm = at.get("perm", list(range(x.ndim))[::-1])
    return np.transpose(x, perm) if is_host(x) else x.permute(*perm)


def _axes_of(m, n, ins, at, index=1):
    if "axes" in at:
        return list(at["axes"])
    if len(ins) > index and ins[index] is not None:
        return _ints(ins[index])
    return None


def _squeeze(m, n, ins, at):
    x = ins[0]
    axes = _axes_of(m, n, ins, at)
    if axes is None:
        axes = [i for i, s in enumerate(x.shape) if s == 1]
    axes = {_axis(a, x.ndim) for a in axes}
    for a in axes:
        if x.shape[a] != 1:
            raise ValueError(f"cannot squeeze axis {a} of size {x.shape[a]} (input shape {tuple(x.shape)})")
    shape = [s for i, s in enumerate(x.shape) if i not in axes]
    return np.reshape(x, shape) if is_host(x) else x.reshape(*shape)


def _unsqueeze(m, n, ins, at):
    x = ins[0]
    axes = _axes_of(m, n, ins, at)
    rank = x.ndim + len(axes)
    axes = sorted(_axis(a, rank) for a in axes)
    shape = list(x.shape)
    for a in axes:
        shape.insert(a, 1)
    return np.reshape(x, shape) if is_host(x) else x.reshape(*shape)


def _concat(m, n, ins, at):
    vals = [v for v in ins if v is not None]
    axis = at["axis"]
    if all(is_host(v) for v in vals):
        return np.concatenate([np.asarray(v) for v in vals], axis=axis)
    return nt.cat(_lift(vals), dim=axis)


def _gather(m, n, ins, at):
    x, idx = ins
    axis = _axis(at.get("axis", 0), len(x.shape))
    idx = host(idx).astype(np.int64)
    dim = x.shape[axis]
    idx = np.where(idx < 0, idx + dim, idx)
    if is_host(x):
        return np.take(np.asarray(x), idx, axis=axis)
    key = (slice(None),) * axis + ((int(idx),) if idx.ndim == 0 else (idx,))
    return x[key]


def _slice(m, n, ins, at):
    x = ins[0]
    if "starts" in at:                         # opset < 10: attributes
        starts, ends = at["starts"], at["ends"]
        axes = at.get("axes", list(range(len(starts))))
        steps = [1] * len(starts)
    else:
        starts, ends = _ints(ins[1]), _ints(ins[2])
        axes = _ints(ins[3]) if len(ins) > 3 and ins[3] is not None else list(range(len(starts)))
        steps = _ints(ins[4]) if len(ins) > 4 and ins[4] is not None else [1] * len(starts)
    key = [slice(None)] * x.ndim
    for s, e, a, st in zip(starts, ends, axes, steps):
        a = _axis(a, x.ndim)
        dim = x.shape[a]
        s = s + dim if s < 0 else s
        e = e + dim if e < 0 else e
        if st > 0:
            s, e = min(max(s, 0), dim), min(max(e, 0), dim)
            key[a] = slice(s, e, st)
        elif st < 0:
            s, e = min(max(s, 0), dim - 1), min(max(e, -1), dim - 1)
            key[a] = slice(s, None if e == -1 else e, st)
        else:
            raise ValueError("Slice step 0")
    return np.asarray(x)[tuple(key)].copy() if is_host(x) else x[tuple(key)]


def _split(m, n, ins, at):
    x = ins[0]
    axis = _axis(at.get("axis", 0), x.ndim)
    dim = x.shape[axis]
    if "split" in at:
        sizes = list(at["split"])
    elif len(ins) > 1 and ins[1] is not None:
        sizes = _ints(ins[1])
    else:
        k = at.get("num_outputs", len(n.outputs))
        chunk = -(-dim // k)
        sizes = [min(chunk, dim - i * chunk) for i in range(k)]
    outs, start = [], 0
    for s in sizes:
        key = (slice(None),) * axis + (slice(start, start + s),)
        outs.append(np.asarray(x)[key].copy() if is_host(x) else x[key])
        start += s
    return outs


def _expand(m, n, ins, at):
    x, shape = ins[0], _ints(ins[1])
    out = tuple(int(s) for s in np.broadcast_shapes(tuple(x.shape), tuple(shape)))
    if is_host(x):
        return np.broadcast_to(x, out).copy()
    x = x.reshape(*((1,) * (len(out) - x.ndim) + tuple(x.shape)))
    return x.expand(*out)


def _tile(m, n, ins, at):
    x, reps = ins[0], _ints(ins[1])
    return np.tile(x, reps) if is_host(x) else x.repeat(*reps)


def _range(m, n, ins, at):
    start, limit, delta = (host(v).reshape(-1)[0] for v in ins)
    return np.arange(start, limit, delta, dtype=host(ins[0]).dtype)


def _identity(m, n, ins, at):
    return ins[0]


def _depth_to_space(m, n, ins, at):
    x, b = as_tensor(ins[0], None), at["blocksize"]
    N, C, H, W = x.shape
    if at.get("mode", "DCR") == "DCR":
        y = x.reshape(N, b, b, C // (b * b), H, W).permute(0, 3, 4, 1, 5, 2)
    else:
        y = x.reshape(N, C // (b * b), b, b, H, W).permute(0, 1, 4, 2, 5, 3)
    return y.reshape(N, C // (b * b), H * b, W * b)


def _space_to_depth(m, n, ins, at):
    x, b = as_tensor(ins[0], None), at["blocksize"]
    N, C, H, W = x.shape
    y = x.reshape(N, C, H // b, b, W // b, b).permute(0, 3, 5, 1, 2, 4)
    return y.reshape(N, C * b * b, H // b, W // b)


# ---------------------------------------------------------------------------
# reductions
# ---------------------------------------------------------------------------

def _reduce(kind):
    np_fn = {"mean": np.mean, "sum": np.sum, "max": np.max, "min": np.min}.get(kind)

    def op(m, n, ins, at):
        x = ins[0]
        axes = _axes_of(m, n, ins, at)
        keep = bool(at.get("keepdims", 1))
        if not axes:
            if at.get("noop_with_empty_axes", 0):
                return x
            axes = list(range(x.ndim))
        axes = tuple(sorted(_axis(a, x.ndim) for a in axes))
        if is_host(x) and np_fn is not None:
            return np.asarray(np_fn(x, axis=axes, keepdims=keep))
        x = as_tensor(x, None)
        if kind == "mean":
            return x.mean(dim=axes, keepdim=keep)
        if kind == "sum":
            return x.sum(dim=axes, keepdim=keep)
        if kind == "max":
            return x.amax(dim=axes, keepdim=keep)
        if kind == "min":
            return x.amin(dim=axes, keepdim=keep)
        if kind == "sumsquare":
            return (x * x).sum(dim=axes, keepdim=keep)
        if kind == "l2":
            return (x * x).sum(dim=axes, keepdim=keep).sqrt()
        if kind == "l1":
            return x.abs().sum(dim=axes, keepdim=keep)
        return x.logsumexp(dim=axes, keepdim=keep)      # logsumexp
    return op


def _arg(kind):
    def op(m, n, ins, at):
        if at.get("select_last_index", 0):
            raise NotImplementedError(f"Arg{kind.title()} with select_last_index=1")
        x = ins[0]
        axis, keep = at.get("axis", 0), bool(at.get("keepdims", 1))
        if is_host(x):
            fn = np.argmax if kind == "max" else np.argmin
            return np.asarray(fn(x, axis=axis, keepdims=keep)).astype(np.int64)
        return (x.argmax if kind == "max" else x.argmin)(dim=axis, keepdim=keep)
    return op


# ---------------------------------------------------------------------------
# linear algebra, convolution, normalization
# ---------------------------------------------------------------------------

def _matmul(m, n, ins, at):
    a, b = ins
    if is_host(a) and is_host(b):
        return np.matmul(a, b)
    a, b = _lift([a, b])
    return nt.matmul(a, b)


def _gemm(m, n, ins, at):
    a, b = ins[0], ins[1]
    c = ins[2] if len(ins) > 2 else None
    a, b, c = _lift([a, b, c])
    alpha, beta = at.get("alpha", 1.0), at.get("beta", 1.0)
    ta, tb = at.get("transA", 0), at.get("transB", 0)
    if not ta and tb and alpha == 1.0 and beta == 1.0 and (c is None or c.ndim == 1):
        return F.linear(a, b, c)             # the perceptron layer, y = x W^T + b
    y = nt.matmul(a.transpose(0, 1) if ta else a, b.transpose(0, 1) if tb else b)
    if alpha != 1.0:
        y = y * alpha
    if c is not None:
        y = y + (c * beta if beta != 1.0 else c)
    return y


def _pads(spatial, k, s, d, at):
    """Per spatial dim (begin, end) padding from ``pads`` or ``auto_pad``."""
    auto = at.get("auto_pad", "NOTSET")
    nsp = len(spatial)
    if auto in ("", "NOTSET"):
        p = at.get("pads", [0] * (2 * nsp))
        return [(p[i], p[i + nsp]) for i in range(nsp)]
    if auto == "VALID":
        return [(0, 0)] * nsp
    out = []
    for L, kk, ss, dd in zip(spatial, k, s, d):
        total = max((-(-L // ss) - 1) * ss + (kk - 1) * dd + 1 - L, 0)
        small, big = total // 2, total - total // 2
        out.append((small, big) if auto == "SAME_UPPER" else (big, small))
    return out


def _pad_explicit(x, pads, value=0.0):
    """F.pad with per-dim (begin, end) pairs of the trailing spatial dims."""
    flat = []
    for b, e in reversed(pads):
        flat += [b, e]
    return F.pad(x, tuple(flat), mode="constant", value=value)


def _conv(m, n, ins, at):
    x, w = ins[0], ins[1]
    b = ins[2] if len(ins) > 2 else None
    x, w, b = _lift([x, w, b])
    nsp = x.ndim - 2
    k = at.get("kernel_shape", list(w.shape[2:]))
    s = at.get("strides", [1] * nsp)
    d = at.get("dilations", [1] * nsp)
    g = at.get("group", 1)
    pads = _pads(list(x.shape[2:]), k, s, d, at)
    if any(pb != pe for pb, pe in pads):
        x = _pad_explicit(x, pads)
        pads = [(0, 0)] * nsp
    p = [pb for pb, _ in pads]
    if nsp == 2:
        return F.conv2d(x, w, b, tuple(s), tuple(p), tuple(d), g)
    if nsp == 1:
        return F.conv1d(x, w, b, s[0], p[0], d[0], g)
    raise NotImplementedError(f"Conv with {nsp} spatial dimensions (1 or 2 supported)")


def _conv_transpose(m, n, ins, at):
    x, w = ins[0], ins[1]
    b = ins[2] if len(ins) > 2 else None
    x, w, b = _lift([x, w, b])
    if x.ndim != 4:
        raise NotImplementedError(f"ConvTranspose on {x.ndim}-D input (4-D supported)")
    k = at.get("kernel_shape", list(w.shape[2:]))
    s = at.get("strides", [1, 1])
    d = at.get("dilations", [1, 1])
    g = at.get("group", 1)
    op_ = at.get("output_padding", [0, 0])
    full = [(L - 1) * ss + (kk - 1) * dd + 1 for L, ss, kk, dd in zip(x.shape[2:], s, k, d)]
    if "output_shape" in at:
        want = list(at["output_shape"])[-2:]
        pads = []
        for i in range(2):
            total = full[i] + op_[i] - want[i]
            half, rest = total // 2, total - total // 2
            pads.append((half, rest) if at.get("auto_pad", "NOTSET") == "SAME_UPPER" else (rest, half))
    elif at.get("auto_pad", "NOTSET") in ("SAME_UPPER", "SAME_LOWER"):
        pads = []
        for i in range(2):
            total = max(full[i] + op_[i] - x.shape[2 + i] * s[i], 0)
            half, rest = total // 2, total - total // 2
            pads.append((half, rest) if at["auto_pad"] == "SAME_UPPER" else (rest, half))
    else:
        pads = _pads(list(x.shape[2:]), k, s, d, {**at, "auto_pad": "NOTSET"})
    if all(pb == pe for pb, pe in pads) and all(o < max(ss, dd) for o, ss, dd in zip(op_, s, d)):
        return F.conv_transpose2d(x, w, b, tuple(s), tuple(pb for pb, _ in pads), tuple(op_), g, tuple(d))
    # asymmetric: the full transposed convolution, then crop (and extend with zeros)
    y = F.conv_transpose2d(x, w, None, tuple(s), 0, 0, g, tuple(d))
    out = [full[i] + op_[i] - pads[i][0] - pads[i][1] for i in range(2)]
    extra = [max(0, pads[i][0] + out[i] - full[i]) for i in range(2)]
    if any(extra):
        y = F.pad(y, (0, extra[1], 0, extra[0]))
    y = y[:, :, pads[0][0]:pads[0][0] + out[0], pads[1][0]:pads[1][0] + out[1]]
    return y if b is None else y + b.reshape(1, -1, 1, 1)


def _batch_norm(m, n, ins, at):
    x, scale, bias, mean, var = _lift(ins[:5])
    training = m.training or bool(at.get("training_mode", 0))
    y = F.batch_norm(x, mean, var, scale, bias, training=training,
                     momentum=1.0 - at.get("momentum", 0.9), eps=at.get("epsilon", 1e-5))
    return [y, mean.detach(), var.detach()][:max(1, len(n.outputs))]


def _instance_norm(m, n, ins, at):
    x, scale, bias = _lift(ins[:3])
    return F.instance_norm(x, weight=scale, bias=bias, eps=at.get("epsilon", 1e-5))


def _layer_norm(m, n, ins, at):
    x, scale = _lift(ins[:2])
    bias = as_tensor(ins[2], x) if len(ins) > 2 and ins[2] is not None else None
    axis = _axis(at.get("axis", -1), x.ndim)
    return F.layer_norm(x, tuple(x.shape[axis:]), scale, bias, at.get("epsilon", 1e-5))


def _lrn(m, n, ins, at):
    x = as_tensor(ins[0], None)
    size, alpha, beta, bias = at["size"], at.get("alpha", 1e-4), at.get("beta", 0.75), at.get("bias", 1.0)
    if size % 2 == 1:     # same window as PyTorch's
        return F.local_response_norm(x, size, alpha, beta, bias)
    # ONNX's window for even sizes: floor((size-1)/2) before, ceil((size-1)/2) after
    before, after = (size - 1) // 2, size - 1 - (size - 1) // 2
    sq = x * x
    C = x.shape[1]
    pad = [0, 0] * (x.ndim - 2) + [before, after]
    sqp = F.pad(sq, tuple(pad))
    total = sqp[:, 0:C]
    for j in range(1, size):
        total = total + sqp[:, j:j + C]
    return x / (total * (alpha / size) + bias) ** beta


def _dropout(m, n, ins, at):
    x = ins[0]
    ratio = at.get("ratio", 0.5)
    if len(ins) > 1 and ins[1] is not None:
        ratio = float(host(ins[1]).reshape(-1)[0])
    train = m.training
    if len(ins) > 2 and ins[2] is not None:
        train = train or bool(host(ins[2]).reshape(-1)[0])
    y = F.dropout(as_tensor(x, None), ratio, training=True) if train and ratio > 0 else x
    if len(n.outputs) > 1 and n.outputs[1]:
        mask = (y != 0) if train and ratio > 0 else nt.ones(*x.shape, dtype=nt.bool)
        return [y, mask]
    return y


# ---------------------------------------------------------------------------
# pooling
# ---------------------------------------------------------------------------

def _as_2d_pool(x, k, s, p, d):
    """Pool over 2 spatial dims: dims whose window is trivial (k=1, s=1, p=0)
    fold into the batch, a single remaining dim gets a unit partner. Returns
    the 4-D input, its window and a function restoring the output's layout."""
    nsp = x.ndim - 2
    if nsp == 2:
        return x, k, s, p, d, (lambda y: y)
    kept = [i for i in range(nsp) if (k[i], s[i], p[i], d[i]) != (1, 1, 0, 1)] or [nsp - 1]
    if len(kept) > 2:
        raise NotImplementedError(f"pooling over {len(kept)} spatial dimensions (at most 2 supported)")
    folded = [i for i in range(nsp) if i not in kept]
    perm = [0, 1] + [2 + i for i in folded] + [2 + i for i in kept]
    shape = list(x.shape)
    xp = x.permute(*perm) if perm != list(range(x.ndim)) else x
    x4 = xp.reshape(-1, 1, *[shape[2 + i] for i in kept])
    pick = (lambda v: [v[i] for i in kept])
    k2, s2, p2, d2 = pick(k), pick(s), pick(p), pick(d)
    if len(kept) == 1:
        x4 = x4.unsqueeze(2)
        k2, s2, p2, d2 = [1] + k2, [1] + s2, [0] + p2, [1] + d2
    inverse = [perm.index(i) for i in range(x.ndim)]

    def restore(y):
        out = list(y.shape[-len(kept):])
        y = y.reshape(shape[0], shape[1], *[shape[2 + i] for i in folded], *out)
        return y.permute(*inverse) if perm != list(range(x.ndim)) else y
    return x4, k2, s2, p2, d2, restore


def _pool(kind):
    def op(m, n, ins, at):
        x = as_tensor(ins[0], None)
        nsp = x.ndim - 2
        k = list(at["kernel_shape"])
        s = list(at.get("strides", [1] * nsp))
        d = list(at.get("dilations", [1] * nsp))
        ceil = bool(at.get("ceil_mode", 0))
        want_idx = len(n.outputs) > 1 and bool(n.outputs[1])
        pads = _pads(list(x.shape[2:]), k, s, d, at)
        if any(pb != pe for pb, pe in pads):
            if kind == "avg" and not at.get("count_include_pad", 0):
                raise NotImplementedError("AveragePool with unequal begin/end pads and count_include_pad=0")
            if want_idx:
                raise NotImplementedError("MaxPool with unequal begin/end pads and an Indices output")
            x = _pad_explicit(x, pads, value=-math.inf if kind == "max" else 0.0)
            pads = [(0, 0)] * nsp
        p = [pb for pb, _ in pads]
        if kind == "avg":
            if any(dd != 1 for dd in d):
                raise NotImplementedError("AveragePool with dilations")
            x4, k2, s2, p2, _, restore = _as_2d_pool(x, k, s, p, d)
            return restore(F.avg_pool2d(x4, tuple(k2), tuple(s2), tuple(p2), ceil,
                                        bool(at.get("count_include_pad", 0))))
        if not want_idx:
            x4, k2, s2, p2, d2, restore = _as_2d_pool(x, k, s, p, d)
            return restore(F.max_pool2d(x4, tuple(k2), tuple(s2), tuple(p2), tuple(d2), ceil))
        if nsp != 2 or at.get("storage_order", 0):
            raise NotImplementedError("MaxPool Indices only for 2-D pooling with storage_order=0")
        y, idx = F.max_pool2d(x, tuple(k), tuple(s), tuple(p), tuple(d), ceil, return_indices=True)
        return [y, idx + _plane_offsets(x.shape, idx)]       # ONNX: flat over N, C, H, W
    return op


def _plane_offsets(in_shape, like):
    """(N, C, 1, 1) offsets (n*C + c) * H * W, turning per-plane indices into
    indices into the flattened tensor."""
    N, C, H, W = in_shape
    off = (np.arange(N * C, dtype=np.int64) * (H * W)).reshape(N, C, 1, 1)
    return as_tensor(off, like)


def _max_unpool(m, n, ins, at):
    x = as_tensor(ins[0], None)
    idx = as_tensor(ins[1], x)
    k = list(at["kernel_shape"])
    s = list(at.get("strides", [1, 1]))
    p = at.get("pads", [0, 0, 0, 0])
    if len(ins) > 2 and ins[2] is not None:
        out_hw = _ints(ins[2])[-2:]
    else:
        out_hw = [(L - 1) * ss + kk - p[i] - p[i + 2] for i, (L, ss, kk) in enumerate(zip(x.shape[2:], s, k))]
    N, C = x.shape[:2]
    local = idx - _plane_offsets((N, C, out_hw[0], out_hw[1]), x)
    return F.max_unpool2d(x, local, tuple(k), tuple(s), (p[0], p[1]), output_size=tuple(out_hw))


def _global_pool(kind):
    def op(m, n, ins, at):
        x = as_tensor(ins[0], None)
        dims = tuple(range(2, x.ndim))
        return x.mean(dim=dims, keepdim=True) if kind == "avg" else x.amax(dim=dims, keepdim=True)
    return op


# ---------------------------------------------------------------------------
# resizing and padding
# ---------------------------------------------------------------------------

_LINEAR = {1: "linear", 2: "bilinear", 3: "trilinear"}


def _resize(m, n, ins, at):
    x = as_tensor(ins[0], None)
    nsp = x.ndim - 2
    if m.opset_version < 11:
        scales, sizes, ctm = ins[1], None, "asymmetric"
    else:
        scales = ins[2] if len(ins) > 2 else None
        sizes = ins[3] if len(ins) > 3 else None
        ctm = at.get("coordinate_transformation_mode", "half_pixel")
    scales = None if scales is None or host(scales).size == 0 else host(scales).astype(np.float64).tolist()
    sizes = None if sizes is None or host(sizes).size == 0 else _ints(sizes)
    if "axes" in at:          # opset 18: values for some axes only
        full_sc, full_sz = [1.0] * x.ndim, list(x.shape)
        for j, a in enumerate(at["axes"]):
            a = _axis(a, x.ndim)
            if scales is not None:
                full_sc[a] = scales[j]
            if sizes is not None:
                full_sz[a] = sizes[j]
        scales = full_sc if scales is not None else None
        sizes = full_sz if sizes is not None else None
    if at.get("antialias", 0):
        raise NotImplementedError("Resize with antialias=1")
    if sizes is not None:
        if list(sizes[:2]) != list(x.shape[:2]):
            raise NotImplementedError(f"Resize of the batch or channel dims (sizes {sizes})")
        kw = {"size": tuple(sizes[2:])}
    elif scales is not None:
        if scales[:2] != [1.0, 1.0]:
            raise NotImplementedError(f"Resize of the batch or channel dims (scales {scales})")
        kw = {"scale_factor": tuple(scales[2:]), "recompute_scale_factor": False}
    else:
        raise ValueError("Resize needs scales or sizes")
    mode = at.get("mode", "nearest")
    if mode == "nearest":
        rule = at.get("nearest_mode", "round_prefer_floor")
        if ctm == "asymmetric" and rule == "floor":
            return F.interpolate(x, mode="nearest", **kw)
        if ctm in ("half_pixel", "pytorch_half_pixel") and rule == "round_prefer_ceil":
            return F.interpolate(x, mode="nearest-exact", **kw)
        raise NotImplementedError(f"Resize nearest with coordinate_transformation_mode={ctm!r}, "
                                  f"nearest_mode={rule!r}")
    if ctm in ("half_pixel", "pytorch_half_pixel"):
        align = False
    elif ctm == "align_corners":
        align = True
    else:
        raise NotImplementedError(f"Resize {mode} with coordinate_transformation_mode={ctm!r}")
    if mode == "linear":
        return F.interpolate(x, mode=_LINEAR[nsp], align_corners=align, **kw)
    if mode == "cubic" and nsp == 2 and at.get("cubic_coeff_a", -0.75) == -0.75 \
            and not at.get("exclude_outside", 0):
        return F.interpolate(x, mode="bicubic", align_corners=align, **kw)
    raise NotImplementedError(f"Resize mode={mode!r} with cubic_coeff_a={at.get('cubic_coeff_a', -0.75)}, "
                              f"exclude_outside={at.get('exclude_outside', 0)} on {nsp} spatial dims")


def _upsample(m, n, ins, at):
    x = as_tensor(ins[0], None)
    scales = at.get("scales") or host(ins[1]).astype(np.float64).tolist()
    if at.get("mode", "nearest") != "nearest":
        raise NotImplementedError(f"Upsample mode={at.get('mode')!r} (asymmetric linear has no PyTorch equivalent)")
    if list(scales[:2]) != [1.0, 1.0]:
        raise NotImplementedError(f"Upsample of the batch or channel dims (scales {scales})")
    return F.interpolate(x, scale_factor=tuple(scales[2:]), mode="nearest", recompute_scale_factor=False)


_PAD_MODES = {"constant": "constant", "reflect": "reflect", "edge": "replicate", "wrap": "circular"}


def _pad(m, n, ins, at):
    x = as_tensor(ins[0], None)
    if "pads" in at:
        pads, value = list(at["pads"]), at.get("value", 0.0)
    else:
        pads = _ints(ins[1])
        value = float(host(ins[2]).reshape(-1)[0]) if len(ins) > 2 and ins[2] is not None else 0.0
    r = x.ndim
    axes = _ints(ins[3]) if len(ins) > 3 and ins[3] is not None else list(range(r))
    begin, end = [0] * r, [0] * r
    for j, a in enumerate(axes):
        a = _axis(a, r)
        begin[a], end[a] = pads[j], pads[j + len(axes)]
    mode = at.get("mode", "constant")
    if mode not in _PAD_MODES:
        raise NotImplementedError(f"Pad mode={mode!r}")
    # negative pads crop
    if any(v < 0 for v in begin + end):
        key = tuple(slice(max(-b, 0), x.shape[i] - max(-e, 0)) for i, (b, e) in enumerate(zip(begin, end)))
        x = x[key]
        begin, end = [max(b, 0) for b in begin], [max(e, 0) for e in end]
    first = next((i for i in range(r) if begin[i] or end[i]), r)
    if first == r:
        return x
    flat = []
    for i in range(r - 1, first - 1, -1):
        flat += [begin[i], end[i]]
    if mode == "constant":
        return F.pad(x, tuple(flat), mode="constant", value=value)
    return F.pad(x, tuple(flat), mode=_PAD_MODES[mode])


# ---------------------------------------------------------------------------
# the table
# ---------------------------------------------------------------------------

def _act(fn):
    """An activation on a tensor (host constants are lifted first)."""
    return lambda m, n, ins, at: fn(as_tensor(ins[0], None), at)


OPS = {
    # element-wise arithmetic and comparisons
    "Add": _binary(np.add, lambda a, b: a + b),
    "Sub": _binary(np.subtract, lambda a, b: a - b),
    "Mul": _binary(np.multiply, lambda a, b: a * b),
    "Div": _binary(_np_div, lambda a, b: a / b),
    "Pow": _pow,
    "Equal": _binary(np.equal, lambda a, b: a == b),
    "Less": _binary(np.less, lambda a, b: a < b),
    "Greater": _binary(np.greater, lambda a, b: a > b),
    "LessOrEqual": _binary(np.less_equal, lambda a, b: a <= b),
    "GreaterOrEqual": _binary(np.greater_equal, lambda a, b: a >= b),
    "And": _binary(np.logical_and, lambda a, b: nt.logical_and(a, b)),
    "Or": _binary(np.logical_or, lambda a, b: nt.logical_or(a, b)),
    "Not": _unary(np.logical_not, lambda x: nt.logical_not(x)),
    "Where": _where,
    "Sum": _variadic(np.add, lambda a, b: a + b),
    "Mean": _mean,
    "Max": _variadic(np.maximum, nt.maximum),
    "Min": _variadic(np.minimum, nt.minimum),
    "Sqrt": _unary(np.sqrt, lambda x: x.sqrt()),
    "Exp": _unary(np.exp, lambda x: x.exp()),
    "Log": _unary(np.log, lambda x: x.log()),
    "Abs": _unary(np.abs, lambda x: x.abs()),
    "Neg": _unary(np.negative, lambda x: -x),
    "Reciprocal": _unary(np.reciprocal, lambda x: 1.0 / x),
    "Floor": _unary(np.floor, lambda x: x.floor()),
    "Ceil": _unary(np.ceil, lambda x: x.ceil()),
    "Erf": _unary(np.vectorize(math.erf, otypes=[np.float32]), lambda x: nt.erf(x)),
    # activations
    "Relu": _relu,
    "LeakyRelu": _act(lambda x, at: F.leaky_relu(x, at.get("alpha", 0.01))),
    "Elu": _act(lambda x, at: F.elu(x, at.get("alpha", 1.0))),
    "Selu": _act(lambda x, at: at.get("gamma", 1.05070102214813232421875) * F.elu(
        x, at.get("alpha", 1.67326319217681884765625))),
    "Sigmoid": _act(lambda x, at: x.sigmoid()),
    "Tanh": _act(lambda x, at: x.tanh()),
    "HardSigmoid": _act(lambda x, at: (x * at.get("alpha", 0.2) + at.get("beta", 0.5)).clamp(0.0, 1.0)),
    "HardSwish": _act(lambda x, at: F.hardswish(x)),
    "Softplus": _act(lambda x, at: F.softplus(x)),
    "Gelu": _act(lambda x, at: F.gelu(x, approximate=at.get("approximate", "none"))),
    "Celu": _act(lambda x, at: F.celu(x, at.get("alpha", 1.0))),
    "Softsign": _act(lambda x, at: x / (x.abs() + 1.0)),
    "Shrink": _act(lambda x, at: nt.where(x < -at.get("lambd", 0.5), x + at.get("bias", 0.0),
                                          nt.where(x > at.get("lambd", 0.5), x - at.get("bias", 0.0),
                                                   x * 0.0))),
    "Sign": _unary(np.sign, lambda x: x.sign()),
    "PRelu": _prelu,
    "Clip": _clip,
    "Softmax": _softmax("softmax"),
    "LogSoftmax": _softmax("log_softmax"),
    # shapes, constants, indexing
    "Shape": _shape,
    "Size": _size,
    "Constant": _constant,
    "ConstantOfShape": _constant_of_shape,
    "Cast": _cast,
    "Identity": _identity,
    "Reshape": _reshape,
    "Flatten": _flatten,
    "Transpose": _transpose,
    "Squeeze": _squeeze,
    "Unsqueeze": _unsqueeze,
    "Concat": _concat,
    "Gather": _gather,
    "Slice": _slice,
    "Split": _split,
    "Expand": _expand,
    "Tile": _tile,
    "Range": _range,
    "DepthToSpace": _depth_to_space,
    "SpaceToDepth": _space_to_depth,
    "If": None,   # evaluated by run_graph (needs the enclosing values)
    # reductions
    "ReduceMean": _reduce("mean"),
    "ReduceSum": _reduce("sum"),
    "ReduceMax": _reduce("max"),
    "ReduceMin": _reduce("min"),
    "ReduceSumSquare": _reduce("sumsquare"),
    "ReduceL1": _reduce("l1"),
    "ReduceL2": _reduce("l2"),
    "ReduceLogSumExp": _reduce("logsumexp"),
    "ArgMax": _arg("max"),
    "ArgMin": _arg("min"),
    # layers
    "MatMul": _matmul,
    "Gemm": _gemm,
    "Conv": _conv,
    "ConvTranspose": _conv_transpose,
    "BatchNormalization": _batch_norm,
    "InstanceNormalization": _instance_norm,
    "LayerNormalization": _layer_norm,
    "LRN": _lrn,
    "Dropout": _dropout,
    "MaxPool": _pool("max"),
    "AveragePool": _pool("avg"),
    "GlobalAveragePool": _global_pool("avg"),
    "GlobalMaxPool": _global_pool("max"),
    "MaxUnpool": _max_unpool,
    "Resize": _resize,
    "Upsample": _upsample,
    "Pad": _pad,
}
