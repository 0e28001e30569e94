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
