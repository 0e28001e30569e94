"""``parameters_to_vector`` / ``vector_to_parameters``: all parameters as one
flat vector and back (for second-order methods, evolution strategies, weight
averaging)."""
from __future__ import annotations

from ...tensor import Tensor, cat

__all__ = ["parameters_to_vector", "vector_to_parameters"]


def _check_same_device(params, who):
    devices = {p.device for p in params}
    if len(devices) > 1:
        raise TypeError(f"{who}: found parameters on different devices {sorted(map(str, devices))}; expected one")


def parameters_to_vector(parameters):
    """The parameters flattened and concatenated in order into one 1-D tensor
    (differentiable: the gradient flows back to each parameter)."""
    params = list(parameters)
    for i, p in enumerate(params):
        if not isinstance(p, Tensor):
            raise TypeError(f"parameters_to_vector: expected Tensors, element {i} is a {type(p).__name__}")
    _check_same_device(params, "parameters_to_vector")
    return cat([p.reshape(-1) for p in params])


def vector_to_parameters(vec, parameters):
    """Copy consecutive slices of the 1-D ``vec`` into the parameters, in order
    (in place, no gradient; the same Parameter objects, so optimizers keep them)."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected torch.Tensor, but got: {type(vec).__name__}")
    params = list(parameters)
    total = sum(p.numel() for p in params)
    if vec.ndim != 1 or vec.shape[0] != total:
        raise RuntimeError(f"vector_to_parameters: expected a 1-D vector of {total} elements (the parameters' "
                           f"total), received shape {tuple(vec.shape)}")
    _check_same_device(params, "vector_to_parameters")
    flat = vec.detach().array
    offset = 0
    for p in params:
        n = p.numel()
        p.array[...] = flat[offset:offset + n].reshape(p.shape).astype(p.dtype, copy=False)
        p._vc[0] += 1          # changed in place: seen by the autograd's version check
        offset += n
