"""Activation checkpointing: trade compute for memory (``torch.utils.checkpoint``).

``checkpoint(fn, *args)`` runs ``fn`` without recording its graph, so none of
its intermediate activations stay in memory; backward runs ``fn`` again (with
the random state of the first run, so dropout masks repeat) and
back-propagates through that recomputation. Gradients are exactly those of
``fn(*args)`` called directly; only memory and time differ.

Parameters used inside ``fn`` receive their gradients during that inner
backward. Works whether or not the inputs require grad (``use_reentrant=False``
semantics); ``use_reentrant=True`` is accepted and behaves the same.
"""
from __future__ import annotations

import numpy as np

from .. import backend
from ..autograd.custom_function import Function
from ..autograd.graph import backward as _backward
from ..autograd.grad_mode import enable_grad
from ..tensor import Tensor

__all__ = ["checkpoint", "checkpoint_sequential"]


class _Recompute(Function):
    @staticmethod
    def forward(ctx, fn, preserve_rng_state, anchor, *args):
        ctx.fn = fn
        ctx.rng_state = backend.get_rng_state() if preserve_rng_state else None
        ctx.tensor_slots = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        ctx.args = list(args)
        ctx.save_for_backward(*(args[i] for i in ctx.tensor_slots))
        out = fn(*args)
        if not isinstance(out, Tensor) and not (isinstance(out, tuple) and all(isinstance(o, Tensor) for o in out)):
            raise TypeError(f"checkpoint: the function must return a tensor or a tuple of tensors, "
                            f"returned {type(out).__name__}")
        return out

    @staticmethod
    def backward(ctx, *grads):
        args = list(ctx.args)
        inputs = []
        for i, t in zip(ctx.tensor_slots, ctx.saved_tensors):
            d = t.detach()
            d.requires_grad = args[i].requires_grad
            args[i] = d
            inputs.append(d)
        current = backend.get_rng_state()
        if ctx.rng_state is not None:
            backend.set_rng_state(ctx.rng_state)
        try:
            with enable_grad():
                out = ctx.fn(*args)
        finally:
            backend.set_rng_state(current)
        outs = out if isinstance(out, tuple) else (out,)
        pairs = [(o, g) for o, g in zip(outs, grads) if o.requires_grad and g is not None]
        if pairs:
            _backward([o for o, _ in pairs], [g for _, g in pairs])
        grads_in = [d.grad if d.requires_grad else None for d in inputs]
        result = [None, None, None] + [None] * len(ctx.args)
        for slot, g in zip(ctx.tensor_slots, grads_in):
            result[3 + slot] = g
        return tuple(result)


def checkpoint(function, *args, use_reentrant=None, context_fn=None, determinism_check="default",
               debug=False, preserve_rng_state=True, **kwargs):
    """``function(*args, **kwargs)`` with its activations recomputed in backward
    instead of stored (see the module docstring)."""
    if context_fn is not None:
        raise RuntimeError("checkpoint: neuronet does not implement context_fn")
    fn = (lambda *a: function(*a, **kwargs)) if kwargs else function
    # An input that requires grad anchors the recomputation in the graph even
    # when no real input does (the parameters inside fn still need gradients).
    arrays = [a.array for a in args if isinstance(a, Tensor)]
    xp = backend.array_module(*arrays) if arrays else np
    anchor = Tensor._wrap(xp.zeros((), dtype=np.float32), requires_grad=True)
    return _Recompute.apply(fn, preserve_rng_state, anchor, *args)


def checkpoint_sequential(functions, segments, input, use_reentrant=None, **kwargs):
    """Run ``functions`` (an ``nn.Sequential`` or a list of modules) in ``segments``
    checkpointed chunks; the last chunk runs normally, as PyTorch does."""
    functions = list(functions.children()) if hasattr(functions, "children") else list(functions)
    if segments < 1:
        raise ValueError(f"checkpoint_sequential: segments must be >= 1, received {segments}")
    size = -(-len(functions) // segments)

    def run(start, end):
        def forward(x):
            for f in functions[start:end]:
                x = f(x)
            return x
        return forward

    end = 0
    for start in range(0, len(functions) - size, size):
        end = start + size
        input = checkpoint(run(start, end), input, use_reentrant=use_reentrant, **kwargs)
    return run(end, len(functions))(input)
