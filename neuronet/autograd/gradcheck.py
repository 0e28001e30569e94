"""Finite-difference check of hand-written backward passes.

For a random upstream gradient ``v`` (not all-ones: with ones, e.g. the batch
norm input gradient is identically zero and would prove nothing), the analytic
vector-Jacobian product ``v^T J`` computed by backward is compared with

    d/dx_i (v . f(x)) ~= (v . f(x + eps e_i) - v . f(x - eps e_i)) / (2 eps)

for every element ``x_i`` of every input that requires grad, in float64.
"""
from __future__ import annotations

import numpy as np

from .. import backend
from .grad_mode import no_grad


class GradcheckError(AssertionError):
    """Raised when analytic and numerical gradients disagree."""


def _outputs(fn, inputs):
    out = fn(*inputs)
    return out if isinstance(out, (tuple, list)) else (out,)


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0, raise_exception=True):
    """Check ``fn``'s backward against central differences.

    fn:      callable taking ``inputs`` (Tensors; those with requires_grad are checked)
             and returning a Tensor or a tuple of Tensors.
    inputs:  a tuple of Tensors (float64 recommended) or other arguments.

    Returns True, or raises :class:`GradcheckError` naming the input, the worst
    element's index, and the analytic and numerical values.
    """
    from ..tensor import Tensor
    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    checked = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input has requires_grad=True")
    for i in checked:
        if inputs[i].dtype != np.float64:
            raise ValueError(f"gradcheck: input {i} has dtype {inputs[i].dtype}; use float64 "
                             "(float32 differences are too coarse)")
    rng = np.random.default_rng(seed)
    outs = _outputs(fn, inputs)
    diff_outs = [o for o in outs if isinstance(o, Tensor) and o.requires_grad]
    if not diff_outs:
        raise GradcheckError("gradcheck: the function's outputs do not require grad")
    xp = backend.array_module(diff_outs[0].array)
    vs = [xp.asarray(rng.standard_normal(o.shape)) for o in diff_outs]

    for i in checked:
        inputs[i].grad = None
    total = None
    for o, v in zip(diff_outs, vs):
        term = (o * Tensor._wrap(v.astype(o.dtype))).sum()
        total = term if total is None else total + term
    total.backward()
    analytic = {i: (inputs[i].grad.array.copy() if inputs[i].grad is not None
                    else xp.zeros(inputs[i].shape)) for i in checked}

    def objective():
        with no_grad():
            res = [o for o in _outputs(fn, inputs) if isinstance(o, Tensor)]
            res = [o for o, keep in zip(res, [x.requires_grad for x in outs if isinstance(x, Tensor)]) if keep]
            return float(sum(float((r.array.astype(np.float64) * v).sum()) for r, v in zip(res, vs)))

    for i in checked:
        arr = inputs[i].array
        numeric = np.zeros(arr.shape)
        flat = arr.reshape(-1)
        for k in range(flat.size):
            old = flat[k].item()
            flat[k] = old + eps
            plus = objective()
            flat[k] = old - eps
            minus = objective()
            flat[k] = old
            numeric.reshape(-1)[k] = (plus - minus) / (2 * eps)
        a = backend.to_numpy(analytic[i])
        err = np.abs(a - numeric) - (atol + rtol * np.abs(numeric))
        if err.size and err.max() > 0:
            worst = np.unravel_index(int(np.argmax(err)), err.shape)
            msg = (f"gradcheck failed for input {i} (shape {tuple(arr.shape)}): at index {tuple(int(w) for w in worst)} "
                   f"backward gave {a[worst]:.8g}, finite differences gave {numeric[worst]:.8g} "
                   f"(max abs difference {np.abs(a - numeric).max():.3g}, atol={atol}, rtol={rtol})")
            if raise_exception:
                raise GradcheckError(msg)
            return False
    return True
