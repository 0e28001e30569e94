"""Fixtures for the ONNX tests.

``cheap_draws``: building VGG's 25088x4096 classifier is dominated by drawing
its random weights (seconds per model on a slow core). Large draws here tile a
2^20-sample pool of genuine draws, so the weights are still random and varied
(what an export test needs) and eight VGGs build in a fraction of the time.
"""
import math

import numpy as np
import pytest

from neuronet import backend

POOL = 1 << 20


class _TiledDraws:
    def __init__(self, real):
        self._real = real

    def __getattr__(self, name):
        return getattr(self._real, name)

    def _draw(self, method, size, *args, **kwargs):
        shape = () if size is None else ((size,) if isinstance(size, (int, np.integer)) else tuple(size))
        n = math.prod(shape)
        if n <= POOL:
            return getattr(self._real, method)(*args, size=size, **kwargs)
        pool = getattr(self._real, method)(*args, size=POOL, **kwargs)
        return np.resize(pool.astype(np.float32, copy=False), shape)

    def uniform(self, low=0.0, high=1.0, size=None):
        return self._draw("uniform", size, low, high)

    def normal(self, loc=0.0, scale=1.0, size=None):
        return self._draw("normal", size, loc, scale)

    def standard_normal(self, size=None, dtype=np.float64):
        return self._draw("standard_normal", size, dtype=dtype)

    def random(self, size=None, dtype=np.float64):
        return self._draw("random", size, dtype=dtype)


@pytest.fixture
def cheap_draws(monkeypatch):
    real = backend.generator
    monkeypatch.setattr(backend, "generator", lambda xp=np: _TiledDraws(real(xp)))
    yield
