"""``pytest --device cuda``: the suite with ``cuda`` as the default device.

With a GPU and CuPy, on real CuPy; without, on the strict CPU stand-in
(tests/cupy_standin/fakecupy.py), which refuses implicit host conversions
and host arrays inside device ops, has exactly CuPy v14's ``Generator``, and
counts host synchronisations. ``NEURONET_TEST_DEVICE=cuda`` does the same as
the option; ``NEURONET_TEST_DEVICE=standin`` forces the stand-in even where
CuPy is installed.

Tests that are inherently host-only (file formats, the CLI, reading data from
disk) carry ``@pytest.mark.host_only(reason)`` or sit under one of
``HOST_ONLY`` below; they run with ``cpu`` as default device.
"""
import os

import pytest

# Paths (relative to tests/) whose tests exercise the host by nature.
HOST_ONLY = {
    "formats/": "file formats are read and written on the host",
    "onnx/": "ONNX export and its reference runtime work on host arrays",
    "test_cli.py": "the command line reads and writes files",
    "test_serialization.py": "checkpoint files are host bytes",
    "data/": "datasets and loaders read from disk into host memory",
    "test_readme.py": "README examples run as written, on the CPU",
    "test_layering.py": "static import analysis",
    "report/": "reports are files",
    "lab/": "experiment runs are files and processes",
    "bench/": "benchmarks time the CPU path",
    "distributed/": "the process-group backends exchange host buffers",
    "compat/": "PyTorch-written scripts run as written, on the CPU",
    "test_devices.py": "tests device placement itself, from the CPU",
    "test_backend.py": "tests the backend switch itself, from the CPU",
    "test_printing.py": "the repr of CPU tensors (a GPU tensor adds device='cuda:0', as PyTorch's)",
    "utils/test_data_api.py": "datasets index host memory",
}

# Single tests whose subject is CPU behaviour (what lives where, host memory).
HOST_ONLY_TESTS = {
    "test_tensor.py::test_factories_and_attributes": "asserts the default device is 'cpu'",
    "test_tensor.py::test_tensor_copies_and_as_tensor_shares": "as_tensor shares a host array's memory",
    "test_tensor.py::test_repr_like_pytorch": "the repr of CPU tensors (no device= suffix)",
    "test_tensor.py::test_to_dtype_and_device": "moves CPU tensors and checks they stay put",
    "test_tensor.py::test_numpy_array_on_the_left_defers_to_tensor":
        "a NumPy array times a tensor: a host operand, which a GPU tensor refuses as PyTorch does",
    "autograd/test_function.py::test_memory_does_not_grow_over_steps":
        "counts host allocations with tracemalloc",
    "nn/functional/test_activation.py::test_relu_saves_only_a_boolean_mask_and_passes_zero_gradient_at_zero":
        "inspects the saved array with NumPy",
    "nn/functional/test_normalization.py::test_batch_norm_saves_the_input_itself_not_a_copy":
        "inspects the saved array's memory with NumPy",
    "test_dtype.py::test_default_dtype_round_trip": "the repr of a CPU tensor",
    "distributions/test_distributions.py::test_bad_log_prob_values":
        "its values are built at collection time, on the CPU, and meet GPU distributions",
    "utils/test_checkpoint.py::test_checkpoint_gradients_equal_direct_ones":
        "on a GPU, taking the RNG state restarts the GPU stream (CuPy's cannot be saved), so a "
        "checkpointed run draws other dropout masks than an unchecked one; forward and recompute agree",
    "nn/functional/test_dropout.py::test_alpha_dropout_gradient":
        "multiplies the saved device mask by host arrays in the reference",
}

_state = {"device": "cpu", "module": None}


def pytest_addoption(parser):
    parser.addoption("--device", default=None, choices=("cpu", "cuda", "standin"),
                     help="default device for the tests: cpu, cuda (real CuPy if present, "
                          "else the CPU stand-in), standin (always the stand-in)")


def _install_standin():
    from cupy_standin import fakecupy
    from neuronet import backend
    fakecupy.install()
    backend.use_cupy_module(fakecupy)
    return fakecupy


def pytest_configure(config):
    config.addinivalue_line("markers", "host_only(reason): run with 'cpu' as default device under --device cuda")
    want = config.getoption("--device") or os.environ.get("NEURONET_TEST_DEVICE", "cpu")
    if want == "cpu":
        return
    from neuronet import backend
    if want == "cuda" and backend.cupy_available():
        _state["module"] = backend._get_cupy()
    else:
        _state["module"] = _install_standin()
    _state["device"] = "cuda"


def pytest_report_header(config):
    if _state["device"] == "cuda":
        m = _state["module"]
        return f"neuronet default device: cuda on {m.__name__} {getattr(m, '__version__', '')}"
    return None


def _host_reason(item):
    mark = item.get_closest_marker("host_only")
    if mark is not None:
        return mark.args[0] if mark.args else mark.kwargs.get("reason", "host only")
    rel = os.path.relpath(str(item.path), os.path.dirname(__file__)).replace(os.sep, "/")
    why = HOST_ONLY_TESTS.get(f"{rel}::{item.originalname}")
    if why:
        return why
    for prefix, why in HOST_ONLY.items():
        if rel == prefix or rel.startswith(prefix):
            return why
    return None


@pytest.fixture(autouse=True)
def _default_device(request):
    if _state["device"] == "cpu":
        yield
        return
    from neuronet import backend
    dev = "cpu" if _host_reason(request.node) else "cuda"
    backend.set_default_device(dev)
    # The suite checks validation messages: run the value checks a GPU run
    # skips by default (NEURONET_DEBUG_CHECKS=1); tests/test_gpu_path.py
    # measures the production setting.
    checks, backend.debug_checks = backend.debug_checks, True
    try:
        yield
    finally:
        backend.set_default_device("cpu")
        backend.debug_checks = checks
