"""``neuronet.utils.data``: PyTorch's ``torch.utils.data`` over :mod:`neuronet.data`.

``from torch.utils.data import DataLoader, Dataset, TensorDataset, random_split``
becomes ``from neuronet.utils.data import ...`` (or stays as it is after
``import neuronet as torch``); the classes are :mod:`neuronet.data`'s own.

>>> from neuronet.utils.data import DataLoader, TensorDataset
>>> ds = TensorDataset(neuronet.randn(100, 3), neuronet.arange(100))
>>> for x, y in DataLoader(ds, batch_size=32, shuffle=True, num_workers=2):   # x (32, 3), y (32,)
...     ...

Differences from PyTorch (see :mod:`neuronet.data.dataloader`): ``generator``
is a ``neuronet.Generator`` (of any device: its CPU stream draws the
indices), a ``numpy.random.Generator`` or an int seed; with ``num_workers=0``
the loader also prefetches ``prefetch=2`` batches in a thread.
``pin_memory=True`` puts host batches in CuPy's page-locked memory when CuPy
and a GPU are there (then ``.to("cuda", non_blocking=True)`` copies
asynchronously) and has no effect otherwise.
"""
from ...data.dataloader import DataLoader, WorkerInfo, default_collate, default_convert, get_worker_info
from ...data.dataset import (ChainDataset, ConcatDataset, Dataset, IterableDataset, StackDataset, Subset,
                             TensorDataset, random_split)
from ...data.sampler import (BatchSampler, DistributedSampler, RandomSampler, Sampler, SequentialSampler,
                             SubsetRandomSampler, WeightedRandomSampler)
from . import dataloader, dataset, distributed, sampler

__all__ = ["DataLoader", "Dataset", "IterableDataset", "TensorDataset", "Subset", "ConcatDataset",
           "ChainDataset", "StackDataset", "random_split", "Sampler", "SequentialSampler", "RandomSampler",
           "SubsetRandomSampler", "WeightedRandomSampler", "BatchSampler", "DistributedSampler", "default_collate",
           "default_convert", "get_worker_info", "WorkerInfo"]
