"""Pretrained weights: torchvision's published ImageNet files, their metadata
and their preprocessing, for the zoo models whose architecture is torchvision's.

Every builder of such a model takes ``weights=`` as torchvision's does::

    resnet18(weights=None)                              # random initialization
    resnet18(weights="IMAGENET1K_V1")                   # an entry, by name
    resnet18(weights="DEFAULT")                         # the best entry
    resnet18(weights=ResNet18_Weights.IMAGENET1K_V1)    # the enum member
    resnet18(weights="~/models/resnet18.pth")           # a local state_dict file

An entry (a member of ``ResNet18_Weights`` etc.) carries:

- ``url``: torchvision's download address; its file name ends with the first
  hex digits of the file's SHA-256 (``resnet18-f37072fd.pth``), checked after
  a download;
- ``meta``: ``categories`` (the 1,000 ImageNet class names, in the order of
  the outputs), ``num_params``, ``min_size``, ``recipe`` (how it was
  trained), ``_metrics`` (the published ImageNet-1K validation accuracy
  ``acc@1`` / ``acc@5``, single 224 crop), ``_docs``;
- ``transforms()``: the preprocessing the weights expect
  (:class:`ImageClassification`: resize, center crop, scale to [0, 1],
  normalize with ImageNet's mean and standard deviation).

Files are downloaded once into the cache ``$NEURONET_HOME/weights``
(``~/.cache/neuronet/weights`` when ``NEURONET_HOME`` is unset), atomically
(a partial or unverified download never appears under the real name). A
file already in the cache is used as it is, as torchvision does: to use
weights obtained elsewhere (no internet), put the file there under its
published name. The files are PyTorch's ``.pth`` and are read with
:func:`neuronet.load`, which never runs pickled code.
"""
from __future__ import annotations

import enum
import functools
import os
import re
from dataclasses import dataclass, field
from typing import Any, Callable

__all__ = ["Weights", "WeightsEnum", "WeightsError", "ImageClassification", "IMAGENET_CATEGORIES",
           "weights_dir", "get_weight",
           "AlexNet_Weights", "VGG11_Weights", "VGG11_BN_Weights", "VGG13_Weights", "VGG13_BN_Weights",
           "VGG16_Weights", "VGG16_BN_Weights", "VGG19_Weights", "VGG19_BN_Weights", "GoogLeNet_Weights",
           "ResNet18_Weights", "ResNet34_Weights", "ResNet50_Weights", "ResNet101_Weights", "ResNet152_Weights"]


class WeightsError(RuntimeError):
    """Pretrained weights that cannot be had: an unknown name, a failed or
    offline download, an unreadable or mismatched file."""


def _read_categories():
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "imagenet_classes.txt")
    with open(path, encoding="utf-8") as f:
        names = [line.rstrip("\n") for line in f]
    if len(names) != 1000:
        raise RuntimeError(f"{path}: expected the 1000 ImageNet class names, found {len(names)} lines")
    return names


# The ImageNet-1K (ILSVRC 2012) classes in the order of the models' outputs:
# torchvision's names for the 1,000 WordNet synsets sorted by synset id.
IMAGENET_CATEGORIES = _read_categories()

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def weights_dir() -> str:
    """Where downloaded weights live: ``$NEURONET_HOME/weights``, else
    ``~/.cache/neuronet/weights``."""
    home = os.environ.get("NEURONET_HOME") or os.path.join("~", ".cache", "neuronet")
    return os.path.abspath(os.path.join(os.path.expanduser(home), "weights"))


# ----------------------------------------------------------------------------- preprocessing

class ImageClassification:
    """The evaluation preprocessing of ImageNet classifiers (torchvision's
    ``ImageClassification`` preset)::

        resize (smaller edge to resize_size, bilinear, antialiased)
        -> center crop crop_size x crop_size
        -> float in [0, 1]
        -> (x - mean[c]) / std[c]

    Input: a PIL image, or a uint8 / float tensor ``(..., C, H, W)``; PIL
    images are turned into tensors first, so both go through the same float
    resampling (as in torchvision). Output: a float32 tensor ``(..., 3,
    crop_size, crop_size)``; add the batch axis with ``.unsqueeze(0)``.
    """

    def __init__(self, *, crop_size, resize_size=256, mean=IMAGENET_MEAN, std=IMAGENET_STD,
                 interpolation="bilinear", antialias=True):
        self.crop_size = [int(crop_size)]
        self.resize_size = [int(resize_size)]
        self.mean, self.std = list(mean), list(std)
        self.interpolation = interpolation
        self.antialias = antialias

    def __call__(self, img):
        from ..tensor import Tensor
        from ..vision.transforms import functional as TF
        if not isinstance(img, Tensor):
            if not TF._is_pil(img):
                raise TypeError(f"ImageClassification: expected a PIL image or a Tensor (..., C, H, W), "
                                f"received {type(img).__name__}")
            img = TF.pil_to_tensor(img.convert("RGB"))
        img = TF.resize(img, self.resize_size, interpolation=TF.InterpolationMode(self.interpolation),
                        antialias=self.antialias)
        img = TF.center_crop(img, self.crop_size)
        img = TF.convert_image_dtype(img, "float32")
        return TF.normalize(img, mean=self.mean, std=self.std)

    forward = __call__

    def __repr__(self):
        return (f"ImageClassification(crop_size={self.crop_size}, resize_size={self.resize_size}, "
                f"mean={self.mean}, std={self.std}, interpolation={self.interpolation})")

    def describe(self):
        return (f"The images are resized to resize_size={self.resize_size} with bilinear interpolation, "
                f"then center-cropped to crop_size={self.crop_size}, rescaled to [0.0, 1.0] and "
                f"normalized with mean={self.mean} and std={self.std}.")


# ----------------------------------------------------------------------------- entries

@dataclass(eq=False)
class Weights:
    """One published file: where it is, how to preprocess for it, what it scored."""

    url: str
    transforms: Callable[..., Any]
    meta: dict = field(default_factory=dict)


_HASH = re.compile(r"-([a-f0-9]+)\.")


class WeightsEnum(enum.Enum):
    """Base of ``ResNet18_Weights`` and the others: members are the published
    entries, ``DEFAULT`` an alias of the recommended one."""

    @classmethod
    def verify(cls, obj, model=None):
        """``None`` | a member of this enum | its name (``"IMAGENET1K_V1"``,
        ``"DEFAULT"``, ``"ResNet18_Weights.IMAGENET1K_V1"``) -> member or None."""
        who = model or cls.__name__
        if obj is None or isinstance(obj, cls):
            return obj
        if isinstance(obj, WeightsEnum):
            raise WeightsError(f"{who}: weights must be a {cls.__name__} entry, received "
                               f"{type(obj).__name__}.{obj.name}")
        if isinstance(obj, str):
            name = obj[len(cls.__name__) + 1:] if obj.startswith(cls.__name__ + ".") else obj
            if name in cls.__members__:
                return cls.__members__[name]
        raise WeightsError(f"{who}: unknown weights {obj!r}; expected None, a path to a state_dict file, "
                           f"or one of {', '.join(repr(n) for n in cls.__members__)} ({cls.__name__})")

    @property
    def url(self):
        return self.value.url

    @property
    def meta(self):
        return self.value.meta

    @property
    def transforms(self):
        return self.value.transforms

    @property
    def file_name(self):
        return self.url.rsplit("/", 1)[-1]

    @property
    def sha256_prefix(self):
        """The leading hex digits of the file's SHA-256, from its published name."""
        m = _HASH.search(self.file_name)
        return m.group(1) if m else None

    @property
    def path(self):
        """Where the file is (or will be) cached."""
        return os.path.join(weights_dir(), self.file_name)

    def __repr__(self):
        return f"{type(self).__name__}.{self.name}"

    def fetch(self, progress=None):
        """The cached file's path, downloading it first if it is not there."""
        path = self.path
        if os.path.exists(path):
            return path
        return _download(self.url, path, self.sha256_prefix, f"{self!r}", progress)

    def get_state_dict(self, progress=None):
        """The entry's state_dict (downloaded and cached on first use)."""
        return load_state_dict_file(self.fetch(progress), f"{self!r}")


def _download(url, path, sha256_prefix, what, progress):
    """Download ``url`` to ``path`` via :func:`neuronet.data.download.download_url`
    into a staging name, check the published SHA-256 prefix, then rename."""
    from ..data.download import ChecksumError, DownloadError, download_url, file_digest
    staging = path + ".unverified"
    try:
        download_url(url, staging, progress=progress)
    except DownloadError as e:
        cause = e.__cause__
        reason = getattr(cause, "reason", None) or cause or e      # URLError's reason: the socket's error
        raise WeightsError(f"{what}: could not download {url} ({reason}). Without internet access, "
                           f"download that file elsewhere and put it at {path}") from None
    except ChecksumError as e:   # pragma: no cover - no full checksum is passed
        raise WeightsError(f"{what}: {e}") from None
    if sha256_prefix:
        digest = file_digest(staging, "sha256")
        if not digest.startswith(sha256_prefix):
            os.unlink(staging)
            raise WeightsError(f"{what}: the file downloaded from {url} has SHA-256 {digest}, but its "
                               f"published name says it starts with {sha256_prefix}; it was not kept")
    os.replace(staging, path)
    return path


def load_state_dict_file(path, what=None):
    """Read a state_dict from ``path`` with :func:`neuronet.load` (PyTorch's
    ``.pth``/``.pt``, safetensors, neuronet ``.npz``). A training checkpoint
    or a dict with a ``"state_dict"``/``"model"`` entry gives its weights."""
    import neuronet
    from ..nn import Module
    path = os.fspath(path)
    who = f"{what}: " if what else ""
    if not os.path.exists(path):
        raise WeightsError(f"{who}{path}: no such file")
    try:
        obj = neuronet.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise WeightsError(f"{who}cannot read the weights file {path}: {e}") from None
    if isinstance(obj, Module):
        obj = obj.state_dict()
    if isinstance(obj, dict):
        for key in ("state_dict", "model"):
            if isinstance(obj.get(key), dict) and not any(hasattr(v, "shape") for v in obj.values()):
                obj = obj[key]
                break
    if not isinstance(obj, dict) or not obj:
        raise WeightsError(f"{who}{path} does not hold a state_dict (a dict of tensors); found "
                           f"{type(obj).__name__}")
    return obj


def load_pretrained(model, weights, model_name, progress=None):
    """Load ``weights`` (an entry or a path; None: nothing) into ``model``,
    strictly; a mismatch names the file and the keys."""
    if weights is None:
        return model
    if isinstance(weights, WeightsEnum):
        state, source = weights.get_state_dict(progress), weights.path
    else:
        state, source = load_state_dict_file(weights, model_name), os.fspath(weights)
    try:
        model.load_state_dict(state, strict=True)
    except Exception as e:
        raise WeightsError(f"{model_name}: the weights in {source} do not fit the model: {e}") from None
    return model


def get_weight(name):
    """``"ResNet50_Weights.IMAGENET1K_V2"`` -> the entry (torchvision's ``get_weight``)."""
    enum_name, _, member = str(name).partition(".")
    cls = _ENUMS.get(enum_name)
    if cls is None or not member:
        raise WeightsError(f"get_weight: expected 'EnumName.ENTRY' such as 'ResNet50_Weights.IMAGENET1K_V2', "
                           f"received {name!r}")
    return cls.verify(member)


def resolve(weights, enum_cls, model_name, num_classes=None):
    """A builder's ``weights`` argument -> None, an ``enum_cls`` member, or a
    local path (``str``/``PathLike`` that is not an entry name). With an
    entry, ``num_classes`` must be the entry's number of categories."""
    if weights is None:
        return None
    if isinstance(weights, os.PathLike):
        return os.fspath(weights)
    if isinstance(weights, str) and weights not in enum_cls.__members__ and not weights.startswith(
            enum_cls.__name__ + ".") and (os.sep in weights or "." in weights or os.path.exists(weights)):
        return os.path.expanduser(weights)
    entry = enum_cls.verify(weights, model_name)
    n = len(entry.meta["categories"] or ()) or None
    if n is not None and num_classes is not None and num_classes != n:
        raise WeightsError(f"{model_name}: the weights {entry!r} have {n} classes, received num_classes="
                           f"{num_classes}; build with num_classes={n} and replace the last layer to "
                           "fine-tune on other classes")
    return entry


# ----------------------------------------------------------------------------- torchvision's entries

_URL = "https://download.pytorch.org/models/"
_VGG_RECIPE = "https://github.com/pytorch/vision/tree/main/references/classification#alexnet-and-vgg"
_RESNET_RECIPE = "https://github.com/pytorch/vision/tree/main/references/classification#resnet"
_NEW_RECIPE_DOC = ("These weights improve upon the results of the original paper by using TorchVision's new "
                   "training recipe (https://pytorch.org/blog/how-to-train-state-of-the-art-models-using-"
                   "torchvision-latest-primitives/).")


def _entry(file_name, num_params, acc1, acc5, recipe, docs, min_size=(32, 32), resize_size=256,
           categories=IMAGENET_CATEGORIES, mean=IMAGENET_MEAN, std=IMAGENET_STD, gflops=None, file_mb=None):
    meta = {"categories": categories, "num_params": num_params, "min_size": min_size, "recipe": recipe,
            "_metrics": {"ImageNet-1K": {"acc@1": acc1, "acc@5": acc5}}, "_docs": docs}
    if gflops is not None:
        meta["_ops"] = gflops
    if file_mb is not None:
        meta["_file_size"] = file_mb
    return Weights(url=_URL + file_name,
                   transforms=functools.partial(ImageClassification, crop_size=224, resize_size=resize_size,
                                                mean=mean, std=std),
                   meta=meta)


_VGG_DOC = "These weights were trained from scratch by using a simplified training recipe."
_RESNET_DOC = "These weights reproduce closely the results of the paper using a simple training recipe."


class AlexNet_Weights(WeightsEnum):
    IMAGENET1K_V1 = _entry("alexnet-owt-7be5be79.pth", 61_100_840, 56.522, 79.066, _VGG_RECIPE,
                           "These weights reproduce closely the results of the paper using a simplified "
                           "training recipe.", min_size=(63, 63), gflops=0.714, file_mb=233.087)
    DEFAULT = IMAGENET1K_V1


class VGG11_Weights(WeightsEnum):
    IMAGENET1K_V1 = _entry("vgg11-8a719046.pth", 132_863_336, 69.02, 88.628, _VGG_RECIPE, _VGG_DOC,
                           gflops=7.609, file_mb=506.84)
    DEFAULT = IMAGENET1K_V1


class VGG11_BN_Weights(WeightsEnum):
    IMAGENET1K_V1 = _entry("vgg11_bn-6002323d.pth", 132_868_840, 70.37, 89.81, _VGG_RECIPE, _VGG_DOC,
                           gflops=7.609, file_mb=506.881)
    DEFAULT = IMAGENET1K_V1


class VGG13_Weights(WeightsEnum):
    IMAGENET1K_V1 = _entry("vgg13-19584684.pth", 133_047_848, 69.928, 89.246, _VGG_RECIPE, _VGG_DOC,
                           gflops=11.308, file_mb=507.545)
    DEFAULT = IMAGENET1K_V1


class VGG13_BN_Weights(WeightsEnum):
    IMAGENET1K_V1 = _entry("vgg13_bn-abd245e5.pth", 133_053_736, 71.586, 90.374, _VGG_RECIPE, _VGG_DOC,
                           gflops=11.308, file_mb=507.59)
    DEFAULT = IMAGENET1K_V1


class VGG16_Weights(WeightsEnum):
    IMAGENET1K_V1 = _entry("vgg16-397923af.pth", 138_357_544, 71.592, 90.382, _VGG_RECIPE, _VGG_DOC,
                           gflops=15.47, file_mb=527.796)
    # Ported from amdegroot/ssd.pytorch: only ``features`` holds trained values
    # (the classifier has NaNs); inputs in [0, 255] minus the mean, as Caffe.
    IMAGENET1K_FEATURES = _entry(
        "vgg16_features-amdegroot-88682ab5.pth", 138_357_544, float("nan"), float("nan"),
        "https://github.com/amdegroot/ssd.pytorch#training-ssd",
        "These weights can't be used for classification because they are missing values in the `classifier` "
        "module. Only the `features` module has valid values and can be used for feature extraction. The "
        "weights were trained using the original input standardization method as described in the paper.",
        categories=None, mean=(0.48235, 0.45882, 0.40784), std=(1.0 / 255.0,) * 3, gflops=15.47,
        file_mb=527.802)
    DEFAULT = IMAGENET1K_V1


class VGG16_BN_Weights(WeightsEnum):
    IMAGENET1K_V1 = _entry("vgg16_bn-6c64b313.pth", 138_365_992, 73.36, 91.516, _VGG_RECIPE, _VGG_DOC,
                           gflops=15.47, file_mb=527.866)
    DEFAULT = IMAGENET1K_V1


class VGG19_Weights(WeightsEnum):
    IMAGENET1K_V1 = _entry("vgg19-dcbb9e9d.pth", 143_667_240, 72.376, 90.876, _VGG_RECIPE, _VGG_DOC,
                           gflops=19.632, file_mb=548.051)
    DEFAULT = IMAGENET1K_V1


class VGG19_BN_Weights(WeightsEnum):
    IMAGENET1K_V1 = _entry("vgg19_bn-c79401a0.pth", 143_678_248, 74.218, 91.842, _VGG_RECIPE, _VGG_DOC,
                           gflops=19.632, file_mb=548.143)
    DEFAULT = IMAGENET1K_V1


class GoogLeNet_Weights(WeightsEnum):
    # Ported from the paper's Caffe model: they expect ``transform_input=True``
    # (the builder sets it) and include the auxiliary heads (dropped after loading).
    IMAGENET1K_V1 = _entry("googlenet-1378be20.pth", 6_624_904, 69.778, 89.53,
                           "https://github.com/pytorch/vision/tree/main/references/classification#googlenet",
                           "These weights are ported from the original paper.", min_size=(15, 15),
                           gflops=1.498, file_mb=49.731)
    DEFAULT = IMAGENET1K_V1


class ResNet18_Weights(WeightsEnum):
    IMAGENET1K_V1 = _entry("resnet18-f37072fd.pth", 11_689_512, 69.758, 89.078, _RESNET_RECIPE, _RESNET_DOC,
                           min_size=(1, 1), gflops=1.814, file_mb=44.661)
    DEFAULT = IMAGENET1K_V1


class ResNet34_Weights(WeightsEnum):
    IMAGENET1K_V1 = _entry("resnet34-b627a593.pth", 21_797_672, 73.314, 91.42, _RESNET_RECIPE, _RESNET_DOC,
                           min_size=(1, 1), gflops=3.664, file_mb=83.275)
    DEFAULT = IMAGENET1K_V1


class ResNet50_Weights(WeightsEnum):
    IMAGENET1K_V1 = _entry("resnet50-0676ba61.pth", 25_557_032, 76.13, 92.862, _RESNET_RECIPE, _RESNET_DOC,
                           min_size=(1, 1), gflops=4.089, file_mb=97.781)
    IMAGENET1K_V2 = _entry("resnet50-11ad3fa6.pth", 25_557_032, 80.858, 95.434,
                           "https://github.com/pytorch/vision/issues/3995#issuecomment-1013906621",
                           _NEW_RECIPE_DOC, min_size=(1, 1), resize_size=232, gflops=4.089, file_mb=97.79)
    DEFAULT = IMAGENET1K_V2


class ResNet101_Weights(WeightsEnum):
    IMAGENET1K_V1 = _entry("resnet101-63fe2227.pth", 44_549_160, 77.374, 93.546, _RESNET_RECIPE, _RESNET_DOC,
                           min_size=(1, 1), gflops=7.801, file_mb=170.511)
    IMAGENET1K_V2 = _entry("resnet101-cd907fc2.pth", 44_549_160, 81.886, 95.78,
                           "https://github.com/pytorch/vision/issues/3995#new-recipe", _NEW_RECIPE_DOC,
                           min_size=(1, 1), resize_size=232, gflops=7.801, file_mb=170.53)
    DEFAULT = IMAGENET1K_V2


class ResNet152_Weights(WeightsEnum):
    IMAGENET1K_V1 = _entry("resnet152-394f9c45.pth", 60_192_808, 78.312, 94.046, _RESNET_RECIPE, _RESNET_DOC,
                           min_size=(1, 1), gflops=11.514, file_mb=230.434)
    IMAGENET1K_V2 = _entry("resnet152-f82ba261.pth", 60_192_808, 82.284, 96.002,
                           "https://github.com/pytorch/vision/issues/3995#new-recipe", _NEW_RECIPE_DOC,
                           min_size=(1, 1), resize_size=232, gflops=11.514, file_mb=230.474)
    DEFAULT = IMAGENET1K_V2


_ENUMS = {cls.__name__: cls for cls in WeightsEnum.__subclasses__()}

# The registry name of each model -> its weights enum (used by the CLI).
MODEL_WEIGHTS = {
    "alexnet": AlexNet_Weights, "vgg11": VGG11_Weights, "vgg11_bn": VGG11_BN_Weights, "vgg13": VGG13_Weights,
    "vgg13_bn": VGG13_BN_Weights, "vgg16": VGG16_Weights, "vgg16_bn": VGG16_BN_Weights, "vgg19": VGG19_Weights,
    "vgg19_bn": VGG19_BN_Weights, "googlenet": GoogLeNet_Weights, "resnet18": ResNet18_Weights,
    "resnet34": ResNet34_Weights, "resnet50": ResNet50_Weights, "resnet101": ResNet101_Weights,
    "resnet152": ResNet152_Weights,
}
