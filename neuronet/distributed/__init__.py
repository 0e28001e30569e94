"""``neuronet.distributed``: processes that train one model together, on MPI.

PyTorch's ``torch.distributed`` names over `mpi4py <https://mpi4py.readthedocs.io>`_
(``pip install neuronet[mpi]`` brings it and an MPI library)::

    import neuronet as torch
    import neuronet.distributed as dist

    dist.init_process_group("mpi")        # rank and world size come from mpiexec / srun
    t = torch.full((3,), float(dist.get_rank()))
    dist.all_reduce(t, op=dist.ReduceOp.SUM)   # in place: every rank now holds 0+1+...+(n-1)

launched as ``mpiexec -n 4 python train.py``. Outside an MPI launch
``init_process_group`` gives a group of one process in which every collective
is the identity, so the same script runs alone unchanged.

Collectives work in place on the tensor's storage and count the change on its
version counter (PyTorch's in-place semantics). With ``async_op=True`` they
start a non-blocking MPI operation and return a :class:`Work`; the tensor holds
the result after ``work.wait()``.

Failure behaviour: ``init_process_group`` installs an exception hook. A rank
that raises prints its traceback (once, prefixed by its rank) and calls
``MPI_Abort``, so every rank of the job ends non-zero within seconds instead of
waiting forever in the next collective. :func:`abort` does the same for a
program that wants to end the job with an exit code (e.g. a CLI's
``sys.exit(2)`` on one rank).

Differences from PyTorch: the only backend is ``"mpi"``; there are no
sub-groups (``group=`` must be None or :data:`group.WORLD`), no object
collectives (they would pickle), and GPU tensors go through host memory.
"""
from __future__ import annotations

import os
import sys

import numpy as np

from ..backend import to_numpy
from ..tensor import Tensor

__all__ = ["ReduceOp", "Work", "init_process_group", "is_initialized", "is_available", "is_mpi_available",
           "get_rank", "get_world_size", "get_backend", "all_reduce", "broadcast", "all_gather", "reduce",
           "barrier", "destroy_process_group", "abort", "launch_world_size", "is_main_process", "group"]


class ReduceOp:
    """How :func:`all_reduce` and :func:`reduce` combine the ranks' tensors (elementwise)."""
    SUM = "sum"
    AVG = "avg"          # floating tensors only: the sum divided by the world size
    PRODUCT = "product"
    MIN = "min"
    MAX = "max"
    BAND = "band"        # integer and bool tensors only
    BOR = "bor"
    BXOR = "bxor"


class group:      # noqa: N801  (PyTorch's spelling: ``dist.group.WORLD``)
    WORLD = "WORLD"


class _State:
    comm = None          # an mpi4py communicator, or None for the one-process group
    rank = 0
    size = 1
    initialized = False
    prev_excepthook = None


_state = _State()

# Environment variables by which launchers tell a process its world size.
_SIZE_VARS = ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE", "MPI_LOCALNRANKS", "SLURM_NTASKS")


def is_available() -> bool:
    """True: the package is always there (the one-process group needs no MPI)."""
    return True


def is_mpi_available() -> bool:
    """Whether ``mpi4py`` (and so a multi-process group) can be used."""
    import importlib.util
    return importlib.util.find_spec("mpi4py") is not None


def launch_world_size() -> int:
    """The number of processes the launcher (``mpiexec``, ``mpirun``, ``srun``)
    started, read from its environment without initializing MPI; 1 outside a
    launch. For a program deciding whether to call :func:`init_process_group`.
    (Under Slurm, ``SLURM_NTASKS`` counts only for processes started by ``srun``.)"""
    for var in _SIZE_VARS:
        if var == "SLURM_NTASKS" and "SLURM_STEP_ID" not in os.environ:
            continue
        try:
            n = int(os.environ.get(var, ""))
        except ValueError:
            continue
        if n >= 1:
            return n
    return 1


def _mpi():
    from mpi4py import MPI
    return MPI


def init_process_group(backend="mpi", init_method=None, timeout=None, world_size=-1, rank=-1, store=None,
                       group_name="", pg_options=None, device_id=None):
    """Join the process group of this MPI launch (PyTorch's signature).

    ``backend``: ``"mpi"`` (or None). Rank and world size come from MPI;
    ``world_size``/``rank`` may be given only to check them. Without ``mpi4py``
    and outside a launch, the group is this one process.
    """
    if _state.initialized:
        raise RuntimeError("init_process_group: trying to initialize the default process group twice")
    if backend is not None and str(backend).lower() != "mpi":
        raise ValueError(f"init_process_group: neuronet's only backend is 'mpi' (mpi4py), received "
                         f"backend={backend!r}; launch with mpiexec/srun and pass backend='mpi'")
    launched = launch_world_size()
    if is_mpi_available():
        import mpi4py
        mpi4py.rc.thread_level = "funneled"     # MPI is called only from the main thread
        MPI = _mpi()
        comm = MPI.COMM_WORLD.Dup()
        size, my_rank = comm.Get_size(), comm.Get_rank()
        if launched > 1 and size == 1:
            raise RuntimeError(
                f"init_process_group: the launcher started {launched} processes but MPI sees a world of 1: "
                "mpi4py is linked to a different MPI than the mpiexec used; launch with the mpiexec of "
                "the MPI that mpi4py uses (python -c 'import mpi4py; print(mpi4py.get_config())')")
    else:
        if launched > 1:
            raise RuntimeError(f"init_process_group: launched as one of {launched} processes, but mpi4py "
                               "is not installed: pip install neuronet[mpi] (mpi4py and an MPI library)")
        comm, size, my_rank = None, 1, 0
    if world_size not in (-1, None) and world_size != size:
        raise ValueError(f"init_process_group: world_size={world_size} but MPI started {size} processes")
    if rank not in (-1, None) and rank != my_rank:
        raise ValueError(f"init_process_group: rank={rank} but MPI says this process is rank {my_rank}")
    _state.comm, _state.size, _state.rank, _state.initialized = comm, size, my_rank, True
    if size > 1 and _state.prev_excepthook is None:
        _state.prev_excepthook = sys.excepthook
        sys.excepthook = _abort_on_uncaught


def _abort_on_uncaught(exc_type, exc, tb):
    """Print this rank's error once and end the whole job (MPI_Abort)."""
    rank, comm = _state.rank, _state.comm
    if getattr(exc, "_raised_on_every_rank", False) and rank != 0:
        # The same error on every rank (e.g. DDP's model check): rank 0 prints it and aborts.
        import time
        time.sleep(10)
    elif issubclass(exc_type, KeyboardInterrupt):
        # Ctrl-C reaches every rank through mpiexec: one line each, no tracebacks.
        print(f"[neuronet.distributed] rank {rank} of {_state.size} interrupted (KeyboardInterrupt); "
              "ending all ranks", file=sys.stderr, flush=True)
    else:
        print(f"[neuronet.distributed] rank {rank} of {_state.size} raised; ending all ranks:",
              file=sys.stderr, flush=True)
        (_state.prev_excepthook or sys.__excepthook__)(exc_type, exc, tb)
        sys.stderr.flush()
        sys.stdout.flush()
    if comm is not None:
        comm.Abort(130 if issubclass(exc_type, KeyboardInterrupt) else 1)


def abort(code=1):
    """End every rank of the job now with exit status ``code`` (MPI_Abort); in
    the one-process group, ``sys.exit(code)``."""
    sys.stdout.flush()
    sys.stderr.flush()
    if _state.comm is not None and _state.size > 1:
        _state.comm.Abort(int(code))
    sys.exit(code)


def is_initialized() -> bool:
    """Whether :func:`init_process_group` has run (and not been destroyed)."""
    return _state.initialized


def _require(fn):
    if not _state.initialized:
        raise ValueError(f"{fn}: Default process group has not been initialized, please make sure to call "
                         "init_process_group.")


def _check_group(fn, grp):
    if grp not in (None, group.WORLD):
        raise ValueError(f"{fn}: neuronet has only the default (world) group, received group={grp!r}")


def get_rank(group=None) -> int:
    """This process's index in the group, 0 .. world size - 1."""
    _require("get_rank")
    _check_group("get_rank", group)
    return _state.rank


def get_world_size(group=None) -> int:
    """The number of processes in the group."""
    _require("get_world_size")
    _check_group("get_world_size", group)
    return _state.size


def get_backend(group=None) -> str:
    _require("get_backend")
    return "mpi"


def is_main_process() -> bool:
    """True on rank 0, and in a program that never initialized a group (the rank
    that writes checkpoints, logs and reports)."""
    return not _state.initialized or _state.rank == 0


def destroy_process_group(group=None):
    """Leave the group (MPI itself is finalized by mpi4py at exit)."""
    _check_group("destroy_process_group", group)
    if _state.comm is not None:
        _state.comm.Free()
    if _state.prev_excepthook is not None:
        sys.excepthook = _state.prev_excepthook
        _state.prev_excepthook = None
    _state.comm, _state.size, _state.rank, _state.initialized = None, 1, 0, False


# ------------------------------------------------------------------ buffers
def _host_buffer(t: Tensor, fn: str):
    """A C-contiguous NumPy array with ``t``'s values: its storage itself when
    it already is one (then MPI writes in place), a copy otherwise."""
    if not isinstance(t, Tensor):
        raise TypeError(f"{fn}: expected a neuronet Tensor, received {type(t).__name__}")
    arr = t.array
    if isinstance(arr, np.ndarray) and arr.flags.c_contiguous and arr.flags.writeable:
        return arr, True
    return np.array(to_numpy(arr), order="C"), False


def _finish_write(t, buf, shared, fn):
    if shared:
        t._vc[0] += 1
    else:
        t._write(buf, fn)


# NumPy dtypes that MPI reduces directly; others (float16, bool) go through a wider type.
_FLOATS = (np.float32, np.float64, np.complex64, np.complex128)


def _mpi_op(op, dtype, fn):
    MPI = _mpi()
    kind = np.dtype(dtype).kind
    if op == ReduceOp.AVG and kind not in "fc":
        raise TypeError(f"{fn}: ReduceOp.AVG needs a floating tensor, received dtype {np.dtype(dtype).name}")
    if op in (ReduceOp.BAND, ReduceOp.BOR, ReduceOp.BXOR) and kind not in "iub":
        raise TypeError(f"{fn}: {op} needs an integer or bool tensor, received dtype {np.dtype(dtype).name}")
    if op in (ReduceOp.MIN, ReduceOp.MAX) and kind == "c":
        raise TypeError(f"{fn}: {op} is not defined for complex tensors")
    table = {ReduceOp.SUM: MPI.SUM, ReduceOp.AVG: MPI.SUM, ReduceOp.PRODUCT: MPI.PROD, ReduceOp.MIN: MPI.MIN,
             ReduceOp.MAX: MPI.MAX, ReduceOp.BAND: MPI.BAND, ReduceOp.BOR: MPI.BOR, ReduceOp.BXOR: MPI.BXOR}
    if op not in table:
        raise ValueError(f"{fn}: unknown op {op!r}; expected one of ReduceOp.SUM, AVG, PRODUCT, MIN, MAX, "
                         "BAND, BOR, BXOR")
    if kind == "b":     # PyTorch's bool reductions: sum/max = any, product/min = all
        table.update({ReduceOp.SUM: MPI.MAX, ReduceOp.PRODUCT: MPI.MIN})
    return table[op]


def _wire(buf):
    """The array MPI sees: float16 travels as float32, bool as uint8."""
    if buf.dtype == np.float16:
        return buf.astype(np.float32), True
    if buf.dtype == np.bool_:
        return buf.view(np.uint8), False
    return buf, False


class Work:
    """A collective in flight (``async_op=True``). ``wait()`` blocks until it has
    finished and the tensor holds the result; ``is_completed()`` polls."""

    def __init__(self, request=None, finish=None):
        self._request, self._finish, self._done = request, finish, False

    def is_completed(self) -> bool:
        if not self._done and (self._request is None or self._request.Test()):
            self._complete()
        return self._done

    def wait(self, timeout=None) -> bool:
        if not self._done:
            if self._request is not None:
                self._request.Wait()
            self._complete()
        return True

    def _complete(self):
        self._done = True
        if self._finish is not None:
            finish, self._finish = self._finish, None
            finish()

    def result(self):
        self.wait()
        return []


def _run(request, finish, async_op):
    work = Work(request, finish)
    if async_op:
        return work
    work.wait()
    return None


def all_reduce(tensor, op=ReduceOp.SUM, group=None, async_op=False):
    """Combine ``tensor`` across all ranks with ``op``; every rank's tensor holds the result."""
    fn = "all_reduce"
    _require(fn)
    _check_group(fn, group)
    buf, shared = _host_buffer(tensor, fn)
    if _state.comm is None:
        _mpi_op_check_only(op, buf.dtype, fn)
        return _run(None, lambda: _finish_write(tensor, buf, shared, fn), async_op)
    wire, widened = _wire(buf)
    request = _state.comm.Iallreduce(_mpi().IN_PLACE, wire, op=_mpi_op(op, buf.dtype, fn))

    def finish():
        if widened:
            buf[...] = wire
        if op == ReduceOp.AVG:
            buf[...] = buf / _state.size
        _finish_write(tensor, buf, shared, fn)
    return _run(request, finish, async_op)


def _mpi_op_check_only(op, dtype, fn):
    """The one-process group's argument check (no MPI to look the op up in)."""
    kind = np.dtype(dtype).kind
    known = (ReduceOp.SUM, ReduceOp.AVG, ReduceOp.PRODUCT, ReduceOp.MIN, ReduceOp.MAX, ReduceOp.BAND,
             ReduceOp.BOR, ReduceOp.BXOR)
    if op not in known:
        raise ValueError(f"{fn}: unknown op {op!r}; expected one of ReduceOp.SUM, AVG, PRODUCT, MIN, MAX, "
                         "BAND, BOR, BXOR")
    if op == ReduceOp.AVG and kind not in "fc":
        raise TypeError(f"{fn}: ReduceOp.AVG needs a floating tensor, received dtype {np.dtype(dtype).name}")
    if op in (ReduceOp.BAND, ReduceOp.BOR, ReduceOp.BXOR) and kind not in "iub":
        raise TypeError(f"{fn}: {op} needs an integer or bool tensor, received dtype {np.dtype(dtype).name}")


def reduce(tensor, dst=0, op=ReduceOp.SUM, group=None, async_op=False):
    """Combine ``tensor`` across ranks into rank ``dst``'s tensor; the others' stay as they were."""
    fn = "reduce"
    _require(fn)
    _check_group(fn, group)
    _check_rank(fn, "dst", dst)
    buf, shared = _host_buffer(tensor, fn)
    if _state.comm is None:
        _mpi_op_check_only(op, buf.dtype, fn)
        return _run(None, lambda: _finish_write(tensor, buf, shared, fn), async_op)
    wire, widened = _wire(buf)
    mine = _state.rank == dst
    recv = np.empty_like(wire) if mine else None
    request = _state.comm.Ireduce(wire, recv, op=_mpi_op(op, buf.dtype, fn), root=dst)

    def finish():
        if mine:
            buf[...] = recv.view(buf.dtype) if buf.dtype == np.bool_ else recv
            if op == ReduceOp.AVG:
                buf[...] = buf / _state.size
            _finish_write(tensor, buf, shared, fn)
    return _run(request, finish, async_op)


def _check_rank(fn, what, r):
    if not isinstance(r, (int, np.integer)) or not 0 <= r < _state.size:
        raise ValueError(f"{fn}: {what}={r!r} is not a rank of this group of {_state.size} process(es)")


def broadcast(tensor, src=0, group=None, async_op=False):
    """Copy rank ``src``'s tensor into every rank's ``tensor`` (same shape and dtype everywhere)."""
    fn = "broadcast"
    _require(fn)
    _check_group(fn, group)
    _check_rank(fn, "src", src)
    buf, shared = _host_buffer(tensor, fn)
    if _state.comm is None:
        return _run(None, lambda: _finish_write(tensor, buf, shared, fn), async_op)
    wire = buf.view(np.uint8) if buf.dtype == np.bool_ else buf
    if wire.dtype == np.float16:
        wire = buf.view(np.uint16)
    request = _state.comm.Ibcast(wire, root=src)
    return _run(request, lambda: _finish_write(tensor, buf, shared, fn), async_op)


def all_gather(tensor_list, tensor, group=None, async_op=False):
    """``tensor_list[r]`` receives rank r's ``tensor`` on every rank (PyTorch's
    list form: one tensor per rank, each shaped and typed like ``tensor``)."""
    fn = "all_gather"
    _require(fn)
    _check_group(fn, group)
    if not isinstance(tensor_list, (list, tuple)) or len(tensor_list) != _state.size:
        got = len(tensor_list) if hasattr(tensor_list, "__len__") else "?"
        raise ValueError(f"{fn}: tensor_list must be a list of {_state.size} tensors (one per rank), received "
                         f"{type(tensor_list).__name__} of length {got}")
    buf, _ = _host_buffer(tensor, fn)
    for i, t in enumerate(tensor_list):
        if not isinstance(t, Tensor) or tuple(t.shape) != buf.shape or t.array.dtype != buf.dtype:
            raise ValueError(f"{fn}: tensor_list[{i}] must have the shape {buf.shape} and dtype {buf.dtype} of "
                             f"the input, received {getattr(t, 'shape', type(t).__name__)} "
                             f"{getattr(getattr(t, 'array', None), 'dtype', '')}")
    out = np.empty((_state.size,) + buf.shape, dtype=buf.dtype)

    def finish():
        for t, part in zip(tensor_list, out):
            t._write(part, fn)
    if _state.comm is None:
        out[0] = buf
        return _run(None, finish, async_op)
    raw = (lambda a: a.view(np.uint8) if a.dtype == np.bool_ else a.view(np.uint16) if a.dtype == np.float16
           else a)
    request = _state.comm.Iallgather(raw(buf), raw(out))
    return _run(request, finish, async_op)


def barrier(group=None, async_op=False, device_ids=None):
    """Wait until every rank has reached its barrier."""
    _require("barrier")
    _check_group("barrier", group)
    if _state.comm is None:
        return _run(None, None, async_op)
    return _run(_state.comm.Ibarrier(), None, async_op)


def _comm():
    """The group's communicator (None for the one-process group): for
    :mod:`neuronet.nn.parallel` and ``SyncBatchNorm``."""
    _require("neuronet.distributed")
    return _state.comm
