"""Samplers: the order in which a :class:`~neuronet.data.DataLoader` visits indices.

Random samplers draw a fresh permutation each time they are iterated (each
epoch) from their ``generator`` -- a ``numpy.random.Generator`` or an int seed
(made into a generator once, so successive epochs differ but a rerun repeats
them) -- or, by default, from the data generator seeded by
``neuronet.manual_seed`` (see :mod:`neuronet.data._random`).
"""
from __future__ import annotations

import numpy as np

from . import _random

__all__ = ["Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler", "BatchSampler"]


def _own_generator(generator):
    if generator is None or isinstance(generator, np.random.Generator):
        return generator
    return _random.resolve(generator)


class Sampler:
    """Yields dataset indices; subclasses implement ``__iter__`` and ``__len__``."""

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
    """A random permutation of the indices (or, with ``replacement=True``,
    ``num_samples`` uniform draws), redrawn at each iteration."""

    def __init__(self, data_source, replacement=False, num_samples=None, generator=None):
        self.data_source = data_source
        self.replacement = bool(replacement)
        self._num_samples = num_samples
        self.generator = _own_generator(generator)
        if num_samples is not None and (not isinstance(num_samples, (int, np.integer)) or num_samples <= 0):
            raise ValueError(f"RandomSampler: num_samples must be a positive int, received {num_samples!r}")
        if num_samples is not None and not self.replacement:
            raise ValueError("RandomSampler: num_samples may only be given with replacement=True")

    @property
    def num_samples(self):
        return len(self.data_source) if self._num_samples is None else int(self._num_samples)

    def __iter__(self):
        g = self.generator if self.generator is not None else _random.generator()
        n = len(self.data_source)
        if self.replacement:
            idx = g.integers(0, n, size=self.num_samples)
        else:
            idx = g.permutation(n)
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


class BatchSampler(Sampler):
    """Groups the indices of ``sampler`` into lists of ``batch_size``; the last,
    shorter one is dropped when ``drop_last``."""

    def __init__(self, sampler, batch_size, drop_last):
        if not isinstance(batch_size, (int, np.integer)) or isinstance(batch_size, bool) or batch_size <= 0:
            raise ValueError(f"BatchSampler: batch_size must be a positive int, received {batch_size!r}")
        if not isinstance(drop_last, bool):
            raise ValueError(f"BatchSampler: drop_last must be a bool, received {drop_last!r}")
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
