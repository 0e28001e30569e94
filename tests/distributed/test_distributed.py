"""neuronet.distributed, DistributedDataParallel and SyncBatchNorm under real MPI
launches (``mpiexec -n 2`` and ``-n 3``), plus the one-process group in-process.

The launched scripts (run_*.py beside this file) check their own results and
raise -- which aborts the whole job -- on any mismatch."""
import os
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest

import neuronet as torch
import neuronet.distributed as dist
from neuronet import nn

HERE = os.path.dirname(os.path.abspath(__file__))


def _mpiexec():
    if not dist.is_mpi_available():
        return None
    cand = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    return cand if os.path.exists(cand) else shutil.which("mpiexec")


MPIEXEC = _mpiexec()
needs_mpi = pytest.mark.skipif(MPIEXEC is None, reason="mpi4py or mpiexec missing: pip install neuronet[mpi]")


def launch(n, script, *args, timeout=60):
    """Run ``script`` on n ranks; returns (returncode, output, seconds)."""
    env = dict(os.environ, HYDRA_IFACE="lo", OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    t0 = time.perf_counter()
    p = subprocess.run(["timeout", str(timeout), MPIEXEC, "-n", str(n), sys.executable,
                        os.path.join(HERE, script), *args],
                       capture_output=True, text=True, env=env, cwd=os.path.dirname(HERE))
    return p.returncode, p.stdout + p.stderr, time.perf_counter() - t0


@needs_mpi
@pytest.mark.parametrize("n", [2, 3])
def test_collectives_match_numpy(n):
    rc, out, _ = launch(n, "run_collectives.py")
    assert rc == 0, out
    assert out.count("all_reduce checks OK") == n, out


@needs_mpi
@pytest.mark.parametrize("n", [1, 2, 3])
def test_ddp_matches_one_process_on_the_global_batch(n):
    # bit-identical replicas; DDP == one process on the concatenated batch,
    # without BN and with SyncBatchNorm; no_sync; tied and unused parameters
    rc, out, _ = launch(n, "run_ddp.py")
    assert rc == 0, out
    assert out.count("DDP OK") == n and out.count("helpers OK") == n, out


@needs_mpi
@pytest.mark.parametrize("mode, message", [("raise", "bad batch on purpose"),
                                           ("shapes", "the model differs across ranks"),
                                           ("interrupt", "KeyboardInterrupt")])
def test_failure_ends_every_rank_in_seconds(mode, message):
    rc, out, seconds = launch(3 if mode == "raise" else 2, "run_failure.py", mode, timeout=30)
    assert rc not in (0, 124), out           # 124: timeout killed a hang
    assert seconds < 20, f"took {seconds:.1f} s"
    assert message in out, out
    # printed once, by one rank (an interrupt: one line, no traceback)
    assert out.count("Traceback (most recent call last)") == (mode != "interrupt"), out
    assert out.count("[neuronet.distributed] rank") == 1, out
    assert "should not get here" not in out


def test_one_process_group_outside_a_launch():
    if dist.is_initialized():
        dist.destroy_process_group()
    with pytest.raises(ValueError, match="not been initialized"):
        dist.get_rank()
    dist.init_process_group("mpi")
    try:
        assert (dist.get_rank(), dist.get_world_size()) == (0, 1)
        t = torch.arange(6.0).reshape(2, 3)
        v = t._version
        dist.all_reduce(t, op=dist.ReduceOp.AVG)
        assert t._version == v + 1
        np.testing.assert_array_equal(t.numpy(), np.arange(6.0).reshape(2, 3))
        with pytest.raises(TypeError, match="AVG needs a floating"):
            dist.all_reduce(torch.arange(3), op=dist.ReduceOp.AVG)
        with pytest.raises(ValueError, match="only backend is 'mpi'"):
            dist.destroy_process_group()
            dist.init_process_group("nccl")
    finally:
        if not dist.is_initialized():
            dist.init_process_group("mpi")
        dist.destroy_process_group()


def test_sync_batchnorm_backward_is_batchnorm_in_one_process():
    """The hand-written backward (group of one) against BatchNorm's, in float64
    with a random upstream gradient, and against PyTorch's SyncBatchNorm formula
    (which equals BatchNorm on one process)."""
    from neuronet.nn.modules.syncbatchnorm import SyncBatchNormFn
    g = np.random.default_rng(0)
    x = g.standard_normal((4, 3, 5, 2)) * 3 + 1
    w, b, up = g.standard_normal(3), g.standard_normal(3), g.standard_normal((4, 3, 5, 2))
    rm_a, rv_a = np.zeros(3), np.ones(3)
    xs = [torch.tensor(x, requires_grad=True) for _ in range(2)]
    ws = [torch.tensor(w, requires_grad=True) for _ in range(2)]
    bs = [torch.tensor(b, requires_grad=True) for _ in range(2)]
    ys = SyncBatchNormFn.apply(xs[0], ws[0], bs[0], rm_a, rv_a, 0.1, 1e-5, None)
    rm_b, rv_b = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    yb = nn.functional.batch_norm(xs[1], rm_b, rv_b, ws[1], bs[1], True, 0.1, 1e-5)
    (ys * torch.tensor(up)).sum().backward()
    (yb * torch.tensor(up)).sum().backward()
    np.testing.assert_allclose(ys.detach().numpy(), yb.detach().numpy(), rtol=1e-12, atol=1e-12)
    for a, c in ((xs, "x"), (ws, "weight"), (bs, "bias")):
        np.testing.assert_allclose(a[0].grad.numpy(), a[1].grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=c)
    np.testing.assert_allclose(rm_a, rm_b.numpy(), rtol=1e-12)
    np.testing.assert_allclose(rv_a, rv_b.numpy(), rtol=1e-12)


def test_convert_sync_batchnorm_keeps_parameters_and_state_dict():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Sequential(nn.BatchNorm1d(2)))
    w = model[1].weight
    conv = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    assert type(conv[1]) is nn.SyncBatchNorm and type(conv[2][0]) is nn.SyncBatchNorm
    assert conv[1].weight is w
    assert list(conv.state_dict()) == list(model.state_dict())
    x = torch.randn(2, 3, 5, 5)
    ref = nn.BatchNorm2d(4)
    np.testing.assert_allclose(conv[1](x[:, :, :4, :4].sum(1, keepdim=True).expand(2, 4, 4, 4)).detach().numpy(),
                               ref(x[:, :, :4, :4].sum(1, keepdim=True).expand(2, 4, 4, 4)).detach().numpy(),
                               rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="at least 2D"):
        conv[1](torch.randn(4))


@pytest.mark.parametrize("n, replicas, drop_last", [(10, 3, False), (10, 3, True), (7, 4, False), (7, 4, True),
                                                    (8, 4, False), (2, 3, False), (5, 1, True)])
def test_distributed_sampler_covers_the_dataset_once_per_epoch(n, replicas, drop_last):
    from neuronet.utils.data import DistributedSampler
    import torch as pt
    from torch.utils.data.distributed import DistributedSampler as PtSampler
    data = list(range(n))
    shares = [list(DistributedSampler(data, replicas, r, shuffle=False, drop_last=drop_last))
              for r in range(replicas)]
    want = [list(PtSampler(data, replicas, r, shuffle=False, drop_last=drop_last)) for r in range(replicas)]
    assert shares == want           # PyTorch's padding and splitting, exactly
    for epoch in (0, 1):
        shares = []
        for r in range(replicas):
            s = DistributedSampler(data, replicas, r, shuffle=True, seed=5, drop_last=drop_last)
            s.set_epoch(epoch)
            shares.append(list(s))
            assert len(s) == len(shares[-1]) == len(PtSampler(data, replicas, r, drop_last=drop_last))
        flat = sum(shares, [])
        if drop_last:
            assert len(set(flat)) == len(flat)              # nothing twice
        else:
            assert set(flat) == set(data)                   # everything, the padding repeats a few
            assert len(flat) - len(set(flat)) == (-n) % replicas
    del pt
