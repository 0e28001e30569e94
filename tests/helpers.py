"""Shared test witnesses: PyTorch comparison, gradcheck shortcuts, random data.

PyTorch is the oracle when importable. With NEURONET_REQUIRE_TORCH=1 (set by
.ci/run) a missing torch fails the run instead of skipping the comparisons,
so CI cannot pass with the oracle silently absent.
"""
import os

import numpy as np
import pytest

import neuronet as nt
from neuronet.autograd import gradcheck

try:
    import torch
    torch.set_num_threads(1)
except ImportError:  # pragma: no cover - depends on the machine
    torch = None
    if os.environ.get("NEURONET_REQUIRE_TORCH") == "1":
        raise RuntimeError("NEURONET_REQUIRE_TORCH=1 but PyTorch is not importable: "
                           "pip install torch==2.13.0")

requires_torch = pytest.mark.skipif(torch is None, reason="PyTorch not installed (the oracle)")


def import_torchvision():
    """torchvision (0.28, the oracle beside the CPU torch) or None.

    PyPI's torchvision registers fake kernels for its two C++ operators at
    import, which fails beside a torch build without them ("operator
    torchvision::nms does not exist"): declare them first, then import.
    """
    if torch is None:
        return None
    try:
        import torchvision
        return torchvision
    except Exception:
        pass
    try:
        lib = torch.library.Library("torchvision", "DEF")
        lib.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
        lib.define("qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
        import_torchvision.lib = lib      # keep the definitions alive
        import torchvision
        return torchvision
    except Exception:
        return None


def rng(seed=0):
    return np.random.default_rng(seed)


def randn(*shape, seed=0, dtype=np.float64):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def channel_major_tensor(array):
    """A tensor with ``array``'s (N, C, H, W) values laid out as a convolution hands them on:
    a view of C-contiguous (C, N, H, W) memory, on the default device."""
    return nt.tensor(np.ascontiguousarray(np.asarray(array).transpose(1, 0, 2, 3))).permute(1, 0, 2, 3)


def nt64(array, requires_grad=True):
    """A float64 neuronet tensor (for gradcheck) from a NumPy array."""
    return nt.tensor(np.asarray(array, dtype=np.float64), requires_grad=requires_grad)


def check_grad(fn, *arrays, atol=1e-5, rtol=1e-3, **kw):
    """gradcheck ``fn`` on float64 copies of ``arrays`` (all differentiable)."""
    tensors = [nt64(a) if isinstance(a, np.ndarray) and a.dtype.kind == "f" else a for a in arrays]
    assert gradcheck(fn, tensors, atol=atol, rtol=rtol, **kw)


def compare_with_torch(nt_fn, torch_fn, *arrays, atol=1e-5, rtol=1e-4, grad=True, seed=1):
    """Run ``nt_fn`` on neuronet tensors and ``torch_fn`` on torch tensors built
    from the same ``arrays``; compare outputs and, with a shared random upstream
    gradient, the gradients of every floating-point input."""
    if torch is None:
        pytest.skip("PyTorch not installed")
    nt_in, th_in = [], []
    for a in arrays:
        if isinstance(a, np.ndarray):
            floating = a.dtype.kind == "f"
            nt_in.append(nt.tensor(a, requires_grad=grad and floating))
            th_in.append(torch.tensor(a, requires_grad=grad and floating))
        else:
            nt_in.append(a)
            th_in.append(a)
    out_nt = nt_fn(*nt_in)
    out_th = torch_fn(*th_in)
    outs_nt = out_nt if isinstance(out_nt, (tuple, list)) else (out_nt,)
    outs_th = out_th if isinstance(out_th, (tuple, list)) else (out_th,)
    assert len(outs_nt) == len(outs_th)
    for i, (o, p) in enumerate(zip(outs_nt, outs_th)):
        assert tuple(o.shape) == tuple(p.shape), f"output {i}: shape {o.shape} vs torch {tuple(p.shape)}"
        np.testing.assert_allclose(o.numpy(), p.detach().numpy(), atol=atol, rtol=rtol,
                                   err_msg=f"output {i} differs from PyTorch")
    if not grad:
        return out_nt
    r = np.random.default_rng(seed)
    total_nt, total_th = None, None
    for o, p in zip(outs_nt, outs_th):
        if not (o.requires_grad and p.requires_grad):
            continue
        v = r.standard_normal(o.shape).astype(o.numpy().dtype)
        tn = (o * nt.tensor(v)).sum()
        tt = (p * torch.tensor(v)).sum()
        total_nt = tn if total_nt is None else total_nt + tn
        total_th = tt if total_th is None else total_th + tt
    if total_nt is None:
        return out_nt
    total_nt.backward()
    total_th.backward()
    for i, (a, b) in enumerate(zip(nt_in, th_in)):
        if isinstance(b, torch.Tensor) and b.requires_grad:
            assert a.grad is not None, f"input {i}: no gradient from neuronet"
            np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), atol=atol, rtol=rtol,
                                       err_msg=f"gradient of input {i} differs from PyTorch")
    return out_nt
