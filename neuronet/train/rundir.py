"""Run directories: never lose a run, never share one between two trainers.

(The lock of a process on another machine sharing the disk is always taken
as live: remove ``.lock`` by hand if that machine's trainer is gone.)

- :func:`holds_run` tells whether a directory already holds a run's files;
  :func:`fresh_run_dir` picks ``base``, else ``base-2``, ``base-3``, ... (the
  first that holds no run and is not locked).
- :class:`RunLock` is a lock file (``.lock``, holding the owner's process
  id) created with ``O_EXCL``: a second trainer on the same directory gets
  one :class:`RunDirectoryError`; the lock of a process that no longer runs
  (killed) is stale and taken over. Re-entrant within one process.
- While the lock is held, temporary files of killed saves are removed.
"""
from __future__ import annotations

import os
import socket

from ..serialization import _pid_alive, clean_stale_temporaries

__all__ = ["RUN_FILES", "RunDirectoryError", "RunLock", "holds_run", "fresh_run_dir", "clear_run"]

# The files that make a directory a run's (what a new run would replace).
RUN_FILES = ("last.npz", "best.npz", "metrics.csv", "history.json", "summary.json")
LOCK_NAME = ".lock"
_held: dict[str, list] = {}     # real path -> [lock path, count], this process's locks


class RunDirectoryError(RuntimeError):
    """A run directory that cannot be used: names it, and what to do."""


def holds_run(directory):
    """True when ``directory`` holds any of a run's files (:data:`RUN_FILES`)."""
    return any(os.path.lexists(os.path.join(directory, n)) for n in RUN_FILES)


def lock_owner(directory):
    """The process id in ``directory``'s lock file if that process runs, else None."""
    try:
        with open(os.path.join(directory, LOCK_NAME)) as f:
            words = f.read().split()
        pid = int(words[0])
    except (OSError, ValueError, IndexError):
        return None
    if len(words) > 1 and words[1] != socket.gethostname():
        return pid          # another machine's process (a shared disk): it cannot be checked from here
    return pid if pid == os.getpid() or _pid_alive(pid) else None


def fresh_run_dir(base):
    """``base`` if it holds no run and no live lock, else the first such
    ``base-N`` (N = 2, 3, ...)."""
    base = os.fspath(base).rstrip(os.sep) or os.sep
    n = 1
    while True:
        cand = base if n == 1 else f"{base}-{n}"
        if not os.path.exists(cand) or (os.path.isdir(cand) and not holds_run(cand)
                                        and lock_owner(cand) is None):
            return cand
        n += 1


def clear_run(directory):
    """Remove a run's files (:data:`RUN_FILES`) from ``directory`` (``--overwrite``)."""
    for n in RUN_FILES:
        try:
            os.unlink(os.path.join(directory, n))
        except FileNotFoundError:
            pass


class RunLock:
    """``with RunLock(dir):`` -- this process alone trains into ``dir``.

    The lock file ``dir/.lock`` holds ``<pid> <host>``. A lock left by a
    process that no longer runs is removed and taken. Acquiring a lock this
    process already holds nests (released at the outermost exit). On
    acquiring, stale temporary files (killed saves, old loggers) are removed;
    ``removed`` lists them.
    """

    def __init__(self, directory):
        self.directory = os.fspath(directory)
        self.path = os.path.join(self.directory, LOCK_NAME)
        self.removed: list[str] = []
        self._key = None

    def acquire(self):
        try:
            os.makedirs(self.directory, exist_ok=True)
        except OSError as e:
            raise RunDirectoryError(f"run directory {self.directory!r} is not writable (cannot create it): "
                                    f"{e.strerror or e}") from None
        key = os.path.realpath(self.directory)
        if key in _held:
            _held[key][1] += 1
            self._key = key
            return self
        for _ in range(3):
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                owner = lock_owner(self.directory)
                if owner is not None:
                    raise RunDirectoryError(
                        f"run directory {self.directory!r} is in use by another trainer (process {owner}, "
                        f"lock file {self.path}); wait for it to finish or choose another --out") from None
                try:                      # stale: its process is gone
                    os.unlink(self.path)
                except FileNotFoundError:
                    pass
                continue
            except OSError as e:
                raise RunDirectoryError(f"run directory {self.directory!r} is not writable: "
                                        f"{e.strerror or e}") from None
            with os.fdopen(fd, "w") as f:
                f.write(f"{os.getpid()} {socket.gethostname()}\n")
            break
        else:
            raise RunDirectoryError(f"run directory {self.directory!r}: cannot take the lock {self.path}")
        _held[key] = [self.path, 1]
        self._key = key
        self.removed = clean_stale_temporaries(self.directory, min_age_s=0.0)
        for n in os.listdir(self.directory):     # fixed names of older loggers
            if n.endswith(".tmp") and n[:-4] in RUN_FILES:
                try:
                    os.unlink(os.path.join(self.directory, n))
                    self.removed.append(n)
                except OSError:
                    pass
        return self

    def release(self):
        if self._key is None or self._key not in _held:
            return
        entry = _held[self._key]
        entry[1] -= 1
        if entry[1] == 0:
            del _held[self._key]
            try:
                os.unlink(entry[0])
            except FileNotFoundError:
                pass
        self._key = None

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()
