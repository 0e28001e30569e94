"""``neuronet lab optimizers``: SGD, momentum, Nesterov, RMSprop and Adam on
the same network, the same initial weights and the same batches.

Update rules (PyTorch's forms, see ``neuronet.optim``), gradient ``g``:

* SGD:       ``w -= lr g``
* momentum:  ``v = mu v + g;  w -= lr v``  (Polyak 1964; mu = 0.9)
* Nesterov:  ``v = mu v + g;  w -= lr (g + mu v)``  (the look-ahead gradient)
* RMSprop:   ``s = a s + (1 - a) g^2;  w -= lr g / (sqrt(s) + eps)``  (Hinton 2012)
* Adam:      bias-corrected first and second moments (Kingma & Ba 2015)

SGD, momentum and Nesterov share one learning rate, so the plot shows what
momentum adds; RMSprop and Adam use their usual 1e-3.
"""
from __future__ import annotations

import os

import numpy as np

from .. import manual_seed, optim
from ..models import mlp
from ..train import Trainer
from ._common import LabResult, StepLoss, Timer, array_loader, mnist_arrays

__all__ = ["run", "OPTIMIZERS", "smooth"]

OPTIMIZERS = {
    "SGD": lambda p: optim.SGD(p, lr=0.01),
    "momentum": lambda p: optim.SGD(p, lr=0.01, momentum=0.9),
    "Nesterov": lambda p: optim.SGD(p, lr=0.01, momentum=0.9, nesterov=True),
    "RMSprop": lambda p: optim.RMSprop(p, lr=1e-3),
    "Adam": lambda p: optim.Adam(p, lr=1e-3),
}
LRS = {"SGD": 0.01, "momentum": 0.01, "Nesterov": 0.01, "RMSprop": 1e-3, "Adam": 1e-3}


def smooth(values, beta=0.9):
    """Exponential moving average with bias correction (as TensorBoard's smoothing)."""
    out, m = [], 0.0
    for i, v in enumerate(values, 1):
        m = beta * m + (1 - beta) * v
        out.append(m / (1 - beta ** i))
    return np.array(out)


def run(out_dir, quick=False, seed=0):
    """Train one MLP per optimizer from the same initial weights on the same
    batches; ``metrics[opt]`` holds the final smoothed training loss and the
    test accuracy."""
    from ..report._mpl import pyplot, save
    n_train, n_test, epochs, batch = (1024, 500, 2, 32) if quick else (6000, 2000, 3, 64)
    xtr, ytr = mnist_arrays(True, n_train)
    xte, yte = mnist_arrays(False, n_test)
    test = array_loader(xte, yte, 500)
    manual_seed(seed)
    model = mlp(hidden=(128, 64))
    start = {k: v.clone() if hasattr(v, "clone") else v for k, v in model.state_dict().items()}
    metrics, curves = {}, {}
    with Timer() as timer:
        for name, make in OPTIMIZERS.items():
            model.load_state_dict(start)
            rec = StepLoss()
            trainer = Trainer(model, make(model.parameters()), callbacks=[rec], verbose=False)
            trainer.fit(array_loader(xtr, ytr, batch, shuffle=True, seed=seed), epochs=epochs)
            res = trainer.evaluate(test)
            sm = smooth(rec.losses)
            curves[name] = sm
            metrics[name] = {"lr": LRS[name], "final_train_loss": float(sm[-1]),
                             "loss_after_100_steps": float(sm[min(99, len(sm) - 1)]),
                             "test_accuracy": float(res["accuracy"]), "steps": len(sm)}
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8, 4.8))
    for name, sm in curves.items():
        ax.plot(np.arange(1, len(sm) + 1), sm, lw=1.5,
                label=f"{name} (lr {LRS[name]:g}): test acc {100 * metrics[name]['test_accuracy']:.1f}%")
    ax.set_yscale("log")
    ax.set_xlabel("training step")
    ax.set_ylabel("training loss (smoothed, log)")
    ax.set_title(f"Optimizers on one MLP 784-128-64-10, same initial weights and batches "
                 f"({n_train} MNIST digits, batch {batch}, {epochs} epochs)", fontsize=9)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = save(fig, os.path.join(out_dir, "optimizers.png"))

    f = {k: v["final_train_loss"] for k, v in metrics.items()}
    a = {k: 100 * v["test_accuracy"] for k, v in metrics.items()}
    best = min(f, key=f.get)
    reading = (
        f"From the same weights and on the same batches, plain SGD at lr 0.01 ends at a training loss of "
        f"{f['SGD']:.3f} (test accuracy {a['SGD']:.1f}%). Momentum at the same learning rate accumulates "
        f"consistent gradient directions -- an effective step about 1/(1 - 0.9) = 10 times larger along them -- and "
        f"reaches {f['momentum']:.3f} ({a['momentum']:.1f}%); Nesterov's look-ahead gradient gives "
        f"{f['Nesterov']:.3f} ({a['Nesterov']:.1f}%). RMSprop and Adam divide each weight's step by a running "
        f"RMS of its gradients, so every parameter moves at a similar rate whatever its gradient's scale: "
        f"{f['RMSprop']:.3f} ({a['RMSprop']:.1f}%) and {f['Adam']:.3f} ({a['Adam']:.1f}%). The lowest final "
        f"loss here is {best}'s; the adaptive methods and momentum all leave plain SGD behind early on, "
        f"which is why they are the defaults.")
    return LabResult("optimizers", path, metrics, reading, timer.seconds)
