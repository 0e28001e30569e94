"""Per-channel statistics of a dataset, to choose ``Normalize(mean, std)``."""
from __future__ import annotations

import numpy as np

from .. import backend
from ..tensor import Tensor

__all__ = ["mean_std"]


def _is_array(x):
    """A host or GPU array (GPU arrays stay there: only the sums come back)."""
    return isinstance(x, np.ndarray) or backend.array_module(x) is not np


def _channels_first(x):
    """One sample or a batch as a float64 ``(C, P)`` array, following the layout
    rule of :mod:`neuronet.data.transforms`: arrays/PIL are channels-last images
    (uint8 scaled to [0, 1]), tensors channels-first. On the data's device."""
    if type(x).__module__.startswith("PIL."):
        x = np.asarray(x)
    if isinstance(x, Tensor):
        a = x.array
        if a.ndim == 2:
            a = a[None]
        elif a.ndim == 4:
            a = a.transpose(1, 0, 2, 3)
        elif a.ndim != 3:
            raise ValueError(f"mean_std: a tensor must be (C, H, W) or (N, C, H, W), received shape {a.shape}")
        return a.reshape(a.shape[0], -1).astype(np.float64)
    a = x if _is_array(x) else np.asarray(x)
    xp = backend.array_module(a)
    scale = 1.0 / 255.0 if a.dtype == np.uint8 else 1.0
    if a.ndim in (2, 3) and (a.ndim == 2 or a.shape[-1] > 4):
        a = a.reshape(1, -1)                      # (H, W) or (N, H, W): one channel
    elif a.ndim in (3, 4):
        a = xp.moveaxis(a, -1, 0).reshape(a.shape[-1], -1)   # (..., C) channels last
    else:
        raise ValueError(f"mean_std: an array must be (N, H, W), (H, W[, C]) or (N, H, W, C), received {a.shape}")
    return a.astype(np.float64) * scale


def mean_std(data, batch_size=1024):
    """Per-channel mean and (population) standard deviation.

    ``data``: an array (``(N, H, W)`` or ``(N, H, W, C)``, uint8 scaled to
    [0, 1] -- the range after ``ToTensor``), a Tensor ``(N, C, H, W)``, or a
    dataset whose samples are ``image`` or ``(image, ...)`` (an array dataset
    without transform is read straight from its ``data`` array). Returns
    ``(mean, std)`` as tuples of floats, one per channel, ready for
    ``Normalize(mean, std)``. Accumulated in float64, on the data's device
    (GPU data is summed there; only the per-channel sums are read back).

    >>> mean_std(mnist_sample(train=True))   # about ((0.13,), (0.31,))
    """
    if isinstance(data, Tensor) or _is_array(data):
        chunks = [data]
    elif getattr(data, "transform", None) is None and _is_array(getattr(data, "data", None)):
        chunks = [data.data]
    else:
        def samples():
            for i in range(len(data)):
                s = data[i]
                yield s[0] if isinstance(s, (tuple, list)) else s
        chunks = samples()
    n = 0
    total = total_sq = None
    for chunk in chunks:
        src = chunk
        if _is_array(src) and src.ndim >= 3 and len(src) > batch_size:
            parts = (src[i:i + batch_size] for i in range(0, len(src), batch_size))
        else:
            parts = (src,)
        for part in parts:
            a = _channels_first(part)
            if total is None:
                xp = backend.array_module(a)
                total, total_sq = xp.zeros(a.shape[0]), xp.zeros(a.shape[0])
            elif a.shape[0] != len(total):
                raise ValueError(f"mean_std: samples have different channel counts ({len(total)} and {a.shape[0]})")
            total += a.sum(axis=1)
            total_sq += (a * a).sum(axis=1)
            n += a.shape[1]
    if not n:
        raise ValueError("mean_std: no data")
    total, total_sq = backend.to_numpy(backend.array_module(total).stack([total, total_sq]))   # one read-back
    mean = total / n
    std = np.sqrt(np.maximum(total_sq / n - mean * mean, 0.0))
    return tuple(float(v) for v in mean), tuple(float(v) for v in std)
