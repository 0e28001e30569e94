"""Checkpoints: one file with everything needed to resume or to use a model.

A checkpoint holds the weights and buffers, the optimizer and scheduler
state, the random-number state, the epoch, the metrics and history, the
model's registered name and constructor arguments, the preprocessing it was
trained with (normalization, input shape, class names), and a format version.
It is written with :func:`neuronet.serialization.save` -- ``.npz`` + JSON,
never pickle, atomically -- so a crash mid-write cannot destroy the previous
checkpoint and loading can never run code.

Loading validates every field before it is used: its type, the epoch and
step (integers >= 0), that every weight is a numeric array with finite
values (a NaN names the parameter), the optimizer's state likewise, and the
model's stored constructor arguments (integers no larger than the number of
weights the file holds, so a forged ``num_classes=2e7`` cannot make
:meth:`Checkpoint.build_model` allocate gigabytes).
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

import numpy as np

from .. import backend
from ..serialization import CheckpointError, load_file, save

__all__ = ["Checkpoint", "save_checkpoint", "load_checkpoint", "load_model", "CheckpointError"]


def _model_config(model):
    cfg = getattr(model, "config", None)
    if not isinstance(cfg, dict) or "name" not in cfg:
        return None
    return {"name": cfg["name"], "kwargs": dict(cfg.get("kwargs", {}))}


def save_checkpoint(path, model, optimizer=None, scheduler=None, epoch=0, step=0, metrics=None,
                    history=None, preprocessing=None, data=None, config=None, extra=None):
    """Write a checkpoint of a training run to ``path`` (atomic, no pickle)."""
    from .. import __version__
    ckpt = {
        "neuronet_version": __version__,
        "model": _model_config(model),
        "model_class": type(model).__name__,
        "model_state": model.state_dict(),
        "optimizer": None if optimizer is None else {
            "class": type(optimizer).__name__, "state": optimizer.state_dict()},
        "scheduler": None if scheduler is None else {
            "class": type(scheduler).__name__, "state": scheduler.state_dict()},
        "rng": backend.get_rng_state(),
        "epoch": int(epoch),
        "step": int(step),
        "metrics": metrics or {},
        "history": history or [],
        "preprocessing": preprocessing or {},
        "data": data or {},
        "config": config or {},
        "extra": extra or {},
    }
    save(ckpt, path, kind="checkpoint")


@dataclass
class Checkpoint:
    """A loaded checkpoint: fields as saved, plus :meth:`build_model`."""

    path: str
    model: dict | None
    model_class: str
    model_state: dict
    optimizer: dict | None
    scheduler: dict | None
    rng: dict | None
    epoch: int
    step: int
    metrics: dict
    history: list
    preprocessing: dict
    data: dict
    config: dict
    extra: dict = field(default_factory=dict)
    neuronet_version: str = ""

    def build_model(self, device=None):
        """Rebuild the model from its registered name and arguments, load the
        weights, switch to eval mode. No user code needed."""
        if not self.model:
            raise CheckpointError(
                f"{self.path}: the checkpoint holds weights of a {self.model_class} that is not in "
                "neuronet.models' registry; build the model yourself and call "
                "model.load_state_dict(neuronet.load_checkpoint(path).model_state)")
        from .. import models
        name = self.model["name"]
        kwargs = self.model.get("kwargs", {})
        _check_model_kwargs(self.path, name, kwargs, self.model_state)
        try:
            model = models.get_model(name, **kwargs)
        except (KeyError, ValueError, TypeError) as e:
            raise CheckpointError(f"{self.path}: cannot rebuild model {name!r}: {e}") from None
        except MemoryError:
            raise CheckpointError(f"{self.path}: rebuilding model {name!r} with {kwargs} needs more memory than "
                                  "there is") from None
        self.load_into(model)
        if device is not None:
            model.to(device)
        model.eval()
        return model

    def load_into(self, model, strict=True):
        """Load the weights into ``model``; a model of another architecture
        gets a clear error naming both."""
        try:
            model.load_state_dict(self.model_state, strict=strict)
        except (RuntimeError, KeyError, ValueError) as e:
            saved = self.model["name"] if self.model else self.model_class
            mine = (getattr(model, "config", None) or {}).get("name", type(model).__name__)
            raise CheckpointError(f"{self.path}: checkpoint of model {saved!r} does not fit model "
                                  f"{mine!r}: {e}") from None
        return model

    def restore_rng(self):
        if self.rng:
            try:
                backend.set_rng_state(self.rng)
            except (TypeError, ValueError, KeyError) as e:
                raise CheckpointError(f"{self.path}: malformed random-number state ({type(e).__name__}: "
                                      f"{e})") from None


def load_checkpoint(path) -> Checkpoint:
    """Read a checkpoint written by :func:`save_checkpoint` (or a Trainer)."""
    obj, meta = load_file(path)
    path = str(getattr(path, "name", "<file object>")) if hasattr(path, "read") else os.fspath(path)
    if meta.get("kind") != "checkpoint" or not isinstance(obj, dict) or "model_state" not in obj:
        raise CheckpointError(f"{path}: a neuronet file, but not a checkpoint (kind {meta.get('kind')!r})")
    fields = {k: obj.get(k) for k in Checkpoint.__dataclass_fields__ if k != "path"}
    for k, default in (("metrics", {}), ("history", []), ("preprocessing", {}), ("data", {}),
                       ("config", {}), ("extra", {}), ("epoch", 0), ("step", 0),
                       ("model_class", ""), ("neuronet_version", "")):
        if fields.get(k) is None:
            fields[k] = default
    _validate(path, fields)
    return Checkpoint(path=path, **fields)


_FIELD_TYPES = {"model_state": dict, "metrics": dict, "history": list, "preprocessing": dict, "data": dict,
                "config": dict, "extra": dict, "model_class": str, "neuronet_version": str}


def _array(v):
    return backend.to_numpy(getattr(v, "array", v)) if hasattr(v, "array") or isinstance(v, np.ndarray) else None


def _check_finite(path, where, arr):
    if arr.dtype.kind in "fc":
        bad = int(arr.size - np.count_nonzero(np.isfinite(arr)))
        if bad:
            raise CheckpointError(f"{path}: {where} holds {bad} NaN/infinite value(s) of {arr.size}; the "
                                  "checkpoint is damaged or was saved from a diverged run")


def _validate(path, f):
    """Type and range of every field (see the module docstring)."""
    for k, t in _FIELD_TYPES.items():
        if not isinstance(f[k], t):
            raise CheckpointError(f"{path}: malformed checkpoint: {k!r} must be a {t.__name__}, "
                                  f"found {type(f[k]).__name__}")
    for k in ("epoch", "step"):
        if isinstance(f[k], bool) or not isinstance(f[k], int) or f[k] < 0:
            raise CheckpointError(f"{path}: malformed checkpoint: {k!r} must be an integer >= 0, found {f[k]!r:.40}")
    for k, v in f["model_state"].items():
        arr = _array(v)
        if not isinstance(k, str) or arr is None or arr.dtype.kind not in "biufc":
            raise CheckpointError(f"{path}: malformed checkpoint: model_state[{k!r}] must be a numeric tensor, "
                                  f"found {type(v).__name__}" + (f" of {arr.dtype}" if arr is not None else ""))
        _check_finite(path, f"weight {k!r}", arr)
    if f["rng"] is not None and not isinstance(f["rng"], dict):
        raise CheckpointError(f"{path}: malformed checkpoint: 'rng' must be a dict, found {type(f['rng']).__name__}")
    m = f["model"]
    if m is not None and not (isinstance(m, dict) and isinstance(m.get("name"), str)
                              and isinstance(m.get("kwargs", {}), dict)):
        raise CheckpointError(f"{path}: malformed checkpoint: 'model' must be {{'name': str, 'kwargs': dict}}, "
                              f"found {m!r:.80}")
    for k in ("optimizer", "scheduler"):
        v = f[k]
        if v is None:
            continue
        if not (isinstance(v, dict) and isinstance(v.get("class"), str) and isinstance(v.get("state"), dict)):
            raise CheckpointError(f"{path}: malformed checkpoint: {k!r} must be {{'class': str, 'state': dict}}, "
                                  f"found {v!r:.80}")
    if f["optimizer"] is not None:
        for pid, st in (f["optimizer"]["state"].get("state") or {}).items():
            for name, v in (st.items() if isinstance(st, dict) else ()):
                arr = _array(v)
                if arr is not None:
                    _check_finite(path, f"optimizer state {name!r} of parameter {pid}", arr)
                elif isinstance(v, float) and not math.isfinite(v):
                    raise CheckpointError(f"{path}: optimizer state {name!r} of parameter {pid} is {v}")


def _check_model_kwargs(path, name, kwargs, state):
    """Refuse constructor arguments that would build a model far larger than
    the weights stored: every integer argument (a width, a class count, an
    input size) is at most the number of stored weights (or 4096)."""
    stored = sum(int(np.prod(getattr(v, "shape", ()))) for v in state.values())
    bound = max(stored, 4096)
    for k, v in kwargs.items():
        if isinstance(v, bool) or v is None or isinstance(v, str):
            continue
        if isinstance(v, float) and v.is_integer() and abs(v) > bound:
            v = int(v)
        if isinstance(v, int) and not 0 <= v <= bound:
            raise CheckpointError(f"{path}: model argument {k}={v} is out of range for a checkpoint of "
                                  f"{stored:,} stored weights (expected 0 to {bound:,}); refusing to build "
                                  f"model {name!r} with it")
        if isinstance(v, (list, tuple, dict)):
            flat = list(v.values()) if isinstance(v, dict) else list(v)
            if any(isinstance(x, (int, float)) and not isinstance(x, bool) and abs(x) > bound for x in flat):
                raise CheckpointError(f"{path}: model argument {k}={v!r:.60} holds a value larger than the "
                                      f"checkpoint's {stored:,} stored weights allow; refusing to build model "
                                      f"{name!r} with it")


def load_model(path, device=None):
    """The model stored in a checkpoint, rebuilt, weights loaded, in eval mode."""
    return load_checkpoint(path).build_model(device=device)
