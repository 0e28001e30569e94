"""What the experiments share: the data, a result record, how results are saved."""
from __future__ import annotations

import json
import math
import os
import textwrap
import time
from dataclasses import dataclass, field

import numpy as np

from ..train import Callback

__all__ = ["LabResult", "mnist_arrays", "mnist_subset", "array_loader", "MNIST_MEAN", "MNIST_STD",
           "EpochEval", "StepLoss", "Timer"]

MNIST_MEAN, MNIST_STD = 0.1307, 0.3081


@dataclass
class LabResult:
    """One experiment's outcome: the figure, the numbers measured and a
    paragraph reading them."""

    name: str
    figure: str
    metrics: dict
    reading: str
    seconds: float = 0.0
    extra: dict = field(default_factory=dict)

    def save(self, out_dir):
        """Write ``<name>.txt`` (the reading) and ``<name>.json`` (the
        numbers) beside the figure; return the text path."""
        txt = os.path.join(out_dir, f"{self.name}.txt")
        with open(txt, "w") as f:
            f.write(textwrap.fill(self.reading, 100) + "\n")
        with open(os.path.join(out_dir, f"{self.name}.json"), "w") as f:
            json.dump({"name": self.name, "figure": os.path.basename(self.figure), "seconds": round(self.seconds, 1),
                       "metrics": _clean(self.metrics), "reading": self.reading}, f, indent=1)
        return txt


def _clean(o):
    if isinstance(o, dict):
        return {str(k): _clean(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_clean(v) for v in o]
    if isinstance(o, np.generic):
        o = o.item()
    if isinstance(o, float):
        return None if not math.isfinite(o) else round(o, 6)
    return o


class Timer:
    def __enter__(self):
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.t0


def mnist_arrays(train=True, n=None, offset=0):
    """The bundled MNIST sample as normalized float32 ``(N, 1, 28, 28)`` and
    int64 ``(N,)`` arrays (the first ``n`` after ``offset``)."""
    from ..data import mnist_sample
    ds = mnist_sample(train=train)
    stop = None if n is None else offset + n
    x = ds.data[offset:stop].astype(np.float32)[:, None] / 255.0
    x = (x - MNIST_MEAN) / MNIST_STD
    return x.astype(np.float32), np.asarray(ds.targets[offset:stop], dtype=np.int64)


def mnist_subset(train=True, n=None, augment=None):
    """The first ``n`` digits of the bundled sample as a dataset whose batches
    go through ``augment`` (a transform on uint8 images, e.g. RandomAffine),
    then ToTensor and Normalize -- batch-wise, in the DataLoader's fast path."""
    from ..data import Subset, mnist_sample
    from ..data import transforms as T
    steps = ([augment] if augment is not None else []) + [T.ToTensor(), T.Normalize((MNIST_MEAN,), (MNIST_STD,))]
    ds = mnist_sample(train=train, transform=T.Compose(steps))
    return Subset(ds, list(range(n if n is not None else len(ds))))


def array_loader(x, y, batch_size, shuffle=False, seed=0):
    """A DataLoader over arrays, its order fixed by ``seed``."""
    from ..data import DataLoader, TensorDataset
    return DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=shuffle, seed=seed if shuffle else None)


class EpochEval(Callback):
    """A Trainer callback that scores the model, in eval mode, on named data
    loaders at each epoch end: ``self.curves[name] = [(loss, accuracy), ...]``
    (the clean training loss, without dropout or augmentation, is what the
    overfitting picture compares with the test loss)."""

    def __init__(self, **loaders):
        self.loaders = loaders
        self.curves = {k: [] for k in loaders}

    def on_epoch_end(self, trainer, epoch, logs):
        for name, loader in self.loaders.items():
            r = trainer.evaluate(loader)
            self.curves[name].append((r["loss"], r.get("accuracy", math.nan)))


class StepLoss(Callback):
    """A Trainer callback keeping the training loss of every step."""

    def __init__(self):
        self.losses = []

    def on_batch_end(self, trainer, step, logs):
        self.losses.append(float(logs["loss"]))
