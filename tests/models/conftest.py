"""Fixtures for the model tests (``cheap_draws`` is in tests/conftest.py)."""
import sys

import pytest


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
