"""torchvision's ``transforms.v2`` for single images: the v1 classes under
the same names, plus v2's conversion pair ``ToImage`` (PIL / array -> uint8
``(C, H, W)`` tensor) and ``ToDtype(dtype, scale=False)``, the replacement of
``ToTensor``::

    v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32, scale=True), v2.Normalize(mean, std)])

Not covered: v2's structured inputs (an ``(image, boxes, label)`` sample
transformed jointly) and the ``tv_tensors`` types; an image here is a PIL
image, a NumPy array or a plain tensor, as in v1.
"""
from __future__ import annotations

import numpy as np

from ...tensor import Tensor
from . import (CenterCrop, ColorJitter, Compose, GaussianBlur, Grayscale, InterpolationMode, Lambda, Normalize,
               Pad, RandomAffine, RandomApply, RandomChoice, RandomCrop, RandomErasing, RandomGrayscale,
               RandomHorizontalFlip, RandomOrder, RandomResizedCrop, RandomRotation, RandomVerticalFlip, Resize,
               ToPILImage, ToTensor, _Transform)
from . import functional
from . import functional as F

__all__ = ["ToImage", "ToDtype", "ToPureTensor", "Compose", "ToTensor", "ToPILImage", "Normalize", "Resize",
           "CenterCrop", "Pad", "Grayscale", "Lambda", "RandomCrop", "RandomResizedCrop", "RandomHorizontalFlip",
           "RandomVerticalFlip", "RandomRotation", "RandomAffine", "ColorJitter", "RandomGrayscale",
           "RandomApply", "RandomChoice", "RandomOrder", "RandomErasing", "GaussianBlur", "InterpolationMode",
           "functional"]


class ToImage(_Transform):
    """PIL image or ``(H, W[, C])`` array -> ``(C, H, W)`` tensor of the same
    dtype (uint8 stays uint8, unscaled); a tensor passes through."""

    batch_exact = True

    def __call__(self, img):
        if isinstance(img, Tensor):
            return img
        if F._is_pil(img):
            return F.pil_to_tensor(img)
        if isinstance(img, np.ndarray) and img.ndim in (2, 3):
            a = img[:, :, None] if img.ndim == 2 else img
            return Tensor._wrap(np.ascontiguousarray(a.transpose(2, 0, 1)))
        raise TypeError(f"ToImage: expected a PIL image, an (H, W[, C]) array or a tensor, received "
                        f"{type(img).__name__}")

    def apply_batch(self, imgs):
        if isinstance(imgs, Tensor):
            return imgs
        x, _ = F._nchw(imgs, "ToImage", batch=True)
        return Tensor._wrap(np.ascontiguousarray(x))

    def __repr__(self):
        return "ToImage()"


class ToDtype(_Transform):
    """Cast a tensor image to ``dtype``; with ``scale=True`` rescale the values
    between the types' ranges as :func:`functional.convert_image_dtype`
    (uint8 -> float: ``x / 255``)."""

    batch_exact = True

    def __init__(self, dtype, scale=False):
        self.dtype, self.scale = dtype, scale

    def __call__(self, img):
        if not isinstance(img, Tensor):
            return img                    # v2 leaves non-tensor inputs alone
        if self.scale:
            return F.convert_image_dtype(img, self.dtype)
        return Tensor._wrap(img.array.astype(np.dtype(self.dtype)))

    apply_batch = __call__


class ToPureTensor(_Transform):
    """v2 turns its tensor subclasses into plain tensors; ours are plain already."""

    batch_exact = True

    def __call__(self, img):
        return img

    apply_batch = __call__
