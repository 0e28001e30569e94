"""torchvision's ``transforms``: the same class names, arguments and
per-sample results, on PIL images, NumPy arrays ``(H, W[, C])`` and neuronet
tensors ``(..., C, H, W)`` (see :mod:`.functional` for how each kind is
treated).

>>> from neuronet.vision import datasets, transforms
>>> tf = transforms.Compose([transforms.RandomCrop(32, padding=4), transforms.RandomHorizontalFlip(),
...                          transforms.ToTensor(), transforms.Normalize((0.5,) * 3, (0.5,) * 3)])

Randomness: every draw comes from :func:`neuronet.data.random_generator` --
the generator ``neuronet.manual_seed`` seeds, or the DataLoader's per-epoch
one while it builds a batch -- so runs repeat under a seed. The draws are
torchvision's in kind and order (e.g. ``RandomCrop`` draws the top row, then
the left column), not its values: PyTorch's generator is another one.

Batches: ``ToTensor, PILToTensor, Normalize, ConvertImageDtype, CenterCrop,
Pad, Grayscale`` (deterministic) and ``RandomCrop, RandomHorizontalFlip,
RandomVerticalFlip, RandomErasing`` (random), and ``Compose`` of them, have
``batch_exact = True`` and an ``apply_batch`` giving, for a stack of
same-size images, exactly the stack of their per-sample results -- the random
ones make their draws sample by sample in the per-sample order and apply them
all with one gather. The datasets of :mod:`neuronet.vision.datasets` then build
a DataLoader batch with one vectorized call per transform (CIFAR's
``RandomCrop(32, padding=4)`` + flip + ``ToTensor`` + ``Normalize``: about 25
us per image instead of 100). Any other transform (those going through
Pillow's resampler or colour code, for instance) runs sample by sample, as in
torchvision.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from ... import backend
from ...data import _random
from ...data import transforms as _dt
from ...tensor import Tensor
from . import functional
from . import functional as F
from .functional import InterpolationMode

__all__ = ["Compose", "ToTensor", "PILToTensor", "ToPILImage", "ConvertImageDtype", "Normalize", "Resize",
           "CenterCrop", "Pad", "Grayscale", "Lambda", "RandomCrop", "RandomResizedCrop", "RandomHorizontalFlip",
           "RandomVerticalFlip", "RandomRotation", "RandomAffine", "ColorJitter", "RandomGrayscale",
           "RandomApply", "RandomChoice", "RandomOrder", "RandomErasing", "GaussianBlur", "InterpolationMode",
           "functional", "batch_exact"]


def _gen():
    return _random.generator()


def batch_exact(t) -> bool:
    """True when ``t.apply_batch(stack)`` equals the stack of ``t(sample)``
    bit for bit (deterministic transforms with a vectorized form)."""
    return bool(getattr(t, "batch_exact", False)) and callable(getattr(t, "apply_batch", None))


class _Transform:
    """Base: ``t(img)``; ``forward`` is the same (torchvision's are modules)."""

    batch_exact = False

    def __call__(self, img):
        raise NotImplementedError

    def forward(self, img):
        return self(img)

    def _args(self):
        return ", ".join(f"{k}={_show(v)}" for k, v in vars(self).items() if not k.startswith("_"))

    def __repr__(self):
        return f"{type(self).__name__}({self._args()})"


def _show(v):
    return v.value if isinstance(v, InterpolationMode) else repr(v)


class _Deterministic(_Transform):
    """A deterministic transform whose batch form is its per-sample function
    applied to the whole stack (tensors fold leading dims; arrays are
    ``(N, H, W[, C])``)."""

    batch_exact = True

    def _nchw_op(self, x, is_tensor):
        raise NotImplementedError

    def __call__(self, img):
        if F._is_pil(img):
            return self._pil(img)
        x, restore = F._nchw(img, type(self).__name__)
        return restore(self._nchw_op(x, isinstance(img, Tensor)))

    def _pil(self, img):
        x, restore = F._nchw(img, type(self).__name__)
        return restore(self._nchw_op(x, False))

    def apply_batch(self, imgs):
        x, restore = F._nchw(imgs, type(self).__name__, batch=True)
        return restore(self._nchw_op(x, isinstance(imgs, Tensor)))


# ============================================================ containers
class Compose(_Transform):
    """Apply ``transforms`` in order: ``Compose([a, b])(x) == b(a(x))``."""

    def __init__(self, transforms):
        self.transforms = list(transforms)

    def __call__(self, img):
        for t in self.transforms:
            img = t(img)
        return img

    @property
    def batch_exact(self):
        return all(batch_exact(t) for t in self.transforms)

    @property
    def supports_batch(self):
        # what neuronet.data's ArrayDataset asks before calling apply_batch
        return self.batch_exact

    def apply_batch(self, imgs):
        """The chain on a stack of same-size images, equal to stacking the
        per-sample results. Random parts draw their parameters sample by
        sample in the per-sample order (sample 0's draws for every transform,
        then sample 1's, ...); the input size each one sees comes from running
        the chain once on one sample with a throwaway generator."""
        if not self.batch_exact:
            raise TypeError("Compose.apply_batch: only a chain of batch-exact transforms has a batch form, "
                            f"not {[type(t).__name__ for t in self.transforms if not batch_exact(t)]}")
        drawn = [isinstance(t, _Drawn) for t in self.transforms]
        if not any(drawn):
            for t in self.transforms:
                imgs = t.apply_batch(imgs)
            return imgs
        dims, img = [], _first(imgs)
        with _random.using(np.random.default_rng(0)):
            for t in self.transforms:
                dims.append(F.get_dimensions(img))
                img = t(img)
        params = [[] for _ in self.transforms]
        for _ in range(len(imgs)):
            for k, t in enumerate(self.transforms):
                if drawn[k]:
                    params[k].append(t._draw(dims[k]))
        for k, t in enumerate(self.transforms):
            imgs = t._apply_drawn(imgs, params[k]) if drawn[k] else t.apply_batch(imgs)
        return imgs

    def __repr__(self):
        return type(self).__name__ + "(" + "".join(f"\n    {t}" for t in self.transforms) + "\n)"


class Lambda(_Transform):
    """A user function as a transform."""

    def __init__(self, lambd):
        if not callable(lambd):
            raise TypeError(f"Lambda: argument should be callable, received {type(lambd).__name__}")
        self.lambd = lambd

    def __call__(self, img):
        return self.lambd(img)

    def __repr__(self):
        return "Lambda()"


# ============================================================ conversion
class ToTensor(_Transform):
    """PIL image / ``(H, W[, C])`` uint8 array -> ``(C, H, W)`` float32 tensor
    in [0, 1]. Batch: ``(N, H, W[, C])`` -> ``(N, C, H, W)``."""

    batch_exact = True

    def __call__(self, pic):
        return F.to_tensor(pic)

    def apply_batch(self, pics):
        return _dt.ToTensor().apply_batch(pics)

    def __repr__(self):
        return "ToTensor()"


class PILToTensor(_Transform):
    """PIL image -> ``(C, H, W)`` tensor of its dtype (uint8), unscaled."""

    batch_exact = True

    def __call__(self, pic):
        return F.pil_to_tensor(pic)

    def apply_batch(self, pics):
        x, _ = F._nchw(pics, "PILToTensor", batch=True)
        return Tensor._wrap(np.ascontiguousarray(x))

    def __repr__(self):
        return "PILToTensor()"


class ToPILImage(_Transform):
    """Tensor ``(C, H, W)`` / array ``(H, W[, C])`` -> PIL image (see
    :func:`functional.to_pil_image`)."""

    def __init__(self, mode=None):
        self.mode = mode

    def __call__(self, pic):
        return F.to_pil_image(pic, self.mode)


class ConvertImageDtype(_Transform):
    """Convert a tensor image to ``dtype``, rescaling the values."""

    batch_exact = True

    def __init__(self, dtype):
        self.dtype = dtype

    def __call__(self, image):
        return F.convert_image_dtype(image, self.dtype)

    apply_batch = __call__


class Normalize(_Transform):
    """``(x - mean[c]) / std[c]`` on a float tensor ``(..., C, H, W)``."""

    batch_exact = True

    def __init__(self, mean, std, inplace=False):
        self.mean, self.std, self.inplace = mean, std, inplace

    def __call__(self, tensor):
        return F.normalize(tensor, self.mean, self.std, self.inplace)

    apply_batch = __call__


# ============================================================ deterministic geometry / colour
class Resize(_Transform):
    """Resize to ``size`` (an int: the smaller edge, aspect kept); see
    :func:`functional.resize`. Not batch-exact: PIL images go through Pillow's
    integer resampler, arrays and tensors through the float one."""

    def __init__(self, size, interpolation=InterpolationMode.BILINEAR, max_size=None, antialias=True):
        if not (isinstance(size, numbers.Integral) or (isinstance(size, (list, tuple)) and len(size) in (1, 2))
                or (size is None and max_size is not None)):
            raise TypeError(f"Resize: size should be an int or a sequence of length 1 or 2, received {size!r}")
        self.size = size
        self.interpolation = F._mode(interpolation, "Resize")
        self.max_size, self.antialias = max_size, antialias

    def __call__(self, img):
        return F.resize(img, self.size, self.interpolation, self.max_size, self.antialias)


class CenterCrop(_Deterministic):
    """The central ``size`` window (padding with 0 when larger than the image)."""

    def __init__(self, size):
        self.size = F._size_hw(size, "CenterCrop")

    def _nchw_op(self, x, is_tensor):
        return _dt._center_crop_nchw(x, self.size)

    def _pil(self, img):
        return F.center_crop(img, self.size)


class Pad(_Deterministic):
    """Pad the borders (see :func:`functional.pad`)."""

    def __init__(self, padding, fill=0, padding_mode="constant"):
        if not isinstance(padding, (numbers.Integral, list, tuple)):
            raise TypeError(f"Pad: padding must be an int or a sequence, received {type(padding).__name__}")
        if isinstance(padding, (list, tuple)) and len(padding) not in (1, 2, 4):
            raise ValueError(f"Pad: padding must be a sequence of length 1, 2 or 4, received {padding!r}")
        if padding_mode not in ("constant", "edge", "reflect", "symmetric"):
            raise ValueError(f"Pad: padding_mode must be constant, edge, reflect or symmetric, "
                             f"received {padding_mode!r}")
        self.padding, self.fill, self.padding_mode = padding, fill, padding_mode

    def _nchw_op(self, x, is_tensor):
        return _dt._pad_nchw(x, _dt._pad_tuple(self.padding, "Pad"), self.fill, self.padding_mode)


class Grayscale(_Deterministic):
    """RGB -> grey on ``num_output_channels`` (1 or 3). PIL images and uint8
    arrays: Pillow's integer luma; tensors: torchvision's
    ``0.2989 R + 0.587 G + 0.114 B``."""

    def __init__(self, num_output_channels=1):
        if num_output_channels not in (1, 3):
            raise ValueError(f"Grayscale: num_output_channels should be 1 or 3, received {num_output_channels}")
        self.num_output_channels = num_output_channels

    def _nchw_op(self, x, is_tensor):
        C = x.shape[1]
        if C not in (1, 3):
            raise TypeError(f"Grayscale: input image should have 1 or 3 channels, received {C}")
        g = x.copy() if C == 1 else F._gray_nchw(x, integer_formula=not is_tensor)
        if self.num_output_channels == 3:
            g = backend.array_module(g).concatenate([g, g, g], axis=1)
        return g

    def _pil(self, img):
        return F.rgb_to_grayscale(img, self.num_output_channels)

    def __call__(self, img):
        return F._squeeze_gray(super().__call__(img), batch=False)

    def apply_batch(self, imgs):
        return F._squeeze_gray(super().apply_batch(imgs), batch=True)


# ============================================================ random transforms
def _check_p(p, who):
    if not isinstance(p, numbers.Real) or not 0.0 <= p <= 1.0:
        raise ValueError(f"{who}: p should be a probability in [0, 1], received {p!r}")
    return float(p)


class _Drawn(_Transform):
    """A random transform whose batch form is exact: ``_draw(dims)`` makes
    every random draw of one sample (``dims = (C, H, W)`` of its input; the
    per-sample call makes the same draws through it), ``_apply_drawn(imgs,
    params)`` applies a list of per-sample draws to a stack at once. A batch
    whose draws are made sample by sample, in the per-sample order, is then
    the stack of the per-sample results, bit for bit."""

    batch_exact = True

    def _draw(self, dims):
        raise NotImplementedError

    def _apply_drawn(self, imgs, params):
        raise NotImplementedError

    def apply_batch(self, imgs):
        dims = F.get_dimensions(_first(imgs))
        return self._apply_drawn(imgs, [self._draw(dims) for _ in range(len(imgs))])


def _first(imgs):
    """One sample of a stack, in the kind the per-sample path would see."""
    return Tensor._wrap(imgs.array[0]) if isinstance(imgs, Tensor) else imgs[0]


class _RandomFlip(_Drawn):
    _axis = -1

    def __init__(self, p=0.5):
        self.p = _check_p(p, type(self).__name__)

    def _draw(self, dims):
        return bool(_gen().random() < self.p)

    def __call__(self, img):
        if not self._draw(None):
            return img
        return F.hflip(img) if self._axis == -1 else F.vflip(img)

    def _apply_drawn(self, imgs, params):
        x, restore = F._nchw(imgs, type(self).__name__, batch=True)
        xp = backend.array_module(x)
        flip = xp.asarray(np.array(params, dtype=bool))[:, None, None, None]
        return restore(xp.where(flip, xp.flip(x, axis=self._axis), x))


class RandomHorizontalFlip(_RandomFlip):
    """Mirror left-right with probability ``p``."""

    _axis = -1


class RandomVerticalFlip(_RandomFlip):
    """Mirror top-bottom with probability ``p``."""

    _axis = -2


class RandomCrop(_Drawn):
    """A random ``size`` window, after optional ``padding`` (and, with
    ``pad_if_needed``, padding an image smaller than ``size``)."""

    def __init__(self, size, padding=None, pad_if_needed=False, fill=0, padding_mode="constant"):
        self.size = F._size_hw(size, "RandomCrop")
        if padding is not None:
            _dt._pad_tuple(padding, "RandomCrop")           # validate now
        if padding_mode not in ("constant", "edge", "reflect", "symmetric"):
            raise ValueError(f"RandomCrop: padding_mode must be constant, edge, reflect or symmetric, "
                             f"received {padding_mode!r}")
        self.padding, self.pad_if_needed, self.fill, self.padding_mode = padding, pad_if_needed, fill, padding_mode

    @staticmethod
    def _window(h, w, th, tw):
        if h < th or w < tw:
            raise ValueError(f"RandomCrop: required crop size {(th, tw)} is larger than the input image size "
                             f"{(h, w)}")
        if w == tw and h == th:
            return 0, 0
        g = _gen()
        i = int(g.integers(0, h - th + 1))
        j = int(g.integers(0, w - tw + 1))
        return i, j

    @staticmethod
    def get_params(img, output_size):
        """``(top, left, height, width)`` of a random window of ``output_size``."""
        _, h, w = F.get_dimensions(img)
        th, tw = output_size
        return RandomCrop._window(h, w, th, tw) + (th, tw)

    def _paddings(self, h, w):
        """The paddings (l, t, r, b) applied before cropping an ``h x w`` image, in order."""
        out = []
        if self.padding is not None:
            l, t, r, b = _dt._pad_tuple(self.padding, "RandomCrop")
            out.append((l, t, r, b))
            h, w = h + t + b, w + l + r
        th, tw = self.size
        if self.pad_if_needed and w < tw:
            out.append((tw - w, 0, tw - w, 0))
            w += 2 * (tw - w)
        if self.pad_if_needed and h < th:
            out.append((0, th - h, 0, th - h))
            h += 2 * (th - h)
        return out, h, w

    def _draw(self, dims):
        _, h, w = dims
        _, h, w = self._paddings(h, w)
        return self._window(h, w, *self.size)

    def __call__(self, img):
        _, h, w = F.get_dimensions(img)
        pads, _, _ = self._paddings(h, w)
        for ltrb in pads:
            img = F.pad(img, list(ltrb), self.fill, self.padding_mode)
        i, j = self._draw((None, h, w))                  # (the draw pads the same dims itself)
        return F.crop(img, i, j, *self.size)

    def _apply_drawn(self, imgs, params):
        x, restore = F._nchw(imgs, "RandomCrop", batch=True)
        xp = backend.array_module(x)
        pads, _, _ = self._paddings(*x.shape[-2:])
        for ltrb in pads:
            x = _dt._pad_nchw(x, ltrb, self.fill, self.padding_mode)
        th, tw = self.size
        ij = np.array(params, dtype=np.int64).reshape(-1, 2)
        i, j = xp.asarray(ij[:, 0]), xp.asarray(ij[:, 1])
        # every (th, tw) window as a strided view (no copy), then one gather of
        # the N chosen windows: (N, C, th, tw)
        windows = xp.lib.stride_tricks.sliding_window_view(x, (th, tw), axis=(2, 3))
        return restore(windows[xp.arange(x.shape[0]), :, i, j])


class RandomResizedCrop(_Transform):
    """A random window covering a fraction ~ U(``scale``) of the image with
    aspect ratio ~ log-U(``ratio``), resized to ``size`` (Szegedy et al. 2015's
    Inception augmentation). After 10 misses: the central crop of the closest
    allowed aspect ratio."""

    def __init__(self, size, scale=(0.08, 1.0), ratio=(3.0 / 4.0, 4.0 / 3.0),
                 interpolation=InterpolationMode.BILINEAR, antialias=True):
        self.size = F._size_hw(size, "RandomResizedCrop")
        if scale[0] > scale[1] or ratio[0] > ratio[1]:
            raise ValueError(f"RandomResizedCrop: scale and ratio should be of kind (min, max), received "
                             f"scale={scale}, ratio={ratio}")
        self.scale, self.ratio = tuple(scale), tuple(ratio)
        self.interpolation, self.antialias = F._mode(interpolation, "RandomResizedCrop"), antialias

    @staticmethod
    def get_params(img, scale, ratio):
        _, height, width = F.get_dimensions(img)
        area = height * width
        g = _gen()
        log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
        for _ in range(10):
            target_area = area * g.uniform(scale[0], scale[1])
            aspect = math.exp(g.uniform(*log_ratio))
            w = int(round(math.sqrt(target_area * aspect)))
            h = int(round(math.sqrt(target_area / aspect)))
            if 0 < w <= width and 0 < h <= height:
                i = int(g.integers(0, height - h + 1))
                j = int(g.integers(0, width - w + 1))
                return i, j, h, w
        in_ratio = width / height
        if in_ratio < min(ratio):
            w, h = width, int(round(width / min(ratio)))
        elif in_ratio > max(ratio):
            h, w = height, int(round(height * max(ratio)))
        else:
            w, h = width, height
        return (height - h) // 2, (width - w) // 2, h, w

    def __call__(self, img):
        i, j, h, w = self.get_params(img, self.scale, self.ratio)
        return F.resized_crop(img, i, j, h, w, list(self.size), self.interpolation, antialias=self.antialias)


def _degrees(d, who, name="degrees"):
    if isinstance(d, numbers.Number):
        if d < 0:
            raise ValueError(f"{who}: if {name} is a single number, it must be positive, received {d}")
        return (-float(d), float(d))
    d = tuple(float(v) for v in d)
    if len(d) != 2:
        raise ValueError(f"{who}: if {name} is a sequence, it must be of length 2, received {d}")
    return d


class RandomRotation(_Transform):
    """Rotate by an angle ~ U(``degrees``) (a number d: (-d, d)), counter-clockwise."""

    def __init__(self, degrees, interpolation=InterpolationMode.NEAREST, expand=False, center=None, fill=0):
        self.degrees = _degrees(degrees, "RandomRotation")
        self.interpolation = F._mode(interpolation, "RandomRotation")
        self.expand, self.center, self.fill = expand, center, fill

    @staticmethod
    def get_params(degrees):
        return float(_gen().uniform(float(degrees[0]), float(degrees[1])))

    def __call__(self, img):
        angle = self.get_params(self.degrees)
        return F.rotate(img, angle, self.interpolation, self.expand, self.center, self.fill)


class RandomAffine(_Transform):
    """Random affine map: angle ~ U(``degrees``), shift up to
    ``translate = (a, b)`` of the width/height (whole pixels), scale ~
    U(``scale``), shear ~ U(``shear``) degrees (a number s: x in (-s, s); 2
    values: x range; 4: x then y ranges)."""

    def __init__(self, degrees, translate=None, scale=None, shear=None, interpolation=InterpolationMode.NEAREST,
                 fill=0, center=None):
        self.degrees = _degrees(degrees, "RandomAffine")
        if translate is not None:
            if len(translate) != 2 or not all(0.0 <= t <= 1.0 for t in translate):
                raise ValueError(f"RandomAffine: translate should be two values in [0, 1], received {translate!r}")
            translate = tuple(translate)
        if scale is not None:
            if len(scale) != 2 or any(s <= 0 for s in scale):
                raise ValueError(f"RandomAffine: scale values should be positive, received {scale!r}")
            scale = tuple(scale)
        if shear is not None:
            shear = _degrees(shear, "RandomAffine", "shear") if isinstance(shear, numbers.Number) else tuple(shear)
            if len(shear) not in (2, 4):
                raise ValueError(f"RandomAffine: shear should be a number or a sequence of 2 or 4 values, "
                                 f"received {shear!r}")
        self.translate, self.scale, self.shear = translate, scale, shear
        self.interpolation = F._mode(interpolation, "RandomAffine")
        self.fill, self.center = fill, center

    @staticmethod
    def get_params(degrees, translate, scale_ranges, shears, img_size):
        """``(angle, (tx, ty), scale, (shear_x, shear_y))``; ``img_size = [W, H]``."""
        g = _gen()
        angle = float(g.uniform(degrees[0], degrees[1]))
        if translate is not None:
            max_dx = float(translate[0] * img_size[0])
            max_dy = float(translate[1] * img_size[1])
            t = (int(round(g.uniform(-max_dx, max_dx))), int(round(g.uniform(-max_dy, max_dy))))
        else:
            t = (0, 0)
        scale = float(g.uniform(scale_ranges[0], scale_ranges[1])) if scale_ranges is not None else 1.0
        shear_x = shear_y = 0.0
        if shears is not None:
            shear_x = float(g.uniform(shears[0], shears[1]))
            if len(shears) == 4:
                shear_y = float(g.uniform(shears[2], shears[3]))
        return angle, t, scale, (shear_x, shear_y)

    def __call__(self, img):
        angle, t, s, sh = self.get_params(self.degrees, self.translate, self.scale, self.shear,
                                          F.get_image_size(img))
        return F.affine(img, angle, list(t), s, list(sh), self.interpolation, self.fill, self.center)


class ColorJitter(_Transform):
    """Random brightness, contrast, saturation and hue changes, in a random
    order. Each argument is a number v (factor ~ U(max(0, 1 - v), 1 + v); hue:
    shift ~ U(-v, v), v <= 0.5) or a (min, max) range."""

    def __init__(self, brightness=0, contrast=0, saturation=0, hue=0):
        self.brightness = self._check(brightness, "brightness")
        self.contrast = self._check(contrast, "contrast")
        self.saturation = self._check(saturation, "saturation")
        self.hue = self._check(hue, "hue", center=0, bound=(-0.5, 0.5), clip_first_on_zero=False)

    @staticmethod
    def _check(value, name, center=1.0, bound=(0, float("inf")), clip_first_on_zero=True):
        if isinstance(value, numbers.Number):
            if value < 0:
                raise ValueError(f"ColorJitter: if {name} is a single number, it must be non negative, "
                                 f"received {value}")
            value = [center - float(value), center + float(value)]
            if clip_first_on_zero:
                value[0] = max(value[0], 0.0)
        elif isinstance(value, (tuple, list)) and len(value) == 2:
            value = [float(value[0]), float(value[1])]
        else:
            raise TypeError(f"ColorJitter: {name} should be a single number or a list/tuple of length 2, "
                            f"received {value!r}")
        if not bound[0] <= value[0] <= value[1] <= bound[1]:
            raise ValueError(f"ColorJitter: {name} values should be between {bound}, received {value}")
        return None if value[0] == value[1] == center else tuple(value)

    @staticmethod
    def get_params(brightness, contrast, saturation, hue):
        g = _gen()
        order = g.permutation(4)
        draw = [None if r is None else float(g.uniform(r[0], r[1])) for r in (brightness, contrast, saturation, hue)]
        return (order, *draw)

    def __call__(self, img):
        order, b, c, s, h = self.get_params(self.brightness, self.contrast, self.saturation, self.hue)
        for k in order:
            if k == 0 and b is not None:
                img = F.adjust_brightness(img, b)
            elif k == 1 and c is not None:
                img = F.adjust_contrast(img, c)
            elif k == 2 and s is not None:
                img = F.adjust_saturation(img, s)
            elif k == 3 and h is not None:
                img = F.adjust_hue(img, h)
        return img


class RandomGrayscale(_Transform):
    """Grey (keeping the channel count) with probability ``p``."""

    def __init__(self, p=0.1):
        self.p = _check_p(p, "RandomGrayscale")

    def __call__(self, img):
        c = F.get_image_num_channels(img)
        return F.rgb_to_grayscale(img, num_output_channels=c) if _gen().random() < self.p else img


class RandomApply(_Transform):
    """Apply the list ``transforms`` with probability ``p``, else nothing."""

    def __init__(self, transforms, p=0.5):
        self.transforms, self.p = list(transforms), _check_p(p, "RandomApply")

    def __call__(self, img):
        if self.p < _gen().random():
            return img
        for t in self.transforms:
            img = t(img)
        return img


class RandomChoice(_Transform):
    """Apply one of ``transforms``, picked with weights ``p`` (default equal)."""

    def __init__(self, transforms, p=None):
        self.transforms = list(transforms)
        if p is not None and len(p) != len(self.transforms):
            raise ValueError(f"RandomChoice: the number of p values ({len(p)}) should equal the number of "
                             f"transforms ({len(self.transforms)})")
        self.p = p

    def __call__(self, *args):
        w = np.ones(len(self.transforms)) if self.p is None else np.asarray(self.p, dtype=np.float64)
        k = int(np.searchsorted(np.cumsum(w), _gen().random() * w.sum(), side="right"))
        return self.transforms[min(k, len(self.transforms) - 1)](*args)


class RandomOrder(_Transform):
    """Apply ``transforms`` in a random order."""

    def __init__(self, transforms):
        self.transforms = list(transforms)

    def __call__(self, img):
        for k in _gen().permutation(len(self.transforms)):
            img = self.transforms[k](img)
        return img


class RandomErasing(_Drawn):
    """Erase a random rectangle of a tensor image with probability ``p`` (Zhong
    et al. 2020): area fraction ~ U(``scale``), aspect ~ log-U(``ratio``), up
    to 10 tries; ``value`` a number, one per channel, or 'random' (normal)."""

    def __init__(self, p=0.5, scale=(0.02, 0.33), ratio=(0.3, 3.3), value=0, inplace=False):
        if not isinstance(value, (numbers.Number, str, tuple, list)):
            raise TypeError("RandomErasing: argument value should be either a number, str, or a sequence")
        if isinstance(value, str) and value != "random":
            raise ValueError(f"RandomErasing: if value is a str, it should be 'random', received {value!r}")
        if scale[0] > scale[1] or ratio[0] > ratio[1]:
            raise ValueError(f"RandomErasing: scale and ratio should be of kind (min, max), received "
                             f"scale={scale}, ratio={ratio}")
        if scale[0] < 0 or scale[1] > 1:
            raise ValueError(f"RandomErasing: scale should be between 0 and 1, received {scale}")
        self.p = _check_p(p, "RandomErasing")
        self.scale, self.ratio, self.value, self.inplace = tuple(scale), tuple(ratio), value, inplace

    @staticmethod
    def _rectangle(dims, scale, ratio, value):
        """``(i, j, h, w, v)`` with ``v`` float64 (cast when written), or None
        when 10 tries find no rectangle inside the image."""
        C, H, W = dims
        area = H * W
        g = _gen()
        log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
        for _ in range(10):
            erase_area = area * g.uniform(scale[0], scale[1])
            aspect = math.exp(g.uniform(*log_ratio))
            h = int(round(math.sqrt(erase_area * aspect)))
            w = int(round(math.sqrt(erase_area / aspect)))
            if not (h < H and w < W):
                continue
            v = g.standard_normal((C, h, w)) if value is None else np.asarray(value, np.float64).reshape(-1, 1, 1)
            i = int(g.integers(0, H - h + 1))
            j = int(g.integers(0, W - w + 1))
            return i, j, h, w, v
        return None

    @staticmethod
    def get_params(img, scale, ratio, value=None):
        """``(i, j, h, w, v)``; ``value=None`` means normal noise."""
        C, H, W = F.get_dimensions(img)
        r = RandomErasing._rectangle((C, H, W), scale, ratio, value)
        if r is None:
            return 0, 0, H, W, img
        i, j, h, w, v = r
        return i, j, h, w, Tensor._wrap(np.asarray(v, dtype=np.dtype(img.dtype)))

    def _values(self, C):
        if isinstance(self.value, str):
            return None
        value = [self.value] if isinstance(self.value, numbers.Number) else list(self.value)
        if len(value) not in (1, C):
            raise ValueError(f"RandomErasing: value should have 1 or {C} (channels) values, received {value}")
        return value

    def _draw(self, dims):
        if _gen().random() >= self.p:
            return None
        return self._rectangle(dims, self.scale, self.ratio, self._values(dims[0]))

    def __call__(self, img):
        if not isinstance(img, Tensor):
            raise TypeError(f"RandomErasing: img should be a Tensor (use it after ToTensor), received "
                            f"{type(img).__name__}")
        r = self._draw(F.get_dimensions(img))
        return img if r is None else F.erase(img, *r, inplace=self.inplace)

    def _apply_drawn(self, imgs, params):
        if not isinstance(imgs, Tensor):
            raise TypeError(f"RandomErasing: img should be a Tensor (use it after ToTensor), received "
                            f"{type(imgs).__name__}")
        a = imgs.array if self.inplace else imgs.array.copy()
        xp = backend.array_module(a)
        for n, r in enumerate(params):
            if r is not None:
                i, j, h, w, v = r
                a[n, ..., i:i + h, j:j + w] = xp.asarray(v, dtype=a.dtype)
        return imgs if self.inplace else Tensor._wrap(a)


class GaussianBlur(_Transform):
    """Gaussian blur of ``kernel_size`` with sigma ~ U(``sigma``) (or fixed)."""

    def __init__(self, kernel_size, sigma=(0.1, 2.0)):
        ks = [int(kernel_size)] * 2 if isinstance(kernel_size, numbers.Integral) else [int(k) for k in kernel_size]
        if len(ks) == 1:
            ks = ks * 2
        if len(ks) != 2 or any(k <= 0 or k % 2 == 0 for k in ks):
            raise ValueError(f"GaussianBlur: kernel size values should be odd and positive, received {kernel_size}")
        if isinstance(sigma, numbers.Number):
            if sigma <= 0:
                raise ValueError(f"GaussianBlur: if sigma is a single number, it must be positive, received {sigma}")
            sigma = (float(sigma), float(sigma))
        elif len(sigma) != 2 or not 0 < sigma[0] <= sigma[1]:
            raise ValueError(f"GaussianBlur: sigma values should be positive and of the form (min, max), "
                             f"received {sigma}")
        self.kernel_size, self.sigma = tuple(ks), tuple(float(s) for s in sigma)

    @staticmethod
    def get_params(sigma_min, sigma_max):
        return float(_gen().uniform(sigma_min, sigma_max))

    def __call__(self, img):
        s = self.get_params(*self.sigma)
        return F.gaussian_blur(img, list(self.kernel_size), [s, s])
