"""Checkpoints: one file with everything needed to resume or to use a model.

A checkpoint holds the weights and buffers, the optimizer and scheduler
state, the random-number state, the epoch, the metrics and history, the
model's registered name and constructor arguments, the preprocessing it was
trained with (normalization, input shape, class names), and a format version.
It is written with :func:`neuronet.serialization.save` -- ``.npz`` + JSON,
never pickle, atomically -- so a crash mid-write cannot destroy the previous
checkpoint and loading can never run code.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

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
        try:
            model = models.get_model(name, **self.model.get("kwargs", {}))
        except (KeyError, ValueError) as e:
            raise CheckpointError(f"{self.path}: cannot rebuild model {name!r}: {e}") from None
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
            backend.set_rng_state(self.rng)


def load_checkpoint(path) -> Checkpoint:
    """Read a checkpoint written by :func:`save_checkpoint` (or a Trainer)."""
    obj, meta = load_file(path)
    if meta.get("kind") != "checkpoint" or not isinstance(obj, dict) or "model_state" not in obj:
        raise CheckpointError(f"{path}: a neuronet file, but not a checkpoint (kind {meta.get('kind')!r})")
    fields = {k: obj.get(k) for k in Checkpoint.__dataclass_fields__ if k != "path"}
    for k, default in (("metrics", {}), ("history", []), ("preprocessing", {}), ("data", {}),
                       ("config", {}), ("extra", {}), ("epoch", 0), ("step", 0),
                       ("model_class", ""), ("neuronet_version", "")):
        if fields.get(k) is None:
            fields[k] = default
    return Checkpoint(path=os.fspath(path), **fields)


def load_model(path, device=None):
    """The model stored in a checkpoint, rebuilt, weights loaded, in eval mode."""
    return load_checkpoint(path).build_model(device=device)
