"""torchvision's ``datasets``: the same classes, arguments, attributes and
per-sample results, read from torchvision's on-disk layout.

``ds[i]`` is ``(image, target)`` with ``image`` a PIL image (mode 'L' for the
MNIST family, 'RGB' for CIFAR and ImageFolder) before ``transform`` -- so
``transforms.ToTensor()`` and friends see what they see under torchvision --
and ``target`` a Python int.

Files:

* MNIST / FashionMNIST / KMNIST: ``root/<ClassName>/raw/train-images-idx3-ubyte``
  (and the labels, and ``t10k-*`` for the test split), uncompressed or
  ``.gz``. ``MNIST(..., sample=True)`` (a neuronet extra) loads the 8,000 real
  digits bundled with neuronet, offline.
* CIFAR10 / CIFAR100: the *binary* version, ``root/cifar-10-batches-bin`` /
  ``root/cifar-100-binary``. torchvision's ``cifar-10-batches-py`` holds
  pickles, which neuronet never loads; the error says what to download.

Missing files raise ``RuntimeError("Dataset not found. You can use
download=True to download it ...")`` as torchvision (the class is also a
``FileNotFoundError``). ``download=True`` fetches the files (checksums
verified); offline, the error says which files to place where.

DataLoader fast path: each dataset has ``get_batch(indices)``; when the
transform chain is batch-exact (see :data:`neuronet.vision.transforms`,
``ToTensor`` + ``Normalize`` for instance) it builds the batch with one fancy
index and one vectorized call, bit for bit the batch the per-sample path would
collate. Otherwise it runs the per-sample path.
"""
from __future__ import annotations

import os

import numpy as np

from ..data import dataset as _dataset
from ..data.dataloader import default_collate
from ..data.datasets import cifar as _cifar
from ..data.datasets import mnist as _mnist
from ..data.datasets.folder import IMG_EXTENSIONS, DatasetFolder, ImageFolder, default_loader, pil_loader
from ..tensor import Tensor
from .transforms import batch_exact

__all__ = ["VisionDataset", "MNIST", "FashionMNIST", "KMNIST", "CIFAR10", "CIFAR100", "ImageFolder",
           "DatasetFolder", "FakeData", "default_loader", "pil_loader", "IMG_EXTENSIONS"]


def _pil_image():
    try:
        from PIL import Image
    except ImportError:
        raise ImportError("neuronet.vision.datasets returns PIL images, as torchvision; Pillow is not "
                          "installed: pip install pillow") from None
    return Image


def _numpy(a):
    return a.numpy() if isinstance(a, Tensor) else np.asarray(a)


class VisionDataset(_dataset.Dataset):
    """Base of torchvision-style datasets: ``root``, ``transform``,
    ``target_transform``, and ``transforms`` (a joint ``(image, target)``
    callable, exclusive with the other two)."""

    _repr_indent = 4

    def __init__(self, root=None, transforms=None, transform=None, target_transform=None):
        self.root = os.path.expanduser(os.fspath(root)) if root is not None else None
        if transforms is not None and (transform is not None or target_transform is not None):
            raise ValueError("Only transforms or transform/target_transform can be passed as argument")
        self.transform, self.target_transform = transform, target_transform
        self.transforms = transforms

    def extra_repr(self):
        return ""

    def __repr__(self):
        lines = [f"Number of datapoints: {len(self)}"]
        if getattr(self, "root", None) is not None:
            lines.append(f"Root location: {self.root}")
        lines += [ln for ln in self.extra_repr().splitlines() if ln]
        for name in ("transforms", "transform", "target_transform"):
            t = getattr(self, name, None)
            if t is not None:
                lines.append(f"{name}: " + repr(t).replace("\n", "\n" + " " * self._repr_indent))
        return "\n".join([f"Dataset {type(self).__name__}"] + [" " * self._repr_indent + ln for ln in lines])


class _ImageArrayDataset(VisionDataset):
    """What MNIST and CIFAR share: images held as one uint8 array, returned one
    by one as PIL images, and the batch fast path."""

    def _images(self):
        return _numpy(self.data)

    def _targets(self, idx):
        if isinstance(self.targets, list):      # CIFAR's list: convert only the batch's entries
            return np.array([int(self.targets[i]) for i in idx], dtype=np.int64)
        return _numpy(self.targets)[idx].astype(np.int64)

    def __len__(self):
        return len(self.data)

    def __getitem__(self, index):
        i = _dataset._check_index(index, len(self), type(self).__name__)
        img = _pil_image().fromarray(np.ascontiguousarray(self._images()[i]))
        target = int(self.targets[i])
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def get_batch(self, indices):
        """The DataLoader's batch for ``indices``: vectorized when the transforms
        are batch-exact (the same tensors as collating ``ds[i]``), else
        ``default_collate([ds[i] for i in indices])``."""
        idx = _dataset._indices_array(indices, len(self), type(self).__name__)
        if self.transform is not None and batch_exact(self.transform) and \
                (self.target_transform is None or batch_exact(self.target_transform)):
            x = self.transform.apply_batch(self._images()[idx])
            if isinstance(x, Tensor):
                y = self._targets(idx)
                y = Tensor._wrap(y) if self.target_transform is None else self.target_transform.apply_batch(y)
                return [x, y]
        return default_collate([self[int(i)] for i in idx])

    @property
    def class_to_idx(self):
        return {c: i for i, c in enumerate(self.classes)}

    def extra_repr(self):
        return f"Split: {'Train' if self.train else 'Test'}"


class MNIST(_ImageArrayDataset):
    """MNIST handwritten digits (LeCun et al. 1998), 28x28 grey, as torchvision.

    Args:
        root: holds ``MNIST/raw/`` with ``train-images-idx3-ubyte``,
            ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``,
            ``t10k-labels-idx1-ubyte`` (or the same with ``.gz``); ``None``:
            neuronet's cache (``$NEURONET_DATA`` or ``~/.cache/neuronet``).
        train: the 60,000 training digits, else the 10,000 test digits.
        transform: applied to the PIL image (mode 'L').
        target_transform: applied to the int label.
        download: fetch the missing files (MD5s verified).
        sample: (neuronet) the 8,000 real digits bundled with neuronet, offline.

    Attributes: ``data`` uint8 tensor ``(N, 28, 28)``, ``targets`` int64 tensor
    ``(N,)``, ``classes`` (``'0 - zero'`` ...), ``class_to_idx``,
    ``raw_folder``. Assigning a subset to ``data``/``targets`` works as in
    torchvision.
    """

    _source = _mnist.MNIST
    _pil_mode = "L"
    classes = _mnist.MNIST.classes
    resources = _mnist.MNIST.resources
    mirrors = _mnist.MNIST.mirrors

    def __init__(self, root, train=True, transform=None, target_transform=None, download=False, *, sample=False):
        super().__init__(root, transform=transform, target_transform=target_transform)
        # the parser of neuronet.data under this class's name (its folder, mirrors, checksums)
        loader = type(type(self).__name__, (self._source,), {"resources": self.resources, "mirrors": self.mirrors,
                                                             "classes": self.classes})
        if sample:
            if type(self) is not MNIST:
                raise ValueError(f"{type(self).__name__}: sample=True is only available for MNIST")
            raw = _mnist.MNIST(train=train, sample=True)
        else:
            raw = loader(root, train=train, download=download)
        self.train = bool(train)
        self.root = raw.root
        self.raw_folder = raw.raw_folder
        self.data = Tensor._wrap(raw.data)
        self.targets = Tensor._wrap(raw.targets.astype(np.int64))

    # torchvision's deprecated names, still in older tutorials
    @property
    def train_data(self):
        return self.data

    @property
    def test_data(self):
        return self.data

    @property
    def train_labels(self):
        return self.targets

    @property
    def test_labels(self):
        return self.targets


class FashionMNIST(MNIST):
    """Fashion-MNIST (Xiao et al. 2017): ``root/FashionMNIST/raw``, MNIST's layout."""

    classes = _mnist.FashionMNIST.classes
    resources = _mnist.FashionMNIST.resources
    mirrors = _mnist.FashionMNIST.mirrors


class KMNIST(MNIST):
    """Kuzushiji-MNIST (Clanuwat et al. 2018): ``root/KMNIST/raw``, MNIST's layout."""

    classes = _mnist.KMNIST.classes
    resources = _mnist.KMNIST.resources
    mirrors = _mnist.KMNIST.mirrors


class CIFAR10(_ImageArrayDataset):
    """CIFAR-10 (Krizhevsky 2009): 32x32 colour images, 10 classes, as torchvision.

    Args:
        root: holds ``cifar-10-batches-bin/`` (``data_batch_1.bin`` ...
            ``data_batch_5.bin``, ``test_batch.bin``): the *binary* version of
            the archive (``cifar-10-binary.tar.gz``). torchvision's
            ``cifar-10-batches-py`` holds pickles, which neuronet never loads.
        train, transform, target_transform, download: as torchvision
            (``download=True`` fetches the binary archive, MD5 verified).

    Attributes: ``data`` uint8 NumPy array ``(N, 32, 32, 3)``, ``targets``
    list of ints, ``classes``, ``class_to_idx``.
    """

    _source = _cifar.CIFAR10

    def __init__(self, root, train=True, transform=None, target_transform=None, download=False):
        super().__init__(root, transform=transform, target_transform=target_transform)
        raw = self._source(root, train=train, download=download)
        self.train = bool(train)
        self.root = raw.root
        self.base_folder = raw.base_folder
        self.data = raw.data
        self.targets = [int(t) for t in raw.targets]
        self.classes = list(raw.classes)
        self._raw = raw
        self._extra(raw)

    def _extra(self, raw):
        pass


class CIFAR100(CIFAR10):
    """CIFAR-100: 100 fine classes (``targets``, ``classes``); neuronet also
    keeps the 20 coarse ones (``coarse_targets``, ``coarse_classes``). Files:
    ``root/cifar-100-binary/train.bin`` and ``test.bin``."""

    _source = _cifar.CIFAR100

    def _extra(self, raw):
        self.coarse_targets = [int(t) for t in raw.coarse_targets]
        self.coarse_classes = list(raw.coarse_classes)


class FakeData(VisionDataset):
    """Random images with random labels, for trying a pipeline without data.

    Sample ``i`` is drawn from a generator seeded with ``i + random_offset``, so
    it is the same on every access (the pixel values are neuronet's own draw:
    uniform uint8, not torchvision's). ``image_size = (C, H, W)``; the image is
    a PIL image ('L' for 1 channel, 'RGB' for 3), the target an int in
    ``[0, num_classes)``.
    """

    def __init__(self, size=1000, image_size=(3, 224, 224), num_classes=10, transform=None, target_transform=None,
                 random_offset=0):
        super().__init__(None, transform=transform, target_transform=target_transform)
        image_size = tuple(int(s) for s in image_size)
        if len(image_size) != 3 or image_size[0] not in (1, 3, 4) or min(image_size) <= 0:
            raise ValueError(f"FakeData: image_size must be (C, H, W) with C in (1, 3, 4), received {image_size}")
        if size < 0 or num_classes <= 0:
            raise ValueError(f"FakeData: need size >= 0 and num_classes > 0, received size={size}, "
                             f"num_classes={num_classes}")
        self.size, self.image_size = int(size), image_size
        self.num_classes, self.random_offset = int(num_classes), int(random_offset)

    def __len__(self):
        return self.size

    def __getitem__(self, index):
        if not isinstance(index, (int, np.integer)) or isinstance(index, bool):
            raise TypeError(f"FakeData index must be an int, received {type(index).__name__}")
        if index >= len(self) or index < -len(self):
            raise IndexError(f"FakeData index {index} out of range for a dataset of length {len(self)}")
        index = int(index) % len(self)
        g = np.random.default_rng(index + self.random_offset)
        C, H, W = self.image_size
        pixels = g.integers(0, 256, size=(H, W, C), dtype=np.uint8)
        target = int(g.integers(0, self.num_classes))
        img = _pil_image().fromarray(pixels[:, :, 0] if C == 1 else pixels)
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target
