import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from hostile import small_checkpoint  # noqa: E402


@pytest.fixture
def ckpt(tmp_path):
    p = tmp_path / "good.npz"
    small_checkpoint(p)
    return p
