"""The figures of a run report, each drawn from plain arrays and written to a PNG.

Every function takes NumPy arrays (or lists), never a model, so a report can be
redrawn from what a run directory holds, and writes ``path`` atomically:

=========================  ===============================================================
``learning_curves``        loss and accuracy (train vs validation) per epoch, the lr
``filter_grid``            first-layer filters ``(out, in, kh, kw)`` as an image grid
``feature_maps``           one input through each convolution layer
``confusion``              the confusion matrix and per-class accuracy
``misclassified_grid``     wrong predictions with predicted/true label and confidence
``layer_statistics``       per-layer gradient norm, weight std, activation std over steps
``segmentation_examples``  input / truth / prediction rows (mean IoU, pixel accuracy)
=========================  ===============================================================
"""
from __future__ import annotations

import math

import numpy as np

from ._mpl import pyplot, save

__all__ = ["learning_curves", "filter_grid", "feature_maps", "confusion", "misclassified_grid",
           "layer_statistics", "segmentation_examples", "to_display", "tile"]


# ----------------------------------------------------------------------------- helpers
def to_display(img):
    """An image ``(C, H, W)`` (C = 1 or 3) or ``(H, W)`` as something imshow
    draws: ``(H, W)`` or ``(H, W, 3)`` scaled to [0, 1] by its own min and
    max (inputs are usually normalized, so their range is arbitrary)."""
    a = np.asarray(img, dtype=np.float64)
    if a.ndim == 3:
        a = a[0] if a.shape[0] == 1 else np.moveaxis(a[:3], 0, -1)
    lo, hi = np.nanmin(a), np.nanmax(a)
    return (a - lo) / (hi - lo) if hi > lo else np.zeros_like(a)


def tile(images, ncols, pad=1, fill=1.0):
    """Tile ``images (N, h, w[, 3])`` (each already in [0, 1]) into one image
    with ``ncols`` columns and ``pad`` pixels of ``fill`` between cells."""
    images = np.asarray(images, dtype=np.float64)
    n, h, w = images.shape[:3]
    rest = images.shape[3:]
    nrows = math.ceil(n / ncols)
    out = np.full((nrows * (h + pad) + pad, ncols * (w + pad) + pad) + rest, fill)
    for i in range(n):
        r, c = divmod(i, ncols)
        out[pad + r * (h + pad):pad + r * (h + pad) + h, pad + c * (w + pad):pad + c * (w + pad) + w] = images[i]
    return out


def _integer_ticks(ax):
    """Epochs are whole numbers: no tick at 2.5."""
    from matplotlib.ticker import MaxNLocator
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def _series(history, key):
    xs, ys = [], []
    for h in history:
        v = h.get(key)
        if isinstance(v, (int, float)) and v is not None and math.isfinite(v):
            xs.append(h.get("epoch", len(xs) + 1))
            ys.append(float(v))
    return xs, ys


# ----------------------------------------------------------------------------- learning curves
def learning_curves(history, path, title=None):
    """Loss (left), accuracy / mean IoU (middle) and learning rate (right) per
    epoch, train vs validation. ``history``: a list of per-epoch dicts with keys
    ``epoch, train_loss, val_loss, train_accuracy, val_accuracy, val_mean_iou, lr``
    (missing keys are skipped)."""
    if not history:
        raise ValueError("learning_curves: the history is empty (no epoch has finished yet)")
    plt = pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    ax = axes[0]
    for key, style, label in (("train_loss", "-o", "train"), ("val_loss", "-s", "validation")):
        x, y = _series(history, key)
        if y:
            ax.plot(x, y, style, ms=3, label=label)
    ax.set_xlabel("epoch")
    _integer_ticks(ax)
    ax.set_ylabel("loss")
    ax.set_title("loss")
    ax.legend()
    ax.grid(alpha=0.3)
    ax = axes[1]
    drawn = False
    for key, style, label in (("train_accuracy", "-o", "train accuracy"),
                              ("val_accuracy", "-s", "validation accuracy"),
                              ("val_mean_iou", "-^", "validation mean IoU")):
        x, y = _series(history, key)
        if y:
            ax.plot(x, [100 * v for v in y], style, ms=3, label=label)
            drawn = True
    ax.set_xlabel("epoch")
    _integer_ticks(ax)
    ax.set_ylabel("%")
    ax.set_title("accuracy")
    if drawn:
        ax.legend()
    ax.grid(alpha=0.3)
    ax = axes[2]
    x, y = _series(history, "lr")
    if y:
        ax.plot(x, y, "-o", ms=3, color="tab:green")
        if min(y) > 0 and max(y) / min(y) > 20:
            ax.set_yscale("log")
    ax.set_xlabel("epoch")
    _integer_ticks(ax)
    ax.set_title("learning rate")
    ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return save(fig, path)


# ----------------------------------------------------------------------------- filters
def filter_grid(weight, path, title=None, image_shape=None, max_filters=64):
    """First-layer filters as a grid of small images.

    ``weight``: a convolution's ``(out, in, kh, kw)`` -- drawn in colour when
    ``in == 3`` (the picture of AlexNet's Gabor-like filters), grey for
    ``in == 1``, and the first input channel otherwise -- or a fully connected
    layer's ``(out, in_features)`` with ``image_shape`` ``(H, W)`` or
    ``(C, H, W)`` to fold each row back into an input-sized template.
    Each filter is scaled by its own range.
    """
    w = np.asarray(weight, dtype=np.float64)
    note = ""
    if w.ndim == 2:
        if image_shape is None:
            side = int(round(math.sqrt(w.shape[1])))
            if side * side != w.shape[1]:
                raise ValueError(f"filter_grid: a fully connected weight of shape {w.shape} needs image_shape "
                                 "to be drawn as images")
            image_shape = (side, side)
        w = w.reshape((w.shape[0],) + tuple(image_shape))
        if w.ndim == 3:
            w = w[:, None]
    if w.ndim != 4:
        raise ValueError(f"filter_grid: expected a weight (out, in, kh, kw) or (out, in_features), "
                         f"received shape {np.asarray(weight).shape}")
    if w.shape[1] not in (1, 3):
        note = f" (input channel 0 of {w.shape[1]})"
        w = w[:, :1]
    w = w[:max_filters]
    cells = np.stack([to_display(f) for f in w])
    ncols = min(len(cells), 8 if len(cells) <= 32 else 16)
    big = tile(cells, ncols, pad=1)
    plt = pyplot()
    nrows = math.ceil(len(cells) / ncols)
    fig, ax = plt.subplots(figsize=(min(1.0 * ncols, 12), max(1.0 * nrows, 1.6) + 0.6))
    ax.imshow(big, cmap=None if big.ndim == 3 else "gray", interpolation="nearest")
    ax.set_axis_off()
    ax.set_title((title or f"first-layer filters, {tuple(np.asarray(weight).shape)}") + note, fontsize=10)
    fig.tight_layout()
    return save(fig, path)


# ----------------------------------------------------------------------------- feature maps
def feature_maps(image, maps, path, max_channels=8, title=None):
    """The input (top row) and, below it, the first ``max_channels`` channels
    of each layer's output for that input.

    image: ``(C, H, W)``; maps: a list of ``(layer_name, array (C', H', W'))``.
    Each map is scaled by its own range (dark = low, bright = high).
    """
    if not maps:
        raise ValueError("feature_maps: no layer outputs given (does the model have a Conv2d?)")
    plt = pyplot()
    ncols = max_channels
    nrows = len(maps) + 1
    fig, axes = plt.subplots(nrows, ncols, figsize=(1.25 * ncols + 1.2, 1.3 * nrows + 0.4), squeeze=False)
    for ax in axes.ravel():
        ax.set_axis_off()
    disp = to_display(image)
    axes[0, 0].imshow(disp, cmap=None if disp.ndim == 3 else "gray", interpolation="nearest")
    axes[0, 0].set_title("input", fontsize=8)
    for r, (name, fmap) in enumerate(maps, 1):
        fmap = np.asarray(fmap, dtype=np.float64)
        for c in range(min(ncols, fmap.shape[0])):
            axes[r, c].imshow(to_display(fmap[c]), cmap="viridis", interpolation="nearest")
        axes[r, 0].set_title(f"{name} {tuple(fmap.shape)}", fontsize=7, loc="left")
    fig.suptitle(title or f"feature maps (first {max_channels} channels of each convolution)", fontsize=10)
    fig.tight_layout()
    return save(fig, path)


# ----------------------------------------------------------------------------- confusion
def confusion(cm, path, class_names=None, title=None, iou=None, split=None):
    """The confusion matrix (rows: true class, columns: predicted; colour =
    fraction of the row, numbers = counts) beside per-class accuracy (recall),
    plus per-class IoU when ``iou`` is given (segmentation). The accuracy
    axis starts a little below the worst class (not at 0) so that the
    differences between classes can be seen; ``split`` ("test") goes in
    the title."""
    cm = np.asarray(cm, dtype=np.int64)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f"confusion: expected a square matrix, received shape {cm.shape}")
    k = cm.shape[0]
    names = [str(c) for c in (class_names or range(k))]
    if len(names) != k:
        raise ValueError(f"confusion: {len(names)} class names for a {k}x{k} matrix")
    short = [n if len(n) <= 12 else n[:11] + "." for n in names]
    rows = cm.sum(axis=1, keepdims=True)
    frac = np.divide(cm, rows, out=np.zeros(cm.shape, dtype=np.float64), where=rows > 0)
    plt = pyplot()
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 4.6), gridspec_kw={"width_ratios": [1.25, 1]})
    im = ax.imshow(frac, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(k))
    ax.set_yticks(range(k))
    ax.set_xticklabels(short, rotation=45 if k > 4 else 0, ha="right" if k > 4 else "center", fontsize=8)
    ax.set_yticklabels(short, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if k <= 12:
        for i in range(k):
            for j in range(k):
                if cm[i, j]:
                    ax.text(j, i, f"{cm[i, j]}", ha="center", va="center", fontsize=7 if k > 6 else 9,
                            color="white" if frac[i, j] > 0.5 else "black")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="fraction of the true class")
    acc = np.diag(frac) * 100
    total = cm.sum()
    overall = 100 * np.trace(cm) / total if total else 0.0
    where = f"{split} set, " if split else ""
    ax.set_title(title or f"confusion matrix ({where}accuracy {overall:.2f}%, n = {total:,})", fontsize=10)
    y = np.arange(k)
    if iou is not None:
        iou = np.nan_to_num(np.asarray(iou, dtype=np.float64)) * 100
        bx.barh(y - 0.2, acc, height=0.4, label="accuracy (recall)", color="tab:blue")
        bx.barh(y + 0.2, iou, height=0.4, label="IoU", color="tab:orange")
        bx.legend(loc="lower left", fontsize=8)
    else:
        bx.barh(y, acc, color="tab:blue")
    lo = per_class_axis_start(np.concatenate([acc[rows[:, 0] > 0]] + ([iou] if iou is not None else [])))
    for i, a in enumerate(acc):
        if rows[i, 0] > 0 and iou is None:
            bx.text(100 - 0.01 * (100 - lo), i, f"{a:.1f}", va="center", ha="right", fontsize=7)
    bx.set_yticks(y)
    bx.set_yticklabels(short, fontsize=8)
    bx.invert_yaxis()
    bx.set_xlim(lo, 100)
    bx.set_xlabel("%")
    bx.set_title("per-class accuracy" + (" and IoU" if iou is not None else ""), fontsize=10)
    bx.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return save(fig, path)


def per_class_axis_start(values):
    """Where a per-class percentage axis starts: a round number a little
    below the lowest value, so that 97 % and 99 % look different (0 when
    some class is below 50 %)."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if not len(v) or v.min() < 50:
        return 0.0
    span = max(100 - v.min(), 1.0)
    step = 10.0 ** math.floor(math.log10(span))
    return float(max(0.0, math.floor((v.min() - 0.3 * span) / step) * step))


# ----------------------------------------------------------------------------- misclassified
def misclassified_grid(images, true, pred, confidence, path, class_names=None, max_items=24, total=None,
                       split=None):
    """A grid of misclassified examples, each titled ``predicted (confidence)``
    over ``true``. images: ``(N, C, H, W)`` of the wrong ones only, in the
    order to show (most confident mistakes first); true, pred: ``(N,)``;
    confidence: ``(N,)`` softmax probability of the prediction. ``total``:
    how many samples were scored, ``split``: which set (for the title)."""
    images = np.asarray(images)
    n = min(len(images), max_items)
    plt = pyplot()
    ncols = 8
    nrows = max(1, math.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(1.35 * ncols, 1.6 * nrows + 0.5), squeeze=False)
    for ax in axes.ravel():
        ax.set_axis_off()

    def name(c):
        c = int(c)
        return str(class_names[c]).split(" - ")[0] if class_names and c < len(class_names) else str(c)

    for i in range(n):
        ax = axes.ravel()[i]
        d = to_display(images[i])
        ax.imshow(d, cmap=None if d.ndim == 3 else "gray", interpolation="nearest")
        ax.set_title(f"{name(pred[i])} ({100 * float(confidence[i]):.0f}%)\ntrue {name(true[i])}",
                     fontsize=7, color="tab:red")
    if n == 0:
        axes[0, 0].text(0, 0.5, "no misclassified example among the samples", fontsize=10)
    what = f"{len(images):,} wrong of {total:,}" if total else f"{len(images):,} wrong"
    if split:
        what += f" {split} samples"
    shown = f"; the {n} most confident shown" if n < len(images) else ""
    fig.suptitle(f"misclassified examples ({what}{shown}): predicted (confidence) / true", fontsize=10)
    fig.tight_layout()
    return save(fig, path)


# ----------------------------------------------------------------------------- layer statistics
def layer_statistics(stats, path, title=None, max_legend=12):
    """Per-layer gradient norm, weight std and activation std over training
    steps -- the vanishing/exploding-gradient picture -- and the gradient
    norm against depth at the first and last recorded steps. Lines are
    coloured by depth (dark = first layer, yellow = last) and named by their
    module (``conv1``, ``fc3``...): a legend up to ``max_legend`` layers, a
    colour bar ticked with names beyond. Log scale.

    stats: a dict with ``steps`` (S,), ``layers`` (L names), and any of
    ``grad_norm``, ``weight_std``, ``act_std`` as (S, L) nested lists or arrays
    (NaN where a value was not recorded).
    """
    steps = np.asarray(stats.get("steps", []), dtype=np.float64)
    layers = [str(n) for n in stats.get("layers", [])]
    panels = [(k, t) for k, t in (("grad_norm", "gradient norm ||dL/dW||"), ("weight_std", "weight std"),
                                  ("act_std", "activation std (layer output)"))
              if k in stats and len(stats[k])]
    if not len(steps) or not layers or not panels:
        raise ValueError("layer_statistics: no statistics recorded (did any training step run?)")
    plt = pyplot()
    from matplotlib import cm as mcm
    from matplotlib.colors import Normalize
    fig, axes = plt.subplots(1, len(panels) + 1, figsize=(4.2 * (len(panels) + 1) + 0.8, 3.9),
                             layout="constrained")
    cmap = mcm.get_cmap("viridis") if hasattr(mcm, "get_cmap") else plt.get_cmap("viridis")
    norm = Normalize(0, max(len(layers) - 1, 1))
    for ax, (key, label) in zip(axes, panels):
        vals = np.asarray(stats[key], dtype=np.float64)
        for j in range(min(vals.shape[1], len(layers))):
            col = vals[:, j]
            ok = np.isfinite(col) & (col > 0)
            if ok.any():
                ax.plot(steps[ok], col[ok], color=cmap(norm(j)), lw=1.2, label=layers[j])
        ax.set_yscale("log")
        ax.set_xlabel("training step")
        ax.set_title(label, fontsize=10)
        ax.grid(alpha=0.3, which="both")
    # Last panel: the gradient norm against depth at the first and last recorded
    # steps -- a straight line down to the input layer is a vanishing gradient.
    ax = axes[-1]
    key = panels[0][0]
    vals = np.asarray(stats[key], dtype=np.float64)
    for idx, style, lab in ((0, "-o", f"step {int(steps[0])}"), (-1, "-s", f"step {int(steps[-1])}")):
        ax.plot(range(vals.shape[1]), vals[idx], style, ms=3, label=lab)
    ax.set_yscale("log")
    n = len(layers)
    ticks = list(range(n)) if n <= max_legend else sorted(set(np.linspace(0, n - 1, 6).round().astype(int)))
    ax.set_xticks(ticks)
    ax.set_xticklabels([layers[i] for i in ticks], rotation=45, ha="right", fontsize=7)
    ax.set_xlabel("layer (input side first)")
    ax.set_title(f"{panels[0][1].split(' ')[0]} {panels[0][1].split(' ')[1]} per layer", fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, which="both")
    if n <= max_legend:
        axes[0].legend(fontsize=7, title="layer", title_fontsize=7, loc="best")
    else:
        sm = mcm.ScalarMappable(norm=norm, cmap=cmap)
        sm.set_array([])
        bar = fig.colorbar(sm, ax=list(axes[:-1]), fraction=0.03, pad=0.01, label="layer")
        bar.set_ticks(ticks)
        bar.set_ticklabels([layers[i] for i in ticks])
    fig.suptitle(title or f"per-layer statistics over training ({n} layers: "
                 f"{layers[0]} ... {layers[-1]})", fontsize=10)
    return save(fig, path)


# ----------------------------------------------------------------------------- segmentation
_MASK_COLORS = np.array([[0.05, 0.05, 0.05], [0.90, 0.25, 0.20], [0.20, 0.60, 0.95], [0.30, 0.80, 0.30],
                         [0.95, 0.80, 0.20], [0.70, 0.35, 0.85], [0.95, 0.55, 0.15], [0.55, 0.55, 0.55],
                         [0.40, 0.85, 0.85], [0.85, 0.45, 0.65], [0.60, 0.45, 0.25]])


def colorize(mask):
    """Class-index mask ``(H, W)`` -> RGB ``(H, W, 3)`` with a fixed palette."""
    m = np.asarray(mask, dtype=np.int64)
    palette = _MASK_COLORS
    if m.max(initial=0) >= len(palette):
        rng = np.random.default_rng(0)
        palette = np.concatenate([palette, rng.uniform(0.2, 1, size=(int(m.max()) + 1 - len(palette), 3))])
    return palette[np.clip(m, 0, None)]


def segmentation_examples(images, truth, pred, path, class_names=None, title=None, max_items=4):
    """Rows of input / ground truth / prediction (and the pixels that differ).
    images: ``(N, C, H, W)``; truth, pred: ``(N, H, W)`` class indices."""
    images, truth, pred = np.asarray(images), np.asarray(truth), np.asarray(pred)
    n = min(len(images), max_items)
    if n == 0:
        raise ValueError("segmentation_examples: no images given")
    plt = pyplot()
    fig, axes = plt.subplots(n, 4, figsize=(8.4, 2.15 * n + 0.6), squeeze=False)
    for i in range(n):
        d = to_display(images[i])
        axes[i, 0].imshow(d, cmap=None if d.ndim == 3 else "gray", interpolation="nearest")
        axes[i, 1].imshow(colorize(truth[i]), interpolation="nearest")
        axes[i, 2].imshow(colorize(pred[i]), interpolation="nearest")
        wrong = truth[i] != pred[i]
        axes[i, 3].imshow(wrong, cmap="Reds", vmin=0, vmax=1, interpolation="nearest")
        axes[i, 3].set_title(f"{100 * wrong.mean():.1f}% wrong", fontsize=8)
        for ax in axes[i]:
            ax.set_axis_off()
    for ax, t in zip(axes[0, :3], ("input", "truth", "prediction")):
        ax.set_title(t, fontsize=9)
    if class_names:
        from matplotlib.patches import Patch
        k = len(class_names)
        handles = [Patch(color=colorize(np.array([c]))[0], label=str(class_names[c])) for c in range(k)]
        fig.legend(handles=handles, loc="lower center", ncol=min(k, 6), fontsize=8, frameon=False)
    fig.suptitle(title or "segmentation: input / truth / prediction", fontsize=10)
    fig.tight_layout(rect=(0, 0.05 if class_names else 0, 1, 1))
    return save(fig, path)
