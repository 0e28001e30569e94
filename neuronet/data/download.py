"""Fetching data files: cache directory, verified atomic downloads, safe extraction.

A download streams into a temporary file beside its destination, hashing as it
goes; only when every byte announced by the server has arrived *and* the
checksum matches is the file renamed into place (``os.replace`` is atomic on
one file system). Any failure -- connection dropped, short body, wrong
checksum, Ctrl-C -- deletes the temporary file, so a later run never sees a
partial or corrupt file under the real name.

The cache is ``~/.cache/neuronet`` unless the environment variable
``NEURONET_DATA`` names another directory; datasets built with ``root=None``
use it.
"""
from __future__ import annotations

import hashlib
import os
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.request

__all__ = ["cache_dir", "download_url", "file_digest", "check_file", "ChecksumError",
           "DownloadError", "extract_tar_members"]


class ChecksumError(RuntimeError):
    """A file's MD5/SHA-256 differs from the published value."""


class DownloadError(RuntimeError):
    """No mirror delivered a complete, verified file."""


def cache_dir() -> str:
    """The data cache: ``$NEURONET_DATA`` or ``~/.cache/neuronet``."""
    env = os.environ.get("NEURONET_DATA")
    return os.path.abspath(os.path.expanduser(env or os.path.join("~", ".cache", "neuronet")))


def _hasher(md5=None, sha256=None):
    if sha256:
        return hashlib.sha256(), sha256.lower(), "SHA-256"
    if md5:
        return hashlib.md5(usedforsecurity=False), md5.lower(), "MD5"
    return None, None, None


def file_digest(path, algorithm="sha256", chunk=1 << 20) -> str:
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def check_file(path, md5=None, sha256=None):
    """Raise :class:`ChecksumError` naming ``path`` unless its digest matches."""
    h, expected, name = _hasher(md5, sha256)
    if h is None:
        return
    got = file_digest(path, "sha256" if name == "SHA-256" else "md5")
    if got != expected:
        raise ChecksumError(f"checksum mismatch for {path}: {name} is {got}, expected {expected}; "
                            "the file is corrupt or not the published one -- delete it and "
                            "download it again")


class _Progress:
    """A one-line progress bar on stderr, silent when stderr is not a terminal."""

    def __init__(self, name, total, enabled=None):
        self.name, self.total, self.done = name, total, 0
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self._last = 0.0

    def update(self, n):
        self.done += n
        if not self.enabled or time.monotonic() - self._last < 0.1:
            return
        self._last = time.monotonic()
        self._draw()

    def _draw(self):
        mb = self.done / 2**20
        if self.total:
            frac = min(self.done / self.total, 1.0)
            bar = "#" * int(30 * frac)
            msg = f"\r{self.name}: [{bar:<30}] {100 * frac:5.1f}% {mb:.1f}/{self.total / 2**20:.1f} MiB"
        else:
            msg = f"\r{self.name}: {mb:.1f} MiB"
        sys.stderr.write(msg)
        sys.stderr.flush()

    def close(self):
        if self.enabled:
            self._draw()
            sys.stderr.write("\n")
            sys.stderr.flush()


def download_url(url, path, md5=None, sha256=None, progress=None, timeout=30.0, chunk=1 << 16):
    """Download ``url`` to ``path`` atomically, verifying SHA-256 (or MD5).

    Returns ``path``. Raises :class:`ChecksumError` on a digest mismatch and
    :class:`DownloadError` on a network failure or a body shorter than the
    announced ``Content-Length``; in every failure no file is left at ``path``
    nor any temporary beside it.
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    h, expected, algo = _hasher(md5, sha256)
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".part", dir=directory)
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                req = urllib.request.Request(url, headers={"User-Agent": "neuronet"})
                with urllib.request.urlopen(req, timeout=timeout) as resp:
                    length = resp.headers.get("Content-Length")
                    total = int(length) if length and length.isdigit() else None
                    bar = _Progress(os.path.basename(path), total, progress)
                    received = 0
                    while True:
                        # read1-like loop; http.client raises IncompleteRead when the
                        # server closes before Content-Length bytes arrived
                        block = resp.read(chunk)
                        if not block:
                            break
                        out.write(block)
                        if h is not None:
                            h.update(block)
                        received += len(block)
                        bar.update(len(block))
                    bar.close()
            except (urllib.error.URLError, OSError, ValueError) as e:
                raise DownloadError(f"downloading {url} failed: {e}") from e
            except Exception as e:  # http.client.IncompleteRead, RemoteDisconnected, ...
                raise DownloadError(f"downloading {url} failed: {type(e).__name__}: {e}") from e
            if total is not None and received != total:
                raise DownloadError(f"downloading {url} failed: received {received} bytes, the server "
                                    f"announced {total} (interrupted transfer)")
        if h is not None and h.hexdigest() != expected:
            raise ChecksumError(f"checksum mismatch for {path} downloaded from {url}: {algo} is "
                                f"{h.hexdigest()}, expected {expected}; the file was not kept")
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return path


def download_from_mirrors(mirrors, filename, path, md5=None, sha256=None, progress=None):
    """Try ``mirror + filename`` for each mirror in turn; return ``path`` or raise
    :class:`DownloadError` listing every attempt. A checksum mismatch is tried on
    the next mirror too (a mirror may serve a stale file)."""
    errors = []
    for base in mirrors:
        url = base if base.endswith(filename) else base.rstrip("/") + "/" + filename
        try:
            return download_url(url, path, md5=md5, sha256=sha256, progress=progress)
        except (DownloadError, ChecksumError) as e:
            errors.append(e)
    if errors and all(isinstance(e, ChecksumError) for e in errors):
        raise errors[-1]
    raise DownloadError(f"could not download {filename}:\n  " + "\n  ".join(str(e) for e in errors))


def extract_tar_members(archive, dest, members, optional=()):
    """Extract only the named regular files of a tar archive into ``dest``.

    Names are checked against ``members`` (paths inside the archive), so a
    hostile archive cannot write outside ``dest`` (no ``..``, no absolute
    paths, no links). Each file is written atomically. ``optional`` members
    are extracted when present.
    """
    wanted = set(members) | set(optional)
    found = set()
    with tarfile.open(archive, "r:*") as tar:
        for info in tar:
            if info.name not in wanted:
                continue
            if not info.isfile():
                raise RuntimeError(f"{archive}: member {info.name!r} is not a regular file")
            target = os.path.join(dest, *info.name.split("/"))
            os.makedirs(os.path.dirname(target), exist_ok=True)
            src = tar.extractfile(info)
            fd, tmp = tempfile.mkstemp(prefix=".extract.", dir=os.path.dirname(target))
            try:
                with os.fdopen(fd, "wb") as out:
                    while block := src.read(1 << 20):
                        out.write(block)
                os.replace(tmp, target)
            except BaseException:
                if os.path.exists(tmp):
                    os.unlink(tmp)
                raise
            found.add(info.name)
    missing = set(members) - found
    if missing:
        raise RuntimeError(f"{archive} lacks the expected members {sorted(missing)}")
