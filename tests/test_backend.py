"""The array-module switch, devices, random state, and the allocator tuning."""
import sys

import numpy as np
import pytest

import neuronet as nt
from neuronet import backend


def test_array_module_and_devices():
    assert backend.array_module(np.zeros(2)) is np
    assert nt.device("cpu") == "cpu" and nt.device("cuda:1").index == 1
    assert repr(nt.device("cpu")) == "device(type='cpu')"
    with pytest.raises(ValueError, match="expected 'cpu' or 'cuda'"):
        nt.device("gpu")
    a = np.arange(3.0)
    assert backend.to_device(a, "cpu") is a


def test_rng_state_round_trip():
    nt.manual_seed(5)
    state = backend.get_rng_state()
    a = nt.randn(4).numpy()
    backend.set_rng_state(state)
    np.testing.assert_array_equal(nt.randn(4).numpy(), a)
    with pytest.raises(TypeError, match="int"):
        nt.manual_seed("5")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc only")
def test_malloc_tuning_is_active_on_glibc():
    # Without it every training step page-faults its activations in anew
    # (measured: half of a LeNet-5 step); see backend._tune_malloc.
    import os
    if os.environ.get("NEURONET_MALLOC_TUNING") == "0":
        pytest.skip("disabled by the environment")
    assert backend.malloc_tuned
