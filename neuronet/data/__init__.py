"""Data: datasets, samplers, the DataLoader, transforms and dataset statistics.

>>> from neuronet.data import DataLoader, mnist_sample, transforms as T
>>> train = mnist_sample(train=True, transform=T.Compose([
...     T.RandomAffine(10, translate=(0.1, 0.1)), T.ToTensor(), T.Normalize((0.1307,), (0.3081,))]))
>>> for x, y in DataLoader(train, batch_size=64, shuffle=True):   # x (64, 1, 28, 28) float32, y (64,) int64
...     ...

Sits below ``neuronet.nn``: imports only the tensor core. Samples come back
as neuronet tensors (after ``ToTensor`` / collation). No file format uses
pickle (IDX, the CIFAR binary records, PNG/JPEG); only the DataLoader's worker
processes exchange batches over ``multiprocessing``'s pipe, between our own
processes. ``neuronet.utils.data`` offers the same classes under PyTorch's names.
"""
from . import datasets, transforms
from .dataloader import DataLoader, WorkerInfo, default_collate, default_convert, get_worker_info
from .dataset import (ArrayDataset, ChainDataset, ConcatDataset, Dataset, IterableDataset, StackDataset,
                      Subset, TensorDataset, random_split)
from .datasets import CIFAR10, CIFAR100, KMNIST, MNIST, FashionMNIST, ImageFolder, Shapes, mnist_sample
from .download import cache_dir, download_url
from .sampler import (BatchSampler, DistributedSampler, RandomSampler, Sampler, SequentialSampler,
                      SubsetRandomSampler, WeightedRandomSampler)
from .stats import mean_std
from ._random import generator as random_generator

__all__ = ["Dataset", "IterableDataset", "TensorDataset", "Subset", "ConcatDataset", "ChainDataset",
           "StackDataset", "ArrayDataset", "random_split", "WeightedRandomSampler", "DistributedSampler",
           "default_convert", "get_worker_info", "WorkerInfo",
           "DataLoader", "default_collate", "Sampler", "SequentialSampler", "RandomSampler",
           "SubsetRandomSampler", "BatchSampler", "datasets", "transforms", "mean_std", "mnist_sample",
           "MNIST", "FashionMNIST", "KMNIST", "CIFAR10", "CIFAR100", "ImageFolder", "Shapes",
           "cache_dir", "download_url", "random_generator"]
