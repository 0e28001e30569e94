"""``backward`` and ``grad``: start the reverse walk from one or several tensors.

    loss.backward()                                   # fills .grad of every leaf
    neuronet.autograd.backward([l1, l2])              # the sum of both losses' gradients
    gx, = neuronet.autograd.grad(y.sum(), [x])        # returns dy/dx; no .grad changes

The walk itself (reverse topological order, saved-buffer release, the
version check) is :func:`neuronet.autograd.function.run_backward`.
"""
from __future__ import annotations

from . import function as _fn
from .grad_mode import no_grad


def _as_list(x):
    if x is None:
        return None
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _seeds(tensors, grad_tensors, who):
    grad_tensors = _as_list(grad_tensors) or [None] * len(tensors)
    if len(grad_tensors) != len(tensors):
        raise RuntimeError(f"{who}: {len(grad_tensors)} gradients given for {len(tensors)} tensors")
    return [t._seed_gradient(g, who) for t, g in zip(tensors, grad_tensors)]


def _no_higher_order(create_graph):
    if create_graph:
        raise RuntimeError("create_graph=True: neuronet's backward passes run on raw arrays and do not "
                           "record a graph, so higher-order gradients (double backward, gradient "
                           "penalties) are not supported")


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """Accumulate d(sum of ``tensors``)/d(leaf) into each leaf's ``.grad``
    (only into ``inputs``' when given)."""
    _no_higher_order(create_graph)
    tensors = _as_list(tensors)
    seeds = _seeds(tensors, grad_tensors, "backward")
    with no_grad():     # backward's own array math records nothing
        if inputs is None:
            _fn.run_backward(tensors, seeds, retain_graph=bool(retain_graph))
            return
        inputs = _as_list(inputs)
        capture = _capture_map(inputs, "backward")
        found = _fn.run_backward(tensors, seeds, retain_graph=bool(retain_graph), capture=capture)
        for i, t in enumerate(inputs):
            if i in found:
                t._accumulate(found[i]) if t._node is None else _retained(t, found[i])


def _retained(t, g):
    t.grad = _fn.Tensor._wrap(g.copy()) if t.grad is None else _fn.Tensor._wrap(t.grad.array + g)


def _capture_map(inputs, who):
    capture = {}
    for i, t in enumerate(inputs):
        if not isinstance(t, _fn.Tensor):
            raise TypeError(f"{who}: inputs must be tensors, input {i} is a {type(t).__name__}")
        if not t.requires_grad:
            raise RuntimeError(f"{who}: input {i} does not require grad (One of the differentiated "
                               "Tensors does not require grad)")
        capture[id(t._node) if t._node is not None else id(t)] = i
    return capture


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, only_inputs=True,
         allow_unused=None, is_grads_batched=False, materialize_grads=False):
    """d(sum of ``outputs``)/d(each of ``inputs``), returned as a tuple; no ``.grad`` changes.

    An input the outputs do not depend on raises unless ``allow_unused=True``
    (then its entry is None, or zeros with ``materialize_grads=True``).
    """
    _no_higher_order(create_graph)
    if is_grads_batched:
        raise RuntimeError("neuronet does not implement is_grads_batched=True")
    outputs = _as_list(outputs)
    inputs = _as_list(inputs)
    seeds = _seeds(outputs, grad_outputs, "grad")
    capture = _capture_map(inputs, "grad")
    with no_grad():
        found = _fn.run_backward(outputs, seeds, retain_graph=bool(retain_graph), capture=capture)
    result = []
    for i, t in enumerate(inputs):
        if i in found:
            result.append(_fn.Tensor._wrap(found[i]))
        elif materialize_grads:
            result.append(_fn.Tensor._wrap(t.array * 0))
        elif allow_unused or materialize_grads:
            result.append(None)
        else:
            raise RuntimeError(f"grad: input {i} of shape {tuple(t.shape)} was not used in the graph of "
                               "the outputs (One of the differentiated Tensors appears to not have been "
                               "used in the graph. Set allow_unused=True if this is the desired behavior.)")
    return tuple(result)
