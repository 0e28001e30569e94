"""CIFAR-10 and CIFAR-100 (Krizhevsky 2009), the *binary* version of the archives.

Binary layout (no pickle): fixed-size records, CIFAR-10 ``<1 byte label><3072
bytes pixels>``, CIFAR-100 ``<1 byte coarse label><1 byte fine label><3072
bytes>``; the pixels are the red, green then blue 32x32 planes, row-major.
"""
from __future__ import annotations

import os

import numpy as np

from ..dataset import ArrayDataset
from ..download import check_file, extract_tar_members
from ._base import DatasetFormatError, DatasetNotFoundError, fetch, mirror_list, resolve_root


def _class_names(path):
    """The class names of a CIFAR meta file, one per line (UTF-8 text)."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except UnicodeDecodeError as e:
        raise DatasetFormatError(f"{path}: not a UTF-8 text file of class names, one per line "
                                 f"(byte {e.start}: {e.reason})") from None
    return [ln.strip() for ln in text.splitlines() if ln.strip()]

__all__ = ["CIFAR10", "CIFAR100", "read_cifar_bin"]

_PIXELS = 3 * 32 * 32


def read_cifar_bin(path, label_bytes):
    """Parse a CIFAR binary file -> (images ``(N, 32, 32, 3)`` uint8 HWC,
    labels ``(N, label_bytes)`` uint8)."""
    with open(path, "rb") as f:
        raw = f.read()
    rec = label_bytes + _PIXELS
    if len(raw) == 0 or len(raw) % rec:
        raise DatasetFormatError(f"{path}: truncated or not a CIFAR binary file: {len(raw)} bytes is not a "
                                 f"positive multiple of the record size {rec} ({label_bytes} label byte(s) + "
                                 f"{_PIXELS} pixel bytes)")
    arr = np.frombuffer(raw, dtype=np.uint8).reshape(-1, rec)
    images = arr[:, label_bytes:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).copy()
    return images, arr[:, :label_bytes].astype(np.int64)


class CIFAR10(ArrayDataset):
    """CIFAR-10: 60,000 32x32 colour images in 10 classes (50,000 train).

    Args:
        root: directory holding ``cifar-10-batches-bin/`` (``data_batch_1.bin``
            ... ``data_batch_5.bin``, ``test_batch.bin``); ``None``: the cache.
        train, transform, target_transform: as torchvision; images are
            ``(32, 32, 3)`` uint8 arrays (HWC, as PIL), labels ints.
        download: fetch ``cifar-10-binary.tar.gz`` from ``mirrors`` (after
            ``$NEURONET_MIRROR_CIFAR10``), verify its MD5 (the publisher's) and
            extract only the expected files.

    Attributes: ``data`` ``(N, 32, 32, 3)`` uint8, ``targets`` ``(N,)`` int64,
    ``classes``, ``class_to_idx``.
    """

    mirrors = ["https://www.cs.toronto.edu/~kriz/"]
    archive = ("cifar-10-binary.tar.gz", "c32a1d4ab5d03f1284b67883e8d87530")  # MD5 from the CIFAR page
    base_folder = "cifar-10-batches-bin"
    python_folder, python_archive = "cifar-10-batches-py", "cifar-10-python.tar.gz"  # torchvision's (pickle)
    train_list = [f"data_batch_{i}.bin" for i in range(1, 6)]
    test_list = ["test_batch.bin"]
    meta_files = ["batches.meta.txt"]
    label_bytes = 1
    classes = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]

    def __init__(self, root=None, train=True, transform=None, target_transform=None, download=False):
        self.root = resolve_root(root)
        self.train = bool(train)
        folder = os.path.join(self.root, self.base_folder)
        names = self.train_list if self.train else self.test_list
        paths = [os.path.join(folder, n) for n in names]
        if download and not all(os.path.isfile(p) for p in paths):
            self.download()
        missing = [p for p in paths if not os.path.isfile(p)]
        if missing:
            raise DatasetNotFoundError(
                f"{type(self).__name__}: {', '.join(os.path.basename(p) for p in missing)} not found in {folder}. "
                + self._python_version_note() +
                f"Use download=True (needs internet; mirrors: {', '.join(mirror_list(type(self)))}), or place "
                f"{self.archive[0]} (the binary version, MD5 {self.archive[1]}) extracted in {self.root} "
                f"so that {folder} holds {', '.join(self.train_list + self.test_list)}")
        images, labels = [], []
        for p in paths:
            im, lb = read_cifar_bin(p, self.label_bytes)
            self._check_labels(p, lb)
            images.append(im)
            labels.append(lb)
        images = np.concatenate(images)
        labels = np.concatenate(labels)
        self._set_labels(labels)
        super().__init__(images, labels[:, -1], transform, target_transform)
        self._read_meta(folder)

    def _python_version_note(self):
        """torchvision downloads the *python* version of the archive, whose
        batches are pickles; neuronet never unpickles, so say so when that is
        what the root holds."""
        found = [n for n in (self.python_folder, self.python_archive)
                 if os.path.exists(os.path.join(self.root, n))]
        if not found:
            return ""
        return (f"{self.root} holds {' and '.join(found)}, the python version of the dataset, whose files are "
                f"pickles: neuronet never unpickles data (a pickle can run arbitrary code). Download the binary "
                f"version instead: {self.mirrors[0]}{self.archive[0]} (MD5 {self.archive[1]}), and extract it "
                f"in {self.root}, or pass download=True. ")

    def _check_labels(self, path, lb):
        if lb[:, -1].max() >= len(self.classes):
            raise DatasetFormatError(f"{path}: label {int(lb[:, -1].max())} out of range for "
                                     f"{len(self.classes)} classes (not a {type(self).__name__} file?)")

    def _set_labels(self, labels):
        pass

    def _read_meta(self, folder):
        path = os.path.join(folder, self.meta_files[0])
        if os.path.isfile(path):
            names = _class_names(path)
            if len(names) == len(self.classes):
                self.classes = names

    def download(self):
        fetch(type(self), [self.archive], self.root)
        archive = os.path.join(self.root, self.archive[0])
        check_file(archive, md5=self.archive[1])
        members = [f"{self.base_folder}/{n}" for n in self.train_list + self.test_list]
        extract_tar_members(archive, self.root, members,
                            optional=[f"{self.base_folder}/{n}" for n in self.meta_files])

    @property
    def class_to_idx(self):
        return {c: i for i, c in enumerate(self.classes)}

    def __repr__(self):
        return f"{type(self).__name__}(split={'train' if self.train else 'test'}, n={len(self)}, root={self.root!r})"


class CIFAR100(CIFAR10):
    """CIFAR-100: 100 fine classes grouped in 20 coarse ones; files
    ``cifar-100-binary/train.bin`` and ``test.bin``. ``targets`` are the fine
    labels; ``coarse_targets`` the coarse ones (``coarse_classes``)."""

    archive = ("cifar-100-binary.tar.gz", "03b5dce01913d631647c71ecec9e9cb8")  # MD5 from the CIFAR page
    base_folder = "cifar-100-binary"
    python_folder, python_archive = "cifar-100-python", "cifar-100-python.tar.gz"
    train_list = ["train.bin"]
    test_list = ["test.bin"]
    meta_files = ["fine_label_names.txt", "coarse_label_names.txt"]
    label_bytes = 2
    classes = [
        "apple", "aquarium_fish", "baby", "bear", "beaver", "bed", "bee", "beetle", "bicycle", "bottle",
        "bowl", "boy", "bridge", "bus", "butterfly", "camel", "can", "castle", "caterpillar", "cattle",
        "chair", "chimpanzee", "clock", "cloud", "cockroach", "couch", "crab", "crocodile", "cup", "dinosaur",
        "dolphin", "elephant", "flatfish", "forest", "fox", "girl", "hamster", "house", "kangaroo", "keyboard",
        "lamp", "lawn_mower", "leopard", "lion", "lizard", "lobster", "man", "maple_tree", "motorcycle",
        "mountain", "mouse", "mushroom", "oak_tree", "orange", "orchid", "otter", "palm_tree", "pear",
        "pickup_truck", "pine_tree", "plain", "plate", "poppy", "porcupine", "possum", "rabbit", "raccoon",
        "ray", "road", "rocket", "rose", "sea", "seal", "shark", "shrew", "skunk", "skyscraper", "snail",
        "snake", "spider", "squirrel", "streetcar", "sunflower", "sweet_pepper", "table", "tank", "telephone",
        "television", "tiger", "tractor", "train", "trout", "tulip", "turtle", "wardrobe", "whale",
        "willow_tree", "wolf", "woman", "worm"]
    coarse_classes = [
        "aquatic_mammals", "fish", "flowers", "food_containers", "fruit_and_vegetables",
        "household_electrical_devices", "household_furniture", "insects", "large_carnivores",
        "large_man-made_outdoor_things", "large_natural_outdoor_scenes", "large_omnivores_and_herbivores",
        "medium_mammals", "non-insect_invertebrates", "people", "reptiles", "small_mammals", "trees",
        "vehicles_1", "vehicles_2"]

    def _check_labels(self, path, lb):
        super()._check_labels(path, lb)
        if lb[:, 0].max() >= len(self.coarse_classes):
            raise DatasetFormatError(f"{path}: coarse label {int(lb[:, 0].max())} out of range for "
                                     f"{len(self.coarse_classes)} coarse classes")

    def _set_labels(self, labels):
        self.coarse_targets = labels[:, 0].copy()

    def _read_meta(self, folder):
        for attr, name in (("classes", "fine_label_names.txt"), ("coarse_classes", "coarse_label_names.txt")):
            path = os.path.join(folder, name)
            if os.path.isfile(path):
                names = _class_names(path)
                if len(names) == len(getattr(self, attr)):
                    setattr(self, attr, names)


assert len(CIFAR100.classes) == 100 and len(CIFAR100.coarse_classes) == 20
