"""Where data-side random draws come from.

Transforms and samplers draw from :func:`generator`: the module-wide
``neuronet.backend.generator(numpy)`` (seeded by ``neuronet.manual_seed``)
unless a :class:`~neuronet.data.DataLoader` has installed a per-epoch generator
for the current thread with :func:`using`. The loader does so for every batch it
builds, in the main thread or in its prefetch thread alike, so augmentation
draws never race with the model's own draws (dropout) and a prefetching run
sees exactly the batches of a non-prefetching one. In a DataLoader worker
process, :func:`generator` is the worker's own, seeded ``base_seed + worker_id``.
"""
from __future__ import annotations

import contextlib
import threading

import numpy as np

from .. import backend
from ..ops.sampling import Generator

_local = threading.local()


def generator() -> np.random.Generator:
    """The generator data-side random draws should use now: the DataLoader's
    per-epoch one while it builds a batch, else ``neuronet.manual_seed``'s."""
    g = getattr(_local, "gen", None)
    return g if g is not None else backend.generator(np)


def resolve(gen=None) -> np.random.Generator:
    """An explicit generator (``np.random.Generator``, ``neuronet.Generator`` or
    int seed) or the current one.

    A ``neuronet.Generator`` draws from its CPU stream whatever its device:
    sampler indices and augmentation parameters are drawn on the host (a few
    numbers per batch, uploaded with the data they act on), so a
    ``Generator(device="cuda")`` seeds them without a read-back from the GPU.
    The generator object is kept, so reseeding it later still takes effect.
    """
    if gen is None:
        return generator()
    if isinstance(gen, np.random.Generator):
        return gen
    if isinstance(gen, Generator) and gen.device.type != "cpu":
        return _HostStream(gen)
    if callable(getattr(gen, "integers", None)) and callable(getattr(gen, "permutation", None)):
        return gen          # Generator-like (e.g. CuPy's), used as it is
    if isinstance(gen, (int, np.integer)) and not isinstance(gen, bool):
        return np.random.default_rng(int(gen))
    raise TypeError(f"generator must be a numpy.random.Generator or an int seed, received {gen!r}")


class _HostStream:
    """A GPU ``neuronet.Generator`` seen through its CPU stream (looked up at
    each draw, so ``manual_seed`` on the generator is honoured)."""

    def __init__(self, gen):
        self._gen = gen

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._gen._generator(np), name)


def forget_thread_generator():
    """Drop a generator installed with :func:`using` by this thread (a forked
    DataLoader worker starts with a copy of its parent's thread state)."""
    _local.gen = None


@contextlib.contextmanager
def using(gen):
    prev = getattr(_local, "gen", None)
    _local.gen = gen
    try:
        yield gen
    finally:
        _local.gen = prev
