"""Datasets: the map-style protocol (``len`` + ``__getitem__``) and its combinators.

An :class:`ArrayDataset` additionally holds its samples as one array
(``data``: ``(N, ...)``, ``targets``: ``(N,)``) and offers ``get_batch(indices)``:
the :class:`~neuronet.data.DataLoader` then builds a batch with one fancy index
and a batch-wise transform instead of ``batch_size`` Python calls (the "fast
path"; see :meth:`ArrayDataset.get_batch`).
"""
from __future__ import annotations

import bisect
import math
import numbers

import numpy as np

from ..tensor import Tensor
from . import _random

__all__ = ["Dataset", "TensorDataset", "Subset", "ConcatDataset", "ArrayDataset", "random_split",
           "supports_batch"]


class Dataset:
    """A map-style dataset: ``ds[i]`` for ``0 <= i < len(ds)``.

    Subclasses implement ``__getitem__`` and ``__len__``. ``ds1 + ds2`` is a
    :class:`ConcatDataset`.
    """

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__")

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__} must implement __len__")

    def __add__(self, other):
        return ConcatDataset([self, other])


def _check_index(index, n, who):
    if isinstance(index, Tensor):
        index = index.item()
    if not isinstance(index, (numbers.Integral, np.integer)) or isinstance(index, bool):
        raise TypeError(f"{who} index must be an int, received {type(index).__name__}")
    i = int(index)
    if i < -n or i >= n:
        raise IndexError(f"{who} index {i} out of range for a dataset of length {n}")
    return i % n


def supports_batch(fn) -> bool:
    """True when the callable ``fn`` has a batch-wise ``apply_batch`` (transforms
    of :mod:`neuronet.data.transforms` do; ``Compose`` does when all its parts do)."""
    ab = getattr(fn, "supports_batch", None)
    if ab is not None:
        return bool(ab() if callable(ab) else ab)
    return callable(getattr(fn, "apply_batch", None))


def _indices_array(indices, n, who):
    idx = np.asarray(indices, dtype=np.int64).reshape(-1)
    if idx.size and (idx.min() < -n or idx.max() >= n):
        bad = idx[(idx < -n) | (idx >= n)][0]
        raise IndexError(f"{who} index {int(bad)} out of range for a dataset of length {n}")
    return idx


class ArrayDataset(Dataset):
    """Samples held as one array: ``data[i]`` with target ``targets[i]``.

    Args:
        data: array ``(N, ...)``, e.g. MNIST's ``(N, 28, 28)`` uint8 or CIFAR's
            ``(N, 32, 32, 3)`` uint8 (images in channels-last layout, as PIL).
        targets: integer array ``(N,)`` (stored as int64).
        transform / target_transform: callables applied to one sample; when they
            also offer ``apply_batch`` (all of :mod:`neuronet.data.transforms`),
            :meth:`get_batch` applies them to the whole batch at once.

    ``ds[i]`` returns ``(transform(data[i]), target)`` with ``target`` a Python
    int (as torchvision). ``get_batch(indices)`` returns ``[x, y]`` as tensors,
    the same values the loader's item-by-item path would collate (bit for bit
    for deterministic transforms; random transforms draw their parameters for
    the whole batch at once, in a different order than item by item).
    """

    def __init__(self, data, targets, transform=None, target_transform=None):
        data = np.asarray(data)
        targets = np.asarray(targets)
        if targets.ndim != 1 or len(targets) != len(data):
            raise ValueError(f"{type(self).__name__}: targets must have shape ({len(data)},), "
                             f"received {targets.shape}")
        self.data = data
        self.targets = targets.astype(np.int64) if targets.dtype.kind in "iub" else targets
        self.transform = transform
        self.target_transform = target_transform

    def __len__(self):
        return len(self.data)

    def __getitem__(self, index):
        i = _check_index(index, len(self), type(self).__name__)
        img = self.data[i]
        target = self.targets[i]
        target = target.item() if isinstance(target, np.generic) else target
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def get_batch(self, indices):
        """``[x, y]`` for ``indices``: one fancy index, then batch-wise transforms.

        x: ``transform.apply_batch(data[indices])`` (or the untransformed array as
        a tensor); y: int64 tensor ``(B,)``. A transform without ``apply_batch``
        falls back to per-item calls, still collated into one tensor.
        """
        from .dataloader import default_collate  # circular at import time
        idx = _indices_array(indices, len(self), type(self).__name__)
        imgs = self.data[idx]
        tgts = self.targets[idx]
        if self.transform is None:
            x = Tensor._wrap(imgs)
        elif supports_batch(self.transform):
            x = _as_tensor(self.transform.apply_batch(imgs))
        else:
            x = default_collate([self.transform(im) for im in imgs])
        if self.target_transform is None:
            y = Tensor._wrap(tgts)
        elif supports_batch(self.target_transform):
            y = _as_tensor(self.target_transform.apply_batch(tgts))
        else:
            y = default_collate([self.target_transform(t.item()) for t in tgts])
        return [x, y]


def _as_tensor(x):
    return x if isinstance(x, Tensor) else Tensor._wrap(np.asarray(x))


class TensorDataset(Dataset):
    """Samples are slices of tensors (or arrays) sharing their first dimension:
    ``ds[i] == (t0[i], t1[i], ...)``."""

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor")
        self.tensors = tuple(t if isinstance(t, Tensor) else Tensor._wrap(np.asarray(t)) for t in tensors)
        n = self.tensors[0].shape[0]
        for k, t in enumerate(self.tensors):
            if t.ndim == 0 or t.shape[0] != n:
                raise ValueError(f"TensorDataset: all tensors must share the first dimension; tensor 0 "
                                 f"has {n} rows, tensor {k} has shape {t.shape}")

    def __len__(self):
        return self.tensors[0].shape[0]

    def __getitem__(self, index):
        i = _check_index(index, len(self), "TensorDataset")
        return tuple(Tensor._wrap(t.array[i]) for t in self.tensors)

    def get_batch(self, indices):
        idx = _indices_array(indices, len(self), "TensorDataset")
        return [Tensor._wrap(t.array[idx]) for t in self.tensors]


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices`` (in that order)."""

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = list(int(i) for i in np.asarray(indices, dtype=np.int64).reshape(-1))

    def __len__(self):
        return len(self.indices)

    def __getitem__(self, index):
        if isinstance(index, (list, np.ndarray)):
            return [self.dataset[self.indices[int(i)]] for i in index]
        return self.dataset[self.indices[_check_index(index, len(self), "Subset")]]

    def __getattr__(self, name):
        # expose get_batch only when the wrapped dataset has it, so that the
        # DataLoader's fast-path detection (hasattr) stays truthful
        if name == "get_batch" and callable(getattr(self.__dict__.get("dataset"), "get_batch", None)):
            return self._get_batch
        raise AttributeError(name)

    def _get_batch(self, indices):
        idx = _indices_array(indices, len(self), "Subset")
        return self.dataset.get_batch(np.asarray(self.indices, dtype=np.int64)[idx])


class ConcatDataset(Dataset):
    """The datasets one after another: ``len == sum(len(d))``."""

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset needs at least one dataset")
        self.cumulative_sizes = list(np.cumsum([len(d) for d in self.datasets]).tolist())

    def __len__(self):
        return self.cumulative_sizes[-1]

    def __getitem__(self, index):
        i = _check_index(index, len(self), "ConcatDataset")
        k = bisect.bisect_right(self.cumulative_sizes, i)
        start = 0 if k == 0 else self.cumulative_sizes[k - 1]
        return self.datasets[k][i - start]


def random_split(dataset, lengths, generator=None):
    """Split ``dataset`` into non-overlapping random :class:`Subset` s.

    ``lengths``: sizes summing to ``len(dataset)``, or fractions summing to 1
    (as PyTorch: each gets ``floor(frac * n)`` and the remainder is dealt one
    by one, round-robin, from the first). ``generator``: a
    ``numpy.random.Generator`` or an int seed; by default the draw comes from
    the generator seeded by ``neuronet.manual_seed``.
    """
    n = len(dataset)
    lengths = list(lengths)
    if lengths and all(0 <= f <= 1 for f in lengths) and math.isclose(sum(lengths), 1.0) \
            and sum(lengths) != n:
        sizes = [int(math.floor(n * f)) for f in lengths]
        for i in range(n - sum(sizes)):
            sizes[i % len(sizes)] += 1
        lengths = sizes
    if any((not isinstance(s, (int, np.integer))) or s < 0 for s in lengths) or sum(lengths) != n:
        raise ValueError(f"random_split: lengths must be non-negative ints summing to the dataset length "
                         f"{n} or fractions summing to 1, received {lengths}")
    perm = _random.resolve(generator).permutation(n)
    out, start = [], 0
    for s in lengths:
        out.append(Subset(dataset, perm[start:start + s]))
        start += s
    return out
