"""The data path on a GPU, on the CPU stand-in for CuPy (tests/cupy_standin).

Data that already lives on the GPU (a ``TensorDataset`` of cuda tensors, a
dataset whose ``__getitem__`` returns them, an ``ArrayDataset`` over a GPU
array) must be batched and augmented there: nothing read back to the host
(the stand-in's ``SYNCS``), nothing but indices and per-sample random
parameters sent over (its ``TRANSFERS``/``TRANSFERRED_BYTES``). And host
batches with ``pin_memory=True`` come in page-locked memory, whose
``.to("cuda", non_blocking=True)`` is an asynchronous copy.

These run whatever ``--device`` says: they make the stand-in ``cuda``'s array
module for their own duration.
"""
import gc
import weakref

import numpy as np
import pytest

import neuronet as nt
from neuronet import backend
from neuronet.data import (ArrayDataset, DataLoader, Dataset, Subset, TensorDataset, default_collate,
                           default_convert, mean_std)
from neuronet.data import transforms as T
from neuronet.tensor import _inflight, _is_pinned
from cupy_standin import fakecupy


@pytest.fixture
def standin():
    restore = fakecupy.as_cuda_backend(backend)
    nt.manual_seed(0)
    fakecupy.reset_syncs()
    yield fakecupy
    restore()


def host(batch):
    """A batch's arrays on the host (after the counters have been read)."""
    return [b.cpu().numpy() for b in batch]


def uploaded(fc):
    return sum(fc.TRANSFERRED_BYTES.values())


# ------------------------------------------------------------------ device-resident datasets
@pytest.mark.parametrize("how", ["fast path", "item by item", "no prefetch", "shuffled"])
def test_a_tensor_dataset_of_gpu_tensors_batches_on_the_gpu(standin, how):
    x, y = np.random.default_rng(0).random((40, 3, 8, 8), dtype=np.float32), np.arange(40)
    kw = {"fast path": {}, "item by item": {"collate_fn": default_collate},
          "no prefetch": {"prefetch": 0}, "shuffled": {"shuffle": True, "seed": 3}}[how]
    gpu = TensorDataset(nt.tensor(x, device="cuda"), nt.tensor(y, device="cuda"))
    standin.reset_syncs()
    batches = list(DataLoader(gpu, batch_size=16, **kw))
    assert standin.total_syncs() == 0, dict(standin.SYNCS)
    # only the sampler's indices went over (8 bytes each, once per tensor): never the 12 KB of images
    assert uploaded(standin) <= 2 * 8 * 40, dict(standin.TRANSFERRED_BYTES)
    assert all(b.is_cuda for batch in batches for b in batch)
    cpu = list(DataLoader(TensorDataset(nt.tensor(x), nt.tensor(y)), batch_size=16, **kw))
    for g, c in zip(batches, cpu):
        for a, b in zip(host(g), c):
            np.testing.assert_array_equal(a, b.numpy())


class GpuSamples(Dataset):
    """A dataset whose ``__getitem__`` returns tensors already on the GPU."""

    def __init__(self, n, raw=False):
        self.x = nt.randn(n, 2, 5, device="cuda")
        self.raw = raw

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        x = self.x[i]
        if self.raw:                              # bare CuPy arrays, as a CuPy-based pipeline would return
            return x.array, x.array.sum()
        return {"x": x, "label": (x.sum() > 0).long(), "pair": (x[0], x[1])}


def test_samples_that_are_gpu_tensors_are_stacked_on_the_gpu(standin):
    ds = GpuSamples(12)
    standin.reset_syncs()
    batch = next(iter(DataLoader(ds, batch_size=5)))
    assert standin.total_syncs() == 0 and uploaded(standin) == 0, (standin.SYNCS, standin.TRANSFERS)
    assert batch["x"].is_cuda and batch["label"].is_cuda and batch["pair"][1].is_cuda
    assert tuple(batch["x"].shape) == (5, 2, 5) and tuple(batch["pair"][0].shape) == (5, 5)
    np.testing.assert_array_equal(batch["x"].numpy(), ds.x[:5].numpy())


def test_bare_cupy_arrays_are_collated_and_converted_on_the_gpu(standin):
    ds = GpuSamples(6, raw=True)
    standin.reset_syncs()
    x, s = next(iter(DataLoader(ds, batch_size=3)))
    one = next(iter(DataLoader(ds, batch_size=None)))
    assert standin.total_syncs() == 0 and uploaded(standin) == 0
    assert x.is_cuda and s.is_cuda and tuple(x.shape) == (3, 2, 5) and tuple(s.shape) == (3,)
    assert isinstance(one[0], nt.Tensor) and one[0].is_cuda               # default_convert wraps them
    assert isinstance(default_convert({"a": ds.x.array}), dict)
    np.testing.assert_allclose(s.numpy(), ds.x[:3].numpy().sum(axis=(1, 2)), rtol=1e-6)


def test_a_batch_mixing_devices_is_one_clear_error(standin):
    with pytest.raises(RuntimeError, match=r"one device, received \['cpu', 'cuda:0'\]"):
        default_collate([nt.ones(2), nt.ones(2, device="cuda")])
    with pytest.raises(RuntimeError, match=r"one device, received \['cuda:0', 'cuda:1'\]"):
        default_collate([nt.ones(2, device="cuda"), nt.ones(2, device="cuda").to("cuda:1")])
    with pytest.raises(RuntimeError, match="equal shapes"):
        default_collate([nt.ones(2, device="cuda"), nt.ones(3, device="cuda")])


def test_an_array_dataset_on_the_gpu_gathers_and_augments_there(standin):
    rng = np.random.default_rng(1)
    imgs, labels = rng.integers(0, 256, (24, 32, 32, 3), dtype=np.uint8), rng.integers(0, 10, 24)
    aug = T.Compose([T.ToTensor(), T.RandomCrop(28, padding=2), T.RandomHorizontalFlip(),
                     T.Normalize((0.5, 0.4, 0.3), (0.2, 0.25, 0.3))])
    gpu = ArrayDataset(standin.asarray(imgs), nt.tensor(labels, device="cuda"), transform=aug)
    standin.reset_syncs()
    batches = list(DataLoader(gpu, batch_size=8, shuffle=True, seed=5))
    assert standin.total_syncs() == 0, dict(standin.SYNCS)
    # sent over: sample indices, crop windows, flip draws, the normalization constants -- not the images
    assert uploaded(standin) < imgs.nbytes / 4, dict(standin.TRANSFERRED_BYTES)
    cpu = list(DataLoader(ArrayDataset(imgs, labels, transform=aug), batch_size=8, shuffle=True, seed=5))
    for (gx, gy), (cx, cy) in zip(batches, cpu):
        assert gx.is_cuda and gy.is_cuda
        np.testing.assert_array_equal(gx.numpy(), cx.numpy())
        np.testing.assert_array_equal(gy.numpy(), cy.numpy())
    standin.reset_syncs()
    img, label = gpu[3]                       # item by item: a 0-d GPU label, not a Python int (a read-back)
    assert img.is_cuda and backend.device_of(label).type == "cuda" and standin.SYNCS == {}


AUGMENT = {
    "Normalize": lambda: T.Normalize((0.5, 0.4, 0.3), (0.2, 0.2, 0.2)),
    "RandomHorizontalFlip": lambda: T.RandomHorizontalFlip(),
    "RandomVerticalFlip": lambda: T.RandomVerticalFlip(),
    "RandomCrop": lambda: T.RandomCrop(10, padding=2, padding_mode="reflect"),
    "CenterCrop": lambda: T.CenterCrop(14),
    "Pad": lambda: T.Pad(1, padding_mode="edge"),
    "Resize": lambda: T.Resize(7),
    "RandomAffine": lambda: T.RandomAffine(10, translate=(0.1, 0.1), scale=(0.9, 1.1), shear=5,
                                           interpolation="bilinear"),
    "ElasticTransform": lambda: T.ElasticTransform(alpha=5.0, sigma=2.0),
    "RandomErasing": lambda: T.RandomErasing(p=1.0, value=(0.1, 0.2, 0.3)),
    "ColorJitter": lambda: T.ColorJitter(0.2, 0.2, 0.2, 0.1),
}


@pytest.mark.parametrize("name", sorted(AUGMENT))
def test_tensor_transforms_on_gpu_tensors_stay_on_the_gpu(standin, name):
    x = np.random.default_rng(2).random((6, 3, 24, 24), dtype=np.float32)
    xg = nt.tensor(x, device="cuda")
    t = AUGMENT[name]()
    standin.reset_syncs()
    with nt.data._random.using(np.random.default_rng(7)):
        one, batch = t(xg[0]), t.apply_batch(xg)
    assert standin.total_syncs() == 0, dict(standin.SYNCS)
    assert one.is_cuda and batch.is_cuda
    # what goes over is the random parameters, drawn on the host from the loader's generator (so GPU
    # and CPU runs agree): a few numbers per sample; for the elastic transform a (dx, dy) field per
    # pixel of each of the 7 samples plus its two blur matrices per call, float32
    H = x.shape[-1]
    budget = (2 * 7 * H * H + 2 * 2 * H * H) * 4 + 1024 if name == "ElasticTransform" else x.nbytes // 4
    assert uploaded(standin) <= budget, dict(standin.TRANSFERRED_BYTES)
    with nt.data._random.using(np.random.default_rng(7)):
        c_one, c_batch = t(nt.tensor(x[0])), t.apply_batch(nt.tensor(x))
    np.testing.assert_array_equal(one.numpy(), c_one.numpy())
    np.testing.assert_array_equal(batch.numpy(), c_batch.numpy())


def test_a_tensor_dataset_indexed_by_gpu_index_tensors_reads_nothing_back(standin):
    ds = TensorDataset(nt.arange(10, device="cuda") * 10)
    standin.reset_syncs()
    (picked,) = ds[nt.tensor([7, 2, 2], device="cuda")]
    (masked,) = ds[nt.arange(10, device="cuda") % 3 == 0]
    assert standin.total_syncs() == 0
    assert picked.numpy().tolist() == [70, 20, 20] and masked.numpy().tolist() == [0, 30, 60, 90]
    with pytest.raises(IndexError, match=r"boolean index must have shape \(10,\), received \(3,\)"):
        ds[nt.ones(3, dtype=nt.bool, device="cuda")]
    with pytest.raises(IndexError, match="ints or bools, received dtype float32"):
        ds[nt.ones(3, device="cuda")]
    backend.debug_checks = True                         # NEURONET_DEBUG_CHECKS=1: the CPU's bounds check
    with pytest.raises(IndexError, match="index 12 out of range for a dataset of length 10"):
        ds[nt.tensor([1, 12], device="cuda")]
    # Subset keeps host indices: a GPU index tensor is read back once, when the subset is made
    sub = Subset(ds, nt.tensor([4, 1], device="cuda"))
    assert sub.indices == [4, 1] and sub[1][0].item() == 10


def test_mean_std_of_gpu_data_sums_there_and_reads_back_only_the_sums(standin):
    rng = np.random.default_rng(4)
    imgs = rng.integers(0, 256, (40, 6, 6, 3), dtype=np.uint8)
    x = rng.random((40, 2, 5, 5))
    want_imgs, want_x = mean_std(imgs), mean_std(nt.tensor(x))
    for data, want in ((ArrayDataset(standin.asarray(imgs), np.zeros(40)), want_imgs),
                       (nt.tensor(x, device="cuda"), want_x)):
        standin.reset_syncs()
        got = mean_std(data, batch_size=16)
        assert standin.SYNCS == {"asnumpy": 1}, dict(standin.SYNCS)
        np.testing.assert_allclose(got, want, rtol=1e-12)


# ------------------------------------------------------------------ pin_memory and non_blocking
@pytest.mark.parametrize("kw", [{}, {"prefetch": 0}, {"num_workers": 2}], ids=["prefetch", "no prefetch", "workers"])
def test_pin_memory_hands_out_page_locked_batches_that_upload_asynchronously(standin, kw):
    x, y = np.random.default_rng(3).random((20, 4), dtype=np.float32), np.arange(20)
    ds = TensorDataset(x, y)
    standin.reset_syncs()
    pinned = list(DataLoader(ds, batch_size=8, pin_memory=True, **kw))
    plain = list(DataLoader(ds, batch_size=8, **kw))
    for (px, py), (cx, cy) in zip(pinned, plain):
        assert _is_pinned(px.array, standin) and _is_pinned(py.array, standin)
        assert not _is_pinned(cx.array, standin)
        np.testing.assert_array_equal(px.numpy(), cx.numpy())
        np.testing.assert_array_equal(py.numpy(), cy.numpy())
    standin.reset_syncs()
    on_gpu = [(bx.to("cuda", non_blocking=True), by.cuda(non_blocking=True)) for bx, by in pinned]
    assert standin.TRANSFERS == {"h2d_async": 2 * len(pinned)} and standin.total_syncs() == 0
    assert all(gx.is_cuda and gy.is_cuda and gx.dtype == nt.float32 for gx, gy in on_gpu)
    np.testing.assert_array_equal(on_gpu[1][0].numpy(), x[8:16])


def test_pin_memory_leaves_gpu_tensors_and_calls_a_batch_types_own_pin_memory(standin):
    class Batch:
        def __init__(self, x):
            self.x = x

        def pin_memory(self):
            return Batch("pinned")

    gpu = TensorDataset(nt.ones(4, 2, device="cuda"))
    standin.reset_syncs()
    (bx,) = next(iter(DataLoader(gpu, batch_size=2, pin_memory=True)))
    assert bx.is_cuda and uploaded(standin) <= 4 * 8 and standin.total_syncs() == 0      # the indices
    loader = DataLoader(list(range(4)), batch_size=2, pin_memory=True, collate_fn=lambda s: {"b": Batch(s)})
    assert next(iter(loader))["b"].x == "pinned"


def test_pin_memory_without_cupy_is_a_no_op():
    saved = backend._cupy, backend._cupy_checked
    backend._cupy, backend._cupy_checked = None, True   # a machine without CuPy (or without a GPU)
    try:
        loader = DataLoader(TensorDataset(np.ones((4, 2)), np.arange(4)), batch_size=4, pin_memory=True)
        x, y = next(iter(loader))
        assert loader._pin_module() is None and not _is_pinned(x.array, fakecupy)
        np.testing.assert_array_equal(x.numpy(), np.ones((4, 2)))
    finally:
        backend._cupy, backend._cupy_checked = saved


def test_non_blocking_from_pageable_memory_or_with_grad_is_an_ordinary_copy(standin):
    t = nt.arange(6.0).reshape(2, 3)
    standin.reset_syncs()
    a = t.to("cuda", non_blocking=True)
    b = t.to("cuda", nt.float64, True)                  # PyTorch's positional non_blocking
    assert standin.TRANSFERS == {"h2d": 2} and a.is_cuda and b.dtype == nt.float64
    pinned = default_collate([t, t])
    pinned = nt.data.dataloader._pin_batch(pinned, standin)
    w = pinned.clone().requires_grad_(False)
    w = nt.data.dataloader._pin_batch(w, standin).requires_grad_(True)
    g = w.to("cuda", non_blocking=True)                 # in the graph: through the differentiable copy
    g.sum().backward()
    assert g.is_cuda and w.grad is not None and not w.grad.is_cuda
    c = pinned.to("cuda:1", nt.float16, non_blocking=True)    # async copy, then the cast on the GPU
    assert c.device == nt.device("cuda:1") and c.dtype == nt.float16
    np.testing.assert_array_equal(c.numpy(), np.stack([t.numpy()] * 2).astype(np.float16))
    assert pinned.to("cpu", non_blocking=True) is pinned      # already there


def test_an_async_upload_keeps_its_pinned_source_alive_until_the_copy_is_done(standin, monkeypatch):
    monkeypatch.setattr(standin._Event, "done", False)      # the copy is still running
    _inflight.clear()
    batch = nt.data.dataloader._pin_batch(nt.ones(1000), standin)
    buf = weakref.ref(batch.array.base)
    out = batch.to("cuda", non_blocking=True)
    del batch
    gc.collect()
    assert buf() is not None                            # the host memory cannot go back to the pool yet
    monkeypatch.setattr(standin._Event, "done", True)   # the copy has finished
    nt.data.dataloader._pin_batch(nt.ones(3), standin).to("cuda", non_blocking=True)   # next upload prunes
    gc.collect()
    assert buf() is None and len(_inflight) == 1
    assert out.numpy().sum() == 1000.0
    _inflight.clear()
