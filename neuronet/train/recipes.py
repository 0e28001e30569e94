"""Data and model recipes for the command line: a dataset name becomes
train/validation/test sets with their preprocessing, and a model name becomes
a network sized for that data."""
from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

__all__ = ["DataBundle", "DATASETS", "build_data", "build_model", "build_optimizer", "build_scheduler",
           "class_labels", "stratified_split"]

MNIST_MEAN, MNIST_STD = (0.1307,), (0.3081,)
CIFAR10_MEAN, CIFAR10_STD = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)
CIFAR100_MEAN, CIFAR100_STD = (0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762)

DATASETS = {
    "mnist-sample": "the 8,000 MNIST digits bundled with neuronet (offline)",
    "mnist": "MNIST (IDX files in ROOT/MNIST/raw, downloaded with --download)",
    "fashion-mnist": "Fashion-MNIST (IDX files)",
    "kmnist": "Kuzushiji-MNIST (IDX files)",
    "cifar10": "CIFAR-10 binary version",
    "cifar100": "CIFAR-100 binary version",
    "folder:PATH": "class-per-folder PNG/JPEG images under PATH (PATH/train + PATH/test, or split 80/20)",
    "shapes": "synthetic circles/squares/triangles with per-pixel masks (segmentation)",
}


@dataclass
class DataBundle:
    name: str
    train: object
    test: object
    val: object = None
    task: str = "classification"
    in_channels: int = 1
    num_classes: int = 10
    input_size: tuple = (28, 28)
    classes: list = field(default_factory=list)
    mean: tuple = ()
    std: tuple = ()
    val_split: float = 0.0

    @property
    def preprocessing(self):
        return {"mean": list(self.mean), "std": list(self.std), "in_channels": self.in_channels,
                "input_size": list(self.input_size), "classes": list(self.classes), "task": self.task,
                "data": self.name}


def _mnist_like(name, cls, root, download, augment, mean, std, sample=False):
    from ..data import transforms as T
    from ..data.datasets import mnist_sample
    norm = [T.ToTensor(), T.Normalize(mean, std)]
    # LeCun et al. 1998's distortions, a little stronger than theirs: with 5,400
    # training digits (the bundled sample less its validation split) they are
    # what lets LeNet-5 pass 99 % (measured in the README)
    aff = T.RandomAffine(degrees=12, translate=(0.1, 0.1), scale=(0.9, 1.1), shear=8)
    train_tf = T.Compose(([aff] if augment else []) + norm)
    test_tf = T.Compose(norm)
    if sample:
        train = mnist_sample(train=True, transform=train_tf)
        test = mnist_sample(train=False, transform=test_tf)
        classes = [str(i) for i in range(10)]
    else:
        train = cls(root=root, train=True, transform=train_tf, download=download)
        test = cls(root=root, train=False, transform=test_tf, download=download)
        classes = list(getattr(train, "classes", [str(i) for i in range(10)]))
    classes = [str(c).split(" - ")[-1] for c in classes] if classes else [str(i) for i in range(10)]
    return DataBundle(name, train, test, in_channels=1, num_classes=10, input_size=(28, 28),
                      classes=classes, mean=mean, std=std)


def _cifar(name, cls, root, download, augment, mean, std, num_classes):
    from ..data import transforms as T
    norm = [T.ToTensor(), T.Normalize(mean, std)]
    train_tf = T.Compose(([T.RandomCrop(32, padding=4), T.RandomHorizontalFlip()] if augment else []) + norm)
    train = cls(root=root, train=True, transform=train_tf, download=download)
    test = cls(root=root, train=False, transform=T.Compose(norm), download=download)
    classes = list(getattr(train, "classes", [str(i) for i in range(num_classes)]))
    return DataBundle(name, train, test, in_channels=3, num_classes=num_classes, input_size=(32, 32),
                      classes=classes, mean=mean, std=std)


def _folder(path, augment, image_size, seed):
    from ..data import ImageFolder, random_split
    from ..data import transforms as T
    if not os.path.isdir(path):
        raise FileNotFoundError(f"folder:{path}: no such directory (expected PATH/<class>/<image>.png)")
    size = image_size or 32
    train_dir, test_dir = os.path.join(path, "train"), None
    for cand in ("test", "val"):
        if os.path.isdir(os.path.join(path, cand)):
            test_dir = os.path.join(path, cand)
    probe = ImageFolder(train_dir if (test_dir and os.path.isdir(train_dir)) else path)
    if len(probe) == 0:
        raise FileNotFoundError(f"folder:{path}: no images found")
    first = np.asarray(probe.loader(probe.samples[0][0]))
    channels = 1 if first.ndim == 2 else first.shape[2]
    mean, std = (0.5,) * channels, (0.5,) * channels
    norm = [T.Resize((size, size)), T.ToTensor(), T.Normalize(mean, std)]
    train_tf = T.Compose(([T.RandomHorizontalFlip()] if augment else []) + norm)
    if test_dir and os.path.isdir(train_dir):
        train = ImageFolder(train_dir, transform=train_tf)
        # the training split's class-to-index mapping for every split: a test
        # folder with other class names is an error, not a 0 % score
        test = ImageFolder(test_dir, transform=T.Compose(norm), classes=train.classes)
    else:
        full = ImageFolder(path, transform=T.Compose(norm))
        n_test = max(1, len(full) // 5)
        train, test = random_split(full, [len(full) - n_test, n_test], generator=seed)
    return DataBundle(f"folder:{path}", train, test, in_channels=channels, num_classes=len(probe.classes),
                      input_size=(size, size), classes=list(probe.classes), mean=mean, std=std)


def _shapes(augment, image_size, seed):
    from ..data import Shapes
    size = image_size or 48
    train = Shapes(train=True, size=size, channels=3, seed=seed)
    test = Shapes(train=False, size=size, channels=3, seed=seed)
    return DataBundle("shapes", train, test, task="segmentation", in_channels=3, num_classes=4,
                      input_size=(size, size), classes=list(Shapes.classes), mean=(0.0,) * 3, std=(1.0,) * 3)


def class_labels(dataset):
    """The integer class label of every sample of ``dataset`` as an ``(N,)``
    array, or None when the targets are not class indices (segmentation masks).
    Reads ``targets`` when the dataset (or the one a Subset wraps) has them."""
    from ..data import Subset
    if isinstance(dataset, Subset):
        inner = class_labels(dataset.dataset)
        return None if inner is None else inner[np.asarray(dataset.indices, dtype=np.int64)]
    targets = getattr(dataset, "targets", None)
    if targets is None:
        targets = [dataset[i][1] for i in range(len(dataset))]
    try:
        arr = np.asarray(targets)
    except ValueError:            # ragged: masks of different sizes
        return None
    if arr.ndim != 1 or arr.dtype.kind not in "iu":
        return None
    return arr.astype(np.int64)


def stratified_split(labels, fraction, seed=0):
    """``(train_indices, val_indices)``: a seeded split holding out ``fraction``
    of the samples, the same fraction of every class (so a 10 % validation set
    of MNIST has about 10 % of each digit). ``labels``: ``(N,)`` class indices,
    or an int ``N`` for a plain random split (no classes, e.g. segmentation).
    At least one sample is held out; a class with several samples keeps at
    least one in training. Both index arrays are sorted."""
    if not 0 < fraction < 1:
        raise ValueError(f"stratified_split: fraction must be in (0, 1), received {fraction}")
    rng = np.random.default_rng(seed)
    if isinstance(labels, (int, np.integer)):
        n = int(labels)
        perm = rng.permutation(n)
        k = min(max(1, int(round(n * fraction))), n - 1)
        return np.sort(perm[k:]), np.sort(perm[:k])
    labels = np.asarray(labels)
    n = len(labels)
    if n < 2:
        raise ValueError(f"stratified_split: cannot hold out a validation set from {n} sample(s)")
    val = []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        rng.shuffle(idx)
        k = int(round(len(idx) * fraction))
        if len(idx) > 1:
            k = min(k, len(idx) - 1)
        val.append(idx[:k])
    val = np.concatenate(val) if val else np.zeros(0, np.int64)
    if len(val) == 0:                    # tiny sets: hold out one sample anyway
        val = rng.permutation(n)[:1]
    mask = np.zeros(n, bool)
    mask[val] = True
    return np.flatnonzero(~mask), np.flatnonzero(mask)


def build_data(name, root=None, download=False, augment=True, image_size=None, seed=0, val_split=0.0,
               subset=None):
    """Datasets for ``name`` (see ``DATASETS``) with the standard preprocessing.

    ``subset``: keep the first N training samples. ``val_split``: hold out
    this fraction of the (remaining) training samples, stratified by class
    and seeded by ``seed``, as ``bundle.val`` -- read without augmentation
    -- so the test set is used only once, for the final figure."""
    data = _build_data(name, root, download, augment, image_size, seed)
    if subset:
        from ..data import Subset
        data.train = Subset(data.train, range(min(int(subset), len(data.train))))
    if val_split and val_split > 0:
        if not 0 < val_split < 1:
            raise ValueError(f"val_split must be in [0, 1), received {val_split}")
        from ..data import Subset
        labels = class_labels(data.train) if data.task == "classification" else None
        train_idx, val_idx = stratified_split(labels if labels is not None else len(data.train), val_split, seed)
        # the held-out samples are read through the test preprocessing (no augmentation)
        plain = _build_data(name, root, False, False, image_size, seed).train if augment else None
        base = data.train
        if plain is not None and subset:
            plain = Subset(plain, range(min(int(subset), len(plain))))
        data.val = Subset(plain if plain is not None else base, val_idx)
        data.train = Subset(base, train_idx)
        data.val_split = float(val_split)
    return data


def _build_data(name, root, download, augment, image_size, seed):
    from ..data import CIFAR10, CIFAR100, KMNIST, MNIST, FashionMNIST
    if name == "mnist-sample":
        return _mnist_like(name, None, None, False, augment, MNIST_MEAN, MNIST_STD, sample=True)
    if name == "mnist":
        return _mnist_like(name, MNIST, root, download, augment, MNIST_MEAN, MNIST_STD)
    if name == "fashion-mnist":
        return _mnist_like(name, FashionMNIST, root, download, augment, (0.2860,), (0.3530,))
    if name == "kmnist":
        return _mnist_like(name, KMNIST, root, download, augment, (0.1918,), (0.3483,))
    if name == "cifar10":
        return _cifar(name, CIFAR10, root, download, augment, CIFAR10_MEAN, CIFAR10_STD, 10)
    if name == "cifar100":
        return _cifar(name, CIFAR100, root, download, augment, CIFAR100_MEAN, CIFAR100_STD, 100)
    if name.startswith("folder:"):
        return _folder(name[len("folder:"):], augment, image_size, seed)
    if name == "shapes":
        return _shapes(augment, image_size, seed)
    raise ValueError(f"unknown dataset {name!r}; available: {', '.join(DATASETS)}")


def build_model(name, data: DataBundle, **extra):
    """The registered model ``name`` sized for ``data`` (classes, channels, input size)."""
    import inspect

    from .. import models
    if name not in models.list_models():
        raise ValueError(f"unknown model {name!r}; available: {', '.join(models.list_models())}")
    from ..models._registry import _MODELS
    kwargs = {}
    params = inspect.signature(_MODELS[name]).parameters
    if "num_classes" in params:
        kwargs["num_classes"] = data.num_classes
    if "in_channels" in params:
        kwargs["in_channels"] = data.in_channels
    if "input_size" in params:
        kwargs["input_size"] = data.input_size[0]
    if "in_features" in params:
        kwargs["in_features"] = data.in_channels * data.input_size[0] * data.input_size[1]
    kwargs.update(extra)
    return models.get_model(name, **kwargs)


def build_optimizer(name, params, lr, momentum=0.9, weight_decay=0.0):
    from .. import optim
    table = {"sgd": lambda: optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay,
                                      nesterov=momentum > 0),
             "adam": lambda: optim.Adam(params, lr=lr, weight_decay=weight_decay),
             "adamw": lambda: optim.AdamW(params, lr=lr, weight_decay=weight_decay or 1e-2),
             "rmsprop": lambda: optim.RMSprop(params, lr=lr, momentum=momentum, weight_decay=weight_decay),
             "adagrad": lambda: optim.Adagrad(params, lr=lr, weight_decay=weight_decay),
             "nadam": lambda: optim.NAdam(params, lr=lr, weight_decay=weight_decay),
             "radam": lambda: optim.RAdam(params, lr=lr, weight_decay=weight_decay)}
    if name not in table:
        raise ValueError(f"unknown optimizer {name!r}; available: {', '.join(table)}")
    return table[name]()


def build_scheduler(name, optimizer, epochs, steps_per_epoch):
    """Returns (scheduler or None, "epoch" | "batch")."""
    from ..optim import lr_scheduler as S
    if name in (None, "none", "constant"):
        return None, "epoch"
    if name == "onecycle":
        lr = optimizer.param_groups[0]["lr"]
        return S.OneCycleLR(optimizer, max_lr=lr, epochs=epochs, steps_per_epoch=steps_per_epoch), "batch"
    if name == "cosine":
        return S.CosineAnnealingLR(optimizer, T_max=max(epochs * steps_per_epoch, 1)), "batch"
    if name == "step":
        return S.StepLR(optimizer, step_size=max(epochs // 3, 1), gamma=0.1), "epoch"
    if name == "plateau":
        return S.ReduceLROnPlateau(optimizer, mode="max", factor=0.3, patience=2), "epoch"
    if name == "exponential":
        return S.ExponentialLR(optimizer, gamma=0.9), "epoch"
    raise ValueError(f"unknown scheduler {name!r}; available: none, onecycle, cosine, step, plateau, exponential")
