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
import typing
import warnings

import numpy as np

from .. import backend
from ..tensor import Tensor
from . import _random

__all__ = ["Dataset", "IterableDataset", "TensorDataset", "Subset", "ConcatDataset", "ChainDataset",
           "StackDataset", "ArrayDataset", "random_split", "supports_batch"]

T_co = typing.TypeVar("T_co", covariant=True)


class Dataset(typing.Generic[T_co]):
    """A map-style dataset: ``ds[i]`` for ``0 <= i < len(ds)``.

    Subclasses implement ``__getitem__`` and ``__len__``; optionally
    ``__getitems__(indices)`` (a list of samples at once, which the
    :class:`~neuronet.data.DataLoader` then prefers, as PyTorch's) or
    ``get_batch(indices)`` (an already collated batch: neuronet's fast path).
    ``ds1 + ds2`` is a :class:`ConcatDataset`. Generic like PyTorch's
    (``class MyData(Dataset[tuple])`` works).
    """

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__")

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__} must implement __len__")

    def __add__(self, other):
        return ConcatDataset([self, other])


class IterableDataset(Dataset[T_co]):
    """A stream of samples: subclasses implement ``__iter__`` (``__len__`` optional).

    With ``DataLoader(num_workers=k)`` every worker process iterates its own
    copy of the dataset, so without care each sample comes ``k`` times. Split
    the stream inside ``__iter__`` with
    :func:`~neuronet.data.dataloader.get_worker_info` (as with PyTorch)::

        def __iter__(self):
            info = get_worker_info()
            start, step = (0, 1) if info is None else (info.id, info.num_workers)
            return iter(range(self.start + start, self.end, step))

    ``ds1 + ds2`` is a :class:`ChainDataset`.
    """

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__} must implement __iter__")

    def __getitem__(self, index):
        raise TypeError(f"{type(self).__name__} is an IterableDataset: iterate over it, it has no __getitem__")

    def __add__(self, other):
        return ChainDataset([self, other])


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


def _as_array(a):
    """A host or GPU array as it is (a tensor's own array): never a copy
    across devices, so GPU-resident data stays there."""
    if isinstance(a, Tensor):
        return a.array
    if not isinstance(a, np.ndarray) and backend.array_module(a) is not np:
        return a
    return np.asarray(a)


def _take(a, idx):
    """``a[idx]`` for host indices ``idx``; for a GPU array the indices go
    over explicitly (a few bytes), and the gather runs there."""
    xp = backend.array_module(a)
    return a[idx] if xp is np else a[xp.asarray(idx)]


def _host_indices(indices):
    """Indices as a host int64 array; a GPU index tensor is read back once."""
    if isinstance(indices, Tensor):
        indices = indices.array
    if not isinstance(indices, np.ndarray) and backend.array_module(indices) is not np:
        indices = backend.to_numpy(indices)
    return np.asarray(indices, dtype=np.int64).reshape(-1)


class ArrayDataset(Dataset):
    """Samples held as one array: ``data[i]`` with target ``targets[i]``.

    Args:
        data: array ``(N, ...)``, e.g. MNIST's ``(N, 28, 28)`` uint8 or CIFAR's
            ``(N, 32, 32, 3)`` uint8 (images in channels-last layout, as PIL).
            A GPU array or tensor stays on the GPU: batches are gathered and
            transformed there.
        targets: integer array ``(N,)`` (stored as int64), on the host or
            the GPU (``ds[i]`` then gives a 0-d GPU array, not a Python int,
            which would need a read-back).
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
        data = _as_array(data)
        targets = _as_array(targets)
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
        imgs = _take(self.data, idx)
        tgts = _take(self.targets, idx)
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
    return x if isinstance(x, Tensor) else Tensor._wrap(_as_array(x))


class TensorDataset(Dataset):
    """Samples are slices of tensors (or arrays) sharing their first dimension:
    ``ds[i] == (t0[i], t1[i], ...)``.

    ``index`` may be an int, a slice, or an index array (list, ndarray or
    integer/bool tensor): ``ds[2:5]`` and ``ds[[0, 3]]`` give tuples of
    ``(k, ...)`` tensors, as indexing the tensors themselves would.

    GPU tensors stay on the GPU: samples and batches are slices and gathers
    there (host indices are sent over, a few bytes), never copies through
    the host; an index tensor on the GPU indexes there directly (its bounds
    are checked only on the CPU or with ``NEURONET_DEBUG_CHECKS=1``).
    """

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor")
        self.tensors = tuple(t if isinstance(t, Tensor) else Tensor._wrap(_as_array(t)) for t in tensors)
        n = self.tensors[0].shape[0]
        for k, t in enumerate(self.tensors):
            if t.ndim == 0 or t.shape[0] != n:
                raise ValueError(f"TensorDataset: all tensors must share the first dimension; tensor 0 "
                                 f"has {n} rows, tensor {k} has shape {t.shape}")

    def __len__(self):
        return self.tensors[0].shape[0]

    def __getitem__(self, index):
        n = len(self)
        if isinstance(index, Tensor):
            index = index.item() if index.ndim == 0 else index.array
        if isinstance(index, slice):
            key = index
        elif not isinstance(index, np.ndarray) and backend.array_module(index) is not np:
            key = self._device_key(index, n)
        elif isinstance(index, (list, tuple, np.ndarray)):
            key = np.asarray(index)
            if key.dtype == np.bool_:
                if key.shape != (n,):
                    raise IndexError(f"TensorDataset: a boolean index must have shape ({n},), "
                                     f"received {key.shape}")
            elif key.dtype.kind in "iu" or key.size == 0:
                key = _indices_array(key, n, "TensorDataset")
            else:
                raise IndexError(f"TensorDataset: index arrays must hold ints or bools, received dtype {key.dtype}")
        else:
            key = _check_index(index, n, "TensorDataset")
        if isinstance(key, np.ndarray):
            return tuple(Tensor._wrap(_take(t.array, key)) for t in self.tensors)
        return tuple(Tensor._wrap(t.array[key]) for t in self.tensors)

    @staticmethod
    def _device_key(index, n):
        """A GPU index array, checked without reading it back (dtype and
        shape only; the values on the CPU path's terms with debug checks)."""
        xp = backend.array_module(index)
        if index.dtype == np.bool_:
            if index.shape != (n,):
                raise IndexError(f"TensorDataset: a boolean index must have shape ({n},), received {index.shape}")
            return index
        if index.dtype.kind not in "iu":
            raise IndexError(f"TensorDataset: index arrays must hold ints or bools, received dtype {index.dtype}")
        if backend.host_checks(xp):
            _indices_array(backend.to_numpy(index), n, "TensorDataset")
        return index

    def get_batch(self, indices):
        idx = _indices_array(indices, len(self), "TensorDataset")
        return [Tensor._wrap(_take(t.array, idx)) for t in self.tensors]


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices`` (in that order)."""

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = _host_indices(indices).tolist()

    def __len__(self):
        return len(self.indices)

    def __getitem__(self, index):
        if isinstance(index, (list, np.ndarray)):
            return [self.dataset[self.indices[int(i)]] for i in index]
        return self.dataset[self.indices[_check_index(index, len(self), "Subset")]]

    def __getitems__(self, indices):
        """A list of samples; batched through the wrapped dataset's ``__getitems__`` when it has one."""
        idx = [self.indices[_check_index(i, len(self), "Subset")] for i in indices]
        inner = getattr(self.dataset, "__getitems__", None)
        return inner(idx) if callable(inner) else [self.dataset[i] for i in idx]

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
        for k, d in enumerate(self.datasets):
            if isinstance(d, IterableDataset):
                raise TypeError(f"ConcatDataset: dataset {k} is an IterableDataset ({type(d).__name__}); "
                                "chain iterable datasets with ChainDataset")
        self.cumulative_sizes = list(np.cumsum([len(d) for d in self.datasets]).tolist())

    def __len__(self):
        return self.cumulative_sizes[-1]

    def __getitem__(self, index):
        i = _check_index(index, len(self), "ConcatDataset")
        k = bisect.bisect_right(self.cumulative_sizes, i)
        start = 0 if k == 0 else self.cumulative_sizes[k - 1]
        return self.datasets[k][i - start]


class ChainDataset(IterableDataset):
    """Iterable datasets one after another, chained lazily (``itertools.chain``);
    ``len`` is the sum of their lengths when they all have one."""

    def __init__(self, datasets):
        self.datasets = list(datasets)

    def __iter__(self):
        for k, d in enumerate(self.datasets):
            if not isinstance(d, IterableDataset):
                raise TypeError(f"ChainDataset only chains IterableDatasets; dataset {k} is {type(d).__name__}")
            yield from d

    def __len__(self):
        total = 0
        for k, d in enumerate(self.datasets):
            if not isinstance(d, IterableDataset):
                raise TypeError(f"ChainDataset only chains IterableDatasets; dataset {k} is {type(d).__name__}")
            total += len(d)
        return total


class StackDataset(Dataset):
    """Several equal-length datasets side by side: ``StackDataset(a, b)[i] ==
    (a[i], b[i])`` and ``StackDataset(image=a, text=b)[i] == {"image": a[i],
    "text": b[i]}``."""

    def __init__(self, *args, **kwargs):
        if args and kwargs:
            raise ValueError("StackDataset: pass datasets positionally (samples are tuples) or by keyword "
                             "(samples are dicts), not both")
        if not args and not kwargs:
            raise ValueError("StackDataset needs at least one dataset")
        self.datasets = args if args else dict(kwargs)
        parts = list(args) if args else list(kwargs.values())
        lengths = [len(d) for d in parts]
        if len(set(lengths)) != 1:
            raise ValueError(f"StackDataset: datasets must have the same length, received lengths {lengths}")
        self._length = lengths[0]

    def __len__(self):
        return self._length

    def __getitem__(self, index):
        if isinstance(self.datasets, dict):
            return {k: d[index] for k, d in self.datasets.items()}
        return tuple(d[index] for d in self.datasets)

    def __getitems__(self, indices):
        def column(d):
            get = getattr(d, "__getitems__", None)
            items = get(list(indices)) if callable(get) else [d[i] for i in indices]
            if len(items) != len(indices):
                raise ValueError(f"StackDataset: a nested dataset returned {len(items)} samples "
                                 f"for {len(indices)} indices")
            return items
        if isinstance(self.datasets, dict):
            cols = {k: column(d) for k, d in self.datasets.items()}
            return [{k: cols[k][j] for k in cols} for j in range(len(indices))]
        cols = [column(d) for d in self.datasets]
        return [tuple(c[j] for c in cols) for j in range(len(indices))]


def random_split(dataset, lengths, generator=None):
    """Split ``dataset`` into non-overlapping random :class:`Subset` s.

    ``lengths``: sizes summing to ``len(dataset)``, or fractions summing to 1.
    Fractions follow PyTorch's rule: when ``sum(lengths)`` is close to 1 and
    at most 1, split ``k`` gets ``floor(n * lengths[k])`` samples and the
    ``n - sum`` left over are dealt one each, round-robin from the first
    split (``[0.5, 0.5]`` of 11 -> ``[6, 5]``). ``generator``: a
    ``numpy.random.Generator`` or an int seed; by default the draw comes from
    the generator seeded by ``neuronet.manual_seed``.
    """
    n = len(dataset)
    lengths = list(lengths)
    if lengths and math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        sizes = []
        for k, frac in enumerate(lengths):
            if frac < 0 or frac > 1:
                raise ValueError(f"random_split: fraction at index {k} is not between 0 and 1, received {frac}")
            sizes.append(int(math.floor(n * frac)))
        for k in range(n - sum(sizes)):
            sizes[k % len(sizes)] += 1
        for k, size in enumerate(sizes):
            if size == 0:
                warnings.warn(f"random_split: length of split at index {k} is 0; that subset will be empty",
                              stacklevel=2)
        lengths = sizes
    if any(not isinstance(s, (numbers.Integral, np.integer)) or isinstance(s, bool) or s < 0 for s in lengths):
        raise ValueError(f"random_split: lengths must be non-negative ints or fractions summing to 1, "
                         f"received {lengths}")
    if sum(lengths) != n:
        raise ValueError(f"random_split: the sum of input lengths ({sum(lengths)}) does not equal the length "
                         f"of the input dataset ({n}); pass lengths summing to {n} or fractions summing to 1")
    perm = _random.resolve(generator).permutation(n)
    out, start = [], 0
    for size in lengths:
        out.append(Subset(dataset, perm[start:start + size]))
        start += size
    return out
