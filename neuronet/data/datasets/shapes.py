"""``Shapes``: a synthetic segmentation set of circles, squares and triangles."""
from __future__ import annotations

import math

import numpy as np

from ...tensor import Tensor
from ..dataset import Dataset, _check_index

__all__ = ["Shapes"]


class Shapes(Dataset):
    """Random circles, squares and triangles with per-pixel class masks.

    Each sample is ``(image, mask)``: image ``(C, H, W)`` float32 in [0, 1],
    mask ``(H, W)`` int64 with class 0 background, 1 circle, 2 square,
    3 triangle (later shapes occlude earlier ones, and the mask says what is
    visible). Squares and triangles are turned by a random angle. Sample ``i``
    is drawn from its own generator seeded by ``(seed, split, i)``, so it is the
    same whatever the access order, and nothing is stored.

    Args:
        train: which split (train and test use disjoint seeds).
        num_samples: dataset length (default 1000 train / 200 test).
        size: image side ``H = W`` in pixels (>= 16).
        channels: 1 (grey) or 3 (colour).
        max_shapes: each image has 1..max_shapes shapes.
        noise: std of the Gaussian pixel noise added (then clipped to [0, 1]).
        seed: base seed.
        transform / target_transform: on the image / the mask alone;
        transforms: joint ``(image, mask) -> (image, mask)`` (e.g. a
            :class:`~neuronet.data.transforms.Compose` of geometric transforms,
            which move the mask with the image).
    """

    classes = ["background", "circle", "square", "triangle"]
    num_classes = 4

    def __init__(self, train=True, num_samples=None, size=64, channels=3, max_shapes=3, noise=0.05, seed=0,
                 transform=None, target_transform=None, transforms=None):
        if size < 16:
            raise ValueError(f"Shapes: size must be at least 16 pixels, received {size}")
        if channels not in (1, 3):
            raise ValueError(f"Shapes: channels must be 1 or 3, received {channels}")
        if max_shapes < 1:
            raise ValueError(f"Shapes: max_shapes must be >= 1, received {max_shapes}")
        if noise < 0:
            raise ValueError(f"Shapes: noise must be >= 0, received {noise}")
        self.train = bool(train)
        self.num_samples = int(num_samples if num_samples is not None else (1000 if train else 200))
        self.size, self.channels, self.max_shapes = int(size), int(channels), int(max_shapes)
        self.noise, self.seed = float(noise), int(seed)
        self.transform, self.target_transform, self.transforms = transform, target_transform, transforms

    def __len__(self):
        return self.num_samples

    def generate(self, index):
        """Sample ``index`` as NumPy arrays: (image (C, H, W) float32, mask (H, W) int64)."""
        g = np.random.default_rng([self.seed, 0 if self.train else 1, index])
        S, C = self.size, self.channels
        yy, xx = np.mgrid[0:S, 0:S].astype(np.float64)
        bg = g.uniform(0.0, 0.35, size=C)
        img = np.broadcast_to(bg[:, None, None], (C, S, S)).copy()
        mask = np.zeros((S, S), dtype=np.int64)
        for _ in range(int(g.integers(1, self.max_shapes + 1))):
            cls = int(g.integers(1, 4))
            r = g.uniform(0.1 * S, 0.22 * S)
            cx, cy = g.uniform(r, S - 1 - r, size=2)
            theta = g.uniform(0, 2 * math.pi)
            color = g.uniform(0.45, 1.0, size=C)
            dx, dy = xx - cx, yy - cy
            if cls == 1:
                inside = dx * dx + dy * dy <= r * r
            elif cls == 2:
                u = dx * math.cos(theta) + dy * math.sin(theta)
                v = -dx * math.sin(theta) + dy * math.cos(theta)
                half = r / math.sqrt(2.0) * 1.1
                inside = (np.abs(u) <= half) & (np.abs(v) <= half)
            else:
                ang = theta + np.arange(3) * 2 * math.pi / 3
                vx, vy = cx + r * np.cos(ang), cy + r * np.sin(ang)
                sides = [(vx[(k + 1) % 3] - vx[k]) * (yy - vy[k]) - (vy[(k + 1) % 3] - vy[k]) * (xx - vx[k])
                         for k in range(3)]
                inside = ((sides[0] >= 0) & (sides[1] >= 0) & (sides[2] >= 0)) | \
                         ((sides[0] <= 0) & (sides[1] <= 0) & (sides[2] <= 0))
            mask[inside] = cls
            img[:, inside] = color[:, None]
        if self.noise > 0:
            img += g.normal(0.0, self.noise, size=img.shape)
        return np.clip(img, 0.0, 1.0).astype(np.float32), mask

    def __getitem__(self, index):
        img, mask = self.generate(_check_index(index, len(self), "Shapes"))
        img, mask = Tensor._wrap(img), Tensor._wrap(mask)
        if self.transforms is not None:
            img, mask = self.transforms(img, mask)
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            mask = self.target_transform(mask)
        return img, mask
