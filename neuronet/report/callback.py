"""``ReportCallback``: figures at each epoch end and ``report.html`` for a run.

    trainer = Trainer(model, opt, num_classes=10, out_dir="runs/lenet",
                      callbacks=[ReportCallback("runs/lenet", sample_inputs=val_set,
                                                class_names=val_set.classes)])

Writes into ``out_dir`` (see :data:`neuronet.report.html.FIGURES`):
``learning_curves.png``, ``filters.png``, ``feature_maps.png``,
``confusion.png``, ``misclassified.png`` (classification) or
``segmentation.png`` (segmentation), ``layer_stats.png``, the state behind
them in ``report.json`` (and the sample batch in ``report_samples.npz``, so
``neuronet show`` can redraw from a checkpoint), and ``report.html``.
"""
from __future__ import annotations

import datetime as _dt
import json
import math
import os
import time

import numpy as np

from .. import backend
from ..autograd.grad_mode import no_grad
from ..train.callbacks import Callback
from ..train.metrics import confusion_matrix, iou_per_class, mean_iou, per_class_accuracy, pixel_accuracy
from . import figures
from ._mpl import pyplot
from .html import environment, write_html
from .stats import LayerStatsRecorder, first_layer_weight, stats_arrays
from ..serialization import atomic_write

__all__ = ["ReportCallback", "draw_model_figures", "predict", "resolve_samples", "conv_layers"]

STATE_FILE = "report.json"
SAMPLES_FILE = "report_samples.npz"


def _np(x):
    return backend.to_numpy(getattr(x, "array", x))


def resolve_samples(samples, num_samples=256):
    """``(inputs (N, ...), targets (N, ...) or None)`` as NumPy arrays from:
    an ``(inputs, targets)`` pair of arrays/tensors, an input array alone, a
    dataset (its first ``num_samples`` items) or a data loader (batches until
    ``num_samples``)."""
    if samples is None:
        return None, None
    if isinstance(samples, (tuple, list)) and len(samples) == 2 and all(hasattr(s, "shape") for s in samples):
        return _np(samples[0])[:num_samples], _np(samples[1])[:num_samples]
    if hasattr(samples, "shape"):
        return _np(samples)[:num_samples], None
    if hasattr(samples, "__len__") and hasattr(samples, "__getitem__") and not hasattr(samples, "batch_size"):
        n = min(len(samples), num_samples)
        if hasattr(samples, "get_batch"):
            batch = samples.get_batch(np.arange(n))
        else:
            items = [samples[i] for i in range(n)]
            batch = ([it[0] for it in items], [it[1] for it in items])
        xs, ys = batch[0], batch[1]
        x = np.stack([_np(v) for v in xs]) if isinstance(xs, list) else _np(xs)
        y = np.stack([np.asarray(_np(v)) for v in ys]) if isinstance(ys, list) else _np(ys)
        return x, y
    xs, ys, n = [], [], 0
    for batch in samples:                      # a DataLoader
        if isinstance(batch, dict):
            batch = (batch.get("image", batch.get("input")), batch.get("target", batch.get("label")))
        xs.append(_np(batch[0]))
        ys.append(_np(batch[1]))
        n += len(xs[-1])
        if n >= num_samples:
            break
    if not xs:
        return None, None
    return np.concatenate(xs)[:num_samples], np.concatenate(ys)[:num_samples]


def conv_layers(model):
    """``[(name, module)]`` of the convolution layers (Conv2d, ConvTranspose2d, ...)."""
    from .. import nn
    kinds = tuple(getattr(nn, k) for k in ("Conv1d", "Conv2d", "Conv3d", "ConvTranspose2d") if hasattr(nn, k))
    return [(n, m) for n, m in model.named_modules() if isinstance(m, kinds)]


def _as_input(x, device):
    from ..tensor import Tensor
    t = Tensor._wrap(np.ascontiguousarray(x))
    return t.to(device) if device is not None else t


@no_grad()
def predict(model, x, device=None, batch_size=128):
    """Scores of ``model`` on ``x`` (NumPy, eval mode, in chunks); the model's
    train/eval mode is restored."""
    was = model.training
    model.eval()
    try:
        outs = [_np(model(_as_input(x[i:i + batch_size], device))) for i in range(0, len(x), batch_size)]
    finally:
        model.train(was)
    return np.concatenate(outs)


def _softmax(s, axis=1):
    s = s - s.max(axis=axis, keepdims=True)
    e = np.exp(s)
    return e / e.sum(axis=axis, keepdims=True)


@no_grad()
def _feature_maps(model, x1, device, max_layers=8):
    convs = conv_layers(model)
    if not convs:
        return []
    if len(convs) > max_layers:              # evenly spaced, first and last included
        pick = np.unique(np.round(np.linspace(0, len(convs) - 1, max_layers)).astype(int))
        convs = [convs[i] for i in pick]
    got = {}
    handles = [m.register_forward_hook(lambda mod, a, out, name=name: got.__setitem__(name, _np(out)[0]))
               for name, m in convs]
    was = model.training
    model.eval()
    try:
        model(_as_input(x1[None], device))
    finally:
        model.train(was)
        for h in handles:
            h.remove()
    return [(name, got[name]) for name, _ in convs if name in got]


def draw_model_figures(model, out_dir, x=None, y=None, task="classification", class_names=None, device=None,
                       cm=None, errors=None, split="validation"):
    """Draw the figures that need the model: ``filters.png``, ``feature_maps.png``
    and, with labelled samples ``(x, y)``, ``misclassified.png`` (classification)
    or ``segmentation.png``; ``confusion.png`` from ``cm`` (else from the
    samples). ``split`` names the samples in the titles ("validation", "test").
    Returns a dict of what was measured on the samples; failures are
    recorded in ``errors`` (``{file: message}``) rather than raised when it is given."""
    measured = {}

    def attempt(fname, fn):
        try:
            fn()
            if errors is not None:
                errors.pop(fname, None)
        except Exception as e:                   # a figure must never end a training run
            if errors is None:
                raise
            errors[fname] = f"{type(e).__name__}: {e}"

    def filters():
        name, w = first_layer_weight(model)
        if w is None:
            raise ValueError("the model has no layer with a weight to draw")
        shape = tuple(x.shape[1:]) if (x is not None and w.ndim == 2 and int(np.prod(x.shape[1:])) == w.shape[1]) \
            else None
        figures.filter_grid(w, os.path.join(out_dir, "filters.png"),
                            title=f"first-layer filters: {name} {tuple(w.shape)}", image_shape=shape)

    attempt("filters.png", filters)
    if x is not None and len(x) and conv_layers(model):
        attempt("feature_maps.png", lambda: figures.feature_maps(
            x[0], _feature_maps(model, x[0], device), os.path.join(out_dir, "feature_maps.png")))
    if x is not None and y is not None and len(x):
        scores = predict(model, x, device)
        if task == "segmentation":
            pred = scores.argmax(axis=1)
            k = scores.shape[1]
            scm = confusion_matrix(pred, y, k)
            measured.update(sample_mean_iou=mean_iou(scm), sample_pixel_accuracy=pixel_accuracy(scm))
            attempt("segmentation.png", lambda: figures.segmentation_examples(
                x, y, pred, os.path.join(out_dir, "segmentation.png"), class_names=class_names,
                title=f"input / truth / prediction (on {len(x)} {split} images: mean IoU "
                      f"{100 * measured['sample_mean_iou']:.1f}%, pixel accuracy "
                      f"{100 * measured['sample_pixel_accuracy']:.1f}%)"))
        elif scores.ndim == 2:
            prob = _softmax(scores.astype(np.float64))
            pred = prob.argmax(axis=1)
            wrong = np.flatnonzero(pred != y)
            # most confident mistakes first: the ones worth looking at
            wrong = wrong[np.argsort(-prob[wrong, pred[wrong]])]
            measured["sample_accuracy"] = float((pred == y).mean())
            attempt("misclassified.png", lambda: figures.misclassified_grid(
                x[wrong], y[wrong], pred[wrong], prob[wrong, pred[wrong]],
                os.path.join(out_dir, "misclassified.png"), class_names=class_names, total=len(x), split=split))
            if cm is None:
                cm = confusion_matrix(pred, y, scores.shape[1])
        if cm is None and task == "segmentation":
            cm = scm
    if cm is not None:
        cm = np.asarray(cm)
        attempt("confusion.png", lambda: figures.confusion(
            cm, os.path.join(out_dir, "confusion.png"), class_names=class_names, split=split,
            iou=iou_per_class(cm) if task == "segmentation" else None))
        measured["confusion_matrix"] = cm.tolist()
        measured["per_class_accuracy"] = [None if not math.isfinite(v) else float(v)
                                          for v in per_class_accuracy(cm)]
        if task == "segmentation":
            measured["iou_per_class"] = [None if not math.isfinite(v) else float(v) for v in iou_per_class(cm)]
    return measured


def _model_info(model):
    cfg = getattr(model, "config", None)
    info = {"class": type(model).__name__,
            "parameters": int(sum(int(np.prod(p.shape)) for p in model.parameters()))}
    if isinstance(cfg, dict) and "name" in cfg:
        info["name"] = cfg["name"]
        info["kwargs"] = cfg.get("kwargs", {})
    return info


def _optimizer_info(opt):
    """The optimizer as configured (its constructor's ``defaults``), not the
    values a schedule has since moved ``lr`` / ``momentum`` to."""
    if opt is None:
        return None
    info = {"class": type(opt).__name__}
    defaults = getattr(opt, "defaults", None)
    if not isinstance(defaults, dict):
        defaults = {k: v for k, v in ((getattr(opt, "param_groups", None) or [{}])[0]).items() if k != "params"}
    for k, v in defaults.items():
        if isinstance(v, (int, float, str, bool, tuple, list)) or v is None:
            info[k] = list(v) if isinstance(v, tuple) else v
    groups = getattr(opt, "param_groups", None) or []
    if len(groups) > 1:
        info["param_groups"] = len(groups)
    return info


_SCHEDULE_GROUP_KEYS = ("initial_lr", "max_lr", "min_lr", "max_momentum", "base_momentum")


def _scheduler_info(sched):
    """The schedule's class and settings (step size, gamma, max_lr, total steps...)."""
    if sched is None:
        return None
    info = {"class": type(sched).__name__}
    try:
        state = sched.state_dict()
    except Exception:                                 # a user scheduler without state_dict
        state = {}
    for k, v in state.items():
        if k.startswith("_") or k in ("last_epoch", "base_lrs", "optimizer"):
            continue
        if isinstance(v, (int, float, str, bool)) and not isinstance(v, dict):
            info[k] = v
    groups = getattr(getattr(sched, "optimizer", None), "param_groups", None) or [{}]
    for k in _SCHEDULE_GROUP_KEYS:
        if isinstance(groups[0].get(k), (int, float)):
            info[k] = groups[0][k]
    return info


def _clean(o):
    """JSON-safe copy: arrays to lists, NaN/inf to None (JSON has no NaN)."""
    if isinstance(o, dict):
        return {str(k): _clean(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_clean(v) for v in o]
    if isinstance(o, np.ndarray):
        return _clean(o.tolist())
    if isinstance(o, np.generic):
        o = o.item()
    if isinstance(o, float) and not math.isfinite(o):
        return None
    return o


def _json_default(o):
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, np.generic):
        return o.item()
    return str(o)


class ReportCallback(Callback):
    """Figures of a run, written at epoch ends, and ``report.html``.

    Args:
        out_dir: the run directory (usually the Trainer's ``out_dir``).
        sample_inputs: validation samples for the feature maps, the
            misclassified grid / segmentation figure (and the confusion matrix
            when the Trainer has no ``num_classes``): an ``(inputs, targets)``
            pair, a dataset or a data loader (the first ``num_samples`` are
            used), or None (then the first training batch is captured and only
            the feature maps are drawn from it).
        class_names: names for the axes and titles (default: class indices).
        every: draw the figures every ``every`` epochs (and always at the end).
        min_interval: seconds; skip an epoch's drawing when the last one was
            more recent than this (drawing costs about 2 s: on a short run of
            fast epochs it would otherwise take a third of the time). The
            final figures are always drawn.
        stats_every: record layer statistics every this many steps
            (default: about 20 times per epoch).
        num_samples: how many samples to take from ``sample_inputs``.
        sample_split: what ``sample_inputs`` are, for the captions
            ("validation"); :meth:`final_evaluation` redraws the
            sample-based figures on the test set at the end.
    """

    def __init__(self, out_dir, sample_inputs=None, class_names=None, every=1, stats_every=None,
                 num_samples=256, min_interval=0.0, sample_split="validation"):
        pyplot()                                    # fail now, not after an epoch, without matplotlib
        if int(every) < 1:
            raise ValueError(f"ReportCallback: every must be >= 1, received {every}")
        if stats_every is not None and int(stats_every) < 1:
            raise ValueError(f"ReportCallback: stats_every must be >= 1, received {stats_every}")
        self.out_dir = os.fspath(out_dir)
        self.class_names = list(class_names) if class_names is not None else None
        self.every = int(every)
        self.min_interval = float(min_interval)
        self._last_draw = None
        self.stats_every = None if stats_every is None else int(stats_every)
        self.x, self.y = resolve_samples(sample_inputs, num_samples)
        self.sample_split = sample_split if sample_inputs is not None else None
        self.errors: dict[str, str] = {}
        self.recorder = None
        self.state: dict = {}
        self._capture = None
        self._drawn_epoch = None

    # ------------------------------------------------------------------ training hooks
    def on_fit_start(self, trainer):
        os.makedirs(self.out_dir, exist_ok=True)
        self.t0 = time.perf_counter()
        old = self._load_state()
        self.state = {
            "started": old.get("started") or _dt.datetime.now().isoformat(timespec="seconds"),
            "finished": None,
            "task": trainer.task,
            "class_names": self.class_names,
            "environment": environment(trainer.device),
            "config": {k: v for k, v in {
                "run": dict(trainer.config) if trainer.config else None,
                "model": _model_info(trainer.model),
                "optimizer": _optimizer_info(trainer.optimizer),
                "scheduler": None if trainer.scheduler is None else dict(
                    _scheduler_info(trainer.scheduler), stepped=f"every {trainer.scheduler_step}"),
                "training": {"task": trainer.task, "num_classes": trainer.num_classes,
                             "grad_clip": trainer.grad_clip, "monitor": trainer.monitor,
                             "resumed_at_epoch": trainer.epoch or None},
                "preprocessing": dict(trainer.preprocessing) if trainer.preprocessing else None,
                "data": dict(trainer.data_info) if trainer.data_info else None,
            }.items() if v},
            "previous_duration_s": old.get("duration_s", 0.0) if trainer.epoch else 0.0,
            "figure_split": self._split_caption(),
        }
        if self.class_names is None:
            names = (trainer.preprocessing or {}).get("class_names") or (trainer.data_info or {}).get("classes")
            if isinstance(names, (list, tuple)):
                self.class_names = self.state["class_names"] = list(names)
        if self.recorder is not None:
            self.recorder.remove()
        self.recorder = LayerStatsRecorder(trainer.model)
        self.recorder.arm()
        if self.x is None:
            # No samples given: keep the first training input for the feature maps.
            def grab(module, args):
                if self.x is None and args and hasattr(args[0], "shape"):
                    self.x = _np(args[0])[:8].copy()
                self._capture.remove()
            self._capture = trainer.model.register_forward_pre_hook(grab)
        if self.x is not None:
            self._save_samples()

    def on_batch_end(self, trainer, step, logs):
        k = self.stats_every
        if k is None:
            k = self.stats_every = max(1, int(logs.get("steps_per_epoch") or 100) // 20)
        if self.recorder._armed:
            self.recorder.record(trainer.global_step)
        if (trainer.global_step + 1) % k == 0:
            self.recorder.arm()

    def on_epoch_end(self, trainer, epoch, logs):
        recent = self._last_draw is not None and time.perf_counter() - self._last_draw < self.min_interval
        if epoch % self.every == 0 and not recent:
            self.draw(trainer, logs)
            self._last_draw = time.perf_counter()

    def on_fit_end(self, trainer):
        if self._capture is not None:
            self._capture.remove()
        self.state["finished"] = _dt.datetime.now().isoformat(timespec="seconds")
        if self._drawn_epoch != trainer.epoch and trainer.history:
            self.draw(trainer, trainer.history[-1])
        else:
            self._write_state(trainer)
            write_html(self.out_dir, self.state)
        if self.recorder is not None:
            self.recorder.remove()

    # ------------------------------------------------------------------ drawing
    def draw(self, trainer, logs):
        """Write every figure, ``report.json`` and ``report.html`` now."""
        out = self.out_dir
        if self.x is not None and not os.path.isfile(os.path.join(out, SAMPLES_FILE)):
            self._save_samples()
        try:
            figures.learning_curves(trainer.history, os.path.join(out, "learning_curves.png"),
                                    title=f"epoch {trainer.epoch}")
            self.errors.pop("learning_curves.png", None)
        except Exception as e:
            self.errors["learning_curves.png"] = f"{type(e).__name__}: {e}"
        cm = logs.get("val_confusion_matrix")
        measured = draw_model_figures(trainer.model, out, self.x, self.y, trainer.task, self.class_names,
                                      trainer.device, cm=cm, errors=self.errors,
                                      split=self.sample_split or "sample")
        self.state.update(measured)
        if self.recorder is not None and self.recorder.steps:
            try:
                figures.layer_statistics(stats_arrays(self.recorder.as_dict()), os.path.join(out, "layer_stats.png"))
                self.errors.pop("layer_stats.png", None)
            except Exception as e:
                self.errors["layer_stats.png"] = f"{type(e).__name__}: {e}"
        for name, msg in self.errors.items():
            trainer.log(f"report: {name} not drawn: {msg}")
        self._drawn_epoch = trainer.epoch
        self._write_state(trainer)
        write_html(out, self.state)

    def _split_caption(self):
        if self.x is None or self.y is None:
            return None
        return f"{self.sample_split or 'sample'} set ({len(self.x):,} samples)"

    def final_evaluation(self, trainer, dataset, results=None, checkpoint=None, epoch=None):
        """Redraw the confusion matrix and the misclassified examples (or the
        segmentation rows) on the whole ``dataset`` -- the test set, once, for
        the chosen checkpoint already loaded in ``trainer.model`` -- and
        rewrite ``report.json`` / ``report.html`` saying so. ``results``: the
        Trainer's ``evaluate`` of that set (its confusion matrix is reused)."""
        x, y = resolve_samples(dataset, len(dataset))
        cm = None if results is None else results.get("confusion_matrix")
        what = f"test set ({len(x):,} samples" + (f", {checkpoint}" if checkpoint else "") \
            + (f" from epoch {epoch}" if epoch else "") + ")"
        measured = draw_model_figures(trainer.model, self.out_dir, x, y, trainer.task, self.class_names,
                                      trainer.device, cm=cm, errors=self.errors, split="test")
        self.state.update(measured)
        self.state["figure_split"] = what
        self.state["final_evaluation"] = _clean({
            "split": "test", "n": len(x), "checkpoint": checkpoint, "epoch": epoch,
            **{k: v for k, v in (results or {}).items() if isinstance(v, (int, float))}})
        for name, msg in self.errors.items():
            trainer.log(f"report: {name} not drawn: {msg}")
        self._write_state(trainer)
        write_html(self.out_dir, self.state)

    # ------------------------------------------------------------------ files
    def _load_state(self):
        path = os.path.join(self.out_dir, STATE_FILE)
        try:
            with open(path) as f:
                return json.load(f)
        except (OSError, ValueError):
            return {}

    def _write_state(self, trainer):
        # one duration: the Trainer's own clock (what `neuronet train` prints), plus
        # earlier sessions of a resumed run
        fit = getattr(trainer, "fit_seconds", None) or (time.perf_counter() - self.t0)
        self.state["duration_s"] = self.state.get("previous_duration_s", 0.0) + fit
        cpu = getattr(trainer, "fit_cpu_seconds", None)
        if cpu:
            self.state["cpu_time_s"] = cpu
        self.state["epochs"] = trainer.epoch
        self.state["figure_errors"] = dict(self.errors)
        if self.recorder is not None:
            self.state["layer_stats"] = self.recorder.as_dict()
        path = os.path.join(self.out_dir, STATE_FILE)
        text = json.dumps(_clean(self.state), indent=1, default=_json_default, allow_nan=False)
        atomic_write(path, lambda f: f.write(text.encode("utf-8")))

    def _save_samples(self):
        arrays = {"inputs": self.x}
        if self.y is not None:
            arrays["targets"] = self.y
        path = os.path.join(self.out_dir, SAMPLES_FILE)
        atomic_write(path, lambda f: np.savez_compressed(f, **arrays))
