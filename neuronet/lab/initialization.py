"""``neuronet lab init``: activation statistics through depth for each
initialization scheme (the CS231n picture).

One batch of MNIST digits goes forward through a 10-layer MLP (width 256)
and we record, after each hidden layer's nonlinearity, the mean, standard
deviation and histogram of the activations. A layer's output variance is
``Var(z) = fan_in Var(w) Var(x)`` (zero-mean, independent weights), so:

* N(0, 0.01): ``fan_in Var(w) = 256e-4 << 1`` -- activations shrink to 0
  layer after layer (and so, on the way back, do the gradients);
* N(0, 1): ``fan_in Var(w) = 256`` -- tanh units saturate at +-1, where
  their derivative is 0;
* Xavier (Glorot & Bengio 2010), ``Var(w) = 2 / (fan_in + fan_out)``: unit
  gain, tanh activations keep their spread;
* Xavier with ReLU: ReLU zeroes half of its input, halving the second
  moment at each layer -- the spread decays as ``2^(-l/2)``;
* He (He et al. 2015), ``Var(w) = 2 / fan_in``: compensates that factor 2.
"""
from __future__ import annotations

import os

import numpy as np

from .. import manual_seed, nn, no_grad
from ..nn import init
from ..tensor import Tensor
from ._common import LabResult, Timer, mnist_arrays

__all__ = ["run", "SCHEMES", "activation_stats"]

# name -> (activation, weight init)
SCHEMES = {
    "tanh, N(0, 0.01)": ("tanh", lambda w: init.normal_(w, 0.0, 0.01)),
    "tanh, N(0, 1)": ("tanh", lambda w: init.normal_(w, 0.0, 1.0)),
    "tanh, Xavier": ("tanh", lambda w: init.xavier_normal_(w)),
    "ReLU, Xavier": ("relu", lambda w: init.xavier_normal_(w)),
    "ReLU, He": ("relu", lambda w: init.kaiming_normal_(w, mode="fan_in", nonlinearity="relu")),
}


@no_grad()
def activation_stats(x, activation, weight_init, depth=10, width=256):
    """Forward ``x (N, D)`` through ``depth`` layers of ``Linear(width) ->
    activation`` (zero biases, weights by ``weight_init``); returns the list of
    each layer's activations as arrays ``(N, width)``."""
    act = {"tanh": nn.Tanh(), "relu": nn.ReLU()}[activation]
    h = Tensor._wrap(x.reshape(len(x), -1))
    outs = []
    for _ in range(depth):
        layer = nn.Linear(h.shape[1], width)
        weight_init(layer.weight)
        init.zeros_(layer.bias)
        h = act(layer(h))
        outs.append(h.numpy() if hasattr(h, "numpy") else np.asarray(h.array))
    return outs


def run(out_dir, quick=False, seed=0):
    """Record and plot activation statistics through depth for each scheme;
    ``metrics[scheme]`` holds the per-layer std and mean."""
    from ..report._mpl import pyplot, save
    depth, width, n = (10, 128, 128) if quick else (10, 256, 1000)
    x, _ = mnist_arrays(train=True, n=n)
    metrics, acts = {}, {}
    with Timer() as timer:
        for name, (act, winit) in SCHEMES.items():
            manual_seed(seed)
            outs = activation_stats(x, act, winit, depth, width)
            acts[name] = outs
            stds = [float(a.std()) for a in outs]
            metrics[name] = {"std_per_layer": stds, "mean_per_layer": [float(a.mean()) for a in outs],
                             "std_first": stds[0], "std_last": stds[-1],
                             "saturated_last": float((np.abs(outs[-1]) > 0.99).mean()) if act == "tanh" else 0.0,
                             "zero_last": float((outs[-1] == 0).mean()) if act == "relu" else 0.0}
    plt = pyplot()
    fig = plt.figure(figsize=(12, 6.4))
    gs = fig.add_gridspec(2, len(SCHEMES), height_ratios=[1.25, 1])
    ax = fig.add_subplot(gs[0, :])
    styles = ["-o", "-s", "-^", "-D", "-v"]
    for (name, m), st in zip(metrics.items(), styles):
        ax.plot(range(1, depth + 1), m["std_per_layer"], st, ms=4, label=name)
    ax.set_yscale("log")
    ax.set_xlabel("layer")
    ax.set_ylabel("std of the activations (log)")
    ax.set_xticks(range(1, depth + 1))
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8, ncol=3)
    ax.set_title(f"Activations through a {depth}-layer MLP (width {width}) at initialization, "
                 f"{n} MNIST digits", fontsize=10)
    show = [0, depth // 2 - 1, depth - 1]
    for j, (name, outs) in enumerate(acts.items()):
        bx = fig.add_subplot(gs[1, j])
        lo, hi = (-1.05, 1.05) if SCHEMES[name][0] == "tanh" else (0, max(float(outs[0].max()), 1e-6))
        for li in show:
            a = outs[li].ravel()
            bx.hist(a, bins=40, range=(lo, hi), histtype="step", density=True, label=f"layer {li + 1}")
        bx.set_yscale("log")
        bx.set_title(name, fontsize=9)
        bx.tick_params(labelsize=7)
        if j == 0:
            bx.set_ylabel("density (log)", fontsize=8)
            bx.legend(fontsize=7)
    fig.tight_layout()
    path = save(fig, os.path.join(out_dir, "init.png"))

    s = {k: v["std_last"] for k, v in metrics.items()}
    s1 = {k: v["std_first"] for k, v in metrics.items()}
    reading = (
        f"After {depth} layers the activations' standard deviation is {s['tanh, N(0, 0.01)']:.2g} with tanh and "
        f"N(0, 0.01) weights (it was {s1['tanh, N(0, 0.01)']:.2g} after layer 1): each layer multiplies the "
        f"variance by fan_in*Var(w) = {width}e-4, so the signal collapses to zero and so would the weight "
        f"gradients, which are proportional to these activations. With N(0, 1) weights the opposite happens: "
        f"{100 * metrics['tanh, N(0, 1)']['saturated_last']:.0f}% of the last layer's tanh units sit at +-1 "
        f"(|a| > 0.99) where their slope is zero. Xavier initialization keeps tanh activations spread "
        f"(std {s1['tanh, Xavier']:.2f} at layer 1, {s['tanh, Xavier']:.2f} at layer {depth}); with ReLU, "
        f"which zeroes half its input, Xavier lets the spread decay ({s1['ReLU, Xavier']:.2f} -> "
        f"{s['ReLU, Xavier']:.2g}), and He initialization's extra factor 2 holds it "
        f"({s1['ReLU, He']:.2f} -> {s['ReLU, He']:.2f}).")
    return LabResult("init", path, metrics, reading, timer.seconds)
