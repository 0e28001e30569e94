"""``Parameter``: a tensor that a :class:`~neuronet.nn.Module` registers as learnable.

Assigning a Parameter to a module attribute (``self.weight = Parameter(...)``)
adds it to ``module.parameters()`` and to the ``state_dict``; a plain Tensor
assigned the same way is just an attribute. A Parameter is a leaf that
requires a gradient by default, exactly as ``torch.nn.Parameter``.
"""
from __future__ import annotations

import numpy as np

from ..tensor import Tensor

__all__ = ["Parameter", "Buffer"]


class Parameter(Tensor):
    """A leaf tensor that a module owns and an optimizer updates.

    Args:
        data: a Tensor (its array is shared, not copied), an ndarray, or
            Python data; ``None`` gives an empty float32 tensor of shape (0,).
        requires_grad: whether the parameter collects gradients (default True).

    >>> w = Parameter(neuronet.zeros(3, 2))
    >>> w.requires_grad, w.is_leaf
    (True, True)
    """

    def __init__(self, data=None, requires_grad=True):
        if data is None:
            data = np.empty((0,), dtype=np.float32)
        elif isinstance(data, Tensor):
            # Share the array (as torch.nn.Parameter shares storage) but not the graph.
            data = data.array
        super().__init__(data, requires_grad=requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

    def __reduce_ex__(self, protocol):
        # copy.deepcopy(module) must give Parameters (not Tensors) with fresh arrays.
        return (_rebuild_parameter, (self.array, self.requires_grad, self.grad))


def _rebuild_parameter(array, requires_grad, grad):
    p = Parameter(array, requires_grad=requires_grad)
    p.grad = grad
    return p


class Buffer(Tensor):
    """A tensor that a module registers as a buffer when assigned to one of its
    attributes (``self.mask = nn.Buffer(t)``, PyTorch 2.5's spelling of
    ``register_buffer``). ``persistent=False`` keeps it out of the state_dict.
    The module stores a plain Tensor sharing this one's array.
    """

    def __init__(self, data=None, *, persistent=True):
        if data is None:
            data = np.empty((0,), dtype=np.float32)
        elif isinstance(data, Tensor):
            data = data.array
        super().__init__(data)
        self.persistent = persistent
