"""torchvision's ``utils``: ``make_grid`` (a batch of images tiled into one)
and ``save_image`` (that grid written as PNG/JPEG with Pillow)."""
from __future__ import annotations

import math

import numpy as np

from .. import backend
from ..tensor import Tensor

__all__ = ["make_grid", "save_image"]


def _as_array(tensor, who):
    if isinstance(tensor, Tensor):
        return backend.to_numpy(tensor.array)
    if isinstance(tensor, (list, tuple)):
        if not tensor:
            raise ValueError(f"{who}: received an empty list of images")
        return np.stack([_as_array(t, who) for t in tensor])
    if isinstance(tensor, np.ndarray):
        return tensor
    raise TypeError(f"{who}: tensor or list of tensors expected, received {type(tensor).__name__}")


def make_grid(tensor, nrow=8, padding=2, normalize=False, value_range=None, scale_each=False, pad_value=0.0):
    """Tile images into a grid ``nrow`` wide, ``padding`` pixels of
    ``pad_value`` between and around them.

    tensor: ``(B, C, H, W)`` or a list of ``(C, H, W)``; ``(C, H, W)`` and
    ``(H, W)`` are one image. One-channel images become three-channel.
    normalize: shift to [0, 1] by ``value_range = (low, high)`` (default the
    min and max of the whole batch, or of each image with ``scale_each``).
    Returns ``(C, (H + padding) * rows + padding, (W + padding) * cols + padding)``
    (a single image is returned alone, without the frame).
    """
    a = np.array(_as_array(tensor, "make_grid"), copy=True)
    if a.ndim == 2:
        a = a[None]
    if a.ndim == 3:
        a = a[None] if a.shape[0] != 1 else np.concatenate([a, a, a])[None]
    if a.ndim != 4:
        raise ValueError(f"make_grid: expected images (B, C, H, W), received shape {a.shape}")
    if a.shape[1] == 1:
        a = np.concatenate([a, a, a], axis=1)
    if normalize:
        if value_range is not None and not (isinstance(value_range, (tuple, list)) and len(value_range) == 2):
            raise TypeError(f"make_grid: value_range has to be a tuple (min, max), received {value_range!r}")

        def norm(img):
            low, high = value_range if value_range is not None else (float(img.min()), float(img.max()))
            np.clip(img, low, high, out=img)
            img -= low
            img /= max(high - low, 1e-5)
        if scale_each:
            for img in a:
                norm(img)
        else:
            norm(a)
    if a.shape[0] == 1:
        return Tensor._wrap(a[0])
    B, C, H, W = a.shape
    cols = min(nrow, B)
    rows = int(math.ceil(B / cols))
    h, w = H + padding, W + padding
    grid = np.full((C, h * rows + padding, w * cols + padding), pad_value, dtype=a.dtype)
    for k in range(B):
        y, x = divmod(k, cols)
        grid[:, y * h + padding: y * h + padding + H, x * w + padding: x * w + padding + W] = a[k]
    return Tensor._wrap(grid)


def save_image(tensor, fp, format=None, **kwargs):
    """:func:`make_grid` (``kwargs`` go to it), values in [0, 1] mapped to
    uint8 by ``round(255 x)`` clipped, saved with Pillow to ``fp`` (a path or
    a file object; ``format`` as Pillow's, needed for file objects)."""
    from PIL import Image
    grid = make_grid(tensor, **kwargs).array
    arr = np.clip(grid * 255 + 0.5, 0, 255).astype(np.uint8).transpose(1, 2, 0)
    Image.fromarray(np.ascontiguousarray(arr[:, :, 0] if arr.shape[2] == 1 else arr)).save(fp, format=format)
