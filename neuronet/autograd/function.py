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


class Node:
    """The graph vertex behind a non-leaf tensor.

    It holds the function, its context, and for each input either the leaf
    Tensor that accumulates a gradient, the Node that produced a non-leaf
    input, or None. It does *not* hold intermediate tensors: once backward has
    freed the saved buffers, a kept ``loss`` pins no activations.
    """

    __slots__ = ("fn", "ctx", "inputs", "shapes", "freed", "out_ref", "__weakref__")

    def __init__(self, fn, ctx, inputs, shapes):
        self.fn = fn
        self.ctx = ctx
        self.inputs = inputs
        self.shapes = shapes
        self.freed = False
        self.out_ref = None   # weakref to the output, set only for hooks/retain_grad

    def name(self):
        return self.fn.__name__ + "Backward"

    def __repr__(self):
        return f"<{self.name()}>"


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
        result = cls.forward(ctx, *raw, **kwargs)
        aux = ()
        if isinstance(result, tuple):
            result, *aux = result
        out = Tensor._wrap(result, requires_grad=any_needs)
        if any_needs:
            inputs = tuple((a._node if a._node is not None else a) if n else None
                           for a, n in zip(args, needs))
            shapes = tuple(a.array.shape if n else None for a, n in zip(args, needs))
            out._node = Node(cls, ctx, inputs, shapes)
        if aux:
            return (out, *(Tensor._wrap(x) for x in aux))
        return out


def _topological_order(root_node):
    """Nodes reachable from ``root_node``, each before every node it feeds."""
    order = []
    seen = set()
    stack = [(root_node, False)]
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


def run_backward(root, grad, retain_graph=False):
    """Propagate ``grad`` (an ndarray shaped like ``root``) through the graph."""
    if root._node is None:
        root._accumulate(grad)      # a leaf: its gradient is the seed itself
        return
    grads = {id(root._node): grad}
    for node in _topological_order(root._node):
        g = grads.pop(id(node), None)
        if node.freed:
            raise RuntimeError(
                f"Trying to backward through the graph a second time ({node.name()}): "
                "its saved buffers were freed by the first backward(). Pass "
                "retain_graph=True to the first backward() to call it twice.")
        if g is None:
            continue
        if node.out_ref is not None:
            out = node.out_ref()
            if out is not None:
                g = out._on_grad(g)
        in_grads = node.fn.backward(node.ctx, g)
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
                inp._accumulate(ig)
        if not retain_graph:
            node.ctx.mark_freed()
            node.freed = True


# Set by neuronet.tensor once the Tensor class exists (the two modules need
# each other; this keeps the import order one-way).
Tensor = None
