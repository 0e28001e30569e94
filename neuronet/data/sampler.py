"""Samplers: the order in which a :class:`~neuronet.data.DataLoader` visits indices.

Random samplers draw a fresh permutation each time they are iterated (each
epoch) from their ``generator`` -- a ``numpy.random.Generator`` or an int seed
(made into a generator once, so successive epochs differ but a rerun repeats
them) -- or, by default, from the data generator seeded by
``neuronet.manual_seed`` (see :mod:`neuronet.data._random`).
"""
from __future__ import annotations

import numbers
import typing

import numpy as np

from ..tensor import Tensor
from . import _random

__all__ = ["Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler", "WeightedRandomSampler",
           "BatchSampler", "DistributedSampler"]

T_co = typing.TypeVar("T_co", covariant=True)


def _own_generator(generator):
    if generator is None or isinstance(generator, np.random.Generator):
        return generator
    return _random.resolve(generator)


class Sampler(typing.Generic[T_co]):
    """Yields dataset indices; subclasses implement ``__iter__`` and ``__len__``.
    Generic like PyTorch's (``Sampler[int]`` in type hints)."""

    def __init__(self, data_source=None):
        pass

    def __iter__(self):
        raise NotImplementedError

    def __len__(self):
        raise NotImplementedError


class SequentialSampler(Sampler):
    """0, 1, ..., len(data_source) - 1."""

    def __init__(self, data_source):
        self.data_source = data_source

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self):
        return len(self.data_source)


class RandomSampler(Sampler):
    """A random permutation of the indices, redrawn at each iteration.

    ``replacement=True``: ``num_samples`` (default ``len(data_source)``)
    uniform draws with replacement. ``replacement=False`` with ``num_samples``
    larger than the dataset: whole permutations one after another, the last
    one cut short (as PyTorch).
    """

    def __init__(self, data_source, replacement=False, num_samples=None, generator=None):
        if not isinstance(replacement, bool):
            raise TypeError(f"RandomSampler: replacement should be a boolean value, received {replacement!r}")
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = _own_generator(generator)
        if num_samples is not None and (not isinstance(num_samples, (int, np.integer))
                                        or isinstance(num_samples, bool) or num_samples <= 0):
            raise ValueError(f"RandomSampler: num_samples should be a positive int, received {num_samples!r}")

    @property
    def num_samples(self):
        return len(self.data_source) if self._num_samples is None else int(self._num_samples)

    def __iter__(self):
        g = self.generator if self.generator is not None else _random.generator()
        n = len(self.data_source)
        if self.replacement:
            idx = g.integers(0, n, size=self.num_samples)
        else:
            whole, rest = divmod(self.num_samples, n)
            idx = np.concatenate([g.permutation(n) for _ in range(whole)] + [g.permutation(n)[:rest]])
        return iter(idx.tolist())

    def __len__(self):
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given ``indices`` in a random order, redrawn at each iteration."""

    def __init__(self, indices, generator=None):
        self.indices = list(int(i) for i in np.asarray(indices, dtype=np.int64).reshape(-1))
        self.generator = _own_generator(generator)

    def __iter__(self):
        g = self.generator if self.generator is not None else _random.generator()
        perm = g.permutation(len(self.indices))
        return iter([self.indices[i] for i in perm])

    def __len__(self):
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """``num_samples`` indices drawn with probability ``weights[i] / sum(weights)``.

    Args:
        weights: non-negative numbers ``(N,)``, one per sample (need not sum to 1).
        num_samples: how many indices per iteration.
        replacement: draw with replacement (default); without, each index at
            most once, so ``num_samples`` may not exceed the number of non-zero
            weights.
        generator: ``numpy.random.Generator`` or int seed (default: the data
            generator of ``neuronet.manual_seed``).

    Typical use: class balancing, ``weights = 1 / class_count[targets]``.
    """

    def __init__(self, weights, num_samples, replacement=True, generator=None):
        if not isinstance(num_samples, (numbers.Integral, np.integer)) or isinstance(num_samples, bool) \
                or num_samples <= 0:
            raise ValueError(f"WeightedRandomSampler: num_samples should be a positive int, received {num_samples!r}")
        if not isinstance(replacement, bool):
            raise ValueError(f"WeightedRandomSampler: replacement should be a boolean value, received {replacement!r}")
        w = weights.numpy() if isinstance(weights, Tensor) else np.asarray(weights)
        if w.ndim != 1:
            raise ValueError(f"WeightedRandomSampler: weights should be a 1d sequence, received shape {w.shape}")
        w = w.astype(np.float64)
        if not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
            raise RuntimeError("WeightedRandomSampler: weights must be finite, non-negative and not all zero")
        if not replacement and num_samples > np.count_nonzero(w):
            raise RuntimeError(f"WeightedRandomSampler: cannot draw {num_samples} samples without replacement "
                               f"from {np.count_nonzero(w)} non-zero weights")
        self.weights = w
        self.num_samples = int(num_samples)
        self.replacement = replacement
        self.generator = _own_generator(generator)

    def __iter__(self):
        g = self.generator if self.generator is not None else _random.generator()
        p = self.weights / self.weights.sum()
        idx = g.choice(len(p), size=self.num_samples, replace=self.replacement, p=p)
        return iter(idx.tolist())

    def __len__(self):
        return self.num_samples


class BatchSampler(Sampler):
    """Groups the indices of ``sampler`` into lists of ``batch_size``; the last,
    shorter one is dropped when ``drop_last``."""

    def __init__(self, sampler, batch_size, drop_last):
        if not isinstance(batch_size, (int, np.integer)) or isinstance(batch_size, bool) or batch_size <= 0:
            raise ValueError(f"BatchSampler: batch_size should be a positive int, received {batch_size!r}")
        if not isinstance(drop_last, bool):
            raise ValueError(f"BatchSampler: drop_last should be a boolean value, received {drop_last!r}")
        self.sampler = sampler
        self.batch_size = int(batch_size)
        self.drop_last = drop_last

    def __iter__(self):
        batch = []
        for i in self.sampler:
            batch.append(i)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self):
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)


class DistributedSampler(Sampler):
    """The share of ``dataset`` that replica ``rank`` of ``num_replicas`` visits
    (PyTorch's ``torch.utils.data.distributed.DistributedSampler``).

    Every replica draws the same permutation (seeded ``seed + epoch``; call
    :meth:`set_epoch` at each epoch for a new one), pads it by wrapping around
    to a multiple of ``num_replicas`` (or, with ``drop_last``, cuts it down)
    and takes every ``num_replicas``-th index from ``rank`` on, so the shares
    are disjoint and equally long. ``num_replicas`` and ``rank`` default to
    the process group's (``neuronet.distributed``); without one, to
    ``1`` and ``0`` (the whole dataset), so single-process runs of
    distributed scripts work unchanged.
    """

    def __init__(self, dataset, num_replicas=None, rank=None, shuffle=True, seed=0, drop_last=False):
        if num_replicas is None or rank is None:
            from .. import distributed as _dist
            if _dist.is_initialized():
                num_replicas = _dist.get_world_size() if num_replicas is None else num_replicas
                rank = _dist.get_rank() if rank is None else rank
        num_replicas = 1 if num_replicas is None else num_replicas
        rank = 0 if rank is None else rank
        if not isinstance(num_replicas, (int, np.integer)) or num_replicas < 1:
            raise ValueError(f"DistributedSampler: num_replicas should be a positive int, received {num_replicas!r}")
        if not isinstance(rank, (int, np.integer)) or not 0 <= rank < num_replicas:
            raise ValueError(f"DistributedSampler: invalid rank {rank!r}, rank should be in the interval "
                             f"[0, {num_replicas - 1}]")
        self.dataset = dataset
        self.num_replicas, self.rank = int(num_replicas), int(rank)
        self.shuffle, self.seed, self.drop_last = bool(shuffle), int(seed), bool(drop_last)
        self.epoch = 0
        n = len(dataset)
        if self.drop_last and n % self.num_replicas:
            self.num_samples = -((self.num_replicas - n) // self.num_replicas)   # ceil((n - R) / R)
        else:
            self.num_samples = -(-n // self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas

    def __iter__(self):
        n = len(self.dataset)
        if self.shuffle:
            idx = np.random.default_rng(self.seed + self.epoch).permutation(n)
        else:
            idx = np.arange(n)
        if self.drop_last:
            idx = idx[:self.total_size]
        elif self.total_size > n:
            idx = np.resize(idx, self.total_size)        # wraps around: idx, idx, ... cut to size
        return iter(idx[self.rank:self.total_size:self.num_replicas].tolist())

    def __len__(self):
        return self.num_samples

    def set_epoch(self, epoch):
        """Use ``epoch`` in the seed: a new permutation, the same on every replica."""
        self.epoch = int(epoch)
