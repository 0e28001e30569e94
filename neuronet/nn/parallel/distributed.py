"""``DistributedDataParallel``: one model replica per process, gradients
averaged across processes during backward (PyTorch's DDP, on MPI).

How the overlap works. At construction the parameters that require a
gradient are split, in reverse registration order (about the order backward
produces their gradients), into buckets of at most ``bucket_cap_mb`` MB (the
first one 1 MB, as PyTorch, so communication starts early). Each forward walks
the graph of the output once and counts, per parameter, how many gradient
contributions backward will deliver (a weight used twice gets two). A hook on
each parameter counts them down; at the last one it copies the parameter's
full gradient into its bucket's flat buffer, and when a bucket is full it
starts a non-blocking ``MPI_Iallreduce`` on it (buckets start in a fixed order
on every rank, as MPI requires). The rest of backward runs while the message
travels; when the last bucket has started, the hook waits for all of them and
writes the averaged gradients into ``.grad``. Nothing is left to do after
``loss.backward()``: ``optimizer.step()`` sees averaged gradients.

MPI progresses a non-blocking collective only inside MPI calls on most
implementations, so each hook call also tests the requests in flight.
"""
from __future__ import annotations

import contextlib
import hashlib

import numpy as np

from ... import distributed as dist
from ...autograd.function import Node
from ...autograd.grad_mode import is_grad_enabled
from ...backend import array_module, to_numpy
from ...tensor import Tensor
from ..modules.module import Module

__all__ = ["DistributedDataParallel"]

_FIRST_BUCKET_BYTES = 1024 * 1024


class _CollectiveError(RuntimeError):
    """An error every rank raises together (only rank 0 prints it)."""
    _raised_on_every_rank = True


class _Bucket:
    __slots__ = ("dtype", "members", "buf", "pending", "request")

    def __init__(self, dtype, members):
        self.dtype = dtype
        self.members = members          # [(param index, offset, size)]
        n = sum(size for _, _, size in members)
        self.buf = np.zeros(n, dtype=dtype)
        self.pending = 0
        self.request = None


class DistributedDataParallel(Module):
    """Wrap ``module`` so that ``loss.backward()`` leaves on every rank the
    gradient averaged over all ranks (PyTorch's ``DistributedDataParallel``).

    Each rank feeds its own share of the batch (use
    :class:`~neuronet.utils.data.DistributedSampler`): with per-rank batch B on
    R ranks, one step is a step on the global batch R*B with the loss averaged
    over it. Parameters and buffers are copied from rank 0 at construction;
    a model whose parameter or buffer names, shapes or dtypes differ between
    ranks is refused there, on every rank, with one error.

    Arguments (PyTorch's): ``device_ids``/``output_device`` accepted and
    ignored (one process drives one device); ``broadcast_buffers``: copy rank
    0's buffers (batch-norm running statistics) to every rank at each forward;
    ``bucket_cap_mb``: bucket size (default 25); ``find_unused_parameters``:
    allow parameters that do not take part in producing the output (their
    gradient, when no rank used them, is left as it was). Without it such a
    parameter makes the next forward raise, naming it.

    ``no_sync()`` skips the averaging (gradient accumulation); the gradients
    accumulated locally are averaged at the first backward outside it.
    ``state_dict()`` keys carry the ``module.`` prefix, as PyTorch's.

    >>> model = DistributedDataParallel(Net())
    >>> loss_fn(model(x), y).backward()      # .grad averaged over the ranks
    """

    def __init__(self, module, device_ids=None, output_device=None, dim=0, broadcast_buffers=True,
                 process_group=None, bucket_cap_mb=None, find_unused_parameters=False, check_reduction=False,
                 gradient_as_bucket_view=False, static_graph=False):
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel: expected an nn.Module to wrap, received "
                            f"{type(module).__name__}")
        if not dist.is_initialized():
            raise RuntimeError("DistributedDataParallel: the default process group is not initialized; call "
                               "neuronet.distributed.init_process_group('mpi') first")
        if process_group not in (None, dist.group.WORLD):
            raise ValueError("DistributedDataParallel: neuronet has only the default (world) process group, "
                             f"received process_group={process_group!r}")
        bucket_cap_mb = 25 if bucket_cap_mb is None else bucket_cap_mb
        if not bucket_cap_mb > 0:
            raise ValueError(f"DistributedDataParallel: bucket_cap_mb must be positive, received {bucket_cap_mb}")
        self.module = module
        self.device_ids = device_ids
        self.broadcast_buffers = bool(broadcast_buffers)
        self.find_unused_parameters = bool(find_unused_parameters)
        self.bucket_cap_mb = bucket_cap_mb
        self.require_backward_grad_sync = True
        world = dist._comm()
        # Gradients travel on a communicator of their own, so buckets in flight
        # never interleave with the collectives of SyncBatchNorm or the user.
        object.__setattr__(self, "_comm", world.Dup() if world is not None else None)
        object.__setattr__(self, "_world", dist.get_world_size())
        self._check_same_model()
        self._sync_from_rank0(self.module.parameters(), self.module.buffers())
        names = {id(p): n for n, p in module.named_parameters()}
        params = [p for p in module.parameters() if p.requires_grad]
        object.__setattr__(self, "_params", params)
        object.__setattr__(self, "_names", [names[id(p)] for p in params])
        object.__setattr__(self, "_index", {id(p): i for i, p in enumerate(params)})
        object.__setattr__(self, "_buckets", self._make_buckets(params, bucket_cap_mb))
        object.__setattr__(self, "_where", {})
        for b, bucket in enumerate(self._buckets):
            for i, offset, size in bucket.members:
                self._where[i] = (b, offset, size)
        object.__setattr__(self, "_handles", [p.register_hook(self._make_hook(i)) for i, p in enumerate(params)])
        self._reset_iteration()
        # Measurements for neuronet.bench: seconds spent waiting at the end of backward.
        object.__setattr__(self, "_wait_seconds", 0.0)

    # ------------------------------------------------------------ construction
    def _check_same_model(self):
        """One clear error, on every rank, when the replicas differ."""
        if self._world == 1:
            return
        sig = [f"parameter {n} {tuple(p.shape)} {p.array.dtype}" for n, p in self.module.named_parameters()]
        sig += [f"buffer {n} {tuple(b.shape)} {b.array.dtype}" for n, b in self.module.named_buffers()]
        text = "\n".join(sig).encode()
        digest = np.frombuffer(hashlib.sha256(text).digest(), dtype=np.uint8).copy()
        every = np.empty((self._world, digest.size), dtype=np.uint8)
        self._comm.Allgather(digest, every)
        if (every == every[0]).all():
            return
        lists = self._comm.allgather(sig)    # lists of str only: a few hundred bytes
        bad = next(r for r in range(self._world) if (every[r] != every[0]).any())
        mine, theirs = lists[0], lists[bad]
        diff = next((k for k in range(max(len(mine), len(theirs)))
                     if k >= len(mine) or k >= len(theirs) or mine[k] != theirs[k]), None)
        a = mine[diff] if diff < len(mine) else "nothing"
        b = theirs[diff] if diff < len(theirs) else "nothing"
        raise _CollectiveError(
            f"DistributedDataParallel: the model differs across ranks: rank 0 has {a}, rank {bad} has {b} "
            f"(entry {diff} of {len(mine)} parameters and buffers); every rank must build the same model")

    def _sync_from_rank0(self, *tensor_lists):
        if self._world == 1:
            return
        for tensors in tensor_lists:
            for t in tensors:
                if t is None:
                    continue
                buf = np.array(to_numpy(t.array), order="C")
                wire = buf.view(np.uint8) if buf.dtype == np.bool_ else buf
                self._comm.Bcast(wire, root=0)
                if dist.get_rank() != 0:
                    t._write(buf, "DistributedDataParallel broadcast")

    @staticmethod
    def _make_buckets(params, cap_mb):
        buckets, current, nbytes = [], {}, {}
        cap = min(_FIRST_BUCKET_BYTES, int(cap_mb * 1024 * 1024))
        for i in reversed(range(len(params))):
            p = params[i]
            dt = np.dtype(p.array.dtype)
            members = current.setdefault(dt, [])
            offset = sum(s for _, _, s in members)
            members.append((i, offset, p.array.size))
            nbytes[dt] = nbytes.get(dt, 0) + p.array.nbytes
            if nbytes[dt] >= cap:
                buckets.append(_Bucket(dt, current.pop(dt)))
                nbytes[dt] = 0
                cap = int(cap_mb * 1024 * 1024)
        for dt, members in current.items():
            buckets.append(_Bucket(dt, members))
        return buckets

    # ------------------------------------------------------------ per iteration
    def _reset_iteration(self):
        object.__setattr__(self, "_active", False)
        object.__setattr__(self, "_started", False)
        object.__setattr__(self, "_remaining", [0] * len(self._params))
        object.__setattr__(self, "_used", np.zeros(len(self._params), dtype=np.uint8))
        object.__setattr__(self, "_ready", np.zeros(len(self._params), dtype=bool))
        object.__setattr__(self, "_next_launch", 0)
        for bucket in self._buckets:
            bucket.pending = len(bucket.members)
            bucket.request = None

    def _check_previous_iteration(self):
        if self._active and self._started:
            missing = [self._names[i] for i in range(len(self._params)) if not self._ready[i]]
            raise RuntimeError(
                "expected to have finished reduction in the prior iteration before "
                "starting a new one: the gradients of these parameters never arrived in backward: "
                f"{missing[:10]}{' ...' if len(missing) > 10 else ''}. If the loss does not depend on them, "
                "pass find_unused_parameters=True; make sure every rank calls backward on the output of forward.")

    def _count_uses(self, outputs):
        """How many gradient contributions each parameter will receive from backward of ``outputs``."""
        counts = [0] * len(self._params)
        index = self._index
        stack, seen = [], set()
        for t in _tensors_in(outputs):
            if t._node is not None:
                stack.append(t._node)
            elif id(t) in index:
                counts[index[id(t)]] += 1
        while stack:
            node = stack.pop()
            if id(node) in seen:
                continue
            seen.add(id(node))
            for inp in node.inputs:
                if inp is None:
                    continue
                if isinstance(inp, Node):
                    stack.append(inp)
                else:
                    i = index.get(id(inp))
                    if i is not None:
                        counts[i] += 1
        return counts

    def forward(self, *inputs, **kwargs):
        grad = is_grad_enabled()
        if grad:
            # A new iteration (a forward without grad, e.g. evaluation between
            # a forward and its backward, leaves the pending one alone).
            self._check_previous_iteration()
            self._reset_iteration()
        if self.broadcast_buffers and self._world > 1 and grad and self.module.training:
            self._sync_from_rank0(self.module.buffers())
        out = self.module(*inputs, **kwargs)
        if grad and self.require_backward_grad_sync and self._params:
            counts = self._count_uses(out)
            self._remaining = counts
            self._used[:] = [c > 0 for c in counts]
            object.__setattr__(self, "_active", True)
            unused = [i for i, c in enumerate(counts) if c == 0]
            if unused and self.find_unused_parameters:
                for i in unused:
                    self._mark_ready(i, None)
        return out

    @contextlib.contextmanager
    def no_sync(self):
        """Inside, forward+backward only accumulate local gradients (no communication)."""
        old = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = old

    def _make_hook(self, i):
        def hook(grad):
            if not self._active:
                return None
            self._started = True
            self._remaining[i] -= 1
            if self._remaining[i] > 0:
                return None
            if self._remaining[i] < 0:
                raise RuntimeError(f"DistributedDataParallel: parameter {self._names[i]} received a gradient "
                                   "twice in one iteration (backward run twice on one forward, e.g. with "
                                   "retain_graph=True); that is not supported")
            self._mark_ready(i, grad.array)
            if self._active:
                return None     # .grad accumulates as usual; _finish overwrites it with the average
            # This call finished the iteration: .grad already holds the average,
            # and ``grad`` is in it, so nothing more may be added.
            return _zeros_like(grad.array)
        return hook

    def _mark_ready(self, i, g):
        """Parameter i's last gradient contribution ``g`` (None: unused) arrived."""
        p = self._params[i]
        self._ready[i] = True
        b, offset, size = self._where[i]
        bucket = self._buckets[b]
        if p.grad is None:
            total = g if g is not None else 0
        else:
            total = p.grad.array if g is None else p.grad.array + g
        view = bucket.buf[offset:offset + size]
        if isinstance(total, int):
            view[...] = 0
        else:
            view[...] = to_numpy(total).reshape(-1)
        bucket.pending -= 1
        self._launch_ready_buckets()
        if self._next_launch == len(self._buckets):
            self._finish()
        else:
            self._poke()

    def _launch_ready_buckets(self):
        while self._next_launch < len(self._buckets) and self._buckets[self._next_launch].pending == 0:
            bucket = self._buckets[self._next_launch]
            if self._comm is not None:
                from mpi4py import MPI
                bucket.request = self._comm.Iallreduce(MPI.IN_PLACE, bucket.buf, op=MPI.SUM)
            self._next_launch += 1

    def _poke(self):
        """Let MPI progress the reductions in flight."""
        for bucket in self._buckets[:self._next_launch]:
            if bucket.request is not None and bucket.request.Test():
                bucket.request = None

    def _finish(self):
        import time
        t0 = time.perf_counter()
        for bucket in self._buckets:
            if bucket.request is not None:
                bucket.request.Wait()
                bucket.request = None
        used = self._used
        if self.find_unused_parameters and self._comm is not None:
            from mpi4py import MPI
            self._comm.Allreduce(MPI.IN_PLACE, used, op=MPI.MAX)
        object.__setattr__(self, "_wait_seconds", self._wait_seconds + time.perf_counter() - t0)
        world = self._world
        for bucket in self._buckets:
            for i, offset, size in bucket.members:
                if not used[i]:
                    continue            # no rank used it: its gradient stays as it was
                p = self._params[i]
                total = bucket.buf[offset:offset + size].reshape(p.array.shape)
                g = p.grad
                if (g is not None and isinstance(g.array, np.ndarray) and g.array.dtype == total.dtype
                        and g.array.shape == total.shape and g.array.flags.writeable):
                    np.divide(total, world, out=g.array)        # one pass, in place
                    g._vc[0] += 1
                elif g is None:
                    p.grad = Tensor._wrap(array_module(p.array).asarray(total / world, dtype=p.array.dtype))
                else:
                    g._write(total / world, "DistributedDataParallel")
        object.__setattr__(self, "_active", False)


def _zeros_like(a):
    xp = array_module(a)
    return xp.broadcast_to(xp.zeros((), dtype=a.dtype), a.shape)


def _tensors_in(obj):
    if isinstance(obj, Tensor):
        yield obj
    elif isinstance(obj, (list, tuple)):
        for o in obj:
            yield from _tensors_in(o)
    elif isinstance(obj, dict):
        for o in obj.values():
            yield from _tensors_in(o)
