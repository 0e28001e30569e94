"""Data: datasets, samplers, the DataLoader, transforms and dataset statistics.

>>> from neuronet.data import DataLoader, mnist_sample, transforms as T
>>> train = mnist_sample(train=True, transform=T.Compose([
...     T.RandomAffine(10, translate=(0.1, 0.1)), T.ToTensor(), T.Normalize((0.1307,), (0.3081,))]))
>>> for x, y in DataLoader(train, batch_size=64, shuffle=True):   # x (64, 1, 28, 28) float32, y (64,) int64
...     ...

Sits below ``neuronet.nn``: imports only the tensor core. Samples come back
as neuronet tensors (after ``ToTensor`` / collation). No pickle anywhere: the
file formats are IDX, the CIFAR binary records, PNG/JPEG.
"""
from . import datasets, transforms
from .dataloader import DataLoader, default_collate
from .dataset import ArrayDataset, ConcatDataset, Dataset, Subset, TensorDataset, random_split
from .datasets import CIFAR10, CIFAR100, KMNIST, MNIST, FashionMNIST, ImageFolder, Shapes, mnist_sample
from .download import cache_dir, download_url
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler, SubsetRandomSampler
from .stats import mean_std
from ._random import generator as random_generator

__all__ = ["Dataset", "TensorDataset", "Subset", "ConcatDataset", "ArrayDataset", "random_split",
           "DataLoader", "default_collate", "Sampler", "SequentialSampler", "RandomSampler",
           "SubsetRandomSampler", "BatchSampler", "datasets", "transforms", "mean_std", "mnist_sample",
           "MNIST", "FashionMNIST", "KMNIST", "CIFAR10", "CIFAR100", "ImageFolder", "Shapes",
           "cache_dir", "download_url", "random_generator"]
