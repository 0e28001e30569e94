"""``DatasetFolder`` / ``ImageFolder``: one sub-directory per class
(``root/<class>/<file>``), files decoded by a loader (PNG/JPEG via Pillow,
optional). Class names, order and errors as torchvision's."""
from __future__ import annotations

import os

from ..dataset import Dataset, _check_index

__all__ = ["DatasetFolder", "ImageFolder", "pil_loader", "default_loader", "find_classes", "make_dataset",
           "has_file_allowed_extension", "IMG_EXTENSIONS"]

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


default_loader = pil_loader


def has_file_allowed_extension(filename, extensions):
    """True when ``filename`` ends with one of ``extensions`` (case-insensitive)."""
    ext = extensions if isinstance(extensions, str) else tuple(extensions)
    return filename.lower().endswith(ext)


def find_classes(directory):
    """The class folders of ``directory``, sorted by name, and ``{name: index}``."""
    directory = os.fspath(directory)
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"Couldn't find any class folder in {directory}: it is not a directory")
    classes = sorted(e.name for e in os.scandir(directory) if e.is_dir())
    if not classes:
        raise FileNotFoundError(f"Couldn't find any class folder in {directory} "
                                "(expected root/<class>/<file>).")
    return classes, {c: i for i, c in enumerate(classes)}


def make_dataset(directory, class_to_idx=None, extensions=None, is_valid_file=None, allow_empty=False):
    """``[(path, class_index), ...]``: every selected file under each class
    folder (walked in sorted order, links followed). Select files either by
    ``extensions`` or by ``is_valid_file(path)``, exactly one of the two."""
    directory = os.path.expanduser(os.fspath(directory))
    if class_to_idx is None:
        _, class_to_idx = find_classes(directory)
    if (extensions is None) == (is_valid_file is None):
        raise ValueError("make_dataset: pass exactly one of extensions and is_valid_file, received "
                         f"extensions={extensions!r}, is_valid_file={is_valid_file!r}")
    if is_valid_file is None:
        def is_valid_file(path):
            return has_file_allowed_extension(path, extensions)
    samples, empty = [], []
    for c in sorted(class_to_idx, key=class_to_idx.get):
        n0 = len(samples)
        for dirpath, _, files in sorted(os.walk(os.path.join(directory, c), followlinks=True)):
            for name in sorted(files):
                path = os.path.join(dirpath, name)
                if is_valid_file(path):
                    samples.append((path, class_to_idx[c]))
        if len(samples) == n0:
            empty.append(c)
    if empty and not allow_empty:
        what = f"with extension {', '.join(extensions) if not isinstance(extensions, str) else extensions}" \
            if extensions is not None else "accepted by is_valid_file"
        raise FileNotFoundError(f"Found no valid file for the classes {', '.join(sorted(empty))}: the class "
                                f"folder(s) in {directory} hold no file {what} (pass allow_empty=True to accept)")
    return samples


class DatasetFolder(Dataset):
    """Files arranged as ``root/<class>/<file>``, classes sorted by name.

    Args:
        root: the directory of class folders.
        loader: ``path -> sample``.
        extensions: accepted file endings (or give ``is_valid_file``).
        transform / target_transform: applied to the loaded sample / the int label.
        is_valid_file: ``path -> bool`` selecting files (instead of ``extensions``).
        allow_empty: accept class folders with no selected file.

    Attributes: ``classes`` (sorted folder names), ``class_to_idx``,
    ``samples`` (list of ``(path, class_index)``), ``targets``.
    ``ds[i]`` is ``(transform(loader(path)), target_transform(class_index))``.
    """

    def __init__(self, root, loader, extensions=None, transform=None, target_transform=None,
                 is_valid_file=None, allow_empty=False):
        self.root = os.fspath(root)
        self.loader = loader
        self.extensions = extensions
        self.transform, self.target_transform = transform, target_transform
        self.classes, self.class_to_idx = self.find_classes(self.root)
        self.samples = self.make_dataset(self.root, self.class_to_idx, extensions, is_valid_file,
                                         allow_empty=allow_empty)
        self.targets = [t for _, t in self.samples]

    @staticmethod
    def make_dataset(directory, class_to_idx, extensions=None, is_valid_file=None, allow_empty=False):
        return make_dataset(directory, class_to_idx, extensions, is_valid_file, allow_empty)

    def find_classes(self, directory):
        """Override to choose other classes: returns ``(classes, class_to_idx)``."""
        return find_classes(directory)

    def __len__(self):
        return len(self.samples)

    def __getitem__(self, index):
        path, target = self.samples[_check_index(index, len(self), type(self).__name__)]
        sample = self.loader(path)
        if self.transform is not None:
            sample = self.transform(sample)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return sample, target

    def __repr__(self):
        return f"{type(self).__name__}(n={len(self)}, classes={len(self.classes)}, root={self.root!r})"


class ImageFolder(DatasetFolder):
    """Images arranged as ``root/<class>/<image>`` (:class:`DatasetFolder` with
    Pillow's decoder); each sample is an RGB PIL image.

    Args:
        root, transform, target_transform, is_valid_file, allow_empty: as
            :class:`DatasetFolder`.
        loader: ``path -> image`` (default :func:`pil_loader`, RGB).
        extensions: accepted endings when ``is_valid_file`` is None
            (default :data:`IMG_EXTENSIONS`).

    Attributes: those of :class:`DatasetFolder`, and ``imgs`` (= ``samples``).
    """

    def __init__(self, root, transform=None, target_transform=None, loader=None, is_valid_file=None,
                 allow_empty=False, extensions=IMG_EXTENSIONS):
        if loader is None:
            _pil()  # fail now, clearly, rather than at the first image
            loader = pil_loader
        super().__init__(root, loader, extensions if is_valid_file is None else None, transform,
                         target_transform, is_valid_file, allow_empty)
        self.imgs = self.samples
