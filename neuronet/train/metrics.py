"""Classification and segmentation metrics, accumulated over batches.

All functions take raw arrays or Tensors: ``logits: (N, C)`` or
``(N, C, H, W)``, ``targets: (N,)`` or ``(N, H, W)`` class indices.
"""
from __future__ import annotations

import numpy as np

from .. import backend

__all__ = ["accuracy", "topk_accuracy", "confusion_matrix", "per_class_accuracy", "mean_iou",
           "pixel_accuracy", "iou_per_class", "MetricTracker"]


def _np(x):
    arr = getattr(x, "array", x)
    return backend.to_numpy(arr)


def accuracy(logits, targets):
    """Fraction of samples (or pixels) whose arg-max class equals the target."""
    pred = _np(logits).argmax(axis=1)
    t = _np(targets)
    if pred.shape != t.shape:
        raise ValueError(f"accuracy: predictions of shape {pred.shape} do not match targets {t.shape}")
    return float((pred == t).mean()) if t.size else 0.0


def topk_accuracy(logits, targets, k=5):
    """Fraction of samples whose target is among the ``k`` highest scores."""
    scores = _np(logits)
    t = _np(targets)
    k = min(k, scores.shape[1])
    top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    return float((top == t[:, None]).any(axis=1).mean()) if t.size else 0.0


def confusion_matrix(pred, targets, num_classes):
    """``M[i, j]`` = number of samples (pixels) of true class i predicted as j.

    ``pred`` may be class indices or scores with the class axis at dim 1.
    Targets outside [0, num_classes) (e.g. ignore_index) are skipped.
    """
    p = _np(pred)
    t = _np(targets)
    if p.ndim == t.ndim + 1:
        p = p.argmax(axis=1)
    p = p.reshape(-1).astype(np.int64)
    t = t.reshape(-1).astype(np.int64)
    # predictions outside the classes (-1: a NaN/Inf score) are wrong but in no cell
    keep = (t >= 0) & (t < num_classes) & (p >= 0) & (p < num_classes)
    return np.bincount(t[keep] * num_classes + p[keep], minlength=num_classes * num_classes) \
        .reshape(num_classes, num_classes)


def per_class_accuracy(cm):
    """Recall of each class from a confusion matrix (NaN for absent classes)."""
    cm = np.asarray(cm, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.diag(cm) / cm.sum(axis=1)


def iou_per_class(cm):
    """Intersection over union per class: TP / (TP + FP + FN); NaN where a class
    appears neither in the truth nor in the prediction."""
    cm = np.asarray(cm, dtype=np.float64)
    tp = np.diag(cm)
    denom = cm.sum(axis=0) + cm.sum(axis=1) - tp
    with np.errstate(invalid="ignore", divide="ignore"):
        return tp / denom


def mean_iou(cm):
    """Mean of the per-class IoU over classes that occur (NaN classes skipped)."""
    ious = iou_per_class(cm)
    return float(np.nanmean(ious)) if np.isfinite(ious).any() else 0.0


def pixel_accuracy(cm):
    cm = np.asarray(cm, dtype=np.float64)
    total = cm.sum()
    return float(np.trace(cm) / total) if total else 0.0


class MetricTracker:
    """Running loss, accuracy (top-1, top-k) and a confusion matrix over an epoch."""

    def __init__(self, num_classes=None, topk=None):
        self.num_classes = num_classes
        self.topk = topk
        self.reset()

    def reset(self):
        self.loss_sum = 0.0
        self.count = 0          # samples
        self.correct = 0        # samples (or pixels) right
        self.units = 0          # samples (or pixels) scored
        self.topk_correct = 0
        self.nonfinite = 0      # samples whose scores hold NaN/Inf (counted as wrong)
        self.cm = None if self.num_classes is None else np.zeros((self.num_classes,) * 2, np.int64)

    def update(self, loss, logits, targets):
        arr = getattr(logits, "array", logits)
        t = _np(targets)
        n = t.shape[0]
        self.loss_sum += float(loss) * n
        self.count += n
        if arr.ndim == t.ndim + 1 and t.dtype.kind in "iu":
            # Decide the predicted classes where the scores live (on a GPU: only
            # the integer predictions cross to the host, not N x C x H x W scores).
            xp = backend.array_module(arr)
            pred = arr.argmax(axis=1)
            if arr.dtype.kind in "fc":
                # argmax of a NaN row is its first NaN (class 0, say): count such
                # predictions as wrong, never as a class
                bad = ~xp.isfinite(arr).all(axis=1)
                pred = backend.to_numpy(xp.where(bad, -1, pred))
                bad = backend.to_numpy(bad)
                if bad.any():
                    self.nonfinite += int(bad.reshape(n, -1).any(axis=1).sum())
            else:
                pred = backend.to_numpy(pred)
            valid = t >= 0
            self.correct += int(((pred == t) & valid).sum())
            self.units += int(valid.sum())
            if self.topk and arr.ndim == 2 and arr.shape[1] > self.topk:
                self.topk_correct += int(round(topk_accuracy(_np(logits), t, self.topk) * n))
            if self.cm is not None:
                self.cm += confusion_matrix(pred, t, self.num_classes)

    def result(self):
        out = {"loss": self.loss_sum / max(self.count, 1)}
        if self.units:
            out["accuracy"] = self.correct / self.units
        if self.topk and self.count and self.topk_correct:
            out[f"top{self.topk}_accuracy"] = self.topk_correct / self.count
        if self.nonfinite:
            out["nonfinite_predictions"] = self.nonfinite
        return out
