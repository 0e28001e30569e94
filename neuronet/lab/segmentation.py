"""``neuronet lab segmentation``: U-Net and SegNet on the synthetic Shapes set.

Each pixel of a 32x32 colour image is classified as background, circle,
square or triangle (:class:`neuronet.data.Shapes` with its defaults: 1 to 3
shapes per image, pixel noise std 0.05). A small U-Net (Ronneberger et al.
2015; base width 16, 3 downsamplings, batch norm) or SegNet (Badrinarayanan
et al. 2017; base width 8) trains with the :class:`~neuronet.train.Trainer`
(``task="segmentation"``: per-pixel cross-entropy, mean IoU and pixel
accuracy on held-out images), with a :class:`~neuronet.report.ReportCallback`,
so the run directory ``<out>/segmentation-<model>/`` holds the full report.

The recipe: Adam, batch 16, a one-cycle learning rate (Smith & Topin 2019:
cosine warm-up from ``max_lr / 25`` to ``max_lr`` over the first 20 % of the
run, cosine annealing to ``max_lr / 1000`` after), driven by the run's
*progress* ``p = max(step / total_steps, cpu_seconds / budget)``: whichever
budget runs out first -- epochs or time -- the learning rate has annealed by
then, so a run cut short by the clock still ends on a settled model.

The time budget (``minutes``) counts this process's CPU time
(``time.process_time()``, all its threads), not the wall clock: on an
unshared machine the wall time is at most the CPU time (some thread of the
process is always busy), while on a shared one the wall clock would charge the
run for other processes' work. Both are reported, with the load average.
Training stops at the end of the epoch in which either budget runs out.

Metrics on the held-out images, from the confusion matrix ``M`` over pixels:
``IoU_c = M_cc / (sum_j M_cj + sum_i M_ic - M_cc)``, mean IoU over classes,
pixel accuracy ``trace(M) / sum(M)``.
"""
from __future__ import annotations

import math
import os
import time

import numpy as np

from .. import manual_seed, optim
from ..data import DataLoader, Shapes
from ..models import segnet, unet
from ..train import Callback, Trainer, iou_per_class
from ._common import LabResult

__all__ = ["run", "build_model"]

# (train images, epochs, max learning rate, CPU-minute budget, base width) per model and mode;
# --quick (the tests) halves the widths and trains on a few hundred images.
_RECIPES = {
    ("unet", False): (2000, 12, 5e-3, 10.0, 16),
    ("segnet", False): (2000, 6, 5e-3, 5.0, 8),
    ("unet", True): (192, 3, 1e-2, 5.0, 8),
    ("segnet", True): (192, 3, 1e-2, 5.0, 4),
}


def build_model(name, channels=3, num_classes=4, base_channels=None):
    """The lab's U-Net (base width 16, depth 3, batch norm) or SegNet (base width 8)."""
    if name == "unet":
        return unet(in_channels=channels, num_classes=num_classes, base_channels=base_channels or 16, depth=3,
                    batch_norm=True)
    if name == "segnet":
        return segnet(in_channels=channels, num_classes=num_classes, base_channels=base_channels or 8)
    raise ValueError(f"lab segmentation: --model must be 'unet' or 'segnet', received {name!r}")


def one_cycle(p, max_lr, pct_start=0.2, div_factor=25.0, final_div_factor=40.0):
    """The one-cycle learning rate at progress ``p`` in [0, 1] (cosine
    warm-up from ``max_lr / div_factor`` to ``max_lr`` until ``pct_start``,
    cosine annealing to ``max_lr / (div_factor * final_div_factor)`` after)."""
    p = min(max(p, 0.0), 1.0)
    lo, end = max_lr / div_factor, max_lr / (div_factor * final_div_factor)
    if p < pct_start:
        a, b, t = lo, max_lr, p / pct_start
    else:
        a, b, t = max_lr, end, (p - pct_start) / (1.0 - pct_start)
    return b + (a - b) * (1.0 + math.cos(math.pi * t)) / 2.0


class _Budget(Callback):
    """Sets the learning rate before every step from the run's progress
    ``max(step / total_steps, cpu / cpu_budget)`` (see :func:`one_cycle`),
    and stops training after the epoch in which ``cpu_budget`` seconds of
    process CPU time have been spent. Logs ``cpu_s`` and ``elapsed_s``
    (wall) at each epoch end."""

    def __init__(self, optimizer, max_lr, total_steps, cpu_budget):
        self.optimizer, self.max_lr = optimizer, max_lr
        self.total_steps, self.cpu_budget = total_steps, cpu_budget

    def _set_lr(self, step):
        p = max(step / self.total_steps, (time.process_time() - self.c0) / self.cpu_budget)
        for group in self.optimizer.param_groups:
            group["lr"] = one_cycle(p, self.max_lr)

    def on_fit_start(self, trainer):
        self.t0, self.c0 = time.perf_counter(), time.process_time()
        self._set_lr(0)

    def on_batch_end(self, trainer, step, logs):
        self._set_lr(trainer.global_step)

    def on_epoch_end(self, trainer, epoch, logs):
        logs["elapsed_s"] = time.perf_counter() - self.t0
        logs["cpu_s"] = time.process_time() - self.c0
        if logs["cpu_s"] >= self.cpu_budget:
            trainer.stop_training = True


def _loadavg():
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except (AttributeError, OSError):        # not on every platform
        return None


def run(out_dir, quick=False, seed=0, model="unet", epochs=None, minutes=None, size=32):
    """Train ``model`` ("unet" or "segnet") on Shapes; ``metrics`` holds the
    held-out mean IoU, pixel accuracy, per-class IoU, the epochs run, the
    wall and CPU time and the load average before and after."""
    from ..report import ReportCallback, figures
    from ..report.callback import predict
    if model not in ("unet", "segnet"):
        raise ValueError(f"lab segmentation: --model must be 'unet' or 'segnet', received {model!r}")
    n_train, default_epochs, max_lr, default_minutes, width = _RECIPES[(model, bool(quick))]
    n_test = 48 if quick else 200
    epochs = epochs or default_epochs
    minutes = minutes if minutes is not None else default_minutes
    if epochs < 1 or minutes <= 0:
        raise ValueError(f"lab segmentation: epochs must be >= 1 and minutes > 0, received {epochs}, {minutes}")
    batch_size = 16
    manual_seed(seed)
    train = Shapes(train=True, num_samples=n_train, size=size, seed=seed)
    test = Shapes(train=False, num_samples=n_test, size=size, seed=seed)
    net = build_model(model, base_channels=width)
    run_dir = os.path.join(out_dir, f"segmentation-{model}")
    # Figures drawn once, at the end: drawing every epoch would eat the budget.
    report = ReportCallback(run_dir, sample_inputs=test, class_names=Shapes.classes, num_samples=16,
                            every=epochs)
    opt = optim.Adam(net.parameters(), lr=max_lr)
    train_loader = DataLoader(train, batch_size=batch_size, shuffle=True, seed=seed)
    budget = _Budget(opt, max_lr, epochs * len(train_loader), 60.0 * minutes)
    trainer = Trainer(net, opt, task="segmentation", num_classes=Shapes.num_classes,
                      out_dir=run_dir, callbacks=[budget, report], verbose=not quick,
                      config={"lab": "segmentation", "model": model, "size": size, "train_images": n_train,
                              "test_images": n_test, "epochs": epochs, "batch_size": batch_size,
                              "max_lr": max_lr, "base_channels": width, "cpu_budget_min": minutes})
    load_before = _loadavg()
    t0, c0 = time.perf_counter(), time.process_time()
    history = trainer.fit(train_loader, DataLoader(test, batch_size=100), epochs=epochs)
    seconds, cpu_seconds = time.perf_counter() - t0, time.process_time() - c0
    load_after = _loadavg()
    last = history[-1]
    per_class = [float(v) for v in np.nan_to_num(iou_per_class(last["val_confusion_matrix"]))]
    first = next((h for h in history if h.get("val_mean_iou", 0) >= 0.9), None)
    metrics = {
        "model": model, "parameters": int(sum(int(np.prod(p.shape)) for p in net.parameters())),
        "mean_iou": float(last["val_mean_iou"]), "pixel_accuracy": float(last["val_pixel_accuracy"]),
        "iou_per_class": dict(zip(Shapes.classes, per_class)),
        "epochs": int(last["epoch"]), "epoch_budget": epochs, "stopped_by_time": int(last["epoch"]) < epochs,
        "train_seconds": seconds, "cpu_seconds": cpu_seconds, "cpu_budget_seconds": 60.0 * minutes,
        "first_epoch_iou_0.9": first["epoch"] if first else None,
        "seconds_to_iou_0.9": first.get("elapsed_s") if first else None,
        "cpu_seconds_to_iou_0.9": first.get("cpu_s") if first else None,
        "load_average_before": load_before, "load_average_after": load_after,
        "train_images": n_train, "test_images": n_test, "size": size, "batch_size": batch_size,
        "max_lr": max_lr, "mean_iou_per_epoch": [round(float(h["val_mean_iou"]), 4) for h in history],
    }
    x, y = report.x[:4], report.y[:4]
    pred = predict(net, x).argmax(axis=1)
    path = figures.segmentation_examples(
        x, y, pred, os.path.join(out_dir, f"segmentation-{model}.png"), class_names=Shapes.classes,
        title=f"{model}: held-out mean IoU {100 * metrics['mean_iou']:.1f}%, pixel accuracy "
              f"{100 * metrics['pixel_accuracy']:.1f}% ({metrics['epochs']} epochs, "
              f"{cpu_seconds / 60:.1f} CPU-min)")
    ious = metrics["iou_per_class"]
    shapes_only = {k: v for k, v in ious.items() if k != "background"}
    worst = min(shapes_only, key=shapes_only.get)
    load = (f"load average {load_before[0]:.1f} before and {load_after[0]:.1f} after"
            if load_before and load_after else "load unknown")
    reading = (
        f"{'U-Net' if model == 'unet' else 'SegNet'} ({metrics['parameters']:,} parameters; Adam, batch "
        f"{batch_size}, one-cycle learning rate peaking at {max_lr:g}) trained for {metrics['epochs']} epochs "
        f"on {n_train} synthetic {size}x{size} images (1-3 shapes each, pixel noise 0.05) in "
        f"{cpu_seconds / 60:.1f} min of CPU time ({seconds / 60:.1f} min wall, {load}"
        + (", stopped by the time budget" if metrics["stopped_by_time"] else "")
        + f") and reaches a mean IoU of {100 * metrics['mean_iou']:.1f}% and a pixel accuracy of "
        f"{100 * metrics['pixel_accuracy']:.1f}% on {n_test} held-out images (IoU: "
        + ", ".join(f"{k} {100 * v:.1f}%" for k, v in ious.items()) + ")"
        + (f"; mean IoU first passed 90% at epoch {first['epoch']}, after {first['cpu_s'] / 60:.1f} CPU-min"
           if first else "")
        + ". Pixel accuracy flatters a segmentation, because the background is most of the image; mean IoU "
        f"weighs every class equally and is the number to watch. The hardest shape is the {worst} "
        f"(IoU {100 * ious[worst]:.1f}%)"
        + ("; the remaining errors sit on the shapes' boundaries and where shapes overlap, as the figure's last "
           "column shows. " if metrics["mean_iou"] >= 0.8 else
           "; at this stage whole shapes are still given the wrong class (the figure's last column), so "
           "more training is needed. ")
        + ("U-Net's skip connections hand the decoder the encoder's full-resolution features, so edges are sharp."
           if model == "unet" else
           "SegNet's decoder upsamples with the encoder's max-pooling indices instead of learned "
           "up-convolutions and skip connections, which keeps it small but blurs the boundaries more."))
    return LabResult(f"segmentation-{model}", path, metrics, reading, seconds)
