"""``DatasetFolder`` / ``ImageFolder``: one sub-directory per class
(``root/<class>/<file>``), files decoded by a loader (PNG/JPEG via Pillow,
optional). Class names, order and errors as torchvision's."""
from __future__ import annotations

import os
import stat

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
        mode = os.stat(path).st_mode
    except OSError as e:
        raise RuntimeError(f"ImageFolder: cannot read image {path}: {e.strerror or e}") from None
    if not stat.S_ISREG(mode):      # a FIFO would block the reader forever
        raise RuntimeError(f"ImageFolder: {path} is not a regular file (a "
                           f"{'FIFO' if stat.S_ISFIFO(mode) else 'directory or device'}); images are read "
                           "from regular files only")
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


def _walk(top, visited):
    """``(dirpath, files)`` under ``top`` in sorted order, links followed, each
    real directory once (a symlink loop neither repeats samples nor recurses
    forever); ``files`` are ``(name, (device, inode))`` of regular files (the
    identity tells a file reached twice through links), ``specials`` FIFOs,
    sockets, devices."""
    try:
        st = os.stat(top)
    except OSError:
        return
    key = (st.st_dev, st.st_ino)
    if key in visited:
        return
    visited.add(key)
    try:
        entries = sorted(os.scandir(top), key=lambda e: e.name)
    except OSError:
        return
    files, dirs, specials = [], [], []
    for e in entries:
        try:
            if e.is_dir():
                dirs.append(e.path)
            elif e.is_file():
                # readdir's inode is the file's own unless the entry is a link
                ident = (st.st_dev, e.inode()) if not e.is_symlink() else \
                    (lambda s: (s.st_dev, s.st_ino))(e.stat())
                files.append((e.name, ident))
            elif os.path.exists(e.path):      # not a broken link: a FIFO, socket or device
                specials.append(e.name)
        except OSError:
            continue
    yield top, files, specials
    for d in dirs:
        yield from _walk(d, visited)


def make_dataset(directory, class_to_idx=None, extensions=None, is_valid_file=None, allow_empty=False):
    """``[(path, class_index), ...]``: every selected file under each class
    folder (walked in sorted order, links followed, each real directory once).
    Select files either by ``extensions`` or by ``is_valid_file(path)``,
    exactly one of the two. A FIFO, socket or device whose name has a selected
    extension raises an error naming it (reading it would block)."""
    directory = os.path.expanduser(os.fspath(directory))
    if class_to_idx is None:
        _, class_to_idx = find_classes(directory)
    if (extensions is None) == (is_valid_file is None):
        raise ValueError("make_dataset: pass exactly one of extensions and is_valid_file, received "
                         f"extensions={extensions!r}, is_valid_file={is_valid_file!r}")
    if is_valid_file is None:
        def is_valid_file(path):
            return has_file_allowed_extension(path, extensions)
    samples, empty, seen = [], [], set()
    # links back to the root or into another class folder are not followed: a
    # loop would repeat samples, and another class's images would get this label
    roots = {}
    for d in [directory] + [os.path.join(directory, c) for c in class_to_idx]:
        try:
            st = os.stat(d)
            roots[d] = (st.st_dev, st.st_ino)
        except OSError:
            pass
    for c in sorted(class_to_idx, key=class_to_idx.get):
        n0 = len(samples)
        own = os.path.join(directory, c)
        for dirpath, files, specials in _walk(own, {v for k, v in roots.items() if k != own}):
            for name in specials:
                if extensions is not None and has_file_allowed_extension(name, extensions):
                    raise OSError(f"ImageFolder: {os.path.join(dirpath, name)} is not a regular file (a FIFO, "
                                  "socket or device); remove it from the image folder")
            for name, ident in files:
                path = os.path.join(dirpath, name)
                if is_valid_file(path):
                    if ident in seen:         # the same file reached again through a link
                        continue
                    seen.add(ident)
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
        classes: (neuronet) the class names in index order, e.g. the training
            split's, so that every split maps a name to the same index; a
            folder not among them is an error, a missing one is allowed.

    Attributes: ``classes`` (sorted folder names), ``class_to_idx``,
    ``samples`` (list of ``(path, class_index)``), ``targets``.
    ``ds[i]`` is ``(transform(loader(path)), target_transform(class_index))``.
    """

    def __init__(self, root, loader, extensions=None, transform=None, target_transform=None,
                 is_valid_file=None, allow_empty=False, classes=None):
        self.root = os.fspath(root)
        self.loader = loader
        self.extensions = extensions
        self.transform, self.target_transform = transform, target_transform
        self.classes, self.class_to_idx = self.find_classes(self.root)
        if classes is not None:
            # another split's classes: the same names get the same indices, a
            # folder of another name is an error (it would be scored as a wrong class)
            classes = list(classes)
            extra = sorted(set(self.classes) - set(classes))
            if extra:
                raise ValueError(f"{type(self).__name__}: {self.root} has class folder(s) {extra} that are not "
                                 f"among the classes given ({len(classes)}: {', '.join(classes[:10])}"
                                 f"{', ...' if len(classes) > 10 else ''})")
            self.classes, self.class_to_idx = classes, {c: i for i, c in enumerate(classes)}
            allow_empty = True      # a split may lack some classes
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
        root, transform, target_transform, is_valid_file, allow_empty, classes: as
            :class:`DatasetFolder`.
        loader: ``path -> image`` (default :func:`pil_loader`, RGB).
        extensions: accepted endings when ``is_valid_file`` is None
            (default :data:`IMG_EXTENSIONS`).

    Attributes: those of :class:`DatasetFolder`, and ``imgs`` (= ``samples``).
    """

    def __init__(self, root, transform=None, target_transform=None, loader=None, is_valid_file=None,
                 allow_empty=False, extensions=IMG_EXTENSIONS, classes=None):
        if loader is None:
            _pil()  # fail now, clearly, rather than at the first image
            loader = pil_loader
        super().__init__(root, loader, extensions if is_valid_file is None else None, transform,
                         target_transform, is_valid_file, allow_empty, classes)
        self.imgs = self.samples
