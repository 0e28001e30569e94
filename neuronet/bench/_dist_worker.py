"""One rank of ``python -m neuronet.bench distributed`` (started by mpiexec).

``train``: ResNet-20 (or, with ``--model mlp``, a 67 MB multilayer
perceptron whose step is dominated by communication) SGD steps under DistributedDataParallel in three ways --
``local`` (no communication: ``no_sync``), ``bucketed`` (DDP as shipped:
non-blocking all-reduces during backward) and ``after`` (backward without
communication, then the same buckets all-reduced one after another, blocking).
The communication time is that of the blocking all-reduces in ``after``
(ranks synchronized first); the part of it that bucketing hides is ``1 -
exposed / communication``, where ``exposed`` is DDP's wait for the reductions
at the end of backward (minima over the steps).

``allreduce``: blocking ``MPI_Allreduce`` of float32 messages from 4 B to
``--max-mb``; latency and bandwidth per size.

Rank 0 prints one JSON line.
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np


def _build(args, torch):
    """The benchmarked model and one batch of its input."""
    from neuronet.bench.workloads import build_neuronet_model
    torch.manual_seed(0)
    if args.model == "resnet20":
        return build_neuronet_model("resnet20"), (args.batch, 3, 32, 32)
    nn = torch.nn
    width = 2048       # 4 x 2048^2 weights: 67 MB of gradients, a communication-heavy step
    layers = []
    for _ in range(4):
        layers += [nn.Linear(width, width), nn.ReLU()]
    return nn.Sequential(*layers, nn.Linear(width, 10)), (args.batch, width)


def train(args):
    import neuronet as torch
    import neuronet.distributed as dist
    from neuronet.nn.parallel import DistributedDataParallel as DDP
    from mpi4py import MPI

    dist.init_process_group("mpi")
    rank, size = dist.get_rank(), dist.get_world_size()
    net, shape = _build(args, torch)
    model = DDP(net, bucket_cap_mb=args.bucket_cap_mb)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    g = np.random.default_rng(rank)
    x = torch.from_numpy(g.standard_normal(shape, dtype=np.float32))
    y = torch.from_numpy(g.integers(0, 10, args.batch))
    loss_fn = torch.nn.CrossEntropyLoss()
    comm = model._comm
    blocking, waits = [], []

    def local():
        opt.zero_grad()
        with model.no_sync():
            loss_fn(model(x), y).backward()
        opt.step()

    def bucketed():
        opt.zero_grad()
        w0 = model._wait_seconds
        loss_fn(model(x), y).backward()
        waits.append(model._wait_seconds - w0)
        opt.step()

    def after():
        opt.zero_grad()
        with model.no_sync():
            loss_fn(model(x), y).backward()
        if comm is not None:
            comm.Barrier()          # time the communication alone, not the wait for a slower rank
        t0 = time.perf_counter()
        for bucket in model._buckets:
            for i, off, n in bucket.members:
                bucket.buf[off:off + n] = model._params[i].grad.array.reshape(-1)
            if comm is not None:
                comm.Allreduce(MPI.IN_PLACE, bucket.buf, op=MPI.SUM)
            bucket.buf /= size
            for i, off, n in bucket.members:
                model._params[i].grad.array[...] = bucket.buf[off:off + n].reshape(model._params[i].shape)
        blocking.append(time.perf_counter() - t0)
        opt.step()

    # The three ways take turns, so a change in the machine's load hits them alike.
    modes = {"local": local, "bucketed": bucketed, "after": after}
    times = {name: [] for name in modes}
    for k in range(args.warmup + args.steps):
        for name, fn in modes.items():
            MPI.COMM_WORLD.Barrier()
            t0 = time.perf_counter()
            fn()
            MPI.COMM_WORLD.Barrier()
            if k >= args.warmup:
                times[name].append(time.perf_counter() - t0)
    res = {name: float(np.median(v)) for name, v in times.items()}
    grad_bytes = sum(p.array.nbytes for p in model._params)
    if rank == 0:
        # Communication alone (after backward, ranks synchronized) against what
        # DDP still waits for at the end of backward; minima over the steps,
        # the least disturbed by other load (the wait also absorbs a slower rank).
        comm_s = float(np.min(blocking[args.warmup:]))
        exposed_s = float(np.min(waits[args.warmup:]))
        hidden = 1 - exposed_s / comm_s if comm_s > 0 else None
        if args.debug:
            print("blocking ms", np.round(np.array(blocking) * 1e3, 2), "waits ms",
                  np.round(np.array(waits) * 1e3, 2), flush=True)
        print(json.dumps({"kind": "train", "model": args.model, "ranks": size, "batch_per_rank": args.batch,
                          "step_s": res, "images_per_s": size * args.batch / res["bucketed"],
                          "images_per_s_local": size * args.batch / res["local"],
                          "grad_bytes": grad_bytes, "buckets": len(model._buckets),
                          "comm_s": comm_s, "exposed_s": exposed_s, "hidden_fraction": hidden,
                          "mpi": MPI.Get_library_version().splitlines()[0].strip()}), flush=True)


def allreduce(args):
    from mpi4py import MPI
    comm = MPI.COMM_WORLD
    rank, size = comm.Get_rank(), comm.Get_size()
    rows = []
    nbytes = 4
    while nbytes <= args.max_mb * 1024 * 1024:
        buf = np.ones(nbytes // 4, dtype=np.float32)
        reps = max(3, min(200, int(2e7 // max(nbytes, 1))))
        comm.Allreduce(MPI.IN_PLACE, buf, op=MPI.SUM)
        times = []
        for _ in range(reps):
            comm.Barrier()
            t0 = time.perf_counter()
            comm.Allreduce(MPI.IN_PLACE, buf, op=MPI.SUM)
            times.append(time.perf_counter() - t0)
        t = float(np.median(times))
        rows.append({"bytes": nbytes, "seconds": t, "algbw_GBps": nbytes / t / 1e9,
                     "busbw_GBps": 2 * (size - 1) / size * nbytes / t / 1e9})
        nbytes *= 4
    if rank == 0:
        print(json.dumps({"kind": "allreduce", "ranks": size, "rows": rows}), flush=True)


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=("train", "allreduce"))
    p.add_argument("--model", choices=("resnet20", "mlp"), default="resnet20")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--bucket-cap-mb", type=float, default=25.0)
    p.add_argument("--max-mb", type=float, default=16.0)
    p.add_argument("--debug", action="store_true")
    args = p.parse_args(argv)
    (train if args.mode == "train" else allreduce)(args)


if __name__ == "__main__":
    main()
