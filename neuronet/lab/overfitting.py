"""``neuronet lab overfitting``: a network trained on a few hundred digits,
with and without dropout, weight decay and data augmentation.

The same MLP (784-512-512-10), the same initial weights, the same batches;
after each epoch both the training subset (in eval mode: no dropout, no
augmentation) and the held-out test set are scored. Overfitting is the gap
between the two curves: the training loss keeps falling while the test loss
stops falling and rises again.

* dropout (Srivastava et al. 2014), p = 0.5 after each hidden layer: units
  cannot co-adapt, an implicit ensemble of thinned networks;
* weight decay (L2, ``w -= lr (g + lambda w)``): small weights, a smoother
  function;
* augmentation: random rotations (+-10 degrees) and shifts (+-2 pixels),
  so each epoch sees new versions of the same digits.
"""
from __future__ import annotations

import os

import numpy as np

from .. import manual_seed, optim
from ..data import DataLoader
from ..data import transforms as T
from ..models import mlp
from ..train import Trainer
from ._common import EpochEval, LabResult, Timer, array_loader, mnist_arrays, mnist_subset

__all__ = ["run", "reading", "SETTINGS"]

# name -> (dropout, weight decay, augment)
SETTINGS = {
    "no regularization": (0.0, 0.0, False),
    "dropout 0.5": (0.5, 0.0, False),
    "weight decay 1e-2": (0.0, 1e-2, False),
    "augmentation": (0.0, 0.0, True),
}


def run(out_dir, quick=False, seed=0, lr=0.02):
    """Train the MLP under each setting; ``metrics[setting]`` holds the final
    train/test accuracy and loss, their gap and how far the test loss rose
    above its minimum."""
    from ..report._mpl import pyplot, save
    n_train, n_test, epochs, width = (200, 300, 12, 128) if quick else (500, 2000, 60, 512)
    batch = 50
    xtr, ytr = mnist_arrays(True, n_train)
    xte, yte = mnist_arrays(False, n_test)
    clean_train = array_loader(xtr, ytr, 500)
    test = array_loader(xte, yte, 500)
    metrics, curves = {}, {}
    with Timer() as timer:
        for name, (p, wd, augment) in SETTINGS.items():
            manual_seed(seed)                      # same initial weights (dropout only adds no parameters)
            model = mlp(hidden=(width, width), dropout=p)
            if augment:
                data = mnist_subset(True, n_train, T.RandomAffine(10, translate=(2 / 28, 2 / 28)))
                loader = DataLoader(data, batch_size=batch, shuffle=True, seed=seed)
            else:
                loader = array_loader(xtr, ytr, batch, shuffle=True, seed=seed)
            ev = EpochEval(train=clean_train, test=test)
            trainer = Trainer(model, optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=wd),
                              callbacks=[ev], verbose=False)
            trainer.fit(loader, epochs=epochs)
            tr = np.array(ev.curves["train"])
            te = np.array(ev.curves["test"])
            curves[name] = (tr, te)
            metrics[name] = {
                "train_accuracy": float(tr[-1, 1]), "test_accuracy": float(te[-1, 1]),
                "accuracy_gap": float(tr[-1, 1] - te[-1, 1]),
                "train_loss": float(tr[-1, 0]), "test_loss": float(te[-1, 0]),
                "loss_gap": float(te[-1, 0] - tr[-1, 0]),
                "test_loss_min": float(te[:, 0].min()), "test_loss_min_epoch": int(te[:, 0].argmin()) + 1,
                "test_loss_rise": float(te[-1, 0] - te[:, 0].min()),
            }
    plt = pyplot()
    fig, axes = plt.subplots(2, len(SETTINGS), figsize=(13, 6.2), sharex=True)
    ep = np.arange(1, epochs + 1)
    ymax = max(max(c[1][:, 0].max() for c in curves.values()), 0.5)
    for j, (name, (tr, te)) in enumerate(curves.items()):
        ax = axes[0, j]
        ax.plot(ep, tr[:, 0], label="train")
        ax.plot(ep, te[:, 0], label="test")
        ax.set_ylim(0, min(ymax * 1.05, 3))
        ax.set_title(name, fontsize=10)
        ax.grid(alpha=0.3)
        bx = axes[1, j]
        bx.plot(ep, 100 * tr[:, 1], label="train")
        bx.plot(ep, 100 * te[:, 1], label="test")
        bx.set_ylim(50, 101)
        bx.set_xlabel("epoch")
        bx.grid(alpha=0.3)
        m = metrics[name]
        bx.text(0.97, 0.05, f"test {100 * m['test_accuracy']:.1f}%\ngap {100 * m['accuracy_gap']:.1f} pts",
                transform=bx.transAxes, ha="right", va="bottom", fontsize=8)
        if j == 0:
            ax.set_ylabel("loss")
            bx.set_ylabel("accuracy (%)")
            ax.legend(fontsize=8)
    fig.suptitle(f"Overfitting: MLP 784-{width}-{width}-10 on {n_train} MNIST digits, tested on {n_test}",
                 fontsize=10)
    fig.tight_layout()
    path = save(fig, os.path.join(out_dir, "overfitting.png"))

    return LabResult("overfitting", path, metrics, reading(metrics, n_train), timer.seconds)


def reading(metrics, n_train):
    """The paragraph reading the measured numbers."""
    m = metrics
    base = m["no regularization"]

    def versus(name):
        r = m[name]
        gap = "narrows" if r["accuracy_gap"] < base["accuracy_gap"] else "does not narrow"
        loss = "lowers" if r["test_loss"] < base["test_loss"] else "does not lower"
        return (f"{name} {gap} the accuracy gap ({100 * r['accuracy_gap']:.1f} points, test "
                f"{100 * r['test_accuracy']:.1f}%) and {loss} the final test loss ({r['test_loss']:.3f}, "
                f"{'still rising' if r['test_loss_rise'] > 0.05 else 'no longer rising'} at the end)")

    reading = (
        f"Trained on only {n_train} digits, the unregularized network fits them almost perfectly (train accuracy "
        f"{100 * base['train_accuracy']:.1f}%, loss {base['train_loss']:.3f}) but reaches "
        f"{100 * base['test_accuracy']:.1f}% on the test set, a gap of {100 * base['accuracy_gap']:.1f} points; "
        f"its test loss, lowest at epoch {base['test_loss_min_epoch']} ({base['test_loss_min']:.3f}), ends at "
        f"{base['test_loss']:.3f} as it grows confident on what it memorized. Against that: "
        + "; ".join(versus(k) for k in list(SETTINGS)[1:]) +
        ". Augmentation, which shows new rotated and shifted versions of the digits at every epoch, attacks "
        "the cause -- too few distinct examples -- and helps most here; weight decay mainly keeps the "
        "network from growing over-confident (the test loss stops rising), and dropout on so small a set "
        "helps little or not at all, as the numbers show.")
    return reading
