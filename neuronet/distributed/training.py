"""What a training loop needs to run data parallel, in a few calls.

A loop written for one process becomes data parallel with::

    from neuronet.distributed import training as dt

    world = dt.setup()                                   # 1 outside mpiexec/srun
    model = dt.wrap_model(model, sync_batchnorm=True)    # DDP when world > 1
    sampler = dt.sampler_for(train_set, shuffle=True, seed=seed)
    loader = DataLoader(train_set, batch_size=per_rank_batch, sampler=sampler, shuffle=sampler is None)
    for epoch in ...:
        dt.set_epoch(sampler, epoch)
        ...
        loss_mean, acc = dt.mean_over_ranks([loss_sum, correct], count)   # for the log
        if dt.is_main_process():
            save(dt.unwrap_model(model).state_dict(), ...)               # keys without "module."

Batch semantics (PyTorch's): ``batch_size`` is per rank; one optimizer step
consumes ``world * batch_size`` samples and averages the gradient over them.
An epoch has ``ceil(len(dataset) / world)`` samples per rank (the sampler pads
by repeating a few). The learning rate is not changed: scale it yourself if
the global batch grew (the linear scaling rule of Goyal et al. 2017,
``lr * world``, with a warm-up). Checkpoints from :func:`unwrap_model` hold
the plain model, so a run resumes on any number of ranks.
"""
from __future__ import annotations

import numpy as np

from . import (all_reduce, get_rank, get_world_size, init_process_group, is_initialized, is_main_process,
               launch_world_size, ReduceOp)  # noqa: F401  (is_main_process re-exported)
from ..tensor import Tensor

__all__ = ["setup", "world_size", "rank", "is_main_process", "wrap_model", "unwrap_model", "sampler_for",
           "set_epoch", "broadcast_buffers", "mean_over_ranks", "sum_over_ranks", "broadcast_flag"]


def setup(backend="mpi"):
    """Join the MPI job when this process was launched as one of several
    (``mpiexec -n 4 ...``); do nothing otherwise. Returns the world size."""
    if not is_initialized() and launch_world_size() > 1:
        init_process_group(backend)
    return world_size()


def world_size():
    """Number of ranks (1 without a group)."""
    return get_world_size() if is_initialized() else 1


def rank():
    """This process's rank (0 without a group)."""
    return get_rank() if is_initialized() else 0


def wrap_model(model, sync_batchnorm=False, **ddp_kwargs):
    """``DistributedDataParallel(model)`` when the world has more than one rank
    (its BatchNorm layers first turned into SyncBatchNorm if ``sync_batchnorm``);
    ``model`` itself otherwise."""
    if world_size() == 1:
        return model
    from ..nn import SyncBatchNorm
    from ..nn.parallel import DistributedDataParallel
    if sync_batchnorm:
        model = SyncBatchNorm.convert_sync_batchnorm(model)
    return DistributedDataParallel(model, **ddp_kwargs)


def unwrap_model(model):
    """The module inside a DistributedDataParallel (what checkpoints should hold)."""
    from ..nn.parallel import DistributedDataParallel
    return model.module if isinstance(model, DistributedDataParallel) else model


def sampler_for(dataset, shuffle=True, seed=0, drop_last=False):
    """This rank's :class:`~neuronet.data.sampler.DistributedSampler` over
    ``dataset`` when the world has more than one rank; None otherwise (use the
    loader's own ``shuffle``)."""
    if world_size() == 1:
        return None
    from ..data.sampler import DistributedSampler
    return DistributedSampler(dataset, num_replicas=world_size(), rank=rank(), shuffle=shuffle, seed=seed,
                              drop_last=drop_last)


def broadcast_buffers(model, src=0):
    """Copy rank ``src``'s buffers (batch-norm running statistics) to every rank.

    Under DDP with plain BatchNorm each rank's running statistics follow its own
    shard after the last training forward; call this before evaluating on every
    rank, so that all ranks compute the same validation metrics (and take the
    same early-stopping and best-checkpoint decisions)."""
    if world_size() == 1:
        return
    from . import broadcast
    for b in unwrap_model(model).buffers():
        if b is not None:
            broadcast(b, src=src)


def set_epoch(sampler, epoch):
    """``sampler.set_epoch(epoch)`` when it has one (a new shuffle each epoch, the same on every rank)."""
    if hasattr(sampler, "set_epoch"):
        sampler.set_epoch(epoch)


def sum_over_ranks(values):
    """Elementwise sum over ranks of a list of numbers (float64); the list itself without a group."""
    arr = np.asarray(values, dtype=np.float64).reshape(-1)
    if world_size() > 1:
        t = Tensor._wrap(arr.copy())
        all_reduce(t, op=ReduceOp.SUM)
        arr = t.array
    return [float(v) for v in arr]


def mean_over_ranks(sums, count):
    """``sum_over_ranks(sums) / sum_over_ranks(count)``: e.g. the loss and
    accuracy of an epoch over every rank's samples, from each rank's sums and
    sample count. One all-reduce."""
    *total, n = sum_over_ranks(list(sums) + [count])
    return [v / n if n else float("nan") for v in total]


def broadcast_flag(flag, src=0):
    """Rank ``src``'s boolean on every rank (e.g. an early-stop or NaN decision
    that every rank must take together)."""
    if world_size() == 1:
        return bool(flag)
    from . import broadcast
    t = Tensor._wrap(np.array([1 if flag else 0], dtype=np.uint8))
    broadcast(t, src=src)
    return bool(t.array[0])

