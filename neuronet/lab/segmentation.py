"""``neuronet lab segmentation``: U-Net and SegNet on the synthetic Shapes set.

Each pixel of a 32x32 colour image is classified as background, circle,
square or triangle (:class:`neuronet.data.Shapes`). A small U-Net
(Ronneberger et al. 2015; base width 8, 3 downsamplings, batch norm) or SegNet
(Badrinarayanan et al. 2017; base width 8) trains with the
:class:`~neuronet.train.Trainer` (``task="segmentation"``: per-pixel
cross-entropy, mean IoU and pixel accuracy on held-out images), with a
:class:`~neuronet.report.ReportCallback`, so the run directory
``<out>/segmentation-<model>/`` holds the full report. Training stops at the
epoch budget or the time budget, whichever comes first.

Metrics on the held-out images, from the confusion matrix ``M`` over pixels:
``IoU_c = M_cc / (sum_j M_cj + sum_i M_ic - M_cc)``, mean IoU over classes,
pixel accuracy ``trace(M) / sum(M)``.
"""
from __future__ import annotations

import os
import time

import numpy as np

from .. import manual_seed, optim
from ..data import DataLoader, Shapes
from ..models import segnet, unet
from ..train import Callback, Trainer
from ._common import LabResult

__all__ = ["run", "build_model"]


def build_model(name, channels=3, num_classes=4):
    if name == "unet":
        return unet(in_channels=channels, num_classes=num_classes, base_channels=8, depth=3, batch_norm=True)
    if name == "segnet":
        return segnet(in_channels=channels, num_classes=num_classes, base_channels=8)
    raise ValueError(f"lab segmentation: --model must be 'unet' or 'segnet', received {name!r}")


class _TimeBudget(Callback):
    """Stop after the epoch during which ``seconds`` of training have passed."""

    def __init__(self, seconds):
        self.seconds = seconds

    def on_fit_start(self, trainer):
        self.t0 = time.perf_counter()

    def on_epoch_end(self, trainer, epoch, logs):
        logs["elapsed_s"] = time.perf_counter() - self.t0
        if logs["elapsed_s"] >= self.seconds:
            trainer.stop_training = True


def run(out_dir, quick=False, seed=0, model="unet", epochs=None, minutes=None, size=32):
    """Train ``model`` ("unet" or "segnet") on Shapes; ``metrics`` holds the
    held-out mean IoU, pixel accuracy, per-class IoU, the epochs run and the
    training time."""
    from ..report import ReportCallback, figures
    from ..report.callback import predict
    n_train, n_test = (48, 16) if quick else (2000, 200)
    epochs = epochs or (1 if quick else 40)
    minutes = minutes if minutes is not None else (2 if quick else 10)
    manual_seed(seed)
    train = Shapes(train=True, num_samples=n_train, size=size, seed=seed)
    test = Shapes(train=False, num_samples=n_test, size=size, seed=seed)
    net = build_model(model)
    run_dir = os.path.join(out_dir, f"segmentation-{model}")
    report = ReportCallback(run_dir, sample_inputs=test, class_names=Shapes.classes, num_samples=16)
    opt = optim.Adam(net.parameters(), lr=3e-3)
    sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    trainer = Trainer(net, opt, scheduler=sched, task="segmentation", num_classes=Shapes.num_classes,
                      out_dir=run_dir, callbacks=[_TimeBudget(60 * minutes), report], verbose=not quick,
                      config={"lab": "segmentation", "model": model, "size": size, "train_images": n_train,
                              "test_images": n_test, "epochs": epochs, "time_budget_min": minutes})
    t0 = time.perf_counter()
    history = trainer.fit(DataLoader(train, batch_size=16, shuffle=True, seed=seed),
                          DataLoader(test, batch_size=50), epochs=epochs)
    seconds = time.perf_counter() - t0
    last = history[-1]
    first_at = next((h["epoch"] for h in history if h.get("val_mean_iou", 0) >= 0.9), None)
    metrics = {
        "model": model, "parameters": int(sum(int(np.prod(p.shape)) for p in net.parameters())),
        "mean_iou": float(last["val_mean_iou"]), "pixel_accuracy": float(last["val_pixel_accuracy"]),
        "iou_per_class": dict(zip(Shapes.classes, [float(v) for v in
                                                   np.nan_to_num(report.state.get("iou_per_class") or [])])),
        "epochs": int(last["epoch"]), "train_seconds": seconds,
        "first_epoch_iou_0.9": first_at,
        "seconds_to_iou_0.9": next((h.get("elapsed_s") for h in history if h.get("val_mean_iou", 0) >= 0.9), None),
        "train_images": n_train, "test_images": n_test, "size": size,
    }
    x, y = report.x[:4], report.y[:4]
    pred = predict(net, x).argmax(axis=1)
    path = figures.segmentation_examples(
        x, y, pred, os.path.join(out_dir, f"segmentation-{model}.png"), class_names=Shapes.classes,
        title=f"{model}: held-out mean IoU {100 * metrics['mean_iou']:.1f}%, pixel accuracy "
              f"{100 * metrics['pixel_accuracy']:.1f}% ({metrics['epochs']} epochs, {seconds / 60:.1f} min)")
    worst = min(metrics["iou_per_class"], key=metrics["iou_per_class"].get) if metrics["iou_per_class"] else "?"
    reading = (
        f"{'U-Net' if model == 'unet' else 'SegNet'} ({metrics['parameters']:,} parameters) trained for "
        f"{metrics['epochs']} epochs ({seconds / 60:.1f} min on this machine) on {n_train} synthetic {size}x{size} "
        f"images reaches a mean IoU of {100 * metrics['mean_iou']:.1f}% and a pixel accuracy of "
        f"{100 * metrics['pixel_accuracy']:.1f}% on {n_test} held-out images"
        + (f" (mean IoU first passed 90% at epoch {first_at}, after {metrics['seconds_to_iou_0.9'] / 60:.1f} min)"
           if first_at else "")
        + f". Pixel accuracy flatters a segmentation, because the background is most of the image; mean IoU "
        f"weighs every class equally and is the number to watch. The hardest class is the {worst} "
        f"(IoU {100 * metrics['iou_per_class'].get(worst, 0):.1f}%)"
        + ("; the remaining errors sit on the shapes' boundaries and where shapes overlap, as the figure's last "
           "column shows. " if metrics["mean_iou"] >= 0.8 else
           "; at this stage whole shapes are still given the wrong class (the figure's last column), so "
           "more epochs are needed. ")
        + ("U-Net's skip connections hand the decoder the encoder's full-resolution features, so edges are sharp."
           if model == "unet" else
           "SegNet's decoder upsamples with the encoder's max-pooling indices instead of learned "
           "up-convolutions and skip connections, which keeps it small but blurs the boundaries more."))
    return LabResult(f"segmentation-{model}", path, metrics, reading, seconds)
