"""The GPU path on the CPU stand-in for CuPy (tests/cupy_standin/fakecupy.py).

A training step on a GPU must not wait for the GPU except where it has to:
the loss read-out (``loss.item()``) and the optimizer's one batched
finiteness check. Every other host read (a NaN look in max pooling, the
variance-form choice in batch norm, a target range check in the losses)
stalls the stream once per layer per step; these tests pin the count.

Measured before the fixes (same steps): LeNet-5 7 syncs per step (2 NaN looks
in max-pool forward, 2 finiteness looks in its backward, 1 target check, the
optimizer's, the loss read-out), ResNet-20 22 (19 batch-norm variance checks,
target check, optimizer, loss read-out). After: 2 for both.

These run whatever ``--device`` says: they install the stand-in for their own
duration when CuPy is not already the array module of ``cuda``.
"""
import numpy as np
import pytest

import neuronet as nt
import neuronet.nn.functional as F
from neuronet import backend, models
from cupy_standin import fakecupy

SYNC_BUDGET = 2     # loss.item() + the optimizer's batched finiteness check


@pytest.fixture
def standin():
    """The stand-in as ``cuda``'s array module, production checks (debug off)."""
    restore = fakecupy.as_cuda_backend(backend)
    nt.manual_seed(0)
    yield fakecupy
    restore()


def _train_syncs(model, shape, fc):
    m = model.to("cuda")
    opt = nt.optim.SGD(m.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    x = nt.randn(*shape, device="cuda")
    y = nt.randint(0, 10, (shape[0],), device="cuda")
    losses = []

    def step():
        opt.zero_grad()
        loss = F.cross_entropy(m(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())

    step()                          # the first step may set things up
    counts = []
    for _ in range(2):
        fc.reset_syncs()
        step()
        counts.append((fc.total_syncs(), dict(fc.SYNCS)))
    assert all(np.isfinite(losses)) and losses[-1] < losses[0], losses      # it does train
    return counts


@pytest.mark.parametrize("name,make,shape", [
    ("LeNet-5", lambda: models.lenet5(), (8, 1, 28, 28)),
    ("ResNet-20", lambda: models.resnet20(), (4, 3, 32, 32)),
])
def test_training_step_syncs_only_for_the_loss_and_the_finiteness_check(standin, name, make, shape):
    counts = _train_syncs(make(), shape, standin)
    for total, kinds in counts:
        assert total == SYNC_BUDGET, f"{name}: {total} host syncs per step ({kinds}), budget {SYNC_BUDGET}"
        assert kinds == {"item": 1, "bool": 1}, kinds


def test_standin_refuses_what_cupy_refuses(standin):
    cp = standin
    a = cp.asarray([1.0, 2.0, 3.0])
    with pytest.raises(TypeError, match="Implicit conversion to a NumPy array is not allowed"):
        np.asarray(a)
    with pytest.raises(TypeError, match="host array"):
        a + np.ones(3)
    with pytest.raises(ValueError, match="non-scalar numpy.ndarray cannot be used for fill"):
        a.fill(np.ones(3))
    g = cp.random.default_rng(0)
    for missing in ("normal", "uniform", "permutation", "shuffle", "choice"):
        assert not hasattr(g, missing), missing
    cp.reset_syncs()
    float(a.sum()), a.get(), bool(a[0] > 0), cp.asnumpy(a), a[1].item()
    assert cp.SYNCS == {"float": 1, "get": 1, "bool": 1, "asnumpy": 1, "item": 1}
    v = a[1:]
    v[0] = 7.0
    assert v.base is a and a[1].item() == 7.0         # views write through, one owner


def test_gpu_tensors_stay_on_their_device(standin):
    t = nt.ones(2, 3, device="cuda")
    assert t.is_cuda and nt.tensor([t[0], t[1]]).is_cuda              # tensor([cuda tensors])
    t1 = t.to("cuda:1")
    assert t1.device == nt.device("cuda:1") and t1.array.device.id == 1  # cuda:N honoured
    assert t1.to("cuda:1") is t1                                        # no re-copy
    for made in (nt.ones(2, device="cuda:1"), nt.zeros(3, device="cuda:1"),
                 nt.full((2,), 7.0, device="cuda:1"), nt.empty(1, device="cuda:1")):
        assert made.device == nt.device("cuda:1") and made.array.device.id == 1
    t[...] = np.arange(6.0).reshape(2, 3)                              # a host array assigned: copied over
    np.testing.assert_array_equal(t.numpy(), np.arange(6.0).reshape(2, 3))
    w = nt.empty(64, 32, device="cuda")
    nt.nn.init.trunc_normal_(w, std=0.02)
    nt.nn.init.orthogonal_(w)
    nt.nn.init.normal_(w, generator=np.random.default_rng(1))           # an explicit NumPy generator
    w.uniform_(-1, 1).normal_()
    assert w.is_cuda and nt.randperm(5, device="cuda").is_cuda


def test_a_raw_cupy_array_made_before_any_gpu_call_is_recognised(standin):
    backend._cupy, backend._cupy_checked = None, False       # as in a fresh process
    import sys
    arr = sys.modules["cupy"].asarray([1.0, 2.0])
    t = nt.Tensor._wrap(arr)
    assert t.device.type == "cuda" and t.numpy().tolist() == [1.0, 2.0]


def test_gpu_random_stream_restarts_from_a_saved_state(standin):
    state = nt.get_rng_state()
    a = nt.rand(4, device="cuda").numpy()
    nt.set_rng_state(state)
    np.testing.assert_array_equal(nt.rand(4, device="cuda").numpy(), a)


def test_convolution_runs_one_chunk_per_batch_on_a_gpu(standin):
    from neuronet.nn.functional import convolution as conv
    K, P = 16 * 9, 32 * 32                       # a ResNet-20 stage-1 conv, batch 128
    assert len(conv._image_chunks(128, K * P * 4, P)) > 10               # CPU: L2-sized pieces
    assert conv._image_chunks(128, K * P * 4, P, standin) == [(0, 128)]  # GPU: one launch


def test_setting_data_of_a_gpu_tensor_keeps_it_on_the_gpu(standin):
    p = nt.nn.Parameter(nt.zeros(3, device="cuda"))
    p.data = nt.from_numpy(np.ones(3, np.float32))
    assert p.is_cuda and p.numpy().tolist() == [1.0, 1.0, 1.0]
    q = nt.zeros(3)
    q.data = p.data
    assert q.is_cuda                      # a CPU tensor takes the new data where it is, as before


def test_an_out_of_range_target_on_a_gpu_gives_nan_not_a_number_that_looks_right(standin):
    x = nt.randn(4, 3, device="cuda")
    y = nt.tensor([0, 1, 5, 2], device="cuda")
    standin.reset_syncs()
    loss = F.cross_entropy(x, y)
    assert standin.total_syncs() == 0
    assert np.isnan(loss.item())
    assert np.isnan(F.nll_loss(F.log_softmax(x, 1), y, weight=nt.ones(3, device="cuda")).item())
    backend.debug_checks = True                       # NEURONET_DEBUG_CHECKS=1: the CPU's clear error
    with pytest.raises(IndexError, match="target contains 5 but input has 3 classes"):
        F.cross_entropy(x, y)


def test_googlenet_forward_backward_reads_nothing_back(standin):
    m = models.googlenet(num_classes=10, aux_logits=False, init_weights=True).to("cuda")
    x = nt.randn(2, 3, 64, 64, device="cuda")
    standin.reset_syncs()
    F.cross_entropy(m(x), nt.tensor([1, 2], device="cuda")).backward()
    assert standin.total_syncs() == 0, dict(standin.SYNCS)      # was 53 before the fixes (issue 16)


def test_a_gpu_generator_permutes_on_the_gpu_with_every_order_equally_likely(standin):
    g = nt.Generator(device="cuda").manual_seed(3)
    standin.reset_syncs()
    p = g.permutation(10)
    rows = g.permutation(nt.arange(12, device="cuda").reshape(6, 2))
    assert standin.total_syncs() == 0 and standin.TRANSFERS == {}          # drawn and sorted on the GPU
    assert backend.device_of(p).type == "cuda" and sorted(p.tolist()) == list(range(10))
    assert sorted(rows.tolist()) == [[2 * i, 2 * i + 1] for i in range(6)]  # whole rows, shuffled
    assert nt.Generator(device="cuda").manual_seed(3).permutation(10).tolist() == p.tolist()   # seeded
    counts = {}
    for _ in range(6000):
        k = tuple(g.permutation(3).tolist())
        counts[k] = counts.get(k, 0) + 1
    chi2 = sum((c - 1000) ** 2 / 1000 for c in counts.values())
    assert len(counts) == 6 and chi2 < 30, counts       # 5 degrees of freedom: P(chi2 > 30) < 2e-5
    with pytest.raises(ValueError, match="non-negative int"):
        g.permutation(-1)
    # on the CPU it is NumPy's own permutation of the generator's stream, unchanged
    assert nt.Generator().manual_seed(3).permutation(10).tolist() == \
        np.random.default_rng(3).permutation(10).tolist()


def test_a_gpu_generator_drives_the_data_samplers_from_its_host_stream(standin):
    ds = nt.data.TensorDataset(nt.arange(10, device="cuda"))
    g = nt.Generator(device="cuda").manual_seed(1)
    sampler = nt.data.RandomSampler(ds, generator=g)
    standin.reset_syncs()
    order = list(sampler)
    g.manual_seed(1)                                    # reseeding the generator is honoured
    again = list(sampler)
    (batch,) = next(iter(nt.data.DataLoader(ds, batch_size=10, shuffle=True, generator=g)))
    assert standin.total_syncs() == 0
    assert order == again == list(nt.data.RandomSampler(range(10), generator=nt.Generator().manual_seed(1)))
    assert batch.is_cuda and sorted(batch.numpy().tolist()) == list(range(10))
    assert [len(s) for s in nt.data.random_split(ds, [7, 3], generator=g)] == [7, 3]


def test_integer_division_of_gpu_tensors_reads_nothing_back(standin):
    a = nt.tensor([7, -7, 5, 9], device="cuda")
    b = nt.tensor([2, 2, -3, 0], device="cuda")
    standin.reset_syncs()
    outs = [a // b, a % b, nt.fmod(a, b), nt.div(a, b, rounding_mode="trunc"),
            nt.div(a, b, rounding_mode="floor"), nt.remainder(a, 3), a // 2]
    assert standin.total_syncs() == 0, dict(standin.SYNCS)    # was one read-back per call (issue 16)
    cpu = [np.array([3, -4, -2]), np.array([1, 1, -1]), np.array([1, -1, 2]), np.array([3, -3, -1]),
           np.array([3, -4, -2])]
    for out, want in zip(outs, cpu):
        assert out.is_cuda and out.numpy()[:3].tolist() == want.tolist()   # the zero divisor: no error
    backend.debug_checks = True                          # NEURONET_DEBUG_CHECKS=1: the CPU's error
    for op, f in (("div", lambda: a // b), ("remainder", lambda: a % b), ("fmod", lambda: nt.fmod(a, b))):
        with pytest.raises(RuntimeError, match=f"{op}\\(\\): integer division by zero"):
            f()
    backend.debug_checks = False
    with pytest.raises(RuntimeError, match="integer division by zero"):
        nt.tensor([1, 2], device="cpu") // nt.tensor([1, 0], device="cpu")    # the CPU always checks, as PyTorch's

