"""Fixtures for the model tests.

Building the ImageNet-size models is dominated by drawing their random
weights (VGG-16 draws 138M numbers: ~8 s on a slow CPU core), and their
parameter counts and state_dict layouts do not depend on the values drawn.
``cheap_draws`` replaces ``neuronet.backend.generator`` by a generator whose
large draws tile a 2^20-sample pool of genuine draws of the same
distribution: the statistics (mean, std, range) the init tests check hold,
and construction takes a fraction of the time.
"""
import math
import sys

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
        # float32 tiles: half the memory traffic; the parameters are float32 anyway
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

    def generator(xp=np):
        return _TiledDraws(real(xp))

    monkeypatch.setattr(backend, "generator", generator)
    yield


@pytest.fixture(autouse=True)
def one_torch_thread():
    """PyTorch (the oracle of some model tests) on one thread: its speed does
    not matter, and on a shared machine extra threads only contend."""
    torch = sys.modules.get("torch")
    if torch is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
