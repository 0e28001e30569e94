"""``Trainer``: the training loop every run goes through.

    trainer = Trainer(model, optimizer, scheduler=sched, out_dir="runs/lenet")
    history = trainer.fit(train_loader, val_loader, epochs=10)
    results = trainer.evaluate(test_loader)

Per epoch: train (forward, loss, NaN/inf guard, backward, optional gradient
clipping, optimizer step, per-batch scheduler), validate, log (CSV/JSON),
checkpoint (``last.npz`` always, ``best.npz`` when the monitored metric
improves), callbacks, early stopping. ``fit(..., resume="runs/x/last.npz")``
continues a run exactly: weights, optimizer and scheduler state, random
state, data order and history are restored, so an interrupted run ends with
the same weights as an uninterrupted one.

Reliability: ``fit`` holds a lock file in ``out_dir`` (a second trainer on
the same directory gets one :class:`~neuronet.train.rundir.RunDirectoryError`;
the lock of a killed process is taken over), temporary files are unique to
the process and those of killed saves are removed; ``resume`` refuses a
checkpoint whose optimizer or scheduler is of another class; evaluation
counts predictions with NaN/Inf scores as wrong and warns.
"""
from __future__ import annotations

import math
import os
import tempfile
import time
import warnings

import numpy as np

from .. import backend
from ..autograd.grad_mode import no_grad
from ..distributed.training import unwrap_model
from ..tensor import Tensor
from .callbacks import Callback, CSVLogger, EarlyStopping, JSONLogger, ProgressBar
from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from .metrics import MetricTracker, mean_iou, per_class_accuracy, pixel_accuracy
from .rundir import RunLock

__all__ = ["Trainer", "TrainingDiverged"]


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite: names the epoch, step and value."""


def _default_loss(task):
    from ..nn import functional as F
    return F.cross_entropy


def _loader_state(loader):
    """The data order's random state, if the loader keeps its own generator."""
    for obj in (loader, getattr(loader, "sampler", None), getattr(loader, "batch_sampler", None)):
        if obj is not None and hasattr(obj, "state_dict") and callable(obj.state_dict):
            try:
                return obj.state_dict()
            except TypeError:
                continue
        gen = getattr(obj, "generator", None) if obj is not None else None
        if gen is not None and hasattr(gen, "bit_generator"):
            return {"bit_generator": gen.bit_generator.state}
    return None


def _restore_loader_state(loader, state):
    if not state:
        return
    for obj in (loader, getattr(loader, "sampler", None), getattr(loader, "batch_sampler", None)):
        if obj is None:
            continue
        if "bit_generator" in state and getattr(obj, "generator", None) is not None \
                and hasattr(obj.generator, "bit_generator"):
            obj.generator.bit_generator.state = state["bit_generator"]
            return
        if hasattr(obj, "load_state_dict") and callable(obj.load_state_dict):
            obj.load_state_dict(state)
            return


class Trainer:
    """Train and evaluate a model (see the module docstring).

    model, optimizer:  a ``neuronet.nn.Module`` and a ``neuronet.optim`` optimizer.
    loss_fn:           ``(outputs, targets) -> scalar Tensor``; default cross-entropy.
    scheduler:         an ``lr_scheduler``; stepped per epoch (``scheduler_step="epoch"``,
                       ReduceLROnPlateau gets the monitored metric) or per batch.
    task:              "classification" or "segmentation" (adds mean IoU, pixel accuracy).
    num_classes:       enables the confusion matrix and per-class accuracy.
    out_dir:           where metrics.csv, history.json, last.npz, best.npz go (None: nowhere).
    monitor, mode:     the metric that picks ``best.npz`` (default val_accuracy, or
                       train_loss without validation data).
    selection_tolerance: ``best.npz`` is the *latest* epoch whose monitored value is
                       within this of the best seen so far (a float, or a function of
                       the best value, e.g. one standard error of a validation
                       accuracy: Breiman et al.'s one-standard-error rule). Within the
                       noise of a small validation set the longer-trained checkpoint
                       wins. Default 0: the best, ties to the later epoch.
    early_stopping:    patience in epochs on ``monitor`` (None: off).
    grad_clip:         max global gradient norm (None: off).
    progress:          True/False, or None for a live bar only on a terminal.
    preprocessing, data_info, config: stored in every checkpoint (for predict/info).
    """

    def __init__(self, model, optimizer, loss_fn=None, scheduler=None, *, task="classification",
                 num_classes=None, out_dir=None, device=None, callbacks=(), monitor=None, mode=None,
                 early_stopping=None, grad_clip=None, progress=None, scheduler_step="epoch",
                 topk=None, preprocessing=None, data_info=None, config=None, checkpoint_every=1,
                 verbose=True, selection_tolerance=None):
        if task not in ("classification", "segmentation"):
            raise ValueError(f"Trainer: task must be 'classification' or 'segmentation', received {task!r}")
        if scheduler_step not in ("epoch", "batch"):
            raise ValueError(f"Trainer: scheduler_step must be 'epoch' or 'batch', received {scheduler_step!r}")
        self.model = model
        self.optimizer = optimizer
        self.loss_fn = loss_fn or _default_loss(task)
        self.scheduler = scheduler
        self.scheduler_step = scheduler_step
        self.task = task
        self.num_classes = num_classes
        self.device = backend.Device(device) if device is not None else None
        self.out_dir = out_dir
        self.monitor = monitor
        self.mode = mode
        self.grad_clip = grad_clip
        self.topk = topk
        self.preprocessing = preprocessing or {}
        self.data_info = data_info or {}
        self.config = config or {}
        self.checkpoint_every = checkpoint_every
        self.verbose = verbose
        self.history: list[dict] = []
        self.epoch = 0
        self.global_step = 0
        self.best = None
        self.selected_epoch = None   # the epoch best.npz holds
        self.selection_tolerance = selection_tolerance
        self.stop_training = False
        self.loader_state = None     # the data order's random state at the last epoch end
        self.fit_seconds = 0.0       # wall-clock time of the last fit() call (callbacks included)
        self.fit_cpu_seconds = 0.0   # this process's CPU time over it (all threads)
        self.callbacks: list[Callback] = [ProgressBar(enabled=progress)] if verbose else []
        self.early_stopper = EarlyStopping(monitor or "val_loss", early_stopping, mode) \
            if early_stopping else None
        if out_dir is not None:
            try:
                os.makedirs(out_dir, exist_ok=True)
                with tempfile.TemporaryFile(dir=out_dir):    # a name no other trainer uses
                    pass
            except OSError as e:
                raise OSError(f"output directory {out_dir!r} is not writable: {e.strerror or e}") from None
            self.callbacks += [CSVLogger(os.path.join(out_dir, "metrics.csv")),
                               JSONLogger(os.path.join(out_dir, "history.json"))]
        self.callbacks += list(callbacks)
        if self.device is not None:
            model.to(self.device)

    # ------------------------------------------------------------------ utils
    def log(self, msg):
        if self.verbose:
            import sys
            sys.stderr.write(msg + "\n")

    def _to_device(self, x):
        if isinstance(x, Tensor):
            return x.to(self.device) if self.device is not None else x
        if isinstance(x, np.ndarray):
            t = Tensor._wrap(x)
            return t.to(self.device) if self.device is not None else t
        if isinstance(x, (list, tuple)):
            return type(x)(self._to_device(v) for v in x)
        if isinstance(x, dict):
            return {k: self._to_device(v) for k, v in x.items()}
        return x

    def _split_batch(self, batch):
        if isinstance(batch, dict):
            return self._to_device(batch.get("image", batch.get("input"))), \
                self._to_device(batch.get("target", batch.get("label", batch.get("mask"))))
        if not isinstance(batch, (tuple, list)) or len(batch) != 2:
            raise ValueError("Trainer: each batch must be (inputs, targets) or a dict with "
                             f"'image'/'target' keys, received {type(batch).__name__}")
        return self._to_device(batch[0]), self._to_device(batch[1])

    def _lr(self):
        return float(self.optimizer.param_groups[0]["lr"])

    @property
    def monitor_key(self):
        """The metric that picks ``best.npz`` (known once an epoch has run)."""
        return self._monitor_key(self.history[-1]) if self.history else (self.monitor or "val_accuracy")

    def _monitor_key(self, logs):
        if self.monitor:
            return self.monitor
        return "val_accuracy" if "val_accuracy" in logs else ("val_loss" if "val_loss" in logs else "train_loss")

    def _tolerance(self):
        tol = self.selection_tolerance
        if tol is None or self.best is None:
            return 0.0
        return float(tol(self.best)) if callable(tol) else float(tol)

    def _is_better(self, key, value):
        """Whether this epoch becomes ``best.npz``: as good as the best so far,
        within ``selection_tolerance``."""
        mode = self.mode or ("min" if "loss" in key else "max")
        if self.best is None:
            return True
        tol = self._tolerance()
        if tol:
            return value <= self.best + tol if mode == "min" else value >= self.best - tol
        # A tie goes to the later epoch: on a small validation set equal scores
        # are common (one sample is 0.17 % of 600), and the later checkpoint has
        # trained longer, with the schedule's smaller final steps.
        return value <= self.best if mode == "min" else value >= self.best

    # ------------------------------------------------------------------ loops
    def train_epoch(self, loader):
        self.model.train()
        sampler = getattr(loader, "sampler", None)
        if hasattr(sampler, "set_epoch"):
            sampler.set_epoch(self.epoch)   # DistributedSampler: a new shuffle, the same on every rank
        tracker = MetricTracker(None, self.topk)
        steps = len(loader) if hasattr(loader, "__len__") else None
        seen = 0
        t0 = time.perf_counter()
        for step, batch in enumerate(loader, 1):
            x, y = self._split_batch(batch)
            if x.shape[0] == 0:          # an empty batch has nothing to learn from
                continue
            # overflow in a diverging forward pass is reported once, by the guard below
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                out = self.model(x)
                loss = self.loss_fn(out, y)
                value = float(loss.item())
            if not math.isfinite(value):
                raise TrainingDiverged(
                    f"loss became {value} at epoch {self.epoch}, step {step} (global step "
                    f"{self.global_step + 1}); lower the learning rate or check the data")
            self.optimizer.zero_grad()
            loss.backward()
            if self.grad_clip:
                from ..nn.utils import clip_grad_norm_
                clip_grad_norm_(self.model.parameters(), self.grad_clip)
            self.optimizer.step()
            self.global_step += 1
            if self.scheduler is not None and self.scheduler_step == "batch":
                self.scheduler.step()
            n = x.shape[0]
            seen += n
            tracker.update(value, out, y)
            logs = {"loss": value, "batch_size": n, "steps_per_epoch": steps}
            for cb in self.callbacks:
                cb.on_batch_end(self, step, logs)
        elapsed = time.perf_counter() - t0
        res = {f"train_{k}": v for k, v in tracker.result().items()}
        res["images_per_s"] = seen / max(elapsed, 1e-9)
        res["epoch_time"] = elapsed
        return res

    @no_grad()
    def evaluate(self, loader, prefix=""):
        """Loss, accuracy, confusion matrix and per-class accuracy (plus mean IoU
        and pixel accuracy for segmentation) over ``loader``, in eval mode."""
        was_training = self.model.training
        self.model.eval()
        tracker = MetricTracker(self.num_classes, self.topk)
        try:
            for batch in loader:
                x, y = self._split_batch(batch)
                if x.shape[0] == 0:
                    continue
                with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                    out = self.model(x)
                    loss = self.loss_fn(out, y)
                tracker.update(float(loss.item()), out, y)
        finally:
            self.model.train(was_training)
        res = tracker.result()
        if tracker.nonfinite:
            warnings.warn(f"evaluate: {tracker.nonfinite} of {tracker.count} predictions had NaN or infinite "
                          "scores; they are counted as wrong (check the weights and the input data)",
                          RuntimeWarning, stacklevel=2)
        res["n"] = tracker.count
        if tracker.cm is not None:
            res["confusion_matrix"] = tracker.cm
            res["per_class_accuracy"] = per_class_accuracy(tracker.cm)
            if self.task == "segmentation":
                res["mean_iou"] = mean_iou(tracker.cm)
                res["pixel_accuracy"] = pixel_accuracy(tracker.cm)
        return {prefix + k: v for k, v in res.items()}

    # ------------------------------------------------------------------ checkpoints
    def checkpoint_state(self):
        return {
            "best": self.best, "selected_epoch": self.selected_epoch, "global_step": self.global_step,
            "early_stopping": self.early_stopper.state_dict() if self.early_stopper else None,
        }

    def save(self, path, metrics=None):
        save_checkpoint(path, unwrap_model(self.model), self.optimizer, self.scheduler, epoch=self.epoch,
                        step=self.global_step, metrics=metrics or {}, history=self._history_scalars(),
                        preprocessing=self.preprocessing, data=self.data_info, config=self.config,
                        extra={"trainer": self.checkpoint_state(), "loader": self.loader_state})

    def _history_scalars(self):
        return [{k: v for k, v in h.items() if isinstance(v, (int, float, str)) or v is None}
                for h in self.history]

    def resume(self, path, train_loader=None):
        """Restore everything from a checkpoint written by this trainer."""
        ck = load_checkpoint(path)
        for what, mine, saved in (("optimizer", self.optimizer, ck.optimizer),
                                  ("scheduler", self.scheduler, ck.scheduler)):
            if mine is not None and saved and saved.get("class") != type(mine).__name__:
                raise CheckpointError(f"{path}: the checkpoint's {what} state is for {saved.get('class')!r}, "
                                      f"this run uses {type(mine).__name__!r}; resume with the same {what}")
        ck.load_into(unwrap_model(self.model))
        try:
            if ck.optimizer and self.optimizer is not None:
                self.optimizer.load_state_dict(ck.optimizer["state"])
            if ck.scheduler and self.scheduler is not None:
                self.scheduler.load_state_dict(ck.scheduler["state"])
        except (ValueError, TypeError, KeyError) as e:
            raise CheckpointError(f"{path}: cannot restore the optimizer/scheduler state: {e}") from None
        ck.restore_rng()
        self.epoch = ck.epoch
        self.history = list(ck.history)
        state = (ck.extra or {}).get("trainer") or {}
        self.best = state.get("best")
        self.selected_epoch = state.get("selected_epoch")
        self.global_step = state.get("global_step", ck.step)
        if self.early_stopper and state.get("early_stopping"):
            self.early_stopper.load_state_dict(state["early_stopping"])
        if train_loader is not None:
            _restore_loader_state(train_loader, (ck.extra or {}).get("loader"))
        return ck

    # ------------------------------------------------------------------ fit
    def fit(self, train_loader, val_loader=None, epochs=10, resume=None):
        """Train for ``epochs`` epochs in total (a resumed run continues up to
        the same total). Returns the history: one dict of metrics per epoch.
        With ``out_dir``, the directory is locked for the duration (see the
        module docstring)."""
        if self.out_dir is None:
            return self._fit(train_loader, val_loader, epochs, resume)
        with RunLock(self.out_dir) as lock:
            if lock.removed:
                self.log(f"removed {len(lock.removed)} stale temporary file(s) of killed saves from {self.out_dir}")
            return self._fit(train_loader, val_loader, epochs, resume)

    def _fit(self, train_loader, val_loader, epochs, resume):
        if resume is not None:
            self.resume(resume, train_loader)
            self.log(f"resumed from {resume} at epoch {self.epoch}")
        self.stop_training = False
        t0, c0 = time.perf_counter(), time.process_time()
        for cb in self.callbacks:
            cb.on_fit_start(self)
        while self.epoch < epochs and not self.stop_training:
            self.epoch += 1
            for cb in self.callbacks:
                cb.on_epoch_start(self, self.epoch)
            logs = {"epoch": self.epoch, "lr": self._lr()}
            logs.update(self.train_epoch(train_loader))
            if val_loader is not None:
                val = self.evaluate(val_loader)
                logs.update({f"val_{k}": v for k, v in val.items()
                             if k not in ("n",)})
            key = self._monitor_key(logs)
            if self.scheduler is not None and self.scheduler_step == "epoch":
                if type(self.scheduler).__name__ == "ReduceLROnPlateau":
                    self.scheduler.step(logs[key])
                else:
                    self.scheduler.step()
            if self.early_stopper is not None:
                self.early_stopper.on_epoch_end(self, self.epoch, logs)
            improved = key in logs and self._is_better(key, logs[key])
            if improved:
                self.selected_epoch = self.epoch
            if key in logs and (self.best is None or (
                    logs[key] < self.best if (self.mode or ("min" if "loss" in key else "max")) == "min"
                    else logs[key] > self.best)):
                self.best = logs[key]
            logs["best_" + key] = self.best
            self.history.append(logs)
            self.loader_state = _loader_state(train_loader)
            if self.out_dir is not None:
                metrics = {k: v for k, v in logs.items() if isinstance(v, (int, float))}
                if self.epoch % self.checkpoint_every == 0 or self.stop_training or self.epoch == epochs:
                    self.save(os.path.join(self.out_dir, "last.npz"), metrics)
                if improved:
                    self.save(os.path.join(self.out_dir, "best.npz"), metrics)
            for cb in self.callbacks:
                cb.on_epoch_end(self, self.epoch, logs)
            self.fit_seconds = time.perf_counter() - t0
            self.fit_cpu_seconds = time.process_time() - c0
        for cb in self.callbacks:
            cb.on_fit_end(self)
        return self.history

