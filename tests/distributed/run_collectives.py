"""Run under mpiexec: every collective and dtype against NumPy on the gathered inputs."""
import numpy as np

import neuronet as torch
import neuronet.distributed as dist

dist.init_process_group("mpi")
rank, size = dist.get_rank(), dist.get_world_size()
R = dist.ReduceOp
DTYPES = ["float32", "float64", "float16", "int64", "int32", "int8", "uint8", "bool", "complex64"]
NP_OPS = {R.SUM: lambda a: a.sum(0), R.PRODUCT: lambda a: a.prod(0), R.MIN: lambda a: a.min(0),
          R.MAX: lambda a: a.max(0), R.AVG: lambda a: a.sum(0) / size,
          R.BAND: lambda a: np.bitwise_and.reduce(a, 0), R.BOR: lambda a: np.bitwise_or.reduce(a, 0),
          R.BXOR: lambda a: np.bitwise_xor.reduce(a, 0)}
BOOL = {R.SUM: lambda a: a.any(0), R.MAX: lambda a: a.any(0), R.PRODUCT: lambda a: a.all(0),
        R.MIN: lambda a: a.all(0), R.BAND: lambda a: a.all(0), R.BOR: lambda a: a.any(0),
        R.BXOR: lambda a: np.bitwise_xor.reduce(a, 0)}


def data(dtype, r, shape=(5, 7)):
    g = np.random.default_rng(100 + r)
    if dtype == "bool":
        return g.random(shape) < 0.5
    if dtype.startswith("complex"):
        return (g.standard_normal(shape) + 1j * g.standard_normal(shape)).astype(dtype)
    if dtype.startswith(("int", "uint")):
        return g.integers(1, 5, shape).astype(dtype)
    return g.standard_normal(shape).astype(dtype)


checked = 0
for dtype in DTYPES:
    every = np.stack([data(dtype, r) for r in range(size)])
    kind = np.dtype(dtype).kind
    for op, ref in (BOOL if dtype == "bool" else NP_OPS).items():
        valid = not ((op == R.AVG and kind not in "fc") or (op in (R.BAND, R.BOR, R.BXOR) and kind not in "iub")
                     or (op in (R.MIN, R.MAX) and kind == "c"))
        for async_op in (False, True):
            t = torch.from_numpy(data(dtype, rank).copy())
            v0 = t._version
            if not valid:
                try:
                    dist.all_reduce(t, op=op)
                except TypeError:
                    continue
                raise AssertionError(f"all_reduce {op} on {dtype} should be refused")
            work = dist.all_reduce(t, op=op, async_op=async_op)
            if async_op:
                work.wait()
            want = ref(every).astype(dtype)
            tol = 1e-2 if dtype == "float16" else 1e-5
            if kind in "fc":
                np.testing.assert_allclose(t.numpy(), want, rtol=tol, atol=tol, err_msg=f"{op} {dtype}")
            else:
                np.testing.assert_array_equal(t.numpy(), want, err_msg=f"{op} {dtype}")
            assert t._version == v0 + 1, "all_reduce must count the in-place change"
            checked += 1
            # reduce to the last rank: only it changes
            t = torch.from_numpy(data(dtype, rank).copy())
            work = dist.reduce(t, dst=size - 1, op=op, async_op=async_op)
            if async_op:
                work.wait()
            got = t.numpy()
            if rank == size - 1:
                if kind in "fc":
                    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)
                else:
                    np.testing.assert_array_equal(got, want)
            else:
                np.testing.assert_array_equal(got, data(dtype, rank))
    # broadcast from the last rank, on a non-contiguous view too
    t = torch.from_numpy(data(dtype, rank).copy())
    dist.broadcast(t, src=size - 1)
    np.testing.assert_array_equal(t.numpy(), data(dtype, size - 1))
    base = torch.from_numpy(data(dtype, rank).copy())
    view = base.t()
    dist.broadcast(view, src=0)
    np.testing.assert_array_equal(base.numpy(), data(dtype, 0))
    # all_gather
    outs = [torch.from_numpy(np.zeros((5, 7), dtype)) for _ in range(size)]
    dist.all_gather(outs, torch.from_numpy(data(dtype, rank)))
    for r in range(size):
        np.testing.assert_array_equal(outs[r].numpy(), data(dtype, r))
dist.barrier()
dist.barrier(async_op=True).wait()
print(f"rank {rank}: {checked} all_reduce checks OK", flush=True)
