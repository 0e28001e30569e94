"""neuronet.cuda / accelerator / backends answer the truth about this machine.

On a machine without CuPy or a GPU (the usual test machine) every answer says
so; the GPU tests at the end run only where CuPy sees a GPU.
"""
import importlib

import numpy as np
import pytest

import neuronet as nt
import neuronet.accelerator as accelerator
import neuronet.backends as backends
import neuronet.cuda as cuda
from neuronet.backend import CudaUnavailableError


def _gpu_present():
    try:
        cp = importlib.import_module("cupy")
        return cp.cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False


GPU = _gpu_present()
needs_gpu = pytest.mark.skipif(not GPU, reason="needs CuPy and a GPU")
no_gpu = pytest.mark.skipif(GPU, reason="checks the answers of a machine without GPU")


def test_is_available_is_the_truth():
    assert cuda.is_available() is GPU
    assert accelerator.is_available() is GPU
    assert nt.backend.cupy_available() is GPU


@no_gpu
def test_answers_without_a_gpu():
    assert cuda.device_count() == 0
    assert cuda.memory_allocated() == 0 and cuda.memory_reserved() == 0
    assert accelerator.current_accelerator() is None
    assert backends.cudnn.is_available() is False and backends.cudnn.version() is None
    cuda.empty_cache()              # nothing cached: a no-op, as PyTorch's
    cuda.manual_seed(1)
    cuda.manual_seed_all(1)


@no_gpu
@pytest.mark.parametrize("call", [cuda.current_device, cuda.get_device_name, cuda.synchronize,
                                  lambda: cuda.set_device(0), lambda: nt.zeros(2).cuda(),
                                  lambda: nt.zeros(2).to("cuda"), lambda: nt.zeros(2, device="cuda")],
                         ids=["current_device", "get_device_name", "synchronize", "set_device",
                              "Tensor.cuda", "Tensor.to", "factory"])
def test_gpu_work_without_a_gpu_raises_a_clear_error(call):
    with pytest.raises(RuntimeError, match="CUDA is not available: CuPy"):
        call()
    # PyTorch raises AssertionError("Torch not compiled with CUDA enabled"): code catching that works too.
    with pytest.raises(AssertionError):
        call()


def test_manual_seed_checks_its_argument():
    with pytest.raises(TypeError, match="int"):
        cuda.manual_seed(1.5)


def test_cudnn_switches_are_stored():
    old = backends.cudnn.benchmark, backends.cudnn.deterministic
    try:
        backends.cudnn.benchmark = True
        backends.cudnn.deterministic = True
        assert backends.cudnn.benchmark is True and backends.cudnn.deterministic is True
        import neuronet.backends.cudnn as cudnn_again
        assert cudnn_again.benchmark is True
    finally:
        backends.cudnn.benchmark, backends.cudnn.deterministic = old


def test_mps_is_absent():
    assert backends.mps.is_available() is False and backends.mps.is_built() is False


def test_device_objects_print_as_torch():
    d = nt.device("cuda:0")
    assert (d.type, d.index) == ("cuda", 0)
    assert repr(d) == "device(type='cuda', index=0)" and str(d) == "cuda:0"
    assert repr(nt.device("cpu")) == "device(type='cpu')" and str(nt.device("cpu")) == "cpu"
    assert nt.zeros(1).device == "cpu" and not nt.zeros(1).is_cuda and nt.zeros(1).is_cpu


@needs_gpu
def test_gpu_answers_and_round_trip():          # pragma: no cover - needs a GPU
    assert cuda.device_count() >= 1 and cuda.current_device() == 0
    assert isinstance(cuda.get_device_name(), str) and cuda.get_device_name()
    assert accelerator.current_accelerator() == nt.device("cuda")
    t = nt.tensor([1.0, 2.0]).cuda()
    assert t.is_cuda and t.device == "cuda" and repr(t) == "tensor([1., 2.], device='cuda:0')"
    assert cuda.memory_allocated() > 0
    cuda.synchronize()
    assert np.array_equal(t.cpu().numpy(), [1.0, 2.0])
    cuda.manual_seed(3)
    a = nt.randn(3, device="cuda").cpu().numpy()
    cuda.manual_seed(3)
    assert np.array_equal(a, nt.randn(3, device="cuda").cpu().numpy())
    cuda.empty_cache()
