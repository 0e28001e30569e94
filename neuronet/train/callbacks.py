"""Callbacks: hooks into the training loop (logging, early stopping, progress).

A callback overrides any of ``on_fit_start(trainer)``,
``on_epoch_start(trainer, epoch)``, ``on_batch_end(trainer, step, logs)``,
``on_epoch_end(trainer, epoch, logs)`` and ``on_fit_end(trainer)``. Setting
``trainer.stop_training = True`` ends the run after the current epoch.
"""
from __future__ import annotations

import csv
import io
import json
import math
import sys
import time

from ..serialization import atomic_write_bytes

__all__ = ["Callback", "CSVLogger", "JSONLogger", "EarlyStopping", "ProgressBar"]


class Callback:
    def on_fit_start(self, trainer):
        pass

    def on_epoch_start(self, trainer, epoch):
        pass

    def on_batch_end(self, trainer, step, logs):
        pass

    def on_epoch_end(self, trainer, epoch, logs):
        pass

    def on_fit_end(self, trainer):
        pass


def _scalar_items(logs):
    return {k: v for k, v in logs.items() if isinstance(v, (int, float, str)) or v is None}


class CSVLogger(Callback):
    """One row per epoch in ``path`` (written anew each epoch, so a resumed
    run's file holds the whole history)."""

    def __init__(self, path):
        self.path = path

    def on_epoch_end(self, trainer, epoch, logs):
        rows = [_scalar_items(h) for h in trainer.history]
        fields = []
        for r in rows:
            for k in r:
                if k not in fields:
                    fields.append(k)
        f = io.StringIO(newline="")
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        for r in rows:
            w.writerow(r)
        # a temporary name unique to this process, then an atomic rename
        atomic_write_bytes(self.path, f.getvalue().encode("utf-8"))


class JSONLogger(Callback):
    """The history as a JSON list in ``path``, rewritten each epoch."""

    def __init__(self, path):
        self.path = path

    def on_epoch_end(self, trainer, epoch, logs):
        text = json.dumps([_scalar_items(h) for h in trainer.history], indent=1)
        atomic_write_bytes(self.path, text.encode("utf-8"))


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs."""

    def __init__(self, monitor="val_loss", patience=5, mode=None, min_delta=0.0):
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 1:
            raise ValueError(f"EarlyStopping: patience must be an integer >= 1, received {patience!r}")
        if not isinstance(min_delta, (int, float)) or not math.isfinite(min_delta) or min_delta < 0:
            raise ValueError(f"EarlyStopping: min_delta must be a finite number >= 0, received {min_delta!r}")
        self.monitor = monitor
        self.patience = patience
        self.mode = mode or ("min" if "loss" in monitor else "max")
        if self.mode not in ("min", "max"):
            raise ValueError(f"EarlyStopping: mode must be 'min' or 'max', received {mode!r}")
        self.min_delta = min_delta
        self.best = None
        self.bad_epochs = 0

    def _better(self, value):
        if self.best is None:
            return True
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def on_epoch_end(self, trainer, epoch, logs):
        value = logs.get(self.monitor)
        if value is None:
            raise KeyError(f"EarlyStopping: metric {self.monitor!r} is not logged; available: "
                           f"{sorted(k for k in logs if isinstance(logs[k], (int, float)))}")
        if self._better(value):
            self.best = value
            self.bad_epochs = 0
        else:
            self.bad_epochs += 1
            if self.bad_epochs >= self.patience:
                trainer.stop_training = True
                trainer.log(f"early stopping: {self.monitor} has not improved for {self.patience} "
                            f"epochs (best {self.best:.4g})")

    def state_dict(self):
        return {"best": self.best, "bad_epochs": self.bad_epochs}

    def load_state_dict(self, state):
        best, bad = state.get("best"), state.get("bad_epochs", 0)
        if not (best is None or (isinstance(best, (int, float)) and not isinstance(best, bool))) \
                or isinstance(bad, bool) or not isinstance(bad, int) or bad < 0:
            raise ValueError(f"EarlyStopping.load_state_dict: expected best (a number or None) and bad_epochs "
                             f"(an integer >= 0), received best={best!r:.40}, bad_epochs={bad!r:.40}")
        self.best, self.bad_epochs = best, bad


class ProgressBar(Callback):
    """A one-line progress bar with loss and images/s on a terminal; on a
    non-terminal (CI, a log file) only one summary line per epoch."""

    def __init__(self, stream=None, enabled=None):
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty() if enabled is None else enabled
        self.last = 0.0

    def on_epoch_start(self, trainer, epoch):
        self.t0 = time.perf_counter()
        self.seen = 0

    def on_batch_end(self, trainer, step, logs):
        self.seen += logs.get("batch_size", 0)
        if not self.live:
            return
        now = time.perf_counter()
        total = logs.get("steps_per_epoch")
        if now - self.last < 0.1 and step != total:
            return
        self.last = now
        rate = self.seen / max(now - self.t0, 1e-9)
        width = 24
        frac = step / total if total else 0.0
        bar = "#" * int(width * frac) + "-" * (width - int(width * frac))
        self.stream.write(f"\repoch {trainer.epoch:>3} [{bar}] {step}/{total or '?'} "
                          f"loss {logs.get('loss', math.nan):.4f} {rate:,.0f} img/s ")
        self.stream.flush()

    def on_epoch_end(self, trainer, epoch, logs):
        if self.live:
            self.stream.write("\r" + " " * 80 + "\r")
        parts = [f"epoch {epoch:>3}"]
        for k in ("train_loss", "train_accuracy", "val_loss", "val_accuracy", "val_mean_iou", "lr"):
            if k in logs and logs[k] is not None:
                v = logs[k]
                parts.append(f"{k} {v:.4g}" if "acc" not in k and "iou" not in k else f"{k} {100 * v:.2f}%")
        if "images_per_s" in logs:
            parts.append(f"{logs['images_per_s']:,.0f} img/s")
        if "epoch_time" in logs:
            parts.append(f"{logs['epoch_time']:.1f}s")
        self.stream.write("  ".join(parts) + "\n")
        self.stream.flush()
