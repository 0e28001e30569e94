"""Functions: the nodes of the define-by-run graph, and the backward walk.

An op is a subclass of :class:`Function` with two static methods::

    class Mul(Function):
        @staticmethod
        def forward(ctx, a, b):          # ndarrays in, ndarray out
            ctx.save_for_backward(a, b)  # only what backward needs
            return a * b

        @staticmethod
        def backward(ctx, grad):         # dE/dout in, dE/d(each input) out
            a, b = ctx.saved_tensors
            return grad * b, grad * a

and is called as ``Mul.apply(x, y)`` on Tensors. ``apply`` unwraps the inputs,
runs ``forward`` on the raw arrays, and -- when grad mode is on and some input
requires a gradient -- links the output to a node that remembers the inputs and
the context. ``Tensor.backward`` then visits the nodes once each, in reverse
topological order, calls each ``backward`` with the summed gradient of its
output, accumulates into ``.grad`` of leaves, and frees every saved buffer
(unless ``retain_graph=True``) so memory does not grow across training steps.

In-place safety (PyTorch's version counter): every tensor carries a counter,
shared by the tensors that view the same storage, that each in-place change
bumps. ``apply`` notes the counter value of every input (or output) whose
storage ``forward`` saved for backward; ``backward`` refuses to run when one
has moved since, instead of computing a gradient from overwritten values.

Non-tensor arguments (ints, tuples, strings) pass through to ``forward``
unchanged and receive no gradient. ``backward`` returns one gradient per
positional input (``None`` for inputs that need none). ``forward`` may return
a tuple ``(out, aux...)``: ``out`` carries the gradient, the ``aux`` arrays
(e.g. max-pool indices) come back as tensors that do not.
"""
from __future__ import annotations

from .grad_mode import _state as _grad_state


class Context:
    """What a node keeps between forward and backward."""

    __slots__ = ("saved_tensors", "needs_input_grad", "__dict__")

    def __init__(self):
        self.saved_tensors = ()
        self.needs_input_grad = ()

    def save_for_backward(self, *arrays):
        self.saved_tensors = arrays

    def mark_freed(self):
        """Drop saved buffers and any attributes set in forward."""
        self.saved_tensors = None
        self.__dict__.clear()


def storage_root(array):
    """The array that owns ``array``'s memory (views chain ``.base`` to it)."""
    while getattr(array, "base", None) is not None:
        array = array.base
    return array


class Node:
    """The graph vertex behind a non-leaf tensor.

    It holds the function, its context, and for each input either the leaf
    Tensor that accumulates a gradient, the Node that produced a non-leaf
    input, or None. It does *not* hold intermediate tensors: once backward has
    freed the saved buffers, a kept ``loss`` pins no activations.
    """

    __slots__ = ("fn", "ctx", "inputs", "shapes", "freed", "out_ref", "saved_versions", "__weakref__")

    def __init__(self, fn, ctx, inputs, shapes):
        self.fn = fn
        self.ctx = ctx
        self.inputs = inputs
        self.shapes = shapes
        self.freed = False
        self.out_ref = None   # weakref to the output, set only for hooks/retain_grad
        self.saved_versions = ()   # (counter, version at save, shape, dtype) per saved storage

    def name(self):
        """PyTorch's node name, e.g. ``MulBackward0``."""
        return type(self).__name__ if type(self) is not Node else self.fn.__name__ + "Backward0"

    @property
    def next_functions(self):
        """``((node or AccumulateGrad or None, 0), ...)``, one per input, as PyTorch."""
        return tuple((None if inp is None else inp if isinstance(inp, Node) else AccumulateGrad(inp), 0)
                     for inp in self.inputs)

    def register_hook(self, hook):
        raise RuntimeError("neuronet does not implement hooks on grad_fn nodes; use "
                           "Tensor.register_hook on the tensor instead")

    def check_versions(self):
        """Raise PyTorch's error when a tensor saved for backward was changed in place."""
        for counter, version, shape, dtype in self.saved_versions:
            if counter[0] != version:
                kind = _TYPE_NAMES.get(str(dtype), str(dtype))
                raise RuntimeError(
                    "one of the variables needed for gradient computation has been modified by an "
                    f"inplace operation: [torch.{kind} [{', '.join(str(d) for d in shape)}]], which is "
                    f"used by {self.name()}, is at version {counter[0]}; expected version {version} "
                    "instead. Hint: the tensor was changed in place (e.g. +=, add_, relu(inplace=True), "
                    "index assignment) after an op saved it; use an out-of-place op or .clone() it first.")

    def __repr__(self):
        return f"<{self.name()} object at {hex(id(self))}>"


_TYPE_NAMES = {"float32": "FloatTensor", "float64": "DoubleTensor", "float16": "HalfTensor",
               "int64": "LongTensor", "int32": "IntTensor", "int16": "ShortTensor", "int8": "CharTensor",
               "uint8": "ByteTensor", "bool": "BoolTensor"}


class AccumulateGrad:
    """The ``next_functions`` entry standing for a leaf: ``.variable`` is the leaf."""

    __slots__ = ("variable",)

    def __init__(self, variable):
        self.variable = variable

    def name(self):
        return "AccumulateGrad"

    next_functions = ()

    def __repr__(self):
        return f"<AccumulateGrad object at {hex(id(self))}>"


class Function:
    """Base class of every differentiable op (see the module docstring)."""

    @staticmethod
    def forward(ctx, *args, **kwargs):  # pragma: no cover - abstract
        raise NotImplementedError

    @staticmethod
    def backward(ctx, grad):  # pragma: no cover - abstract
        raise NotImplementedError

    @classmethod
    def apply(cls, *args, **kwargs):
        raw = []
        needs = []
        any_needs = False
        record = _grad_state["enabled"]
        for a in args:
            if isinstance(a, Tensor):
                raw.append(a.array)
                r = record and a.requires_grad
                needs.append(r)
                any_needs = any_needs or r
            else:
                raw.append(a)
                needs.append(False)
        ctx = Context()
        ctx.needs_input_grad = tuple(needs)
        try:
            result = cls.forward(ctx, *raw, **kwargs)
        except ValueError as e:
            if "broadcast" not in str(e):
                raise
            raise RuntimeError(_broadcast_message(cls, raw) or str(e)) from None
        aux = ()
        if isinstance(result, tuple):
            result, *aux = result
        out = Tensor._wrap(result, requires_grad=any_needs)
        if getattr(result, "base", None) is not None or (raw and result is raw[0]):
            _link_view(out, result, args, cls, kwargs)
        if any_needs:
            inputs = tuple((a._node if a._node is not None else a) if n else None
                           for a, n in zip(args, needs))
            shapes = tuple(a.array.shape if n else None for a, n in zip(args, needs))
            node_type = cls.__dict__.get("_node_type") or _node_type(cls)
            node = out._node = node_type(cls, ctx, inputs, shapes)
            node.saved_versions = _saved_versions(ctx, args, out)
        if aux:
            aux = tuple(Tensor._wrap(x) for x in aux)
        if tracer is not None:
            tracer(cls, args, kwargs, out, aux)
        if aux:
            return (out, *aux)
        return out


    @classmethod
    def _backward_arrays(cls, ctx, grad):
        """What the backward walk calls: ndarray gradients in and out."""
        return cls.backward(ctx, grad)


def _broadcast_message(fn, arrays):
    """PyTorch's wording for operands whose shapes do not broadcast."""
    shapes = [tuple(a.shape) for a in arrays if hasattr(a, "shape")]
    if len(shapes) < 2:
        return None
    a, b = shapes[0], shapes[1]
    n = max(len(a), len(b))
    pa, pb = (1,) * (n - len(a)) + a, (1,) * (n - len(b)) + b
    for d in range(n - 1, -1, -1):
        if pa[d] != pb[d] and pa[d] != 1 and pb[d] != 1:
            return (f"{fn.__name__}: the size of tensor a ({pa[d]}) must match the size of tensor b "
                    f"({pb[d]}) at non-singleton dimension {d} (shapes {list(a)} and {list(b)})")
    return None


# PyTorch's node name where it is not our Function's name + "Backward0" (what
# print(t) and type(t.grad_fn).__name__ show in tutorials).
PYTORCH_NODE_NAMES = {
    "PowFn": "PowBackward0", "Reshape": "ViewBackward0", "Linear": "AddmmBackward0",
    "CrossEntropyIndex": "NllLossBackward0", "CrossEntropyProbs": "NllLossBackward0",
    "NLLLoss": "NllLossBackward0", "MSELoss": "MseLossBackward0", "L1Loss": "L1LossBackward0",
    "SmoothL1Loss": "SmoothL1LossBackward0", "HuberLoss": "HuberLossBackward0",
    "BinaryCrossEntropy": "BinaryCrossEntropyBackward0",
    "BinaryCrossEntropyWithLogits": "BinaryCrossEntropyWithLogitsBackward0",
    "KLDiv": "KlDivBackward0", "ReLU": "ReluBackward0", "LeakyReLU": "LeakyReluBackward0",
    "ELU": "EluBackward0", "GELU": "GeluBackward0", "SiLU": "SiluBackward0", "Mish": "MishBackward0",
    "Conv2d": "ConvolutionBackward0",
    "Conv3d": "ConvolutionBackward0", "ConvTranspose2d": "ConvolutionBackward0",
    "ConvTranspose3d": "ConvolutionBackward0", "BatchNorm": "NativeBatchNormBackward0",
    "LayerNorm": "NativeLayerNormBackward0", "GroupNorm": "NativeGroupNormBackward0",
    "_MaxPool2d": "MaxPool2DWithIndicesBackward0", "_AvgPool2d": "AvgPool2DBackward0",
    "_AdaptiveAvgPool2d": "MeanBackward1", "_AdaptiveMaxPool2d": "AdaptiveMaxPool2DBackward0",
    "_MaxUnpool2d": "MaxUnpool2DBackward0", "Dropout": "MulBackward0", "Embedding": "EmbeddingBackward0",
    "GetItem": "IndexBackward0", "MatMul": "MmBackward0", "Extremum": "MaximumBackward0",
    "MaxMin": "MaxBackward1", "AMaxMin": "AmaxBackward0", "Copy": "ToCopyBackward0",
    "Clamp": "ClampBackward1", "Softmax": "SoftmaxBackward0", "LogSoftmax": "LogSoftmaxBackward0",
    "Where": "WhereBackward0", "Cat": "CatBackward0", "Stack": "StackBackward0",
    "SetItem": "IndexPutBackward0", "CopyInto": "CopyBackwards", "CopySlices": "CopySlices",
}


def _node_type(fn):
    """A Node subclass named as PyTorch names the op's node (``MulBackward0``),
    so ``type(t.grad_fn).__name__`` reads as it does in PyTorch."""
    name = fn.__dict__.get("node_name") or PYTORCH_NODE_NAMES.get(fn.__name__) or fn.__name__ + "Backward0"
    node_type = type(name, (Node,), {"__slots__": ()})
    fn._node_type = node_type
    return node_type


def _link_view(out, result, args, fn, kwargs):
    """``out`` views an input's storage: share its version counter (an in-place
    change through either is a change to both) and remember how to recreate
    the view from the base tensor, for in-place ops on views."""
    root = storage_root(result)
    for i, a in enumerate(args):
        if isinstance(a, Tensor) and storage_root(a.array) is root:
            out._vc = a._vc
            base = a._base if a._base is not None else a
            replay = a._view_replay if a._base is not None else ()
            only_tensor = i == 0 and not any(isinstance(b, Tensor) for b in args[1:])
            out._base = base
            out._view_replay = (replay + ((fn, args[1:], kwargs),)
                                if only_tensor and replay is not None else None)
            return


def _saved_versions(ctx, args, out):
    """(counter, version, shape, dtype) for each input or output whose storage
    ``forward`` kept in ``ctx`` (in saved_tensors or as an attribute)."""
    saved = [x for x in ctx.saved_tensors if hasattr(x, "strides")] if ctx.saved_tensors else []
    for v in ctx.__dict__.values():
        if hasattr(v, "strides"):
            saved.append(v)
    if not saved:
        return ()
    # Ops save the arrays they were given (or returned); a saved view of one
    # (a reshape, a slice) is matched by the storage that owns it.
    view_roots = [storage_root(x) for x in saved if x.base is not None]
    versions = []
    for t in (*args, out):
        if not isinstance(t, Tensor):
            continue
        arr = t.array
        hit = False
        for x in saved:
            if x is arr:
                hit = True
                break
        if not hit and view_roots:
            root = storage_root(arr)
            hit = any(r is root for r in view_roots)
        if hit:
            versions.append((t._vc, t._vc[0], arr.shape, arr.dtype))
    return tuple(versions)


_FREED = Context()     # what a node keeps in place of its context once backward freed it
_FREED.mark_freed()


def _topological_order(root_nodes):
    """Nodes reachable from ``root_nodes``, each before every node it feeds."""
    order = []
    seen = set()
    stack = [(n, False) for n in reversed(root_nodes)]
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        for inp in node.inputs:
            if isinstance(inp, Node) and id(inp) not in seen:
                stack.append((inp, False))
    order.reverse()
    return order


def run_backward(roots, seeds, retain_graph=False, capture=None):
    """Propagate the gradients ``seeds`` (ndarrays shaped like ``roots``) through the graph.

    Without ``capture`` the leaves' ``.grad`` accumulate (``Tensor.backward``).
    With ``capture`` -- ``{id(leaf tensor) or id(node): slot}`` -- the gradient
    reaching each captured tensor is returned in a dict by slot and no
    ``.grad`` changes (``autograd.grad``).
    """
    captured = {} if capture is not None else None

    def deliver(leaf, g):
        if capture is None:
            leaf._accumulate(g)
        elif id(leaf) in capture:
            slot = capture[id(leaf)]
            captured[slot] = g if slot not in captured else captured[slot] + g

    grads = {}
    root_nodes = []
    for root, g in zip(roots, seeds):
        if root._node is None:
            deliver(root, g)        # a leaf: its gradient is the seed itself
            continue
        key = id(root._node)
        if key not in grads:
            root_nodes.append(root._node)
        grads[key] = g if key not in grads else grads[key] + g
    for node in _topological_order(root_nodes):
        g = grads.pop(id(node), None)
        if node.freed:
            raise RuntimeError(
                f"Trying to backward through the graph a second time ({node.name()}): "
                "its saved buffers were freed by the first backward(). Pass "
                "retain_graph=True to the first backward() to call it twice.")
        if g is None:
            continue
        if node.saved_versions:
            node.check_versions()
        if node.out_ref is not None and capture is None:
            out = node.out_ref()
            if out is not None:
                g = out._on_grad(g)
        if capture is not None and id(node) in capture:
            captured[capture[id(node)]] = g
        in_grads = node.fn._backward_arrays(node.ctx, g)
        if not isinstance(in_grads, tuple):
            in_grads = (in_grads,)
        for inp, shape, ig in zip(node.inputs, node.shapes, in_grads):
            if inp is None or ig is None:
                continue
            if ig.shape != shape:
                raise RuntimeError(
                    f"{node.name()} returned a gradient of shape {tuple(ig.shape)} for an "
                    f"input of shape {tuple(shape)} (internal error in this op)")
            if isinstance(inp, Node):
                key = id(inp)
                prev = grads.get(key)
                # A tensor used twice receives the sum of both paths' gradients.
                grads[key] = ig if prev is None else prev + ig
            else:
                deliver(inp, ig)
        if not retain_graph:
            node.ctx.mark_freed()
            node.ctx = _FREED
            node.freed = True
            node.saved_versions = ()
    return captured


# When set (by an exporter such as neuronet.onnx), called after every op as
# ``tracer(fn, args, kwargs, out, aux)`` with the op's Function class, its
# arguments (Tensors and constants), its output tensor and its auxiliary outputs.
tracer = None

# Set by neuronet.tensor once the Tensor class exists (the two modules need
# each other; this keeps the import order one-way).
Tensor = None
