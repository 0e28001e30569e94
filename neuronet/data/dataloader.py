"""``DataLoader``: batches from a dataset, shuffled, collated, built in this
process (optionally prefetched by a thread) or in worker processes.

Seeding. Per epoch (each ``iter(loader)``) the loader draws one seed -- from its
own ``generator``/``seed`` when given, else from the generator seeded by
``neuronet.manual_seed`` -- and makes a private generator from it. The sampler
(the shuffle) always draws from that private generator, in the main process,
so the batch ORDER depends on the seed alone, never on ``num_workers``.

- ``num_workers=0``: random transforms draw from the same private generator,
  in the main thread or in the prefetch thread alike, so ``prefetch`` changes
  timing only, never the batches.
- ``num_workers=k``: as PyTorch, worker ``i`` seeds Python's ``random``,
  NumPy's global ``np.random`` and neuronet's generator (the one transforms
  draw from: ``neuronet.data.random_generator()``) with ``base_seed + i``
  (``base_seed`` derived from the epoch seed), then calls
  ``worker_init_fn(i)``. Batch ``b`` goes to worker ``b % k``, so random
  augmentations repeat for a fixed (seed, ``num_workers``); they differ from
  the ``num_workers=0`` draws, as in PyTorch.

Fast path: when ``collate_fn`` is None and the dataset has ``get_batch(indices)``
(:class:`~neuronet.data.ArrayDataset` and the built-in image datasets,
:class:`~neuronet.data.TensorDataset`, a :class:`~neuronet.data.Subset` of
either), a batch is ``dataset.get_batch(indices)``: one fancy index into the
uint8 array and one batch-wise transform, rather than ``batch_size`` item calls
and a stack. Pass ``collate_fn=default_collate`` to force the item-by-item path.
A dataset with PyTorch's ``__getitems__(indices)`` gets it called once per batch.

Prefetch (``num_workers=0``): ``prefetch=k`` (default 2) builds up to ``k``
batches ahead in a background thread, so loading and augmentation overlap the
training step (NumPy releases the GIL in its array loops). On by default because
it never changes the batches and costs one thread and ``k`` batches of memory.
Measured on 2 CPU cores, bundled MNIST sample, batch 256, RandomAffine(bilinear)
+ ToTensor + Normalize: building a batch takes ~4 ms against ~65 ms for a
LeNet-sized NumPy step; the time the loop spent waiting for batches per epoch
fell from 0.12 s (``prefetch=0``) to 0.02 s (``prefetch=2``).

Workers (``num_workers=k``): ``k`` processes (``fork`` on Linux, as PyTorch;
``multiprocessing_context="spawn"`` works too, given a picklable dataset).
Each receives index batches through its own queue, ``prefetch_factor``
(default 2) at a time, builds the batch (``dataset[i]`` + collate, or
``get_batch``) and sends it back as NumPy arrays; the main process wraps them
into tensors and hands them out in sampler order (a batch that arrives early
waits in a buffer). Item-by-item Python work -- per-sample augmentation --
is what gains: it holds the GIL, which a thread cannot escape. The messages
between the processes are pickled by ``multiprocessing``: our own processes,
over our own pipe; nothing is ever read back from a file.

GPU data. Samples that are GPU tensors (or CuPy arrays) are stacked on their
GPU by :func:`default_collate`, and :class:`~neuronet.data.TensorDataset` /
:class:`~neuronet.data.ArrayDataset` over GPU data gather batches there: an
epoch over GPU-resident data reads nothing back to the host. Worker processes
cannot share a GPU context: keep ``num_workers=0`` for GPU-resident data.
``pin_memory=True`` (with CuPy) copies host batches into page-locked memory,
in the prefetch thread, so ``x.to("cuda", non_blocking=True)`` overlaps the step.

Workers never outlive their use: they stop at the end of an epoch (unless
``persistent_workers``), when the iterator is dropped (``break``, an exception,
Ctrl-C) or garbage collected, and at interpreter exit; a worker whose parent
died exits on its own. A worker that dies (killed by a signal, out of memory)
is reported as a ``RuntimeError``, not a hang.
"""
from __future__ import annotations

import collections.abc
import itertools
import multiprocessing
import numbers
import os
import queue
import random
import signal
import sys
import threading
import time
import traceback
import typing
import warnings
import weakref
from multiprocessing.reduction import ForkingPickler

import numpy as np

from .. import backend
from ..tensor import Tensor, _is_pinned
from . import _random
from .dataset import IterableDataset
from .sampler import BatchSampler, RandomSampler, SequentialSampler

__all__ = ["DataLoader", "default_collate", "default_convert", "get_worker_info", "WorkerInfo"]

T_co = typing.TypeVar("T_co", covariant=True)

# How often a blocked queue read wakes up to check that the other side is
# alive (main: the workers; worker: its parent). Bounds the time to report a
# killed worker; costs nothing measurable when data flows.
_STATUS_CHECK_INTERVAL = 0.2
# How long shutdown waits for a worker to finish its current batch and exit
# before terminating it.
_SHUTDOWN_JOIN_TIMEOUT = 5.0


def default_collate(batch):
    """Stack a list of samples into a batch, recursively.

    tensors / ndarrays -> a tensor with a new first dimension; Python ints ->
    int64 tensor; floats -> float64 tensor; bools -> bool tensor; numpy
    scalars -> a tensor of their dtype; strings -> list; dicts -> dict of
    collated values; tuples/lists -> list of collated fields (namedtuples keep
    their type), as PyTorch's ``default_collate``.

    Tensors (and CuPy arrays) are stacked where they live, with their own
    array module: samples on a GPU give a batch on that GPU, with nothing
    read back to the host. A batch mixing devices is an error naming them.
    """
    if not isinstance(batch, (list, tuple)) or len(batch) == 0:
        raise TypeError(f"default_collate expects a non-empty list of samples, received {type(batch).__name__}")
    elem = batch[0]
    if isinstance(elem, Tensor) or _is_device_array(elem):
        arrays = [b.array if isinstance(b, Tensor) else b for b in batch]
        _check_same_device(arrays)
        shapes = {a.shape for a in arrays}
        if len(shapes) != 1:
            what = "tensors" if isinstance(elem, Tensor) else "arrays"
            raise RuntimeError(f"default_collate: {what} in a batch must have equal shapes, received {sorted(shapes)}")
        return Tensor._wrap(backend.array_module(arrays[0]).stack(arrays))
    if isinstance(elem, np.ndarray):
        if elem.dtype.kind in "OUS":
            raise TypeError(f"default_collate: cannot batch arrays of dtype {elem.dtype}")
        shapes = {b.shape for b in batch}
        if len(shapes) != 1:
            raise RuntimeError(f"default_collate: arrays in a batch must have equal shapes, received {sorted(shapes)}")
        return Tensor._wrap(np.stack(batch))
    if isinstance(elem, np.generic):
        return Tensor._wrap(np.array(batch))
    if isinstance(elem, bool):
        return Tensor._wrap(np.array(batch, dtype=np.bool_))
    if isinstance(elem, numbers.Integral):
        return Tensor._wrap(np.array(batch, dtype=np.int64))
    if isinstance(elem, numbers.Real):
        return Tensor._wrap(np.array(batch, dtype=np.float64))
    if isinstance(elem, (str, bytes)):
        return list(batch)
    if isinstance(elem, collections.abc.Mapping):
        keys = set(elem)
        for b in batch:
            if set(b) != keys:
                raise RuntimeError(f"default_collate: dict samples have different keys: {sorted(keys)} vs {sorted(b)}")
        return {k: default_collate([b[k] for b in batch]) for k in elem}
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
        return type(elem)(*(default_collate(list(s)) for s in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        n = len(elem)
        if any(len(b) != n for b in batch):
            raise RuntimeError("default_collate: each sample in a batch must have the same number of fields")
        return [default_collate(list(s)) for s in zip(*batch)]
    raise TypeError(f"default_collate: cannot batch samples of type {type(elem).__name__}; "
                    "expected tensors, ndarrays, numbers, strings, dicts or tuples of these")


def _is_device_array(x):
    """A GPU (CuPy) array, not wrapped in a Tensor."""
    return not isinstance(x, np.ndarray) and backend.array_module(x) is not np


def _check_same_device(arrays):
    """Samples of one batch must live on one device (as PyTorch's stack)."""
    kinds = {type(a) for a in arrays}
    if len(kinds) == 1 and isinstance(arrays[0], np.ndarray):
        return
    devices = {backend.device_of(a) for a in arrays} if all(hasattr(a, "shape") for a in arrays) else None
    if devices is None or len(devices) > 1:
        found = sorted(str(d) for d in devices) if devices else sorted(k.__name__ for k in kinds)
        raise RuntimeError(f"default_collate: the samples of a batch must be tensors on one device, "
                           f"received {found}; move them with .to(device) in the dataset")


def default_convert(data):
    """Turn NumPy (and CuPy) arrays and NumPy scalars into tensors, recursively through
    dicts, namedtuples, tuples and lists; everything else is left as is.

    The collate function of ``DataLoader(batch_size=None)`` (no automatic
    batching: each sample is one "batch"), as PyTorch's ``default_convert``.
    """
    if isinstance(data, Tensor):
        return data
    if isinstance(data, np.ndarray):
        return data if data.dtype.kind in "OUS" else Tensor._wrap(data)
    if _is_device_array(data):
        return Tensor._wrap(data)
    if isinstance(data, np.generic) and not isinstance(data, (np.str_, np.bytes_)):
        return Tensor._wrap(np.asarray(data))
    if isinstance(data, (str, bytes)):
        return data
    if isinstance(data, collections.abc.Mapping):
        try:
            return type(data)({k: default_convert(v) for k, v in data.items()})
        except TypeError:
            return {k: default_convert(v) for k, v in data.items()}
    if isinstance(data, tuple) and hasattr(data, "_fields"):  # namedtuple
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence):
        try:
            return type(data)([default_convert(d) for d in data])
        except TypeError:
            return [default_convert(d) for d in data]
    return data


# ---------------------------------------------------------------- pinned memory
def _pin_batch(data, cp):
    """``data`` with every host tensor copied into page-locked memory from
    CuPy ``cp`` (``cp.cuda.alloc_pinned_memory``), recursively through dicts,
    namedtuples, tuples and lists; objects with a ``pin_memory()`` method get
    it called (a custom batch type), GPU tensors and everything else are
    returned as they are (as PyTorch's DataLoader pin thread).

    Page-locked memory is what lets CUDA copy to the GPU asynchronously:
    ``batch.to("cuda", non_blocking=True)`` then returns at once and the copy
    runs on the current stream while the host builds the next batch.
    """
    if isinstance(data, Tensor):
        a = data.array
        if not isinstance(a, np.ndarray) or _is_pinned(a, cp):
            return data
        buf = np.ndarray(a.shape, a.dtype, buffer=cp.cuda.alloc_pinned_memory(max(a.nbytes, 1)))
        np.copyto(buf, a, casting="no")
        return Tensor._wrap(buf)
    if isinstance(data, (str, bytes)):
        return data
    pin = getattr(data, "pin_memory", None)
    if callable(pin) and not isinstance(data, (list, tuple, dict)):
        return pin()
    return _map_containers(data, lambda d: _pin_batch(d, cp))


# ---------------------------------------------------------------- worker info
class WorkerInfo:
    """What :func:`get_worker_info` returns inside a worker process.

    Attributes: ``id`` (0 .. num_workers-1), ``num_workers``, ``seed`` (this
    worker's seed: ``base_seed + id``), ``dataset`` (this process's copy).
    """

    __slots__ = ("id", "num_workers", "seed", "dataset")

    def __init__(self, id, num_workers, seed, dataset):  # noqa: A002  (PyTorch's name)
        for k, v in (("id", id), ("num_workers", num_workers), ("seed", seed), ("dataset", dataset)):
            object.__setattr__(self, k, v)

    def __setattr__(self, name, value):
        raise RuntimeError(f"WorkerInfo is read-only: cannot set {name!r}")

    def __repr__(self):
        return f"WorkerInfo(id={self.id}, num_workers={self.num_workers}, seed={self.seed}, " \
               f"dataset={type(self.dataset).__name__})"


_worker_info = None


def get_worker_info():
    """Inside a DataLoader worker process: its :class:`WorkerInfo` (``id``,
    ``num_workers``, ``seed``, ``dataset``); in the main process: None.

    Use it in an :class:`~neuronet.data.IterableDataset`'s ``__iter__`` to give
    each worker its own share of the stream, or in ``worker_init_fn``.
    """
    return _worker_info


# ---------------------------------------------------------------- fetching
class _Fetcher:
    """Builds one batch: from a list of indices (map-style), or from the next
    ``batch_size`` items of the dataset's iterator (iterable-style). The same
    object runs in the main process and in the workers."""

    def __init__(self, dataset, iterable, auto_collation, batch_size, collate_fn, drop_last, fast):
        self.dataset = dataset
        self.iterable = iterable
        self.auto_collation = auto_collation
        self.batch_size = batch_size
        self.collate_fn = collate_fn
        self.drop_last = drop_last
        self.fast = fast
        self._it = iter(dataset) if iterable else None
        self._ended = False

    def fetch(self, index):
        """The batch for ``index`` (ignored for an iterable dataset); raises
        StopIteration when an iterable dataset has no batch left."""
        if self.iterable:
            return self._fetch_iterable()
        if not self.auto_collation:
            return self.collate_fn(self.dataset[index])
        if self.fast:
            return self.dataset.get_batch(index)
        getitems = getattr(self.dataset, "__getitems__", None)
        samples = getitems(index) if callable(getitems) else [self.dataset[i] for i in index]
        return self.collate_fn(samples)

    def _fetch_iterable(self):
        if self._ended:
            raise StopIteration
        if not self.auto_collation:
            try:
                return self.collate_fn(next(self._it))
            except StopIteration:
                self._ended = True
                raise
        samples = []
        for _ in range(self.batch_size):
            try:
                samples.append(next(self._it))
            except StopIteration:
                self._ended = True
                break
        if not samples or (self.drop_last and len(samples) < self.batch_size):
            self._ended = True
            raise StopIteration
        return self.collate_fn(samples)


class DataLoader(typing.Generic[T_co]):
    """Iterate over a dataset in batches (PyTorch's ``torch.utils.data.DataLoader``).

    Args:
        dataset: a map-style dataset (``len`` and ``__getitem__``) or an
            :class:`~neuronet.data.IterableDataset`.
        batch_size: samples per batch (default 1); None turns automatic
            batching off (each sample goes through ``collate_fn``, by default
            :func:`default_convert`).
        shuffle: visit the samples in a new random order each epoch.
        sampler: a :class:`~neuronet.data.Sampler` (or any iterable of indices);
            excludes ``shuffle``.
        batch_sampler: yields lists of indices; excludes ``batch_size``,
            ``shuffle``, ``sampler``, ``drop_last``.
        num_workers: 0 builds batches in this process (see ``prefetch``);
            ``k > 0`` builds them in ``k`` worker processes.
        collate_fn: merges a list of samples into a batch
            (default :func:`default_collate`, or the dataset's fast path).
        pin_memory: with CuPy and a GPU, hand out batches whose host
            tensors lie in page-locked memory (CuPy's pinned pool), so that
            ``x.to("cuda", non_blocking=True)`` is an asynchronous copy that
            overlaps the GPU's work; tensors already on a GPU are left as
            they are. Without CuPy: no effect (nothing to copy to), as PyTorch
            without an accelerator. ``pin_memory_device``: accepted (PyTorch
            deprecated it); the copy goes where ``.to`` sends it.
        drop_last: drop the last, incomplete batch.
        timeout: seconds to wait for a worker's batch (0: forever); past it,
            ``RuntimeError("DataLoader timed out after N seconds")``.
        worker_init_fn: called as ``worker_init_fn(worker_id)`` in each worker,
            after its seeding.
        multiprocessing_context: ``"fork"``, ``"spawn"``, ``"forkserver"`` or a
            ``multiprocessing`` context (default: fork on Linux, else the
            platform's default). With spawn/forkserver the dataset,
            ``collate_fn`` and ``worker_init_fn`` must be picklable.
        generator: ``neuronet.Generator`` (any device: its CPU stream),
            ``numpy.random.Generator`` or int seed for the per-epoch seeds;
            ``seed`` is the same as an int ``generator``.
        prefetch_factor: batches in flight per worker (default 2 with workers;
            must stay None with ``num_workers=0``).
        persistent_workers: keep the workers (and their random state) from one
            epoch to the next instead of starting new ones each epoch.
        in_order: hand batches out in sampler order (default); False hands
            out whichever is ready first.
        prefetch: ``num_workers=0`` only: batches built ahead in a background
            thread (default 2; 0/False: off).

    Custom random transforms should draw from
    :func:`neuronet.data.random_generator` so that they follow the loader's
    seeding (and stay reproducible with prefetching and workers).

    ``len(loader)`` is the number of batches per epoch.
    """

    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None,
                 num_workers=0, collate_fn=None, pin_memory=False, drop_last=False, timeout=0,
                 worker_init_fn=None, multiprocessing_context=None, generator=None, *,
                 prefetch_factor=None, persistent_workers=False, pin_memory_device="", in_order=True,
                 seed=None, prefetch=None):
        if not isinstance(num_workers, (int, np.integer)) or isinstance(num_workers, bool) or num_workers < 0:
            raise ValueError(f"DataLoader: num_workers should be a non-negative int (0 loads in this process), "
                             f"received {num_workers!r}")
        num_workers = int(num_workers)
        if not isinstance(timeout, numbers.Real) or timeout < 0:
            raise ValueError(f"DataLoader: timeout should be a non-negative number of seconds, received {timeout!r}")
        if num_workers == 0:
            if prefetch_factor is not None:
                raise ValueError("DataLoader: prefetch_factor applies to worker processes only; with "
                                 "num_workers=0 leave it None (this process prefetches with prefetch=k), "
                                 f"received prefetch_factor={prefetch_factor!r}")
            if persistent_workers:
                raise ValueError("DataLoader: persistent_workers=True needs num_workers > 0")
            if multiprocessing_context is not None:
                raise ValueError("DataLoader: multiprocessing_context needs num_workers > 0, received "
                                 f"{multiprocessing_context!r} with num_workers=0")
            prefetch = 2 if prefetch is None or prefetch is True else prefetch
            if not isinstance(prefetch, (int, np.integer)) or prefetch < 0:
                raise ValueError(f"DataLoader: prefetch must be a non-negative int (batches ahead), "
                                 f"received {prefetch!r}")
        else:
            if prefetch is not None:
                raise ValueError("DataLoader: prefetch (a thread) applies to num_workers=0; with workers use "
                                 f"prefetch_factor, received prefetch={prefetch!r}")
            prefetch_factor = 2 if prefetch_factor is None else prefetch_factor
            if not isinstance(prefetch_factor, (int, np.integer)) or isinstance(prefetch_factor, bool) \
                    or prefetch_factor < 1:
                raise ValueError(f"DataLoader: prefetch_factor should be a positive int (batches in flight per "
                                 f"worker), received {prefetch_factor!r}")
            multiprocessing_context = _mp_context(multiprocessing_context)
        if generator is not None and seed is not None:
            raise ValueError("DataLoader: pass either generator or seed, not both")

        iterable = isinstance(dataset, IterableDataset)
        if iterable:
            if shuffle not in (None, False):
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified shuffle, "
                                 f"received shuffle={shuffle!r}")
            if sampler is not None:
                raise ValueError("DataLoader with IterableDataset: expected unspecified sampler, "
                                 f"received sampler={sampler!r}")
            if batch_sampler is not None:
                raise ValueError("DataLoader with IterableDataset: expected unspecified batch_sampler, "
                                 f"received batch_sampler={batch_sampler!r}")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("DataLoader: batch_sampler is mutually exclusive with batch_size, shuffle, "
                                 "sampler and drop_last")
            batch_size = None
        elif batch_size is None:
            if drop_last:
                raise ValueError("DataLoader: batch_size=None turns automatic batching off and is mutually "
                                 "exclusive with drop_last")
        elif not isinstance(batch_size, (int, np.integer)) or isinstance(batch_size, bool) or batch_size <= 0:
            raise ValueError(f"DataLoader: batch_size must be a positive int or None, received {batch_size!r}")
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler is mutually exclusive with shuffle")

        self.dataset = dataset
        self.batch_size = None if batch_size is None else int(batch_size)
        self.drop_last = bool(drop_last)
        self.num_workers = num_workers
        self.prefetch = int(prefetch) if num_workers == 0 else 0
        self.prefetch_factor = None if num_workers == 0 else int(prefetch_factor)
        self.persistent_workers = bool(persistent_workers)
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.pin_memory = bool(pin_memory)
        self.pin_memory_device = pin_memory_device
        self.in_order = bool(in_order)
        self.generator = _random.resolve(seed if seed is not None else generator) \
            if (seed is not None or generator is not None) else None
        self._iterable = iterable
        if sampler is None and not iterable:
            sampler = RandomSampler(dataset) if shuffle else SequentialSampler(dataset)
        self.sampler = sampler
        if batch_sampler is None and self.batch_size is not None and not iterable:
            batch_sampler = BatchSampler(sampler, self.batch_size, self.drop_last)
        self.batch_sampler = batch_sampler
        self._auto_collation = batch_sampler is not None or (iterable and self.batch_size is not None)
        self._fast = collate_fn is None and self._auto_collation and not iterable \
            and callable(getattr(dataset, "get_batch", None))
        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn = collate_fn
        self._iterator = None         # the persistent workers' iterator

    @property
    def _index_sampler(self):
        """What the main process iterates: lists of indices (automatic batching),
        single indices (``batch_size=None``), nothing (iterable dataset)."""
        return self.batch_sampler if self.batch_sampler is not None else self.sampler

    def __len__(self):
        if self._iterable:
            n = len(self.dataset)           # TypeError when the stream has no length, as PyTorch
            if self.batch_size is not None:
                n = n // self.batch_size if self.drop_last else -(-n // self.batch_size)
            return n
        return len(self._index_sampler)

    def _new_fetcher(self):
        return _Fetcher(*self._fetcher_args())

    def _fetcher_args(self):
        return (self.dataset, self._iterable, self._auto_collation, self.batch_size, self.collate_fn,
                self.drop_last, self._fast)

    def _pin_module(self):
        """CuPy when batches are to be pinned (``pin_memory`` and a GPU), else None."""
        return backend._get_cupy() if self.pin_memory else None

    def _epoch_seed(self):
        base = self.generator if self.generator is not None else _random.generator()
        return int(base.integers(0, 2**63 - 1))

    def _epoch_generator(self):
        return np.random.default_rng(self._epoch_seed())

    def _batches(self, gen):
        """Yield this epoch's batches built in this thread; every draw goes to ``gen``."""
        pin = self._pin_module()
        with _random.using(gen):
            fetcher = self._new_fetcher()
            it = itertools.repeat(None) if self._iterable else iter(self._index_sampler)
        while True:
            with _random.using(gen):
                try:
                    index = next(it)
                except StopIteration:
                    return
                try:
                    batch = fetcher.fetch(index)
                except StopIteration:
                    if self._iterable:
                        return
                    raise      # a map-style dataset's bug: PEP 479 makes it a RuntimeError here
            # pinned here, in the prefetch thread when there is one (PyTorch's
            # pin-memory thread), so the copy overlaps the training step
            yield batch if pin is None else _pin_batch(batch, pin)

    def __iter__(self):
        if self.num_workers == 0:
            gen = self._epoch_generator()
            if self.prefetch == 0:
                return self._batches(gen)
            return _Prefetcher(self._batches(gen), self.prefetch)
        seed = self._epoch_seed()
        if not self.persistent_workers:
            return _MultiProcessIter(self, seed)
        if self._iterator is None or self._iterator._pool.closed:
            self._iterator = _MultiProcessIter(self, seed)
        else:
            self._iterator._reset(self, seed)
        return self._iterator


def _mp_context(ctx):
    """The multiprocessing context the workers start in."""
    if ctx is None:
        # fork on Linux, as PyTorch: workers start in milliseconds and share the
        # dataset's pages copy-on-write. macOS/Windows: the platform's default
        # (spawn), where fork is unsafe or absent.
        method = "fork" if sys.platform.startswith("linux") else None
        return multiprocessing.get_context(method)
    if isinstance(ctx, str):
        methods = multiprocessing.get_all_start_methods()
        if ctx not in methods:
            raise ValueError(f"DataLoader: multiprocessing_context should be one of {methods}, received {ctx!r}")
        return multiprocessing.get_context(ctx)
    if isinstance(ctx, multiprocessing.context.BaseContext):
        return ctx
    raise TypeError(f"DataLoader: multiprocessing_context should be a start method name or a multiprocessing "
                    f"context, received {type(ctx).__name__}")


def _produce(batches, q, stop):
    """Prefetch thread body. It holds no reference to the consumer-side
    iterator, so dropping that iterator (``break`` out of an epoch) collects it,
    whose ``__del__`` sets ``stop`` and ends this thread."""
    def put(item):
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False
    try:
        for b in batches:
            if not put(("batch", b)):
                return
        put(("done", None))
    except BaseException as e:  # handed to the consumer, raised there
        put(("error", e))


class _Prefetcher:
    """Runs a batch generator in a daemon thread, ``depth`` batches ahead."""

    def __init__(self, batches, depth):
        self._q = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=_produce, args=(batches, self._q, self._stop), daemon=True,
                                        name="neuronet-dataloader-prefetch")
        self._thread.start()

    def __iter__(self):
        return self

    def __next__(self):
        if self._q is None:
            raise StopIteration
        kind, value = self._q.get()
        if kind == "batch":
            return value
        self._q = None
        self._thread.join()
        if kind == "error":
            raise value
        raise StopIteration

    def close(self):
        """Stop the prefetch thread (also done when the iterator is dropped)."""
        self._stop.set()

    def __del__(self):
        self._stop.set()


# ---------------------------------------------------------------- worker processes
class _Stop:
    """A worker's answer to a task when its iterable dataset is exhausted."""


class _WireTensor:
    """A tensor on its way from a worker: the bare array (wrapped again in the main process)."""
    __slots__ = ("array",)

    def __init__(self, array):
        self.array = array


def _to_wire(obj):
    if isinstance(obj, Tensor):
        return _WireTensor(obj.array)
    return _map_containers(obj, _to_wire)


def _from_wire(obj):
    if isinstance(obj, _WireTensor):
        return Tensor._wrap(obj.array)
    return _map_containers(obj, _from_wire)


def _map_containers(obj, fn):
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return type(obj)(*(fn(o) for o in obj))
    if isinstance(obj, (list, tuple)):
        out = [fn(o) for o in obj]
        if type(obj) in (list, tuple):
            return type(obj)(out)
        try:
            return type(obj)(out)
        except TypeError:
            return out
    if isinstance(obj, dict):
        out = {k: fn(v) for k, v in obj.items()}
        if type(obj) is dict:
            return out
        try:
            return type(obj)(out)
        except TypeError:
            return out
    return obj


class _WorkerError:
    """An exception caught in a worker, carried to the main process as text
    (type by module and qualified name, message with the worker's traceback)."""

    def __init__(self, where):
        exc = sys.exc_info()[1]
        self.module = type(exc).__module__
        self.qualname = type(exc).__qualname__
        self.message = f"Caught {type(exc).__name__} {where}.\nOriginal {traceback.format_exc()}"

    def _exc_type(self):
        obj = sys.modules.get(self.module)
        for part in self.qualname.split("."):
            obj = getattr(obj, part, None)
        return obj if isinstance(obj, type) and issubclass(obj, BaseException) else None

    def reraise(self):
        # no local names the exception: a frame -> exception -> traceback ->
        # frame cycle would keep everything on the way alive until a gc pass
        raise self._exception()

    def _exception(self):
        cls = self._exc_type()
        if cls is not None and issubclass(cls, KeyError):
            cls = _KeyErrorMessage  # KeyError's str() would print the message as a quoted repr
        if cls is not None and issubclass(cls, (StopIteration, StopAsyncIteration)):
            cls = None              # raised from __next__ it would end the epoch silently
        try:
            return cls(self.message) if cls is not None else RuntimeError(self.message)
        except Exception:  # an exception class that does not take one message
            return RuntimeError(self.message)


class _KeyErrorMessage(KeyError):
    """A KeyError whose message prints as written (multi-line traceback)."""

    def __str__(self):
        return self.args[0] if self.args else ""


def _seed_worker(seed):
    """Seed every generator a dataset or transform may draw from in this worker,
    and keep BLAS to one thread (as PyTorch's workers: k workers x n BLAS
    threads would oversubscribe the cores), when threadpoolctl is installed."""
    random.seed(seed)
    np.random.seed(np.random.SeedSequence(seed).generate_state(4))
    backend.manual_seed(seed)
    _random.forget_thread_generator()
    try:
        import threadpoolctl
        threadpoolctl.threadpool_limits(1)
    except ImportError:
        pass


def _worker_loop(worker_id, num_workers, fetcher_args, index_queue, result_queue, base_seed, init_fn):
    """Body of worker process ``worker_id``: answer each task ``(epoch, idx,
    index)`` with ``(epoch, idx, pickled batch | _Stop | _WorkerError)`` until a
    None task (shutdown) or until the parent process is gone."""
    global _worker_info
    # Ctrl-C reaches the whole process group; the main process handles it and
    # shuts the workers down, so a worker does not die half-way through a put.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    seed = base_seed + worker_id
    _seed_worker(seed)
    _worker_info = WorkerInfo(worker_id, num_workers, seed, fetcher_args[0])
    where = f"in DataLoader worker process {worker_id}"
    init_error = None
    if init_fn is not None:
        try:
            init_fn(worker_id)
        except Exception:
            init_error = _WorkerError(where)
    fetcher, fetcher_epoch = None, None
    while True:
        try:
            task = index_queue.get(timeout=_STATUS_CHECK_INTERVAL)
        except queue.Empty:
            parent = multiprocessing.parent_process()     # (fork, spawn and forkserver alike)
            if parent is not None and not parent.is_alive():  # orphaned: the main process is gone
                break
            continue
        if task is None:
            break
        epoch, idx, index = task
        if init_error is not None:
            reply = init_error
        else:
            try:
                if fetcher is None or fetcher_epoch != epoch:   # an iterable restarts each epoch
                    fetcher, fetcher_epoch = _Fetcher(*fetcher_args), epoch
                reply = _to_wire(fetcher.fetch(index))
            except StopIteration:
                reply = _Stop() if fetcher is not None and fetcher.iterable else _WorkerError(where)
            except Exception:
                reply = _WorkerError(where)
        try:
            # pickled here, not in the queue's feeder thread, so that a batch
            # that cannot be sent becomes an error the main process sees
            payload = bytes(ForkingPickler.dumps(reply))
        except Exception:
            payload = bytes(ForkingPickler.dumps(_WorkerError(f"{where} while sending batch {idx}")))
        result_queue.put((epoch, idx, payload))
    # Exit without waiting for unread results to drain into the pipe.
    result_queue.cancel_join_thread()


class _WorkerPool:
    """The worker processes and their queues: started together, shut down once."""

    def __init__(self, loader, base_seed):
        ctx = loader.multiprocessing_context
        self.closed = False
        self._owner = os.getpid()
        self.workers, self.index_queues = [], []
        self.result_queue = ctx.Queue()
        try:
            for i in range(loader.num_workers):
                iq = ctx.Queue()
                iq.cancel_join_thread()    # exiting must not wait on a dead worker's queue
                w = ctx.Process(target=_worker_loop, name=f"neuronet-dataloader-worker-{i}", daemon=True,
                                args=(i, loader.num_workers, loader._fetcher_args(), iq, self.result_queue,
                                      base_seed, loader.worker_init_fn))
                w.start()
                self.index_queues.append(iq)
                self.workers.append(w)
        except BaseException:
            self.shutdown()
            raise

    def check_alive(self):
        dead = [w for w in self.workers if not w.is_alive()]
        if dead:
            w = dead[0]
            code = w.exitcode
            how = f"killed by signal {signal.Signals(-code).name}" if code is not None and code < 0 \
                else f"exit code {code}"
            self.shutdown(join_timeout=0.1)
            raise RuntimeError(f"DataLoader worker (pid {w.pid}) exited unexpectedly ({how}). If it was killed "
                               "for memory, lower batch_size, prefetch_factor or num_workers.")

    def shutdown(self, join_timeout=_SHUTDOWN_JOIN_TIMEOUT):
        """Ask every worker to stop, wait up to ``join_timeout`` seconds for them
        to finish their current batch, terminate the stragglers."""
        if self.closed or os.getpid() != self._owner:
            return      # done already, or a forked child collecting its copy of the pool
        self.closed = True
        for q in self.index_queues:
            try:
                q.put(None)
            except Exception:  # queue already closed
                pass
        deadline = time.monotonic() + join_timeout
        for w in self.workers:
            w.join(timeout=max(0.0, deadline - time.monotonic()))
        for w in self.workers:
            if w.is_alive():
                w.terminate()
                w.join()
        for q in self.index_queues + [self.result_queue]:
            q.cancel_join_thread()
            q.close()


def _warn_if_too_many_workers(num_workers):
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    if cpus and num_workers > cpus:
        warnings.warn(f"DataLoader: {num_workers} worker processes for {cpus} CPUs available to this process; "
                      f"more workers than CPUs usually slows loading down (suggested at most {cpus})",
                      UserWarning, stacklevel=3)


def _worker_base_seed(epoch_seed):
    """The workers' base seed: derived from the epoch seed by a separate branch
    of the seed sequence, so it draws nothing more from the loader's generator
    (the batch order is the same for any ``num_workers``) and worker 0's stream
    is not the sampler's."""
    state = np.random.SeedSequence(epoch_seed, spawn_key=(1,)).generate_state(1, np.uint64)[0]
    return int(state >> np.uint64(2))


class _MultiProcessIter:
    """An epoch's batches built by worker processes, handed out in sampler order.

    Keeps ``prefetch_factor * num_workers`` tasks in flight; task ``b`` goes to
    the next worker round-robin (skipping workers whose iterable dataset is
    exhausted), so which worker builds which batch does not depend on timing.
    Tasks and results carry an epoch number: a persistent worker's answers to
    an abandoned epoch are recognised and dropped.
    """

    def __init__(self, loader, epoch_seed):
        _warn_if_too_many_workers(loader.num_workers)
        self._num_workers = loader.num_workers
        self._prefetch = loader.prefetch_factor * loader.num_workers
        self._timeout = loader.timeout
        self._persistent = loader.persistent_workers
        self._iterable = loader._iterable
        self._in_order = loader.in_order
        self._epoch = 0
        self._pool = _WorkerPool(loader, _worker_base_seed(epoch_seed))
        # workers go when this iterator is collected or at interpreter exit,
        # whichever comes first; the callback holds the pool, not the iterator
        self._finalizer = weakref.finalize(self, self._pool.shutdown)
        self._reset(loader, epoch_seed)

    def _reset(self, loader, epoch_seed):
        self._epoch += 1
        self._pin = loader._pin_module()
        self._gen = np.random.default_rng(epoch_seed)
        with _random.using(self._gen):
            self._sampler_iter = itertools.repeat(None) if self._iterable else iter(loader._index_sampler)
        self._sampler_done = False
        self._send_idx = 0
        self._outstanding = {}           # task idx -> worker id, in send order
        self._buffer = {}                # task idx -> payload that arrived
        self._active = [True] * self._num_workers
        self._next_worker = itertools.cycle(range(self._num_workers))
        for _ in range(self._prefetch):
            self._try_put_task()

    def __iter__(self):
        return self

    def _try_put_task(self):
        if self._sampler_done or not any(self._active):
            return
        with _random.using(self._gen):
            try:
                index = next(self._sampler_iter)
            except StopIteration:
                self._sampler_done = True
                return
        for _ in range(self._num_workers):
            w = next(self._next_worker)
            if self._active[w]:
                break
        self._pool.index_queues[w].put((self._epoch, self._send_idx, index))
        self._outstanding[self._send_idx] = w
        self._send_idx += 1

    def _receive(self):
        """Wait for the next result of this epoch; check the workers while waiting."""
        deadline = time.monotonic() + self._timeout if self._timeout > 0 else None
        while True:
            wait = _STATUS_CHECK_INTERVAL if deadline is None \
                else max(0.0, min(_STATUS_CHECK_INTERVAL, deadline - time.monotonic()))
            try:
                epoch, idx, payload = self._pool.result_queue.get(timeout=wait)
            except KeyboardInterrupt:
                # Ctrl-C while waiting: the caller may catch it and carry on
                # (save a checkpoint), so the workers go now, not with the traceback
                self._pool.shutdown(join_timeout=0.1)
                raise
            except queue.Empty:
                self._pool.check_alive()
                if deadline is not None and time.monotonic() >= deadline:
                    self._pool.shutdown(join_timeout=0.1)
                    raise RuntimeError(f"DataLoader timed out after {self._timeout} seconds") from None
                continue
            if epoch == self._epoch:
                self._buffer[idx] = payload
                return

    def __next__(self):
        if self._pool.closed:
            raise StopIteration
        while True:
            if not self._outstanding:
                self._end_epoch()
                raise StopIteration
            if self._in_order:
                idx = next(iter(self._outstanding))          # the oldest task
                ready = idx in self._buffer
            else:
                idx = next(iter(self._buffer), None)         # whichever arrived first
                ready = idx is not None
            if not ready:
                self._receive()
                continue
            worker = self._outstanding.pop(idx)
            data = ForkingPickler.loads(self._buffer.pop(idx))
            if isinstance(data, _Stop):
                self._active[worker] = False                 # this worker's stream is exhausted
                continue
            self._try_put_task()
            if isinstance(data, _WorkerError):
                # The traceback keeps this frame; without `self` in it, dropping
                # the loop's reference to the iterator still stops the workers.
                del self
                data.reraise()
            batch = _from_wire(data)
            return batch if self._pin is None else _pin_batch(batch, self._pin)

    def _end_epoch(self):
        if not self._persistent:
            self._finalizer()

    def _shutdown_workers(self):
        """Stop the worker processes now (they also stop when this iterator is collected)."""
        self._finalizer()

