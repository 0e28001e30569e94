"""``ImageFolder``: one sub-directory per class of PNG/JPEG files (Pillow, optional)."""
from __future__ import annotations

import os

from ..dataset import Dataset, _check_index

__all__ = ["ImageFolder", "pil_loader", "IMG_EXTENSIONS"]

IMG_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")


def _pil():
    try:
        from PIL import Image
    except ImportError:
        raise ImportError("ImageFolder decodes PNG/JPEG with Pillow, which is not installed: "
                          "pip install pillow (or pip install neuronet[images])") from None
    return Image


def pil_loader(path):
    """Open ``path`` as an RGB PIL image; a file Pillow cannot decode raises an
    error naming it."""
    Image = _pil()
    try:
        with open(path, "rb") as f:
            img = Image.open(f)
            return img.convert("RGB")
    except (OSError, SyntaxError, ValueError) as e:  # UnidentifiedImageError is an OSError
        raise RuntimeError(f"ImageFolder: cannot read image {path}: {e}") from e


class ImageFolder(Dataset):
    """Images arranged as ``root/<class>/<file>``, classes sorted by name.

    Args:
        root: the directory of class folders.
        transform / target_transform: applied to the PIL image / the int label.
        loader: ``path -> image`` (default :func:`pil_loader`, RGB).
        is_valid_file: ``path -> bool`` to select files (else by ``extensions``).
        allow_empty: accept class folders with no image.

    Attributes: ``classes`` (sorted folder names), ``class_to_idx``,
    ``samples`` (list of ``(path, class_index)``), ``targets``, ``imgs``.
    """

    def __init__(self, root, transform=None, target_transform=None, loader=None, is_valid_file=None,
                 allow_empty=False, extensions=IMG_EXTENSIONS):
        self.root = os.fspath(root)
        if loader is None:
            _pil()  # fail now, clearly, rather than at the first image
            loader = pil_loader
        self.loader = loader
        self.transform, self.target_transform = transform, target_transform
        if not os.path.isdir(self.root):
            raise FileNotFoundError(f"ImageFolder: {self.root} is not a directory")
        self.classes = sorted(e.name for e in os.scandir(self.root) if e.is_dir())
        if not self.classes:
            raise FileNotFoundError(f"ImageFolder: no class folders in {self.root} (expected root/<class>/<image>)")
        self.class_to_idx = {c: i for i, c in enumerate(self.classes)}
        valid = is_valid_file if is_valid_file is not None else \
            (lambda p: p.lower().endswith(tuple(extensions)))
        self.samples = []
        for c in self.classes:
            n0 = len(self.samples)
            for dirpath, _, files in sorted(os.walk(os.path.join(self.root, c), followlinks=True)):
                for name in sorted(files):
                    path = os.path.join(dirpath, name)
                    if valid(path):
                        self.samples.append((path, self.class_to_idx[c]))
            if len(self.samples) == n0 and not allow_empty:
                raise FileNotFoundError(f"ImageFolder: class folder {os.path.join(self.root, c)} holds no image "
                                        f"with extension {', '.join(extensions)} (pass allow_empty=True to accept)")
        self.targets = [t for _, t in self.samples]
        self.imgs = self.samples

    def __len__(self):
        return len(self.samples)

    def __getitem__(self, index):
        path, target = self.samples[_check_index(index, len(self), "ImageFolder")]
        img = self.loader(path)
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target
