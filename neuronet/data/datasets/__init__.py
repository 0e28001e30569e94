"""Datasets in their standard formats: MNIST / Fashion-MNIST / KMNIST (IDX),
CIFAR-10 / CIFAR-100 (binary archives), ImageFolder (PNG/JPEG, Pillow), and
the synthetic ``Shapes`` segmentation set. ``root``, ``train``, ``transform``,
``target_transform`` and ``download`` behave as in torchvision; ``root=None``
is the cache ``$NEURONET_DATA`` or ``~/.cache/neuronet``.

Offline, ``MNIST(sample=True)`` (or :func:`mnist_sample`) loads the 8,000 real
MNIST digits that ship with neuronet.
"""
from ._base import DatasetFormatError, DatasetNotFoundError
from .cifar import CIFAR10, CIFAR100, read_cifar_bin
from .folder import IMG_EXTENSIONS, DatasetFolder, ImageFolder, default_loader, pil_loader
from .mnist import KMNIST, MNIST, FashionMNIST, mnist_sample, read_idx
from .shapes import Shapes

__all__ = ["MNIST", "FashionMNIST", "KMNIST", "CIFAR10", "CIFAR100", "ImageFolder", "DatasetFolder", "Shapes",
           "mnist_sample", "read_idx", "read_cifar_bin", "pil_loader", "default_loader", "IMG_EXTENSIONS",
           "DatasetFormatError", "DatasetNotFoundError"]
