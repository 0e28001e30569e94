"""``neuronet lab gradients``: the vanishing gradient, and three ways out.

A deep multilayer perceptron (10 hidden layers) sees one batch of MNIST
digits; after one backward pass we measure the norm of the gradient of the
loss with respect to each layer's weight matrix, ``||dL/dW_l||``, layer 1
(input side) to the output layer. Back-propagation multiplies the error by
``W_l^T`` and by the activation's derivative once per layer::

    delta_{l-1} = (W_l^T delta_l) * f'(z_{l-1})

With sigmoid (``f' <= 1/4``) and naive N(0, 0.01) weights (``||W^T|| ~ 0.01
sqrt(width)``) each factor is far below 1, so the error shrinks
geometrically towards the input and the first layers do not learn. The fixes
the course gives: keep the per-layer gain near 1 -- Xavier/Glorot
initialization (Glorot & Bengio 2010, derived for tanh-like units with
``f'(0) = 1``), ReLU with He initialization (He et al. 2015), or batch
normalization (Ioffe & Szegedy 2015), which re-scales each layer's
pre-activations whatever the weights' scale.
"""
from __future__ import annotations

import os

import numpy as np

from .. import manual_seed, nn
from ..nn import functional as F
from ..nn import init
from ..report.stats import grad_norms
from ..tensor import Tensor
from ._common import LabResult, Timer, mnist_arrays

__all__ = ["run", "SETTINGS", "deep_mlp", "layer_grad_norms"]

# name -> (activation, init scheme, batch norm)
SETTINGS = {
    "sigmoid, N(0, 0.01)": ("sigmoid", "naive", False),
    "sigmoid, Xavier": ("sigmoid", "xavier", False),
    "tanh, Xavier": ("tanh", "xavier", False),
    "ReLU, He": ("relu", "he", False),
    "sigmoid, N(0, 0.01) + BatchNorm": ("sigmoid", "naive", True),
}

_ACT = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU}


def deep_mlp(depth=10, width=256, activation="sigmoid", scheme="naive", batch_norm=False, in_features=784,
             num_classes=10):
    """``Flatten -> [Linear -> (BatchNorm1d) -> activation] x depth -> Linear``,
    weights drawn by ``scheme``: "naive" N(0, 0.01^2), "xavier" (Glorot
    normal), "he" (Kaiming normal, fan_in, ReLU); zero biases."""
    layers = [nn.Flatten()]
    width_in = in_features
    for _ in range(depth):
        layers.append(nn.Linear(width_in, width))
        if batch_norm:
            layers.append(nn.BatchNorm1d(width))
        layers.append(_ACT[activation]())
        width_in = width
    layers.append(nn.Linear(width_in, num_classes))
    model = nn.Sequential(*layers)
    for m in model.modules():
        if isinstance(m, nn.Linear):
            if scheme == "naive":
                init.normal_(m.weight, 0.0, 0.01)
            elif scheme == "xavier":
                init.xavier_normal_(m.weight)
            elif scheme == "he":
                init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
            else:
                raise ValueError(f"deep_mlp: unknown init scheme {scheme!r} (naive, xavier, he)")
            init.zeros_(m.bias)
    return model


def layer_grad_norms(model, x, y, batch_size):
    """Mean over batches of ``||dL/dW_l||`` for each weight layer (input side first)."""
    rows = []
    for i in range(0, len(x), batch_size):
        model.zero_grad()
        loss = F.cross_entropy(model(Tensor._wrap(x[i:i + batch_size])), Tensor._wrap(y[i:i + batch_size]))
        loss.backward()
        rows.append(list(grad_norms(model).values()))
    return np.mean(np.array(rows), axis=0)


def run(out_dir, quick=False, seed=0):
    """Measure and plot the per-layer gradient norms of each setting;
    returns a :class:`LabResult` (``metrics[setting]["ratio_last_to_first"]``)."""
    from ..report._mpl import pyplot, save
    depth, width = (10, 128) if quick else (10, 256)
    n, batch = (128, 64) if quick else (1024, 256)
    x, y = mnist_arrays(train=True, n=n)
    metrics, curves = {}, {}
    with Timer() as timer:
        for name, (act, scheme, bn) in SETTINGS.items():
            manual_seed(seed)
            model = deep_mlp(depth, width, act, scheme, bn)
            norms = layer_grad_norms(model, x, y, batch)
            curves[name] = norms
            metrics[name] = {"grad_norm_first": float(norms[0]), "grad_norm_last": float(norms[-1]),
                             "ratio_last_to_first": float(norms[-1] / norms[0]),
                             "per_layer": [float(v) for v in norms]}
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8, 4.8))
    styles = ["-o", "-s", "-^", "-D", "-v"]
    for (name, norms), st in zip(curves.items(), styles):
        ax.plot(np.arange(1, len(norms) + 1), norms, st, ms=4,
                label=f"{name}  (last/first = {metrics[name]['ratio_last_to_first']:.3g})")
    ax.set_yscale("log")
    ax.set_xlabel(f"layer (1 = input side, {depth + 1} = output layer)")
    ax.set_ylabel("||dL/dW||  (log scale)")
    ax.set_title(f"Gradient norm per layer at initialization: {depth + 1}-layer MLP, width {width}, "
                 f"MNIST batch {batch}", fontsize=10)
    ax.set_xticks(range(1, depth + 2))
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    path = save(fig, os.path.join(out_dir, "gradients.png"))

    r = {k: v["ratio_last_to_first"] for k, v in metrics.items()}
    reading = (
        f"With sigmoid units and naive N(0, 0.01) weights the gradient reaching the first layer is "
        f"{r['sigmoid, N(0, 0.01)']:.2g} times smaller than the output layer's: each layer multiplies the "
        f"back-propagated error by W^T (norm about 0.01*sqrt({width})) and by sigmoid' <= 1/4, so it shrinks "
        f"geometrically and the first layers barely learn -- the vanishing gradient. Xavier initialization keeps "
        f"W^T's gain near 1: with tanh (slope 1 at 0, the case Glorot and Bengio derived it for) the ratio of the "
        f"last layer's gradient norm to the first's is {r['tanh, Xavier']:.3g}, but with sigmoid the factor 1/4 per layer remains "
        f"({r['sigmoid, Xavier']:.3g}). ReLU with He initialization passes gradients with unit slope and "
        f"variance-preserving weights ({r['ReLU, He']:.3g}), and batch normalization rescues even the naive "
        f"sigmoid network ({r['sigmoid, N(0, 0.01) + BatchNorm']:.3g}) because it divides each layer's "
        f"pre-activations, and so the back-propagated error, by their own scale.")
    return LabResult("gradients", path, metrics, reading, timer.seconds)
