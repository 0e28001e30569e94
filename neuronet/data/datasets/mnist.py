"""MNIST, Fashion-MNIST and Kuzushiji-MNIST in the IDX format, and the bundled sample.

IDX (LeCun's format): a big-endian header -- two zero bytes, a type byte
(0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64), a
byte giving the number of dimensions -- then one uint32 per dimension, then the
values row-major. Files are read raw or gzip-compressed (``name`` or ``name.gz``).
"""
from __future__ import annotations

import gzip
import os
import zlib

import numpy as np

from ..dataset import ArrayDataset
from ..download import check_file
from ._base import DatasetFormatError, DatasetNotFoundError, fetch, mirror_list, resolve_root

__all__ = ["read_idx", "MNIST", "FashionMNIST", "KMNIST", "mnist_sample", "SAMPLE_DIR", "SAMPLE_SHA256"]

_IDX_TYPES = {0x08: np.dtype("u1"), 0x09: np.dtype("i1"), 0x0B: np.dtype(">i2"),
              0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


def read_idx(path) -> np.ndarray:
    """Read an IDX file (raw or ``.gz``) into an array, validating the header
    and the length; errors name the file."""
    path = os.fspath(path)
    try:
        if path.endswith(".gz"):
            with gzip.open(path, "rb") as f:
                raw = f.read()
        else:
            with open(path, "rb") as f:
                raw = f.read()
    except (EOFError, gzip.BadGzipFile, zlib.error) as e:
        raise DatasetFormatError(f"{path}: corrupt or truncated gzip stream ({e})") from e
    if len(raw) < 4:
        raise DatasetFormatError(f"{path}: truncated IDX file ({len(raw)} bytes, the header alone needs 4)")
    zero0, zero1, code, ndim = raw[0], raw[1], raw[2], raw[3]
    if zero0 != 0 or zero1 != 0 or code not in _IDX_TYPES or ndim == 0:
        raise DatasetFormatError(f"{path}: wrong magic number 0x{int.from_bytes(raw[:4], 'big'):08X}; an IDX "
                                 "file starts with 0x0000 then a type byte (0x08 uint8 ... 0x0E float64) and "
                                 "the number of dimensions (e.g. 0x00000803 for images, 0x00000801 for labels)")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DatasetFormatError(f"{path}: truncated IDX header ({len(raw)} bytes, expected {header})")
    dims = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = _IDX_TYPES[code]
    expected = dtype.itemsize
    for d in dims:              # Python ints: a forged header cannot overflow the product
        expected *= d
    have = len(raw) - header
    if have < expected:
        raise DatasetFormatError(f"{path}: truncated IDX file: the header announces shape {dims} "
                                 f"({expected} bytes of data), only {have} bytes follow")
    if have > expected:
        raise DatasetFormatError(f"{path}: {have - expected} unexpected bytes after the {expected} bytes of "
                                 f"data announced for shape {dims}")
    arr = np.frombuffer(raw, dtype=dtype, count=expected // dtype.itemsize, offset=header).reshape(dims)
    return arr.astype(dtype.newbyteorder("="), copy=True)


# The 8,000 real MNIST digits shipped with the package (see sample/README.md).
SAMPLE_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "sample")
SAMPLE_SHA256 = {
    "train-images-idx3-ubyte.gz": "ad7de0c9c90bf51e3313895aed28f418c6ccb7f39ecd20b8d234de2d7e8cdfd6",
    "train-labels-idx1-ubyte.gz": "7f25acd40078bf0abf06e462d3e2fdaaa5047ec88be9c5765473be8b1d95eef1",
    "t10k-images-idx3-ubyte.gz": "0e38390df31b932bb8a52966363ecc3a6d3fe93f3a22bff0a5cbe875d7e5c441",
    "t10k-labels-idx1-ubyte.gz": "503ca9d1390542c8454dd75c0f213ac57efdba17109b20f06b6a8f6806f3c4e8",
}


class MNIST(ArrayDataset):
    """MNIST handwritten digits (LeCun, Cortes & Burges): 28x28 grey uint8.

    Args:
        root: directory holding ``MNIST/raw/<files>`` (torchvision's layout);
            ``None``: the cache (``$NEURONET_DATA`` or ``~/.cache/neuronet``).
        train: the training split (``train-*``) or the test split (``t10k-*``).
        transform / target_transform: applied to the image ``(28, 28)`` uint8
            array / the int label; transforms from :mod:`neuronet.data.transforms`
            also run batch-wise in the DataLoader's fast path.
        download: fetch missing files from ``mirrors`` (class attribute, after
            ``$NEURONET_MIRROR_MNIST``), verifying torchvision's MD5s. Files
            already in ``root`` (gzip or not) are validated by format -- IDX
            header, sizes, counts, label range -- not by checksum.
        sample: load the 8,000 real digits bundled with neuronet (6,000 train,
            2,000 test) instead, offline; ``root``/``download`` are ignored and
            each file's SHA-256 is checked.

    Attributes: ``data`` ``(N, 28, 28)`` uint8, ``targets`` ``(N,)`` int64,
    ``classes``, ``class_to_idx``. ``ds[i]`` is ``(image, label)``.

    >>> ds = MNIST(sample=True, train=True)      # offline, 6,000 digits
    """

    mirrors = ["https://ossci-datasets.s3.amazonaws.com/mnist/"]
    # MD5s of the gzip files, as torchvision lists them
    resources = [
        ("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
        ("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"),
        ("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
        ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c"),
    ]
    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four",
               "5 - five", "6 - six", "7 - seven", "8 - eight", "9 - nine"]
    image_size = (28, 28)

    def __init__(self, root=None, train=True, transform=None, target_transform=None, download=False,
                 *, sample=False):
        self.train = bool(train)
        self.sample = bool(sample)
        prefix = "train" if self.train else "t10k"
        files = [(n, m) for n, m in self.resources if n.startswith(prefix + "-")]
        if len(files) != 2:
            raise ValueError(f"{type(self).__name__}.resources must list {prefix}-images and {prefix}-labels files")
        if self.sample:
            if type(self) is not MNIST:
                raise ValueError(f"{type(self).__name__}: sample=True is only available for MNIST")
            self.root = self.raw_folder = SAMPLE_DIR
            paths = []
            for name, _ in files:
                path = os.path.join(SAMPLE_DIR, name)
                if not os.path.isfile(path):
                    raise FileNotFoundError(f"the bundled MNIST sample file {path} is missing; reinstall neuronet")
                check_file(path, sha256=SAMPLE_SHA256[name])
                paths.append(path)
        else:
            self.root = resolve_root(root)
            self.raw_folder = os.path.join(self.root, type(self).__name__, "raw")
            if download:
                fetch(type(self), files, self.raw_folder)
            paths = [self._locate(name, md5, files) for name, md5 in files]
        images = read_idx(paths[0])
        labels = read_idx(paths[1])
        self._validate(images, labels, paths)
        super().__init__(images, labels, transform, target_transform)

    def _locate(self, name, md5, files):
        gz = os.path.join(self.raw_folder, name)
        raw = gz[:-3] if gz.endswith(".gz") else gz
        # A file already there is checked for its format (read_idx, _validate),
        # not for its bytes: a re-compressed copy or a subset in the same format
        # is valid MNIST. The published MD5s check downloads (fetch).
        if os.path.isfile(gz):
            return gz
        if os.path.isfile(raw):
            return raw
        raise DatasetNotFoundError(
            f"{type(self).__name__}: {name} not found in {self.raw_folder}. Use download=True (needs internet; "
            f"mirrors: {', '.join(mirror_list(type(self)))}), or place these files there (gzip or "
            f"uncompressed, standard names): {', '.join(n for n, _ in files)}. "
            f"Offline, MNIST(sample=True) loads the 8,000 bundled digits.")

    def _validate(self, images, labels, paths):
        h, w = self.image_size
        if images.ndim != 3 or images.shape[1:] != (h, w):
            raise DatasetFormatError(f"{paths[0]}: wrong image size: expected images of shape (N, {h}, {w}), "
                                     f"the file holds shape {images.shape}")
        if images.dtype != np.uint8:
            raise DatasetFormatError(f"{paths[0]}: expected uint8 pixels (IDX type 0x08), found {images.dtype}")
        if labels.ndim != 1:
            raise DatasetFormatError(f"{paths[1]}: expected a 1-d label file, found shape {labels.shape}")
        if len(images) != len(labels):
            raise DatasetFormatError(f"label/image count mismatch: {paths[0]} holds {len(images)} images but "
                                     f"{paths[1]} holds {len(labels)} labels")
        if labels.size and (labels.min() < 0 or labels.max() >= len(self.classes)):
            raise DatasetFormatError(f"{paths[1]}: labels must lie in [0, {len(self.classes) - 1}], found "
                                     f"[{labels.min()}, {labels.max()}]")

    @property
    def class_to_idx(self):
        return {c: i for i, c in enumerate(self.classes)}

    def __repr__(self):
        where = "bundled sample" if self.sample else self.root
        return (f"{type(self).__name__}(split={'train' if self.train else 'test'}, n={len(self)}, root={where!r}, "
                f"transform={self.transform!r})")


class FashionMNIST(MNIST):
    """Fashion-MNIST (Xiao, Rasul & Vollgraf 2017): Zalando article images, the
    same IDX layout and file names as MNIST; files in ``root/FashionMNIST/raw``."""

    mirrors = ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"]
    resources = [
        ("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
        ("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"),
        ("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"),
        ("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310"),
    ]
    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
               "Ankle boot"]


class KMNIST(MNIST):
    """Kuzushiji-MNIST (Clanuwat et al. 2018): cursive Japanese characters, the
    MNIST layout; files in ``root/KMNIST/raw``."""

    mirrors = ["http://codh.rois.ac.jp/kmnist/dataset/kmnist/"]
    resources = [
        ("train-images-idx3-ubyte.gz", "bdb82020997e1d708af4cf47b453dcf7"),
        ("train-labels-idx1-ubyte.gz", "e144d726b3acfaa3e44228e80efcd344"),
        ("t10k-images-idx3-ubyte.gz", "5c965bf0a639b31b8f53240b1b52f4d7"),
        ("t10k-labels-idx1-ubyte.gz", "7320c461ea6c1c855c0b718fb2a4b134"),
    ]
    classes = ["o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"]


def mnist_sample(train=True, transform=None, target_transform=None):
    """The 8,000 real MNIST digits bundled with neuronet, offline:
    ``mnist_sample(train=True)`` has 6,000, ``train=False`` 2,000. Same as
    ``MNIST(sample=True, train=train, ...)``."""
    return MNIST(train=train, transform=transform, target_transform=target_transform, sample=True)
