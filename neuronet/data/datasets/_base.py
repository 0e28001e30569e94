"""What the downloadable datasets share: root/cache resolution, mirrors, errors."""
from __future__ import annotations

import os

from ..download import ChecksumError, DownloadError, cache_dir, download_from_mirrors

__all__ = ["DatasetFormatError", "DatasetNotFoundError", "resolve_root", "mirror_list", "fetch"]


class DatasetFormatError(ValueError):
    """A data file is malformed (bad magic, truncated, inconsistent); the
    message names the file."""


class DatasetNotFoundError(FileNotFoundError, RuntimeError):
    """The dataset's files are not on disk (and were not downloaded).

    Both a ``FileNotFoundError`` and a ``RuntimeError``: torchvision raises
    ``RuntimeError("Dataset not found. You can use download=True to download
    it")``, so code written for it catches this too. The message starts with
    torchvision's sentence, then says which files to put where."""

    def __init__(self, details):
        super().__init__(f"Dataset not found. You can use download=True to download it. {details}")


def resolve_root(root):
    """``root`` as an absolute path; ``None`` means the cache (``$NEURONET_DATA``
    or ``~/.cache/neuronet``)."""
    return cache_dir() if root is None else os.path.abspath(os.path.expanduser(os.fspath(root)))


def mirror_list(cls):
    """``$NEURONET_MIRROR_<NAME>`` (comma-separated base URLs) first, then the
    class attribute ``mirrors``."""
    env = os.environ.get(f"NEURONET_MIRROR_{cls.__name__.upper()}", "")
    return [m.strip() for m in env.split(",") if m.strip()] + list(cls.mirrors)


def fetch(cls, files, folder, progress=None):
    """Download each ``(filename, md5)`` in ``files`` into ``folder`` unless present.

    Offline (or with every mirror failing) the error says which files to place
    where by hand.
    """
    mirrors = mirror_list(cls)
    for name, md5 in files:
        path = os.path.join(folder, name)
        if os.path.isfile(path):
            continue
        try:
            download_from_mirrors(mirrors, name, path, md5=md5, progress=progress)
        except ChecksumError:
            raise
        except DownloadError as e:
            raise DownloadError(
                f"{cls.__name__}: could not download {name} (no network, or every mirror failed).\n"
                f"Place these files by hand in {folder}:\n"
                + "".join(f"  {n}  (MD5 {m})\n" for n, m in files)
                + f"from one of: {', '.join(mirrors)}\nDetails: {e}") from e
