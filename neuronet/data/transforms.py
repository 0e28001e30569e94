"""Image transforms and augmentation, NumPy only (CuPy arrays work too).

Layouts -- one rule everywhere:

* a **PIL image** or a **NumPy array** is an *image* in channels-last layout,
  ``(H, W)`` or ``(H, W, C)``, usually uint8 (what a decoder or the MNIST/CIFAR
  ``data`` arrays give);
* a **neuronet Tensor** is channels-first, ``(C, H, W)`` (or ``(H, W)``).

:class:`ToTensor` takes the first to the second (uint8 -> float32 in [0, 1]).
Geometric transforms accept either and return the type they received.

Call forms:

* ``t(img)`` -- one sample, as torchvision;
* ``t(img, mask)`` -> ``(img, mask)`` -- segmentation: transforms that move
  pixels move the mask ``(H, W)`` with the *same* random geometry, sampled
  nearest-neighbour so class ids stay integers (areas uncovered get class 0);
  photometric transforms (``Normalize``, ``ColorJitter``, ``RandomErasing``)
  leave the mask as it is, ``ToTensor`` turns it into an int64 tensor;
* ``t.apply_batch(imgs[, masks])`` -- a batch ``(N, H, W[, C])`` array or
  ``(N, C, H, W)`` tensor at once: per-sample random parameters are drawn for
  the whole batch in one call and applied with one vectorized gather. The
  :class:`~neuronet.data.DataLoader` uses it on array datasets (MNIST, CIFAR).

Geometry: pixel ``(i, j)`` has its centre at ``x = j, y = i``; rotations and
affine maps turn about the image centre ``((W-1)/2, (H-1)/2)``. Each output
pixel is *pulled* from the source position given by the inverse map and read
by bilinear interpolation (``interpolation='bilinear'``) or nearest neighbour
(``'nearest'``, torchvision's default for rotations and affine maps);
positions outside the image read ``fill``.

Randomness: transforms draw from the generator given as ``generator=``, else
from the DataLoader's per-epoch generator, else from the one seeded by
``neuronet.manual_seed`` -- so results repeat under a seed.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from .. import backend
from ..tensor import Tensor
from . import _random

__all__ = ["Compose", "ToTensor", "Normalize", "Lambda", "RandomCrop", "RandomHorizontalFlip",
           "RandomVerticalFlip", "RandomRotation", "RandomAffine", "ElasticTransform", "RandomErasing",
           "ColorJitter", "CenterCrop", "Resize", "Pad", "Transform",
           "affine", "rotate", "hflip", "vflip", "pad", "crop", "center_crop", "resize", "normalize",
           "to_tensor", "elastic_displacement"]


# ============================================================ layout plumbing
def _is_pil(x):
    return type(x).__module__.startswith("PIL.")


def _to_nchw(x, batch, who):
    """``x`` as an ``(N, C, H, W)`` array plus a function restoring its type/layout."""
    if _is_pil(x):
        n, restore_arr = _to_nchw(np.asarray(x), False, who)

        def restore(out):
            from PIL import Image
            return Image.fromarray(np.ascontiguousarray(restore_arr(out)))
        return n, restore
    if isinstance(x, Tensor):
        a = x.array
        if batch:
            if a.ndim == 4:
                return a, Tensor._wrap
            if a.ndim == 3:
                return a[:, None], lambda o: Tensor._wrap(o[:, 0])
        else:
            if a.ndim == 3:
                return a[None], lambda o: Tensor._wrap(o[0])
            if a.ndim == 2:
                return a[None, None], lambda o: Tensor._wrap(o[0, 0])
        want = "(N, C, H, W) or (N, H, W)" if batch else "(C, H, W) or (H, W)"
        raise ValueError(f"{who}: expected a tensor of shape {want}, received shape {tuple(a.shape)}")
    if hasattr(x, "shape") and hasattr(x, "dtype"):
        a = x
        if batch:
            if a.ndim == 3:
                return a[:, None], lambda o: o[:, 0]
            if a.ndim == 4:
                return a.transpose(0, 3, 1, 2), lambda o: o.transpose(0, 2, 3, 1)
        else:
            if a.ndim == 2:
                return a[None, None], lambda o: o[0, 0]
            if a.ndim == 3:
                return a.transpose(2, 0, 1)[None], lambda o: o[0].transpose(1, 2, 0)
        want = "(N, H, W) or (N, H, W, C)" if batch else "(H, W) or (H, W, C)"
        raise ValueError(f"{who}: expected an image array of shape {want} (channels last), "
                         f"received shape {tuple(a.shape)}")
    raise TypeError(f"{who}: expected a PIL image, a NumPy array or a neuronet Tensor, "
                    f"received {type(x).__name__}")


def _mask_to_n1hw(m, batch, who):
    if _is_pil(m):
        m = np.asarray(m)
    arr = m.array if isinstance(m, Tensor) else m
    want = 3 if batch else 2
    if not hasattr(arr, "ndim") or arr.ndim != want:
        raise ValueError(f"{who}: a mask must have shape {'(N, H, W)' if batch else '(H, W)'}, "
                         f"received {getattr(arr, 'shape', type(m).__name__)}")
    n = arr[:, None] if batch else arr[None, None]
    wrap = Tensor._wrap if isinstance(m, Tensor) else (lambda a: a)
    return n, (lambda o: wrap(o[:, 0])) if batch else (lambda o: wrap(o[0, 0]))


def _cast_like(out, ref_dtype):
    """Bring a float result back to the input's dtype (uint8: round and clip)."""
    if out.dtype == ref_dtype:
        return out
    xp = backend.array_module(out)
    if np.dtype(ref_dtype).kind in "ui":
        info = np.iinfo(ref_dtype)
        return xp.clip(xp.rint(out), info.min, info.max).astype(ref_dtype)
    if np.dtype(ref_dtype).kind == "b":
        return out > 0.5
    return out.astype(ref_dtype)


def _fill_array(fill, C, xp, dtype=np.float64):
    """``fill`` (number or per-channel sequence) as a ``(1, C, 1)`` array."""
    if fill is None:
        fill = 0
    f = np.asarray(fill, dtype=np.float64).reshape(-1)
    if f.size not in (1, C):
        raise ValueError(f"fill must be a number or have one value per channel ({C}), received {fill!r}")
    return xp.asarray(np.broadcast_to(f, (C,)).reshape(1, C, 1).astype(dtype))


# ============================================================ sampling kernel
def _sample(x, sx, sy, interpolation="bilinear", fill=0):
    """Read ``x`` at real-valued source positions: the gather behind every warp.

    x: (N, C, H, W); sx, sy: (N, Ho, Wo) source column/row of each output
    pixel. Bilinear: ``out = sum_k w_k v_k`` over the 4 neighbours
    ``(floor(sx) + {0,1}, floor(sy) + {0,1})`` with weights
    ``(1 - fx or fx) * (1 - fy or fy)``, ``fx = sx - floor(sx)``; nearest: the
    neighbour at ``rint(s)`` (ties to even, as PyTorch's
    ``grid_sample``). Positions outside the image read ``fill``.
    Returns (N, C, Ho, Wo) in the dtype of ``x``.

    How: ``x`` is padded with a one-pixel frame of ``fill`` and coordinates are
    clamped into that frame, so every read is in bounds (no masks) and each
    neighbour is one ``take`` on the flattened batch.
    """
    xp = backend.array_module(x)
    N, C, H, W = x.shape
    Ho, Wo = sx.shape[1:]
    P = Ho * Wo
    Hp, Wp = H + 3, W + 3                                  # frame: 1 before, 2 after
    # float32 holds every index exactly below 2**24
    work = np.float64 if x.dtype == np.float64 or N * C * Hp * Wp >= 2**24 else np.float32
    xpad = _pad_nchw(x.astype(work, copy=False), (1, 1, 2, 2), fill)
    sx = xp.clip(sx.reshape(N, 1, P).astype(work, copy=False), -1, W)
    sy = xp.clip(sy.reshape(N, 1, P).astype(work, copy=False), -1, H)
    base = xp.asarray((np.arange(N)[:, None, None] * (C * Hp * Wp) + np.arange(C)[None, :, None] * (Hp * Wp)
                       + (Wp + 1)).astype(work))             # + (Wp + 1): the frame offset
    flat = xpad.reshape(-1)
    if interpolation == "nearest":
        pos = (xp.rint(sy) * Wp + xp.rint(sx) + base).astype(np.intp)
        return _cast_like(xp.take(flat, pos), x.dtype).reshape(N, C, Ho, Wo)
    if interpolation != "bilinear":
        raise ValueError(f"interpolation must be 'bilinear' or 'nearest', received {interpolation!r}")
    x0 = xp.floor(sx)
    y0 = xp.floor(sy)
    fx = sx - x0
    fy = sy - y0
    i00 = (y0 * Wp + x0 + base).astype(np.intp)            # (N, C, P) top-left corners
    top = xp.take(flat, i00)
    top += (xp.take(flat, i00 + 1) - top) * fx
    bottom = xp.take(flat, i00 + Wp)
    bottom += (xp.take(flat, i00 + (Wp + 1)) - bottom) * fx
    top += (bottom - top) * fy
    return _cast_like(top, x.dtype).reshape(N, C, Ho, Wo)


def _affine_matrix(angle, scale, shear_x, shear_y):
    """Forward linear part ``A = R(angle) @ Sh(shear) * scale``, (N, 2, 2).

    Coordinates are (x right, y down); ``R`` turns counter-clockwise *as seen
    on screen* for positive angles (torchvision's and ``np.rot90``'s sense):
    ``R = [[cos a, sin a], [-sin a, cos a]]``; ``Sh = [[1, tan sx], [tan sy, 1]]``.
    """
    a = np.deg2rad(np.asarray(angle, dtype=np.float64))
    c, s = np.cos(a), np.sin(a)
    R = np.stack([np.stack([c, s], -1), np.stack([-s, c], -1)], -2)
    tx = np.tan(np.deg2rad(np.asarray(shear_x, dtype=np.float64)))
    ty = np.tan(np.deg2rad(np.asarray(shear_y, dtype=np.float64)))
    one = np.ones_like(tx)
    Sh = np.stack([np.stack([one, tx], -1), np.stack([ty, one], -1)], -2)
    return R @ Sh * np.asarray(scale, dtype=np.float64)[..., None, None]


def _warp_affine(x, A, t, interpolation, fill):
    """Apply ``p' = A p + t`` (centred pixel coordinates) to a batch by pulling
    every output pixel from ``p = A^{-1} (p' - t)``.

    x: (N, C, H, W); A: (N, 2, 2); t: (N, 2) translation in pixels.
    """
    xp = backend.array_module(x)
    N, C, H, W = x.shape
    Ainv = np.linalg.inv(A)                                  # (N, 2, 2), float64
    # snap entries within 1e-9 of an integer (cos 90 deg = 6e-17), so that
    # quarter turns and whole-pixel shifts are exact permutations of pixels
    r = np.rint(Ainv)
    Ainv = np.where(np.abs(Ainv - r) < 1e-9, r, Ainv)
    # p = Ainv p' - Ainv t, plus the centre: one offset per sample and axis
    off = np.array([(W - 1) / 2, (H - 1) / 2]) - np.einsum("nij,nj->ni", Ainv, np.asarray(t, np.float64))
    work = np.float64 if x.dtype == np.float64 else np.float32
    col = lambda v: xp.asarray(v.astype(work)).reshape(N, 1, 1)  # noqa: E731
    gy = xp.asarray((np.arange(H) - (H - 1) / 2).astype(work)).reshape(1, H, 1)
    gx = xp.asarray((np.arange(W) - (W - 1) / 2).astype(work)).reshape(1, 1, W)
    sx = col(Ainv[:, 0, 0]) * gx + (col(Ainv[:, 0, 1]) * gy + col(off[:, 0]))
    sy = col(Ainv[:, 1, 0]) * gx + (col(Ainv[:, 1, 1]) * gy + col(off[:, 1]))
    return _sample(x, sx, sy, interpolation, fill)


# ============================================================ functional API
def affine(img, angle=0.0, translate=(0, 0), scale=1.0, shear=(0.0, 0.0), interpolation="bilinear",
           fill=0, mask=None):
    """Affine map about the centre: rotate ``angle`` degrees counter-clockwise,
    shear, scale, then shift by ``translate = (dx, dy)`` pixels (right, down).
    ``mask`` (optional) follows with nearest-neighbour sampling."""
    shear = (shear, 0.0) if isinstance(shear, numbers.Number) else tuple(shear)
    A = _affine_matrix([angle], [scale], [shear[0]], [shear[1]])
    t = np.array([[translate[0], translate[1]]], dtype=np.float64)
    x, restore = _to_nchw(img, False, "affine")
    out = restore(_warp_affine(x, A, t, interpolation, fill))
    if mask is None:
        return out
    m, mrestore = _mask_to_n1hw(mask, False, "affine")
    return out, mrestore(_warp_affine(m, A, t, "nearest", 0))


def rotate(img, angle, interpolation="bilinear", fill=0, mask=None):
    """Rotate ``angle`` degrees counter-clockwise about the centre (same size)."""
    return affine(img, angle=angle, interpolation=interpolation, fill=fill, mask=mask)


def hflip(img):
    x, restore = _to_nchw(img, False, "hflip")
    return restore(x[..., ::-1].copy())


def vflip(img):
    x, restore = _to_nchw(img, False, "vflip")
    return restore(x[..., ::-1, :].copy())


def _pad_tuple(padding, who):
    """torchvision's padding forms -> (left, top, right, bottom)."""
    if isinstance(padding, numbers.Integral):
        p = (int(padding),) * 4
    else:
        p = tuple(int(v) for v in padding)
        if len(p) == 1:
            p = p * 4
        elif len(p) == 2:
            p = (p[0], p[1], p[0], p[1])
        elif len(p) != 4:
            raise ValueError(f"{who}: padding must be an int or a sequence of 1, 2 or 4 ints, received {padding!r}")
    if any(v < 0 for v in p):
        raise ValueError(f"{who}: padding must be non-negative, received {padding!r}")
    return p


_PAD_MODES = {"constant": "constant", "edge": "edge", "reflect": "reflect", "symmetric": "symmetric"}


def _pad_nchw(x, ltrb, fill=0, padding_mode="constant"):
    xp = backend.array_module(x)
    l, t, r, b = ltrb
    if padding_mode not in _PAD_MODES:
        raise ValueError(f"padding_mode must be one of {sorted(_PAD_MODES)}, received {padding_mode!r}")
    widths = ((0, 0), (0, 0), (t, b), (l, r))
    if padding_mode != "constant":
        return xp.pad(x, widths, mode=padding_mode)
    f = np.asarray(0 if fill is None else fill, dtype=np.float64).reshape(-1)
    if f.size == 1:
        return xp.pad(x, widths, mode="constant", constant_values=_cast_like(np.array(f[0]), x.dtype).item())
    C = x.shape[1]
    if f.size != C:
        raise ValueError(f"fill must be a number or have one value per channel ({C}), received {fill!r}")
    return xp.concatenate([xp.pad(x[:, c:c + 1], widths, mode="constant",
                                  constant_values=_cast_like(np.array(f[c]), x.dtype).item())
                           for c in range(C)], axis=1)


def pad(img, padding, fill=0, padding_mode="constant"):
    """Pad the borders: ``padding`` int, (left/right, top/bottom) or (l, t, r, b)."""
    x, restore = _to_nchw(img, False, "pad")
    return restore(_pad_nchw(x, _pad_tuple(padding, "pad"), fill, padding_mode))


def crop(img, top, left, height, width):
    x, restore = _to_nchw(img, False, "crop")
    return restore(x[..., top:top + height, left:left + width].copy())


def _size2(size, who):
    if isinstance(size, numbers.Integral):
        return int(size), int(size)
    s = tuple(int(v) for v in size)
    if len(s) == 1:
        return s[0], s[0]
    if len(s) != 2:
        raise ValueError(f"{who}: size must be an int or (h, w), received {size!r}")
    return s


def _center_crop_nchw(x, size):
    h, w = size
    H, W = x.shape[-2:]
    if h > H or w > W:  # pad evenly first, as torchvision
        ltrb = ((w - W) // 2 if w > W else 0, (h - H) // 2 if h > H else 0,
                (w - W + 1) // 2 if w > W else 0, (h - H + 1) // 2 if h > H else 0)
        x = _pad_nchw(x, ltrb)
        H, W = x.shape[-2:]
    top = int(round((H - h) / 2.0))
    left = int(round((W - w) / 2.0))
    return x[..., top:top + h, left:left + w].copy()


def center_crop(img, size):
    x, restore = _to_nchw(img, False, "center_crop")
    return restore(_center_crop_nchw(x, _size2(size, "center_crop")))


def _resize_size(size, H, W, max_size=None):
    if isinstance(size, numbers.Integral) or (not isinstance(size, numbers.Number) and len(size) == 1):
        s = int(size) if isinstance(size, numbers.Integral) else int(size[0])
        short, long = (H, W) if H <= W else (W, H)
        new_short, new_long = s, int(s * long / short)
        if max_size is not None and new_long > max_size:
            new_short, new_long = int(max_size * new_short / new_long), max_size
        return (new_short, new_long) if H <= W else (new_long, new_short)
    return _size2(size, "Resize")


def _resize_nchw(x, out_hw, interpolation="bilinear"):
    """Separable resize with PyTorch's ``align_corners=False`` convention:
    source coordinate ``s = (d + 1/2) * in/out - 1/2`` (clamped at 0), bilinear
    between ``floor(s)`` and ``floor(s)+1``; nearest reads ``floor(d * in/out)``."""
    xp = backend.array_module(x)
    Ho, Wo = out_hw
    H, W = x.shape[-2:]
    if interpolation == "nearest":
        iy = xp.asarray(np.minimum(np.floor(np.arange(Ho) * (H / Ho)).astype(np.int64), H - 1))
        ix = xp.asarray(np.minimum(np.floor(np.arange(Wo) * (W / Wo)).astype(np.int64), W - 1))
        return x[..., iy[:, None], ix[None, :]]
    if interpolation != "bilinear":
        raise ValueError(f"Resize: interpolation must be 'bilinear' or 'nearest', received {interpolation!r}")

    def axis_weights(n_in, n_out):
        s = np.maximum((np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5, 0.0)
        i0 = np.minimum(np.floor(s).astype(np.int64), n_in - 1)
        i1 = np.minimum(i0 + 1, n_in - 1)
        w = s - i0
        return xp.asarray(i0), xp.asarray(i1), xp.asarray(w)

    work = x.astype(np.float32 if x.dtype != np.float64 else np.float64)
    i0, i1, w = axis_weights(H, Ho)
    work = work[..., i0, :] * (1 - w)[:, None] + work[..., i1, :] * w[:, None]
    j0, j1, v = axis_weights(W, Wo)
    work = work[..., j0] * (1 - v) + work[..., j1] * v
    return _cast_like(work, x.dtype)


def resize(img, size, interpolation="bilinear", max_size=None):
    """Resize to ``size`` ((h, w), or an int: the shorter side, keeping the aspect)."""
    x, restore = _to_nchw(img, False, "resize")
    return restore(_resize_nchw(x, _resize_size(size, *x.shape[-2:], max_size=max_size), interpolation))


def to_tensor(pic):
    """PIL image or ``(H, W[, C])`` array -> ``(C, H, W)`` Tensor; uint8 is
    scaled to float32 in [0, 1], other dtypes keep their values."""
    if _is_pil(pic):
        pic = np.asarray(pic)
    if isinstance(pic, Tensor):
        raise TypeError("ToTensor: input is already a Tensor; ToTensor takes a PIL image or an "
                        "(H, W[, C]) array")
    if not hasattr(pic, "ndim") or pic.ndim not in (2, 3):
        raise TypeError(f"ToTensor: expected a PIL image or an (H, W) / (H, W, C) array, received "
                        f"{getattr(pic, 'shape', type(pic).__name__)}")
    x = pic[:, :, None] if pic.ndim == 2 else pic
    return Tensor._wrap(_scale_to_float(x.transpose(2, 0, 1)))


def _scale_to_float(a):
    xp = backend.array_module(a)
    if a.dtype == np.uint8:
        return xp.ascontiguousarray(a, dtype=np.float32) / np.float32(255)
    if a.dtype.kind == "b":
        return xp.ascontiguousarray(a, dtype=np.float32)
    return xp.ascontiguousarray(a)


def normalize(tensor, mean, std, inplace=False):
    """``(x - mean[c]) / std[c]`` per channel; tensor ``(..., C, H, W)``."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"Normalize expects a Tensor (after ToTensor), received {type(tensor).__name__}")
    a = tensor.array
    if a.ndim < 3 or a.dtype.kind != "f":
        raise ValueError(f"Normalize expects a float tensor of shape (..., C, H, W), received shape "
                         f"{tuple(a.shape)} dtype {a.dtype}")
    xp = backend.array_module(a)
    C = a.shape[-3]
    mean = np.asarray(mean, dtype=np.float64).reshape(-1)
    std = np.asarray(std, dtype=np.float64).reshape(-1)
    for name, v in (("mean", mean), ("std", std)):
        if v.size not in (1, C):
            raise ValueError(f"Normalize: {name} has {v.size} values, the tensor has {C} channels")
    if np.any(std == 0):
        raise ValueError(f"Normalize: std contains a zero ({std.tolist()}), division by zero")
    m = xp.asarray(np.broadcast_to(mean, (C,)).reshape(C, 1, 1).astype(a.dtype))
    s = xp.asarray(np.broadcast_to(std, (C,)).reshape(C, 1, 1).astype(a.dtype))
    if inplace:
        a -= m
        a /= s
        return tensor
    return Tensor._wrap((a - m) / s)


# ============================================================ transform classes
class Transform:
    """Base of the transforms: subclasses implement ``_forward(x, m, g)`` on an
    ``(N, C, H, W)`` array ``x`` and an optional ``(N, 1, H, W)`` mask ``m``,
    drawing per-sample parameters for all ``N`` from generator ``g``."""

    generator = None

    def __call__(self, img, mask=None):
        x, restore = _to_nchw(img, False, type(self).__name__)
        m, mrestore = (None, None) if mask is None else _mask_to_n1hw(mask, False, type(self).__name__)
        x, m = self._forward(x, m, _random.resolve(self.generator))
        return restore(x) if mask is None else (restore(x), mrestore(m))

    def apply_batch(self, imgs, masks=None):
        """The transform on a batch: ``(N, H, W[, C])`` array or ``(N, C, H, W)``
        tensor (and masks ``(N, H, W)``), parameters drawn per sample."""
        x, restore = _to_nchw(imgs, True, type(self).__name__)
        m, mrestore = (None, None) if masks is None else _mask_to_n1hw(masks, True, type(self).__name__)
        x, m = self._forward(x, m, _random.resolve(self.generator))
        return restore(x) if masks is None else (restore(x), mrestore(m))

    def _forward(self, x, m, g):
        raise NotImplementedError

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_") and k != "generator")
        return f"{type(self).__name__}({args})"


class Compose:
    """Chain transforms: ``Compose([t1, t2])(x) == t2(t1(x))``.

    With a mask, ``Compose(...)(img, mask)`` threads both through every
    transform of this module; plain callables in the list see the image only.
    ``apply_batch`` exists when every part has one.
    """

    def __init__(self, transforms):
        self.transforms = list(transforms)

    def __call__(self, img, mask=None):
        for t in self.transforms:
            if mask is not None and isinstance(t, (Transform, Compose, ToTensor, Normalize)):
                img, mask = t(img, mask)
            else:
                img = t(img)
        return img if mask is None else (img, mask)

    @property
    def supports_batch(self):
        from .dataset import supports_batch
        return all(supports_batch(t) for t in self.transforms)

    def apply_batch(self, imgs, masks=None):
        if not self.supports_batch:
            bad = [type(t).__name__ for t in self.transforms if not callable(getattr(t, "apply_batch", None))]
            raise TypeError(f"Compose.apply_batch: {bad} have no batch form")
        for t in self.transforms:
            if masks is None:
                imgs = t.apply_batch(imgs)
            else:
                imgs, masks = t.apply_batch(imgs, masks)
        return imgs if masks is None else (imgs, masks)

    def __repr__(self):
        return "Compose(\n" + "".join(f"    {t!r}\n" for t in self.transforms) + ")"


class Lambda:
    """Wrap a function of the image as a transform (item by item only)."""

    def __init__(self, lambd):
        if not callable(lambd):
            raise TypeError(f"Lambda expects a callable, received {type(lambd).__name__}")
        self.lambd = lambd

    def __call__(self, img):
        return self.lambd(img)


class ToTensor:
    """PIL image / ``(H, W[, C])`` uint8 array -> ``(C, H, W)`` float32 Tensor in
    [0, 1]. Batch form: ``(N, H, W[, C])`` -> ``(N, C, H, W)``. A mask becomes
    an int64 ``(H, W)`` tensor, unscaled."""

    def __call__(self, pic, mask=None):
        out = to_tensor(pic)
        if mask is None:
            return out
        return out, _mask_tensor(mask)

    def apply_batch(self, pics, masks=None):
        if isinstance(pics, Tensor) or not hasattr(pics, "ndim") or pics.ndim not in (3, 4):
            raise TypeError(f"ToTensor.apply_batch: expected an (N, H, W) or (N, H, W, C) array, received "
                            f"{type(pics).__name__} of shape {getattr(pics, 'shape', None)}")
        a = pics
        x = a[:, None] if a.ndim == 3 else a.transpose(0, 3, 1, 2)
        out = Tensor._wrap(_scale_to_float(x))
        return out if masks is None else (out, _mask_tensor(masks))

    def __repr__(self):
        return "ToTensor()"


def _mask_tensor(mask):
    if isinstance(mask, Tensor):
        return mask
    if _is_pil(mask):
        mask = np.asarray(mask)
    return Tensor._wrap(np.asarray(mask).astype(np.int64))


class Normalize:
    """``(x - mean[c]) / std[c]`` on a ``(C, H, W)`` (or batched) float tensor.

    Pick ``mean``/``std`` with :func:`neuronet.data.mean_std`; MNIST's usual
    values are (0.1307,), (0.3081,).
    """

    def __init__(self, mean, std, inplace=False):
        self.mean = tuple(float(v) for v in np.asarray(mean, dtype=np.float64).reshape(-1))
        self.std = tuple(float(v) for v in np.asarray(std, dtype=np.float64).reshape(-1))
        self.inplace = inplace
        if any(s == 0 for s in self.std):
            raise ValueError(f"Normalize: std contains a zero ({self.std}), division by zero")

    def __call__(self, tensor, mask=None):
        out = normalize(tensor, self.mean, self.std, self.inplace)
        return out if mask is None else (out, mask)

    apply_batch = __call__

    def __repr__(self):
        return f"Normalize(mean={self.mean}, std={self.std})"


def _check_p(p, who):
    if not 0.0 <= float(p) <= 1.0:
        raise ValueError(f"{who}: p must be a probability in [0, 1], received {p!r}")
    return float(p)


class RandomHorizontalFlip(Transform):
    """Mirror left-right with probability ``p`` (each sample independently)."""

    def __init__(self, p=0.5, generator=None):
        self.p = _check_p(p, "RandomHorizontalFlip")
        self.generator = generator

    def _forward(self, x, m, g):
        xp = backend.array_module(x)
        flip = xp.asarray(g.random(x.shape[0]) < self.p)[:, None, None, None]
        x = xp.where(flip, x[..., ::-1], x)
        if m is not None:
            m = xp.where(flip, m[..., ::-1], m)
        return x, m


class RandomVerticalFlip(Transform):
    """Mirror top-bottom with probability ``p`` (each sample independently)."""

    def __init__(self, p=0.5, generator=None):
        self.p = _check_p(p, "RandomVerticalFlip")
        self.generator = generator

    def _forward(self, x, m, g):
        xp = backend.array_module(x)
        flip = xp.asarray(g.random(x.shape[0]) < self.p)[:, None, None, None]
        x = xp.where(flip, x[..., ::-1, :], x)
        if m is not None:
            m = xp.where(flip, m[..., ::-1, :], m)
        return x, m


def _range(v, who, name, center=0.0, nonneg=True):
    """torchvision's "number or (min, max)" parameters."""
    if isinstance(v, numbers.Number):
        if nonneg and v < 0:
            raise ValueError(f"{who}: {name} as a single number must be non-negative, received {v!r}")
        return (center - v, center + v)
    v = tuple(float(a) for a in v)
    if len(v) != 2 or v[0] > v[1]:
        raise ValueError(f"{who}: {name} must be a number or a (min, max) pair, received {v!r}")
    return v


class RandomAffine(Transform):
    """Random affine map (LeCun et al. 1998's distortions for MNIST).

    Per sample: angle ~ U(degrees), translation ``(dx, dy)`` with
    ``|dx| <= translate[0] * W`` and ``|dy| <= translate[1] * H`` (rounded to
    whole pixels, as torchvision), scale ~ U(scale), shear ~ U(shear) degrees
    (a number s: x-shear in (-s, s); 2 values: x-shear range; 4 values: x then
    y ranges). Map: ``p' = R(angle) Sh(shear) scale p + t`` about the centre.
    """

    def __init__(self, degrees, translate=None, scale=None, shear=None, interpolation="nearest", fill=0,
                 generator=None):
        self.degrees = _range(degrees, "RandomAffine", "degrees")
        if translate is not None:
            translate = tuple(float(t) for t in translate)
            if len(translate) != 2 or not all(0 <= t <= 1 for t in translate):
                raise ValueError(f"RandomAffine: translate must be two fractions in [0, 1], received {translate!r}")
        if scale is not None:
            scale = tuple(float(s) for s in scale)
            if len(scale) != 2 or scale[0] <= 0 or scale[0] > scale[1]:
                raise ValueError(f"RandomAffine: scale must be (min, max) with 0 < min <= max, received {scale!r}")
        if shear is not None:
            if isinstance(shear, numbers.Number):
                shear = _range(shear, "RandomAffine", "shear") + (0.0, 0.0)
            else:
                shear = tuple(float(s) for s in shear)
                if len(shear) == 2:
                    shear = shear + (0.0, 0.0)
                if len(shear) != 4:
                    raise ValueError(f"RandomAffine: shear must be a number or 2 or 4 values, received {shear!r}")
        if interpolation not in ("nearest", "bilinear"):
            raise ValueError(f"RandomAffine: interpolation must be 'nearest' or 'bilinear', received {interpolation!r}")
        self.translate, self.scale, self.shear = translate, scale, shear
        self.interpolation, self.fill, self.generator = interpolation, fill, generator

    def _params(self, N, H, W, g):
        angle = g.uniform(*self.degrees, size=N)
        if self.translate is not None:
            t = np.stack([np.rint(g.uniform(-1, 1, size=N) * self.translate[0] * W),
                          np.rint(g.uniform(-1, 1, size=N) * self.translate[1] * H)], 1)
        else:
            t = np.zeros((N, 2))
        s = g.uniform(*self.scale, size=N) if self.scale is not None else np.ones(N)
        if self.shear is not None:
            shx = g.uniform(self.shear[0], self.shear[1], size=N)
            shy = g.uniform(self.shear[2], self.shear[3], size=N)
        else:
            shx = shy = np.zeros(N)
        return _affine_matrix(angle, s, shx, shy), t

    def _forward(self, x, m, g):
        A, t = self._params(x.shape[0], x.shape[2], x.shape[3], g)
        x = _warp_affine(x, A, t, self.interpolation, self.fill)
        if m is not None:
            m = _warp_affine(m, A, t, "nearest", 0)
        return x, m


class RandomRotation(RandomAffine):
    """Rotate by an angle ~ U(degrees) (a number d: (-d, d)) counter-clockwise
    about the centre, keeping the size; corners read ``fill``."""

    def __init__(self, degrees, interpolation="nearest", expand=False, center=None, fill=0, generator=None):
        if expand or center is not None:
            raise ValueError("RandomRotation: expand=True and a custom center are not supported "
                             "(rotation is about the image centre, output size = input size)")
        super().__init__(degrees, interpolation=interpolation, fill=fill, generator=generator)


def _blur_matrix(n, sigma):
    """The 1-d Gaussian blur (std ``sigma``, truncated at 4 sigma) of a length-
    ``n`` signal with reflect borders (as torchvision), as an ``(n, n)`` matrix
    ``K``: ``blur(f) = K @ f``. Reflection folds the taps that fall outside
    back inside, so each row still sums to 1."""
    r = max(1, int(4.0 * sigma + 0.5))
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    k /= k.sum()
    K = np.zeros((n, n))
    i = np.arange(n)
    period = 2 * (n - 1) if n > 1 else 1
    for off, w in zip(range(-r, r + 1), k):
        j = np.abs((i + off) % period) if n > 1 else np.zeros_like(i)
        j = np.where(j > n - 1, period - j, j)       # reflect: -1 -> 1, n -> n - 2
        np.add.at(K, (i, j), w)
    return K


def _gaussian_blur(field, sigma):
    """Separable Gaussian blur of ``(N, H, W)`` fields: ``K_H @ f @ K_W^T``
    (two small batched matrix products instead of a per-tap loop)."""
    xp = backend.array_module(field)
    _, H, W = field.shape
    KH = xp.asarray(_blur_matrix(H, sigma).astype(field.dtype))
    KW = xp.asarray(_blur_matrix(W, sigma).astype(field.dtype))
    return xp.matmul(xp.matmul(KH, field), KW.T)


def elastic_displacement(N, H, W, alpha, sigma, g, xp=np):
    """Simard et al. (2003): random fields ``U(-1, 1)`` per pixel, smoothed by a
    Gaussian of std ``sigma`` (pixels), scaled by ``alpha`` -> (dx, dy) in pixels."""
    d = xp.asarray(g.uniform(-1.0, 1.0, size=(2 * N, H, W)).astype(np.float32))
    d = _gaussian_blur(d, sigma) * alpha
    return d[:N], d[N:]


class ElasticTransform(Transform):
    """Elastic distortion (Simard, Steinkraus & Platt 2003): each pixel moves by
    a smooth random displacement field, ``alpha`` x a Gaussian-smoothed (std
    ``sigma``) uniform(-1, 1) field, in pixels. Simard used alpha=34, sigma=4
    on MNIST, and those are the defaults here. (torchvision's ElasticTransform
    defaults to alpha=50, sigma=5 and measures alpha relative to the image
    size: its alpha is twice ours for a square image.)"""

    def __init__(self, alpha=34.0, sigma=4.0, interpolation="bilinear", fill=0, generator=None):
        if alpha < 0 or sigma <= 0:
            raise ValueError(f"ElasticTransform: need alpha >= 0 and sigma > 0, received alpha={alpha}, sigma={sigma}")
        self.alpha, self.sigma = float(alpha), float(sigma)
        self.interpolation, self.fill, self.generator = interpolation, fill, generator

    def _forward(self, x, m, g):
        xp = backend.array_module(x)
        N, C, H, W = x.shape
        dx, dy = elastic_displacement(N, H, W, self.alpha, self.sigma, g, xp)
        gy, gx = xp.meshgrid(xp.arange(H, dtype=np.float32), xp.arange(W, dtype=np.float32), indexing="ij")
        sx, sy = gx[None] + dx, gy[None] + dy
        x = _sample(x, sx, sy, self.interpolation, self.fill)
        if m is not None:
            m = _sample(m, sx, sy, "nearest", 0)
        return x, m


class RandomCrop(Transform):
    """Crop a random ``size`` window (after optional ``padding``; with
    ``pad_if_needed`` images smaller than ``size`` are padded first).
    ``padding_mode``: constant (with ``fill``), edge, reflect, symmetric."""

    def __init__(self, size, padding=None, pad_if_needed=False, fill=0, padding_mode="constant",
                 generator=None):
        self.size = _size2(size, "RandomCrop")
        self.padding = None if padding is None else _pad_tuple(padding, "RandomCrop")
        if padding_mode not in _PAD_MODES:
            raise ValueError(f"RandomCrop: padding_mode must be one of {sorted(_PAD_MODES)}, received {padding_mode!r}")
        self.pad_if_needed, self.fill, self.padding_mode = pad_if_needed, fill, padding_mode
        self.generator = generator

    def _forward(self, x, m, g):
        xp = backend.array_module(x)

        def padded(a, ltrb, fill):
            return _pad_nchw(a, ltrb, fill, self.padding_mode)
        if self.padding is not None:
            x = padded(x, self.padding, self.fill)
            m = None if m is None else padded(m, self.padding, 0)
        h, w = self.size
        H, W = x.shape[-2:]
        if self.pad_if_needed and (H < h or W < w):
            ltrb = (max(w - W, 0), max(h - H, 0), max(w - W, 0), max(h - H, 0))
            x = padded(x, ltrb, self.fill)
            m = None if m is None else padded(m, ltrb, 0)
            H, W = x.shape[-2:]
        if H < h or W < w:
            raise ValueError(f"RandomCrop: crop size {(h, w)} is larger than the (padded) image {(H, W)}; "
                             "use padding or pad_if_needed=True")
        N = x.shape[0]
        top = g.integers(0, H - h + 1, size=N)
        left = g.integers(0, W - w + 1, size=N)
        rows = xp.asarray(top[:, None] + np.arange(h))          # (N, h)
        cols = xp.asarray(left[:, None] + np.arange(w))         # (N, w)
        n = xp.arange(N)[:, None, None]

        def take(a):  # advanced indices around a slice: result (N, h, w, C)
            return a[n, :, rows[:, :, None], cols[:, None, :]].transpose(0, 3, 1, 2).copy()
        return take(x), (None if m is None else take(m))


class CenterCrop(Transform):
    """Crop the central ``size`` window (padding with zeros when larger)."""

    def __init__(self, size):
        self.size = _size2(size, "CenterCrop")

    def _forward(self, x, m, g):
        return _center_crop_nchw(x, self.size), (None if m is None else _center_crop_nchw(m, self.size))


class Pad(Transform):
    """Pad the borders (see :func:`pad`)."""

    def __init__(self, padding, fill=0, padding_mode="constant"):
        self.padding = _pad_tuple(padding, "Pad")
        if padding_mode not in _PAD_MODES:
            raise ValueError(f"Pad: padding_mode must be one of {sorted(_PAD_MODES)}, received {padding_mode!r}")
        self.fill, self.padding_mode = fill, padding_mode

    def _forward(self, x, m, g):
        return (_pad_nchw(x, self.padding, self.fill, self.padding_mode),
                None if m is None else _pad_nchw(m, self.padding, 0, self.padding_mode))


class Resize(Transform):
    """Resize to ``size``: ``(h, w)``, or an int giving the shorter side (aspect
    kept, as torchvision). Bilinear (``align_corners=False``) in NumPy; masks
    nearest."""

    def __init__(self, size, interpolation="bilinear", max_size=None, antialias=None):
        if interpolation not in ("bilinear", "nearest"):
            raise ValueError(f"Resize: interpolation must be 'bilinear' or 'nearest', received {interpolation!r}")
        self.size, self.interpolation, self.max_size = size, interpolation, max_size

    def _forward(self, x, m, g):
        out_hw = _resize_size(self.size, *x.shape[-2:], max_size=self.max_size)
        return (_resize_nchw(x, out_hw, self.interpolation),
                None if m is None else _resize_nchw(m, out_hw, "nearest"))


class RandomErasing(Transform):
    """Erase a random rectangle with probability ``p`` (Zhong et al. 2020).

    The rectangle covers a fraction ~ U(scale) of the image with log-aspect
    ~ U(log ratio); up to 10 draws per sample, none erased if all miss.
    ``value``: a number, one per channel, or 'random' (standard normal).
    Works on tensors after ToTensor; masks are not erased."""

    def __init__(self, p=0.5, scale=(0.02, 0.33), ratio=(0.3, 3.3), value=0, inplace=False, generator=None):
        self.p = _check_p(p, "RandomErasing")
        if scale[0] > scale[1] or ratio[0] > ratio[1] or scale[0] < 0 or ratio[0] <= 0:
            raise ValueError(f"RandomErasing: scale and ratio must be increasing positive ranges, "
                             f"received scale={scale}, ratio={ratio}")
        self.scale, self.ratio, self.value, self.inplace = tuple(scale), tuple(ratio), value, inplace
        self.generator = generator

    def _forward(self, x, m, g):
        xp = backend.array_module(x)
        N, C, H, W = x.shape
        tries = 10
        area = H * W * g.uniform(*self.scale, size=(N, tries))
        aspect = np.exp(g.uniform(math.log(self.ratio[0]), math.log(self.ratio[1]), size=(N, tries)))
        h = np.rint(np.sqrt(area * aspect)).astype(np.int64)
        w = np.rint(np.sqrt(area / aspect)).astype(np.int64)
        ok = (h < H) & (w < W) & (h > 0) & (w > 0)
        first = np.argmax(ok, axis=1)
        found = ok[np.arange(N), first] & (g.random(N) < self.p)
        h, w = h[np.arange(N), first], w[np.arange(N), first]
        top = np.floor(g.random(N) * (H - h + 1)).astype(np.int64)
        left = np.floor(g.random(N) * (W - w + 1)).astype(np.int64)
        r = np.arange(H)[None, :]
        c = np.arange(W)[None, :]
        inside = ((r >= top[:, None]) & (r < (top + h)[:, None]))[:, :, None] & \
                 ((c >= left[:, None]) & (c < (left + w)[:, None]))[:, None, :]
        inside &= found[:, None, None]
        inside = xp.asarray(inside[:, None])                     # (N, 1, H, W)
        if isinstance(self.value, str):
            if self.value != "random":
                raise ValueError(f"RandomErasing: value must be a number, a sequence or 'random', received {self.value!r}")
            v = xp.asarray(g.standard_normal(x.shape)).astype(x.dtype)
        else:
            v = _fill_array(self.value, C, xp).reshape(1, C, 1, 1).astype(x.dtype)
        out = xp.where(inside, v, x)
        if self.inplace:
            x[...] = out
            out = x
        return out, m


def _rgb_to_hsv(rgb, xp):
    r, g, b = rgb[:, 0], rgb[:, 1], rgb[:, 2]
    maxc = xp.maximum(xp.maximum(r, g), b)
    minc = xp.minimum(xp.minimum(r, g), b)
    v = maxc
    delta = maxc - minc
    s = xp.where(maxc > 0, delta / xp.where(maxc > 0, maxc, 1), 0)
    dsafe = xp.where(delta > 0, delta, 1)
    rc, gc, bc = (maxc - r) / dsafe, (maxc - g) / dsafe, (maxc - b) / dsafe
    h = xp.where(maxc == r, bc - gc, xp.where(maxc == g, 2.0 + rc - bc, 4.0 + gc - rc))
    h = xp.where(delta > 0, (h / 6.0) % 1.0, 0.0)
    return h, s, v


def _hsv_to_rgb(h, s, v, xp):
    i = xp.floor(h * 6.0)
    f = h * 6.0 - i
    p, q, t = v * (1 - s), v * (1 - s * f), v * (1 - s * (1 - f))
    i = i.astype(np.int64) % 6
    choices_r = [v, q, p, p, t, v]
    choices_g = [t, v, v, q, p, p]
    choices_b = [p, p, t, v, v, q]
    sel = [i == k for k in range(6)]
    return xp.stack([xp.select(sel, choices_r), xp.select(sel, choices_g), xp.select(sel, choices_b)], 1)


class ColorJitter(Transform):
    """Randomly change brightness, contrast, saturation and hue (torchvision's
    formulas, on float images in [0, 1]; uint8 images are converted and back).

    Factors per sample: brightness/contrast/saturation ~ U(max(0, 1-v), 1+v)
    (or a given (min, max)), hue shift ~ U(-h, h) with h <= 0.5. The four
    adjustments run in a random order (one order per call / per batch).
    Saturation and hue leave one-channel images unchanged.
    """

    def __init__(self, brightness=0, contrast=0, saturation=0, hue=0, generator=None):
        def factor(v, name):
            if isinstance(v, numbers.Number):
                if v < 0:
                    raise ValueError(f"ColorJitter: {name} must be non-negative, received {v!r}")
                return None if v == 0 else (max(0.0, 1.0 - v), 1.0 + v)
            return _range(v, "ColorJitter", name)
        self.brightness = factor(brightness, "brightness")
        self.contrast = factor(contrast, "contrast")
        self.saturation = factor(saturation, "saturation")
        if isinstance(hue, numbers.Number):
            if not 0 <= hue <= 0.5:
                raise ValueError(f"ColorJitter: hue must be in [0, 0.5], received {hue!r}")
            self.hue = None if hue == 0 else (-float(hue), float(hue))
        else:
            self.hue = _range(hue, "ColorJitter", "hue", nonneg=False)
            if not (-0.5 <= self.hue[0] <= self.hue[1] <= 0.5):
                raise ValueError(f"ColorJitter: hue range must lie in [-0.5, 0.5], received {hue!r}")
        self.generator = generator

    def _forward(self, x, m, g):
        xp = backend.array_module(x)
        dtype = x.dtype
        a = x.astype(np.float32) / 255.0 if dtype == np.uint8 else x
        N, C = a.shape[:2]
        order = g.permutation(4)
        f = {k: (None if rng is None else g.uniform(*rng, size=N))
             for k, rng in zip(("brightness", "contrast", "saturation", "hue"),
                               (self.brightness, self.contrast, self.saturation, self.hue))}

        def gray(img):
            if img.shape[1] == 1:
                return img
            return (0.299 * img[:, 0:1] + 0.587 * img[:, 1:2] + 0.114 * img[:, 2:3]).astype(img.dtype)

        def col(v):
            return xp.asarray(v.reshape(N, 1, 1, 1).astype(a.dtype))
        for k in order:
            if k == 0 and f["brightness"] is not None:
                a = xp.clip(a * col(f["brightness"]), 0, 1)
            elif k == 1 and f["contrast"] is not None:
                mean = gray(a).mean(axis=(1, 2, 3), keepdims=True)
                r = col(f["contrast"])
                a = xp.clip(r * a + (1 - r) * mean, 0, 1)
            elif k == 2 and f["saturation"] is not None and C == 3:
                r = col(f["saturation"])
                a = xp.clip(r * a + (1 - r) * gray(a), 0, 1)
            elif k == 3 and f["hue"] is not None and C == 3:
                h, s, v = _rgb_to_hsv(a, xp)
                h = (h + col(f["hue"])[:, 0]) % 1.0
                a = _hsv_to_rgb(h, s, v, xp).astype(a.dtype)
        out = _cast_like(a * 255.0, dtype) if dtype == np.uint8 else a.astype(dtype)
        return out, m
