"""``neuronet.autograd.Function``: user-defined ops, PyTorch's way.

neuronet's own ops subclass the array-level :class:`~neuronet.autograd.function.Function`
(forward and backward on raw ndarrays). A user's op is written as in PyTorch,
on tensors::

    class Clamp01(neuronet.autograd.Function):
        @staticmethod
        def forward(ctx, x):                 # tensors in, runs without recording
            ctx.save_for_backward(x)
            return x.clamp(0, 1)

        @staticmethod
        def backward(ctx, grad_output):      # dE/dout in, one dE/d(input) per input out
            x, = ctx.saved_tensors
            return grad_output * ((x >= 0) & (x <= 1))

    y = Clamp01.apply(x)

``forward`` may also be written without ``ctx`` together with a
``setup_context(ctx, inputs, output)`` static method (PyTorch 2's style).
``forward`` may return several tensors; ``backward`` then receives one gradient
per output (zeros for outputs that did not take part, unless
``ctx.set_materialize_grads(False)``, then None).
"""
from __future__ import annotations

from ..backend import array_module
from . import function as _fn
from .grad_mode import _state as _grad_state
from .grad_mode import no_grad


class FunctionCtx:
    """The ``ctx`` of a user-defined Function (PyTorch's attributes and methods)."""

    def __init__(self):
        self._saved = ()
        self._saved_versions = ()
        self.needs_input_grad = ()
        self.materialize_grads = True
        self._non_differentiable = ()
        self._dirty = ()
        self._freed = False

    def save_for_backward(self, *tensors):
        for i, t in enumerate(tensors):
            if t is not None and not isinstance(t, _fn.Tensor):
                raise TypeError(f"save_for_backward can only save tensors (or None), but argument {i} is "
                                f"of type {type(t).__name__}; keep other values as ctx attributes")
        self._saved = tensors
        self._saved_versions = tuple((t._vc, t._vc[0], t.array.shape, t.array.dtype)
                                     for t in tensors if t is not None)

    @property
    def saved_tensors(self):
        if self._freed:
            raise RuntimeError("Trying to backward through the graph a second time (or directly access "
                               "saved tensors after they have already been freed). Specify "
                               "retain_graph=True if you need to backward through the graph a second time.")
        return tuple(None if t is None else _fn.Tensor._wrap(t.array) for t in self._saved)

    def mark_non_differentiable(self, *tensors):
        self._non_differentiable = tensors

    def mark_dirty(self, *tensors):
        self._dirty = tensors

    def set_materialize_grads(self, value):
        self.materialize_grads = bool(value)

    def mark_freed(self):
        self._saved = ()
        self._freed = True


class Function:
    """Base class of user-defined differentiable ops (see the module docstring)."""

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("You must implement the forward function for custom autograd.Function.")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("You must implement either the backward or vjp method for your custom "
                                  "autograd.Function to use it with backward mode AD.")

    setup_context = None

    @classmethod
    def apply(cls, *args, **kwargs):
        Tensor = _fn.Tensor
        ctx = FunctionCtx()
        record = _grad_state["enabled"]
        needs = tuple(record and isinstance(a, Tensor) and a.requires_grad for a in args)
        ctx.needs_input_grad = needs
        with no_grad():
            if cls.setup_context is not None:
                output = cls.forward(*args, **kwargs)
                cls.setup_context(ctx, args, output)
            else:
                output = cls.forward(ctx, *args, **kwargs)
        single = not isinstance(output, tuple)
        outputs = (output,) if single else output
        for i, o in enumerate(outputs):
            if o is not None and not isinstance(o, Tensor):
                if not any(needs):
                    continue
                raise TypeError(f"{cls.__name__}.forward returned a {type(o).__name__} as output {i}; "
                                "differentiable outputs must be tensors")
        if not any(needs):
            return output
        inputs = tuple((a._node if a._node is not None else a) if n else None for a, n in zip(args, needs))
        shapes = tuple(a.array.shape if n else None for a, n in zip(args, needs))
        non_diff = {id(t) for t in ctx._non_differentiable}
        node_ctx = _CustomContext(cls, ctx, [o.array.shape if isinstance(o, Tensor) else None for o in outputs],
                                  [o.array.dtype if isinstance(o, Tensor) else None for o in outputs])
        # One node runs the user's backward for all inputs; with several outputs,
        # each output gets a small selector node that hands its gradient to it.
        backward_class = _backward_class(cls)
        node = _fn._node_type(backward_class)(backward_class, node_ctx, inputs, shapes)
        node.saved_versions = ctx._saved_versions
        wrapped = []
        for i, o in enumerate(outputs):
            if not isinstance(o, Tensor) or id(o) in non_diff or o.array.dtype.kind not in "fc":
                wrapped.append(o)
                continue
            if any(o is d for d in ctx._dirty):
                t = o                      # changed in place by forward: the same object
            elif any(o is a for a in args) or o._node is not None:
                t = Tensor._wrap(o.array)  # an input returned as is: a new tensor, as PyTorch
                t._vc = o._vc
            else:
                t = o
            t.requires_grad = True
            if single:
                t._node = node
            else:
                sel = _fn.Context()
                sel.index, sel.count = i, len(outputs)
                t._node = _fn.Node(_SelectOutput, sel, (node,), (None,))
            wrapped.append(t)
        return wrapped[0] if single else tuple(wrapped)


def _backward_class(cls):
    """The node's ``fn``: named ``<Name>Backward`` and running the user's backward."""
    made = cls.__dict__.get("_backward_class")
    if made is None:
        # PyTorch names a user Function's node "<Name>Backward" (no number).
        made = type(cls.__name__, (_UserBackward,), {"user_fn": cls, "node_name": cls.__name__ + "Backward"})
        cls._backward_class = made
    return made


class _CustomContext:
    __slots__ = ("fn", "ctx", "out_shapes", "out_dtypes")

    def __init__(self, fn, ctx, out_shapes, out_dtypes):
        self.fn = fn
        self.ctx = ctx
        self.out_shapes = out_shapes
        self.out_dtypes = out_dtypes

    def mark_freed(self):
        self.ctx.mark_freed()


class _UserBackward:
    """Runs the user's backward on tensors; the graph walk sees ndarrays."""

    user_fn = None

    @classmethod
    def _backward_arrays(cls, node_ctx, grad):
        Tensor = _fn.Tensor
        ctx = node_ctx.ctx
        parts = grad.parts if isinstance(grad, _Partial) else [grad]
        xp = array_module(next(g for g in parts if g is not None))
        grads = []
        for g, shape, dtype in zip(parts, node_ctx.out_shapes, node_ctx.out_dtypes):
            if g is None and ctx.materialize_grads and shape is not None:
                g = xp.zeros(shape, dtype=dtype)
            grads.append(None if g is None else Tensor._wrap(g))
        result = node_ctx.fn.backward(ctx, *grads)
        if not isinstance(result, tuple):
            result = (result,)
        n_in = len(ctx.needs_input_grad)
        if len(result) != n_in and not (len(result) > n_in and all(r is None for r in result[n_in:])):
            raise RuntimeError(f"function {node_ctx.fn.__name__}Backward returned an incorrect number of "
                               f"gradients (expected {n_in}, got {len(result)})")
        out = []
        for r, need in zip(result[:n_in], ctx.needs_input_grad):
            if not need or r is None:
                out.append(None)
            elif isinstance(r, Tensor):
                out.append(r.array)
            else:
                raise TypeError(f"function {node_ctx.fn.__name__}Backward returned a "
                                f"{type(r).__name__} as a gradient; expected a tensor or None")
        return tuple(out)


class _Partial:
    """The gradients of some outputs of a multi-output Function (summed per output)."""

    __slots__ = ("parts",)
    shape = None

    def __init__(self, parts):
        self.parts = parts

    def __add__(self, other):
        return _Partial([a if b is None else b if a is None else a + b
                         for a, b in zip(self.parts, other.parts)])


class _SelectOutput:
    """Output ``index`` of a multi-output Function: passes its gradient on."""

    @staticmethod
    def _backward_arrays(ctx, grad):
        parts = [None] * ctx.count
        parts[ctx.index] = grad
        return (_Partial(parts),)
