"""torchvision's ``transforms.functional`` (``F``): one image at a time, the
same names, signatures and results.

An image is one of

* a **PIL image** -- handled with Pillow's own operations where torchvision
  uses them (resize, rotate, crop, flips, grayscale, colour enhancement), so
  the pixels are torchvision's;
* a **NumPy array**, channels last ``(H, W)`` or ``(H, W, C)`` (what
  ``dataset.data[i]`` is) -- treated as the PIL image it stands for (uint8
  grayscale by Pillow's integer formula, for instance), returned as an array;
* a **neuronet Tensor** ``(..., C, H, W)`` -- torchvision's tensor semantics
  (float images in [0, 1], uint8 in [0, 255]); leading dimensions are a batch
  that gets the same operation.

Each function returns the kind it received.
"""
from __future__ import annotations

import enum
import math
import numbers

import numpy as np

from ... import backend
from ...data import transforms as _dt
from ...tensor import Tensor

__all__ = ["InterpolationMode", "get_dimensions", "get_image_size", "get_image_num_channels", "to_tensor",
           "pil_to_tensor", "to_pil_image", "convert_image_dtype", "normalize", "resize", "crop", "center_crop",
           "resized_crop", "pad", "hflip", "vflip", "rotate", "affine", "rgb_to_grayscale", "to_grayscale",
           "adjust_brightness", "adjust_contrast", "adjust_saturation", "adjust_hue", "gaussian_blur", "erase",
           "invert"]


class InterpolationMode(enum.Enum):
    """Interpolation modes, as ``torchvision.transforms.InterpolationMode``."""
    NEAREST = "nearest"
    NEAREST_EXACT = "nearest-exact"
    BILINEAR = "bilinear"
    BICUBIC = "bicubic"
    BOX = "box"
    HAMMING = "hamming"
    LANCZOS = "lanczos"


def _mode(interpolation, who):
    if isinstance(interpolation, InterpolationMode):
        return interpolation
    if isinstance(interpolation, str):
        try:
            return InterpolationMode(interpolation.lower())
        except ValueError:
            pass
    if isinstance(interpolation, numbers.Integral):   # Pillow's constants (deprecated in torchvision)
        table = {0: InterpolationMode.NEAREST, 2: InterpolationMode.BILINEAR, 3: InterpolationMode.BICUBIC,
                 4: InterpolationMode.BOX, 5: InterpolationMode.HAMMING, 1: InterpolationMode.LANCZOS}
        if int(interpolation) in table:
            return table[int(interpolation)]
    raise TypeError(f"{who}: interpolation must be an InterpolationMode (or its name), "
                    f"received {interpolation!r}")


def _pil_resample(mode):
    from PIL import Image
    return {InterpolationMode.NEAREST: Image.NEAREST, InterpolationMode.NEAREST_EXACT: Image.NEAREST,
            InterpolationMode.BILINEAR: Image.BILINEAR, InterpolationMode.BICUBIC: Image.BICUBIC,
            InterpolationMode.BOX: Image.BOX, InterpolationMode.HAMMING: Image.HAMMING,
            InterpolationMode.LANCZOS: Image.LANCZOS}[mode]


# ============================================================ image kinds
_is_pil = _dt._is_pil


def _check_image(img, who):
    if _is_pil(img) or isinstance(img, Tensor) or isinstance(img, np.ndarray):
        return
    raise TypeError(f"{who}: expected a PIL image, a NumPy array (H, W[, C]) or a neuronet Tensor "
                    f"(..., C, H, W), received {type(img).__name__}")


def _nchw(img, who, batch=False):
    """``img`` as an ``(N, C, H, W)`` array and the function giving the result
    back in the kind (and leading shape) received.

    Tensors ``(..., C, H, W)`` fold their leading dimensions into N; arrays are
    channels last ``(H, W[, C])`` (or, with ``batch``, ``(N, H, W[, C])``)."""
    _check_image(img, who)
    if _is_pil(img):
        mode = img.mode
        x, restore_arr = _nchw(np.asarray(img), who)

        def restore(out):
            from PIL import Image
            a = np.ascontiguousarray(restore_arr(out))
            out = Image.fromarray(a)
            return out.convert(mode) if mode in ("1", "P") else out
        return x, restore
    if isinstance(img, Tensor):
        a = img.array
        if a.ndim < 2:
            raise ValueError(f"{who}: expected a tensor image of shape (..., C, H, W) or (H, W), "
                             f"received shape {tuple(a.shape)}")
        if a.ndim == 2:
            return a[None, None], lambda o: Tensor._wrap(o[0, 0])
        lead = a.shape[:-3]
        return a.reshape((-1,) + a.shape[-3:]), lambda o: Tensor._wrap(o.reshape(lead + o.shape[1:]))
    a = img
    if batch:
        if a.ndim == 3:
            return a[:, None], lambda o: o[:, 0]
        if a.ndim == 4:
            return a.transpose(0, 3, 1, 2), lambda o: o.transpose(0, 2, 3, 1)
        raise ValueError(f"{who}: expected a batch of images (N, H, W) or (N, H, W, C), received shape {a.shape}")
    if a.ndim == 2:
        return a[None, None], lambda o: o[0, 0]
    if a.ndim == 3:
        return a.transpose(2, 0, 1)[None], lambda o: o[0].transpose(1, 2, 0)
    raise ValueError(f"{who}: expected an image array (H, W) or (H, W, C) (channels last), "
                     f"received shape {a.shape}")


def get_dimensions(img):
    """``[channels, height, width]``."""
    _check_image(img, "get_dimensions")
    if _is_pil(img):
        return [len(img.getbands()), img.height, img.width]
    a = img.array if isinstance(img, Tensor) else img
    if isinstance(img, Tensor):
        return [1 if a.ndim == 2 else int(a.shape[-3]), int(a.shape[-2]), int(a.shape[-1])]
    return [1 if a.ndim == 2 else int(a.shape[2]), int(a.shape[0]), int(a.shape[1])]


def get_image_size(img):
    """``[width, height]`` (torchvision's order)."""
    _, h, w = get_dimensions(img)
    return [w, h]


def get_image_num_channels(img):
    return get_dimensions(img)[0]


# ============================================================ conversion
def to_tensor(pic):
    """PIL image or ``(H, W[, C])`` array -> ``(C, H, W)`` Tensor; uint8 becomes
    float32 in [0, 1] (``x / 255``), other dtypes keep their values."""
    if not (_is_pil(pic) or isinstance(pic, np.ndarray)):
        raise TypeError(f"to_tensor: pic should be a PIL Image or an ndarray, received {type(pic).__name__}")
    if isinstance(pic, np.ndarray) and pic.ndim not in (2, 3):
        raise ValueError(f"to_tensor: pic should be 2 or 3 dimensional, received {pic.ndim} dimensions")
    if _is_pil(pic) and pic.mode == "I;16":     # torchvision reads 16-bit grey as int16
        pic = np.asarray(pic).astype(np.int16)
    return _dt.to_tensor(pic)


def pil_to_tensor(pic):
    """PIL image -> ``(C, H, W)`` Tensor of its own dtype (uint8: no scaling)."""
    if not _is_pil(pic):
        raise TypeError(f"pil_to_tensor: pic should be a PIL Image, received {type(pic).__name__}")
    a = np.asarray(pic)
    a = a[:, :, None] if a.ndim == 2 else a
    return Tensor._wrap(np.ascontiguousarray(a.transpose(2, 0, 1)))


def to_pil_image(pic, mode=None):
    """``(C, H, W)`` Tensor or ``(H, W[, C])`` array -> PIL image.

    A float *tensor* is taken as [0, 1] and becomes uint8 by ``x * 255``
    truncated (torchvision's ``mul(255).byte()``); arrays keep their values.
    Modes by channels: 1 -> 'L' (uint8), 'I;16', 'I' (int32) or 'F' (float32);
    2 -> 'LA'; 3 -> 'RGB'; 4 -> 'RGBA'.
    """
    from PIL import Image
    if isinstance(pic, Tensor):
        a = backend.to_numpy(pic.array)
        if a.ndim not in (2, 3):
            raise ValueError(f"to_pil_image: pic should be 2 or 3 dimensional, received {a.ndim} dimensions")
        if a.ndim == 2:
            a = a[None]
        if a.shape[0] > 4:
            raise ValueError(f"to_pil_image: pic should not have more than 4 channels, received {a.shape[0]} "
                             "channels (expected (C, H, W))")
        if a.dtype.kind == "f" and mode != "F":
            a = np.clip(a * 255, 0, 255).astype(np.uint8)   # values in [0, 1]: the truncation of x * 255
        a = a.transpose(1, 2, 0)
    elif isinstance(pic, np.ndarray):
        a = pic
        if a.ndim not in (2, 3):
            raise ValueError(f"to_pil_image: pic should be 2 or 3 dimensional, received {a.ndim} dimensions")
        if a.ndim == 2:
            a = a[:, :, None]
        if a.shape[-1] > 4:
            raise ValueError(f"to_pil_image: pic should not have more than 4 channels, received {a.shape[-1]} "
                             "channels (expected (H, W, C))")
    else:
        raise TypeError(f"to_pil_image: pic should be a Tensor or an ndarray, received {type(pic).__name__}")
    C = a.shape[2]
    if C == 1:
        a = a[:, :, 0]
        by_dtype = {np.dtype(np.uint8): "L", np.dtype(np.int16): "I;16", np.dtype(np.uint16): "I;16",
                    np.dtype(np.int32): "I", np.dtype(np.float32): "F"}
        expected = by_dtype.get(a.dtype)
        if expected is None:
            raise TypeError(f"to_pil_image: input type {a.dtype} is not supported for a one-channel image")
        if a.dtype == np.int16:
            a = a.astype(np.uint16)
        mode = mode or expected
    else:
        if a.dtype != np.uint8:
            raise TypeError(f"to_pil_image: input type {a.dtype} is not supported for a {C}-channel image "
                            "(expected uint8)")
        mode = mode or {2: "LA", 3: "RGB", 4: "RGBA"}[C]
    img = Image.fromarray(np.ascontiguousarray(a))
    return img if img.mode == mode else img.convert(mode)


def convert_image_dtype(image, dtype=np.float32):
    """Convert a tensor image's dtype, rescaling values: integers span
    [0, max of the type], floats [0, 1]. float -> int: ``x * (max + 1 - 1e-3)``
    truncated; int -> int: shifts by the ratio of the ranges."""
    if not isinstance(image, Tensor):
        raise TypeError(f"convert_image_dtype: expected a Tensor, received {type(image).__name__}")
    a = image.array
    xp = backend.array_module(a)
    dst = np.dtype(dtype)
    src = a.dtype
    if src == dst:
        return image
    if src.kind == "f":
        if dst.kind == "f":
            return Tensor._wrap(a.astype(dst))
        if (src == np.float32 and dst in (np.int32, np.int64)) or (src == np.float64 and dst == np.int64):
            raise RuntimeError(f"convert_image_dtype: the cast from {src} to {dst} cannot be performed safely")
        top = np.iinfo(dst).max
        return Tensor._wrap((a * (top + 1.0 - 1e-3)).astype(dst))
    if src.kind == "b":
        a = a.astype(np.uint8) * 255
        src = a.dtype
    top_in = np.iinfo(src).max
    if dst.kind == "f":
        return Tensor._wrap(a.astype(dst) / dst.type(top_in))
    top_out = np.iinfo(dst).max
    if top_in > top_out:
        factor = (top_in + 1) // (top_out + 1)
        return Tensor._wrap(xp.floor_divide(a, factor).astype(dst))
    factor = (top_out + 1) // (top_in + 1)
    return Tensor._wrap(a.astype(dst) * dst.type(factor))


def normalize(tensor, mean, std, inplace=False):
    """``(x - mean[c]) / std[c]`` on a float tensor ``(..., C, H, W)``."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"normalize: img should be a Tensor, received {type(tensor).__name__}")
    if tensor.ndim < 3:
        raise ValueError(f"normalize: expected a tensor image of size (..., C, H, W), received shape "
                         f"{tuple(tensor.shape)}")
    if np.dtype(tensor.dtype).kind != "f":
        raise TypeError(f"normalize: input tensor should be a float tensor, received {tensor.dtype}")
    mean = mean.numpy() if isinstance(mean, Tensor) else mean
    std = std.numpy() if isinstance(std, Tensor) else std
    return _dt.normalize(tensor, mean, std, inplace)


# ============================================================ geometry
def _resample_matrix(n_in, n_out, mode, antialias):
    """``(n_out, n_in)`` matrix ``M`` with ``out = M @ in`` along one axis.

    Output pixel ``i`` has its centre at source position ``c = (i + 1/2) s``
    (``s = n_in / n_out``, pixel ``j`` covers ``[j, j+1)``). Its value is the
    filter-weighted mean of the source pixels ``j`` with
    ``w_j = k((j + 1/2 - c) / f)``, ``f = max(s, 1)`` when anti-aliasing (the
    filter widens by the downsampling factor, as Pillow and PyTorch's
    ``antialias=True``), ``f = 1`` otherwise; weights are divided by their sum,
    so near the borders the taps outside the image drop out. ``k`` is the
    triangle ``max(0, 1 - |t|)`` (bilinear) or Keys' cubic with ``a = -0.5``
    (bicubic, anti-aliased) / ``a = -0.75`` (bicubic, PyTorch's plain kernel).
    """
    s = n_in / n_out
    f = max(s, 1.0) if antialias else 1.0
    if mode == InterpolationMode.BILINEAR:
        support, a = 1.0, None
    else:
        support, a = 2.0, (-0.5 if antialias else -0.75)

    def kernel(t):
        t = np.abs(t)
        if a is None:
            return np.maximum(0.0, 1.0 - t)
        return np.where(t < 1, ((a + 2) * t - (a + 3)) * t * t + 1,
                        np.where(t < 2, (((t - 5) * t + 8) * t - 4) * a, 0.0))
    centre = (np.arange(n_out) + 0.5) * s
    if not antialias and a is None:
        # PyTorch's plain bilinear (align_corners=False): source s = c - 1/2
        # clamped at 0, blended between floor(s) and floor(s)+1 (clamped).
        src = np.maximum(centre - 0.5, 0.0)
        i0 = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
        i1 = np.minimum(i0 + 1, n_in - 1)
        w = src - i0
        M = np.zeros((n_out, n_in))
        np.add.at(M, (np.arange(n_out), i0), 1 - w)
        np.add.at(M, (np.arange(n_out), i1), w)
        return M
    if not antialias:
        # PyTorch's plain bicubic: 4 taps around floor(c - 1/2), indices clamped
        src = centre - 0.5
        i0 = np.floor(src).astype(np.int64)
        t = src - i0
        M = np.zeros((n_out, n_in))
        for k in range(-1, 3):
            np.add.at(M, (np.arange(n_out), np.clip(i0 + k, 0, n_in - 1)), kernel(k - t))
        return M
    j = np.arange(n_in)
    W = kernel((j[None, :] + 0.5 - centre[:, None]) / f)
    W[np.abs(j[None, :] + 0.5 - centre[:, None]) >= support * f] = 0.0
    return W / W.sum(axis=1, keepdims=True)


def _resize_nchw(x, out_hw, mode, antialias):
    """Separable resize of ``(N, C, H, W)``: ``out = M_H x M_W^T``."""
    xp = backend.array_module(x)
    Ho, Wo = out_hw
    H, W = x.shape[-2:]
    if mode in (InterpolationMode.NEAREST, InterpolationMode.NEAREST_EXACT):
        off = 0.5 if mode == InterpolationMode.NEAREST_EXACT else 0.0
        iy = np.minimum(np.floor((np.arange(Ho) + off) * (H / Ho)).astype(np.int64), H - 1)
        ix = np.minimum(np.floor((np.arange(Wo) + off) * (W / Wo)).astype(np.int64), W - 1)
        return x[..., xp.asarray(iy)[:, None], xp.asarray(ix)[None, :]]
    if mode not in (InterpolationMode.BILINEAR, InterpolationMode.BICUBIC):
        raise ValueError(f"resize: interpolation {mode} is supported for PIL images only; tensors and arrays "
                         "take NEAREST, NEAREST_EXACT, BILINEAR or BICUBIC")
    work = np.float64 if x.dtype == np.float64 else np.float32
    MH = xp.asarray(_resample_matrix(H, Ho, mode, antialias).astype(work))
    MW = xp.asarray(_resample_matrix(W, Wo, mode, antialias).astype(work))
    out = xp.matmul(xp.matmul(MH, x.astype(work, copy=False)), MW.T)
    if x.dtype.kind in "ui" and mode == InterpolationMode.BICUBIC:
        info = np.iinfo(x.dtype)
        out = xp.clip(out, info.min, info.max)
    return _dt._cast_like(out, x.dtype)


def _output_size(size, H, W, max_size, who):
    if size is None:
        if max_size is None:
            raise ValueError(f"{who}: size can be None only when max_size is given")
        s = max_size * min(H, W) / max(H, W)
        return (int(s), max_size) if H <= W else (max_size, int(s))
    if isinstance(size, numbers.Integral) or (isinstance(size, (list, tuple)) and len(size) == 1):
        s = int(size if isinstance(size, numbers.Integral) else size[0])
        short, long = (H, W) if H <= W else (W, H)
        new_short, new_long = s, int(s * long / short)
        if max_size is not None:
            if max_size <= s:
                raise ValueError(f"{who}: max_size = {max_size} must be strictly greater than the requested "
                                 f"size for the smaller edge size = {size}")
            if new_long > max_size:
                new_short, new_long = int(max_size * new_short / new_long), max_size
        return (new_short, new_long) if H <= W else (new_long, new_short)
    if isinstance(size, (list, tuple)) and len(size) == 2:
        if max_size is not None:
            raise ValueError(f"{who}: max_size should only be passed if size is an int or a sequence of "
                             f"length 1, received size={size!r}")
        return int(size[0]), int(size[1])
    raise TypeError(f"{who}: size should be an int or a sequence of 1 or 2 ints, received {size!r}")


def resize(img, size, interpolation=InterpolationMode.BILINEAR, max_size=None, antialias=True):
    """Resize to ``size``: ``(h, w)``, or an int giving the smaller edge (the
    aspect ratio kept, the longer edge ``int(size * long / short)``).

    PIL images: Pillow's resampling (always anti-aliased). Tensors and arrays:
    ``antialias=True`` (torchvision's default) widens the bilinear/bicubic
    filter when downsampling, as Pillow does; ``antialias=False`` is PyTorch's
    ``interpolate(..., align_corners=False)``. NEAREST reads
    ``floor(i * in / out)`` as PyTorch's 'nearest'.
    """
    mode = _mode(interpolation, "resize")
    _, H, W = get_dimensions(img)
    out_hw = _output_size(size, H, W, max_size, "resize")
    if _is_pil(img):
        if out_hw == (H, W):
            return img
        return img.resize((out_hw[1], out_hw[0]), _pil_resample(mode))
    x, restore = _nchw(img, "resize")
    return restore(_resize_nchw(x, out_hw, mode, bool(antialias)))


def _crop_nchw(x, top, left, height, width):
    """Window ``[top, top+height) x [left, left+width)``; parts outside the
    image read 0 (as torchvision and Pillow)."""
    H, W = x.shape[-2:]
    if top < 0 or left < 0 or top + height > H or left + width > W:
        ltrb = (max(-left, 0), max(-top, 0), max(left + width - W, 0), max(top + height - H, 0))
        x = _dt._pad_nchw(x, ltrb)
        top, left = max(top, 0), max(left, 0)
    return x[..., top:top + height, left:left + width].copy()


def crop(img, top, left, height, width):
    """The ``height x width`` window whose top-left pixel is ``(top, left)``."""
    top, left, height, width = int(top), int(left), int(height), int(width)
    if _is_pil(img):
        return img.crop((left, top, left + width, top + height))
    x, restore = _nchw(img, "crop")
    return restore(_crop_nchw(x, top, left, height, width))


def _size_hw(size, who):
    if isinstance(size, numbers.Integral):
        return int(size), int(size)
    if isinstance(size, (list, tuple)) and len(size) in (1, 2):
        return (int(size[0]), int(size[0])) if len(size) == 1 else (int(size[0]), int(size[1]))
    raise ValueError(f"{who}: size should be an int or a sequence of 1 or 2 ints, received {size!r}")


def center_crop(img, output_size):
    """The central ``output_size`` window (``round((H - h) / 2)`` from the top);
    an image smaller than it is first padded evenly with 0."""
    h, w = _size_hw(output_size, "center_crop")
    x, restore = _nchw(img, "center_crop")
    return restore(_dt._center_crop_nchw(x, (h, w)))


def resized_crop(img, top, left, height, width, size, interpolation=InterpolationMode.BILINEAR, antialias=True):
    """:func:`crop` then :func:`resize` to ``size``."""
    return resize(crop(img, top, left, height, width), size, interpolation, antialias=antialias)


def pad(img, padding, fill=0, padding_mode="constant"):
    """Pad the borders: ``padding`` an int (all sides), ``(left/right,
    top/bottom)`` or ``(left, top, right, bottom)``; ``padding_mode``
    'constant' (value ``fill``), 'edge', 'reflect' (without repeating the edge
    pixel) or 'symmetric' (repeating it)."""
    if not isinstance(padding, (numbers.Integral, list, tuple)):
        raise TypeError(f"pad: padding must be an int or a sequence, received {type(padding).__name__}")
    if not isinstance(fill, (numbers.Number, list, tuple)) and fill is not None:
        raise TypeError(f"pad: fill must be a number or a sequence, received {type(fill).__name__}")
    if padding_mode not in ("constant", "edge", "reflect", "symmetric"):
        raise ValueError(f"pad: padding_mode must be constant, edge, reflect or symmetric, received {padding_mode!r}")
    x, restore = _nchw(img, "pad")
    return restore(_dt._pad_nchw(x, _dt._pad_tuple(padding, "pad"), fill, padding_mode))


def hflip(img):
    """Mirror left-right."""
    if _is_pil(img):
        from PIL import Image
        return img.transpose(Image.FLIP_LEFT_RIGHT)
    x, restore = _nchw(img, "hflip")
    return restore(x[..., ::-1].copy())


def vflip(img):
    """Mirror top-bottom."""
    if _is_pil(img):
        from PIL import Image
        return img.transpose(Image.FLIP_TOP_BOTTOM)
    x, restore = _nchw(img, "vflip")
    return restore(x[..., ::-1, :].copy())


def rotate(img, angle, interpolation=InterpolationMode.NEAREST, expand=False, center=None, fill=None):
    """Rotate ``angle`` degrees counter-clockwise about the centre, the output
    the input's size; uncovered corners read ``fill``. PIL images use Pillow's
    ``rotate`` (which also takes ``expand`` and ``center``); tensors and arrays
    pull each output pixel from the inverse rotation (NEAREST or BILINEAR)."""
    mode = _mode(interpolation, "rotate")
    if _is_pil(img):
        fc = fill
        if isinstance(fill, (list, tuple)):
            fc = tuple(int(v) for v in fill) if len(fill) > 1 else int(fill[0])
        return img.rotate(angle, resample=_pil_resample(mode), expand=expand, center=center, fillcolor=fc)
    if expand or center is not None:
        raise ValueError("rotate: expand=True and a custom center are supported for PIL images only; "
                         "tensor and array images turn about their centre and keep their size")
    # torchvision's affine turns clockwise, rotate counter-clockwise
    return affine(img, angle=-angle, translate=[0, 0], scale=1.0, shear=[0.0, 0.0], interpolation=mode, fill=fill)


def _affine_linear(angle, scale, shear_x, shear_y):
    """torchvision's forward linear map in pixel coordinates (x right, y
    down): ``A = R(angle) Sh_y(shear_y) Sh_x(shear_x) scale`` with
    ``R(a) = [[cos a, -sin a], [sin a, cos a]]`` (clockwise on screen),
    ``Sh_x(s) = [[1, -tan s], [0, 1]]``, ``Sh_y(s) = [[1, 0], [-tan s, 1]]``."""
    a = math.radians(angle)
    R = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    shx = np.array([[1.0, -math.tan(math.radians(shear_x))], [0.0, 1.0]])
    shy = np.array([[1.0, 0.0], [-math.tan(math.radians(shear_y)), 1.0]])
    return R @ shy @ shx * float(scale)


def affine(img, angle, translate, scale, shear, interpolation=InterpolationMode.NEAREST, fill=None, center=None):
    """Affine map about the centre: rotate ``angle`` degrees *clockwise* (as
    torchvision's ``affine``; its ``rotate`` turns counter-clockwise), shear by
    ``shear`` degrees (a number: along x; two: x then y), scale, then shift by
    ``translate = (dx, dy)`` pixels (right, down)."""
    mode = _mode(interpolation, "affine")
    if mode not in (InterpolationMode.NEAREST, InterpolationMode.BILINEAR):
        raise ValueError(f"affine: interpolation must be NEAREST or BILINEAR, received {mode}")
    if center is not None:
        raise ValueError("affine: a custom center is not supported; the map turns about the image centre")
    if not isinstance(translate, (list, tuple)) or len(translate) != 2:
        raise TypeError(f"affine: translate must be a sequence of length 2, received {translate!r}")
    if scale <= 0:
        raise ValueError(f"affine: scale must be positive, received {scale}")
    shear = [float(shear), 0.0] if isinstance(shear, numbers.Number) else [float(v) for v in shear] + [0.0]
    A = _affine_linear(angle, scale, shear[0], shear[1])[None]
    t = np.array([[translate[0], translate[1]]], dtype=np.float64)
    x, restore = _nchw(img, "affine")
    return restore(_dt._warp_affine(x, A, t, mode.value, 0 if fill is None else fill))


# ============================================================ colour
def _gray_nchw(x, integer_formula):
    """(N, 3, H, W) -> (N, 1, H, W). Pillow's integer formula for uint8 images
    held as Pillow holds them (``(19595 R + 38470 G + 7471 B + 2^15) >> 16``),
    torchvision's tensor formula ``0.2989 R + 0.587 G + 0.114 B`` otherwise
    (cast back to the input dtype, truncating for integers)."""
    if integer_formula and x.dtype == np.uint8:
        r, g, b = (x[:, c:c + 1].astype(np.int32) for c in range(3))
        return ((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16).astype(np.uint8)
    work = np.dtype(x.dtype if x.dtype.kind == "f" else np.float32)
    r, g, b = (x[:, c:c + 1].astype(work) for c in range(3))
    gray = r * work.type(0.2989) + g * work.type(0.587) + b * work.type(0.114)
    return gray.astype(x.dtype)


def rgb_to_grayscale(img, num_output_channels=1):
    """RGB -> luma, repeated on ``num_output_channels`` (1 or 3) channels."""
    if num_output_channels not in (1, 3):
        raise ValueError(f"rgb_to_grayscale: num_output_channels should be 1 or 3, received {num_output_channels}")
    if _is_pil(img):
        from PIL import Image
        g = img.convert("L")
        return Image.merge("RGB", [g, g, g]) if num_output_channels == 3 else g
    x, restore = _nchw(img, "rgb_to_grayscale")
    C = x.shape[1]
    if C not in (1, 3):
        raise TypeError(f"rgb_to_grayscale: input image should have 1 or 3 channels, received {C}")
    g = x.copy() if C == 1 else _gray_nchw(x, integer_formula=not isinstance(img, Tensor))
    if num_output_channels == 3:
        g = backend.array_module(g).concatenate([g, g, g], axis=1)
    return _squeeze_gray(restore(g), batch=False)


def _squeeze_gray(out, batch):
    """A one-channel *array* image is ``(H, W)``, as Pillow's mode 'L' holds it."""
    if isinstance(out, np.ndarray) and out.ndim == (4 if batch else 3) and out.shape[-1] == 1:
        return out[..., 0]
    return out


def to_grayscale(img, num_output_channels=1):
    return rgb_to_grayscale(img, num_output_channels)


def _blend(a, b, ratio, dtype):
    """``clamp(ratio a + (1 - ratio) b, 0, bound)`` in the image's dtype."""
    xp = backend.array_module(a)
    bound = 1.0 if dtype.kind == "f" else float(np.iinfo(dtype).max)
    out = xp.clip(ratio * a + (1.0 - ratio) * b, 0, bound)
    return out.astype(dtype)


def _float_work(x):
    return x if x.dtype.kind == "f" else x.astype(np.float32)


def _enhance_pil(img, kind, factor):
    from PIL import ImageEnhance
    return getattr(ImageEnhance, kind)(img).enhance(factor)


def _check_factor(factor, who):
    if factor < 0:
        raise ValueError(f"{who}: factor ({factor}) is not non-negative")


def adjust_brightness(img, brightness_factor):
    """``factor * img`` clamped (0: black, 1: the image)."""
    _check_factor(brightness_factor, "adjust_brightness")
    if _is_pil(img):
        return _enhance_pil(img, "Brightness", brightness_factor)
    x, restore = _nchw(img, "adjust_brightness")
    return restore(_blend(_float_work(x), 0.0, float(brightness_factor), x.dtype))


def adjust_contrast(img, contrast_factor):
    """Blend with the mean grey level: ``f * img + (1 - f) * mean(gray(img))``."""
    _check_factor(contrast_factor, "adjust_contrast")
    if _is_pil(img):
        return _enhance_pil(img, "Contrast", contrast_factor)
    x, restore = _nchw(img, "adjust_contrast")
    g = _gray_nchw(x, False) if x.shape[1] == 3 else x
    work = _float_work(x)
    mean = g.astype(work.dtype).mean(axis=(1, 2, 3), keepdims=True)
    return restore(_blend(work, mean, float(contrast_factor), x.dtype))


def adjust_saturation(img, saturation_factor):
    """Blend with the grey image: ``f * img + (1 - f) * gray(img)`` (0: grey)."""
    _check_factor(saturation_factor, "adjust_saturation")
    if _is_pil(img):
        return _enhance_pil(img, "Color", saturation_factor)
    x, restore = _nchw(img, "adjust_saturation")
    if x.shape[1] == 1:
        return restore(x.copy())
    return restore(_blend(_float_work(x), _gray_nchw(x, False).astype(_float_work(x).dtype),
                          float(saturation_factor), x.dtype))


def adjust_hue(img, hue_factor):
    """Shift the hue by ``hue_factor`` turns (in [-0.5, 0.5]) in HSV space."""
    if not -0.5 <= hue_factor <= 0.5:
        raise ValueError(f"adjust_hue: hue_factor ({hue_factor}) is not in [-0.5, 0.5]")
    if _is_pil(img):
        from PIL import Image
        if img.mode in ("L", "1", "I", "F"):
            return img
        h, s, v = img.convert("HSV").split()
        hh = np.asarray(h).astype(np.uint8) + np.array(hue_factor * 255).astype(np.int64).astype(np.uint8)
        out = Image.merge("HSV", (Image.fromarray(hh.astype(np.uint8)), s, v)).convert(img.mode)
        return out
    x, restore = _nchw(img, "adjust_hue")
    if x.shape[1] == 1:
        return restore(x.copy())
    xp = backend.array_module(x)
    work = x.astype(np.float32) / np.float32(255) if x.dtype == np.uint8 else x
    h, s, v = _dt._rgb_to_hsv(work, xp)
    h = (h + hue_factor) % 1.0
    out = _dt._hsv_to_rgb(h, s, v, xp).astype(work.dtype)
    if x.dtype == np.uint8:
        out = (out * 255.0).astype(np.uint8)
    return restore(out)


def _gaussian_kernel1d(k, sigma):
    half = (k - 1) * 0.5
    t = np.linspace(-half, half, k)
    pdf = np.exp(-0.5 * (t / sigma) ** 2)
    return pdf / pdf.sum()


def gaussian_blur(img, kernel_size, sigma=None):
    """Blur with a Gaussian of size ``kernel_size`` (odd; int or ``[kx, ky]``)
    and std ``sigma`` (default ``0.3 ((k - 1) / 2 - 1) + 0.8``), borders
    reflected. Separable: rows then columns, ``k`` taps each."""
    if isinstance(kernel_size, numbers.Integral):
        kernel_size = [int(kernel_size)] * 2
    kernel_size = [int(k) for k in kernel_size]
    if len(kernel_size) == 1:
        kernel_size = kernel_size * 2
    if len(kernel_size) != 2 or any(k <= 0 or k % 2 == 0 for k in kernel_size):
        raise ValueError(f"gaussian_blur: kernel_size should have odd positive values, received {kernel_size}")
    if sigma is None:
        sigma = [0.3 * ((k - 1) * 0.5 - 1) + 0.8 for k in kernel_size]
    elif isinstance(sigma, numbers.Number):
        sigma = [float(sigma)] * 2
    else:
        sigma = [float(s) for s in sigma] * (2 if len(sigma) == 1 else 1)
    if len(sigma) != 2 or any(s <= 0 for s in sigma):
        raise ValueError(f"gaussian_blur: sigma should have positive values, received {sigma}")
    x, restore = _nchw(np.asarray(img) if _is_pil(img) else img, "gaussian_blur")
    xp = backend.array_module(x)
    work = x.astype(x.dtype if x.dtype.kind == "f" else np.float32)
    kx, ky = kernel_size
    px, py = kx // 2, ky // 2
    H, W = x.shape[-2:]
    if px >= W or py >= H:
        raise ValueError(f"gaussian_blur: the padding {(px, py)} must be smaller than the image size {(W, H)} "
                         "(reflect padding)")
    p = xp.pad(work, ((0, 0), (0, 0), (py, py), (px, px)), mode="reflect")
    wx = _gaussian_kernel1d(kx, sigma[0]).astype(work.dtype)
    wy = _gaussian_kernel1d(ky, sigma[1]).astype(work.dtype)
    rows = sum(wx[k] * p[..., k:k + W] for k in range(kx))
    out = sum(wy[k] * rows[..., k:k + H, :] for k in range(ky))
    out = _dt._cast_like(out, x.dtype)
    res = restore(out)
    if _is_pil(img):
        from PIL import Image
        return Image.fromarray(np.ascontiguousarray(res))
    return res


def erase(img, i, j, h, w, v, inplace=False):
    """Set the tensor window ``[i, i+h) x [j, j+w)`` to ``v`` (number or tensor)."""
    if not isinstance(img, Tensor):
        raise TypeError(f"erase: img should be a Tensor, received {type(img).__name__}")
    a = img.array if inplace else img.array.copy()
    xp = backend.array_module(a)
    a[..., i:i + h, j:j + w] = xp.asarray(v.array if isinstance(v, Tensor) else v, dtype=a.dtype)
    return img if inplace else Tensor._wrap(a)


def invert(img):
    """``bound - img`` (255 for uint8, 1 for floats)."""
    if _is_pil(img):
        from PIL import ImageOps
        return ImageOps.invert(img)
    x, restore = _nchw(img, "invert")
    bound = 1.0 if x.dtype.kind == "f" else np.iinfo(x.dtype).max
    return restore((bound - x).astype(x.dtype))
