import math
import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))

# `pytest --device cuda`: the suite on CuPy, or on the CPU stand-in (tests/device_plugin.py)
from device_plugin import _default_device, pytest_addoption, pytest_configure, pytest_report_header  # noqa: E402,F401


@pytest.fixture(autouse=True)
def _seed():
    """Every test starts from the same random state."""
    import neuronet
    neuronet.manual_seed(0)
    np.random.seed(0)
    yield


class _TiledDraws:
    """A random generator whose large draws tile a 2^20-sample pool of genuine
    draws of the same distribution (see ``cheap_draws``)."""

    POOL = 1 << 20

    def __init__(self, real):
        self._real = real

    def __getattr__(self, name):
        return getattr(self._real, name)

    def _draw(self, method, size, *args, **kwargs):
        shape = () if size is None else ((size,) if isinstance(size, (int, np.integer)) else tuple(size))
        if math.prod(shape) <= self.POOL:
            return getattr(self._real, method)(*args, size=size, **kwargs)
        pool = getattr(self._real, method)(*args, size=self.POOL, **kwargs)
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
    """Building the ImageNet-size models is dominated by drawing their random
    weights (VGG-16 draws 138M numbers: ~8 s on a slow core), and their
    layouts do not depend on the values: large draws tile a pool of genuine
    draws, so weights stay random and varied (the statistics the init tests
    check hold) and construction takes a fraction of the time."""
    from neuronet import backend
    real = backend.generator
    monkeypatch.setattr(backend, "generator", lambda xp=np: _TiledDraws(real(xp)))
    yield
