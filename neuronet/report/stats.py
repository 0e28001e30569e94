"""Per-layer statistics of a network: gradient norms, weight and activation
spread -- what the course plots to show vanishing and exploding gradients.

A "layer" is a module that owns a weight of two or more dimensions
(``Linear``, ``Conv2d``, ``ConvTranspose2d``, ...), in registration order,
which is the order of the forward pass for the models in ``neuronet.models``.
"""
from __future__ import annotations

import math

import numpy as np

from .. import backend

__all__ = ["weight_layers", "LayerStatsRecorder", "grad_norms", "first_layer_weight"]


def _np(x):
    return backend.to_numpy(getattr(x, "array", x))


def weight_layers(model):
    """``[(name, module)]`` for every module with a weight of ndim >= 2
    (normalization layers' 1-d weights are left out), in order."""
    out = []
    for name, m in model.named_modules():
        w = m._parameters.get("weight") if hasattr(m, "_parameters") else None
        if w is not None and w.ndim >= 2:
            out.append((name or type(m).__name__, m))
    return out


def grad_norms(model):
    """``{layer name: ||dL/dW||_2}`` of each weight layer's weight after a
    backward pass (NaN where the weight has no gradient)."""
    res = {}
    for name, m in weight_layers(model):
        g = m.weight.grad
        res[name] = float(np.sqrt((_np(g).astype(np.float64) ** 2).sum())) if g is not None else math.nan
    return res


def first_layer_weight(model):
    """The first weight layer's ``(name, weight array)``: the filters a report draws."""
    layers = weight_layers(model)
    if not layers:
        return None, None
    name, m = layers[0]
    return name, _np(m.weight)


class LayerStatsRecorder:
    """Records, on demand, each weight layer's gradient norm, weight std and
    the mean/std of its output over training.

    Forward hooks on the weight layers measure the output of the next training
    forward pass once :meth:`arm` has been called (evaluation passes, in eval
    mode, are ignored); :meth:`record` then reads the gradients (still present
    after ``optimizer.step()``) and the weights and appends one row.
    """

    def __init__(self, model):
        self.model = model
        self.layers = weight_layers(model)
        self.names = [n for n, _ in self.layers]
        self.steps: list[int] = []
        self.grad_norm: list[list[float]] = []
        self.weight_std: list[list[float]] = []
        self.act_mean: list[list[float]] = []
        self.act_std: list[list[float]] = []
        self._armed = False
        self._acts: dict[str, tuple[float, float]] = {}
        self._handles = [m.register_forward_hook(self._hook(name)) for name, m in self.layers]

    def _hook(self, name):
        def hook(module, args, output):
            if self._armed and module.training:
                a = _np(output).astype(np.float64, copy=False)
                self._acts[name] = (float(a.mean()), float(a.std()))
        return hook

    def arm(self):
        """Measure activations during the next training forward pass."""
        self._armed = True
        self._acts = {}

    def record(self, step):
        """Append the current gradient norms, weight stds and the activations
        measured since :meth:`arm`."""
        self._armed = False
        g = grad_norms(self.model)
        self.steps.append(int(step))
        self.grad_norm.append([g[n] for n in self.names])
        self.weight_std.append([float(_np(m.weight).std()) for _, m in self.layers])
        self.act_mean.append([self._acts.get(n, (math.nan, math.nan))[0] for n in self.names])
        self.act_std.append([self._acts.get(n, (math.nan, math.nan))[1] for n in self.names])

    def remove(self):
        for h in self._handles:
            h.remove()
        self._handles = []

    def as_dict(self):
        """JSON-ready: ``steps``, ``layers``, ``grad_norm``, ``weight_std``,
        ``act_mean``, ``act_std`` (rows per recorded step; NaN -> None)."""
        def clean(rows):
            return [[None if not math.isfinite(v) else v for v in r] for r in rows]
        return {"steps": list(self.steps), "layers": list(self.names), "grad_norm": clean(self.grad_norm),
                "weight_std": clean(self.weight_std), "act_mean": clean(self.act_mean),
                "act_std": clean(self.act_std)}


def stats_arrays(d):
    """Inverse of :meth:`LayerStatsRecorder.as_dict` for plotting: None -> NaN."""
    out = dict(d)
    for k in ("grad_norm", "weight_std", "act_mean", "act_std"):
        if k in d:
            out[k] = np.array([[math.nan if v is None else v for v in r] for r in d[k]], dtype=np.float64)
    return out
