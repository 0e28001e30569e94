"""One numba worker per CPU (imported only when numba is).

numba's ``workqueue`` pool puts its workers to sleep between parallel calls,
and the main thread wakes them while it still holds its own CPU: Linux then
often starts both workers of a 2-CPU machine on the *other* CPU and does not
move either within a few-millisecond kernel. Measured on a quiet 2-core EPYC,
9 of 12 direct-convolution calls ran with both workers on CPU 0 (3.8 ms a
call) against 2.0 ms every call with one worker per CPU. Pinning each worker
to its own CPU (of those this process may use) fixes it; the main thread is
left alone. ``NEURONET_PIN_THREADS=0`` turns it off.
"""
import os

import numba
import numpy as np
from numba import prange

_gettid = numba.types.ExternalFunction("gettid", numba.types.int32())


@numba.njit(parallel=True, cache=False)
def _worker_tids(n):
    tids = np.zeros(n, np.int64)
    for t in prange(n):          # workqueue: one chunk, so one iteration, per worker
        tids[t] = _gettid()
    return tids


def pin_workers():
    """Pin numba's workers one per allowed CPU; returns ``[(tid, cpu), ...]`` (empty
    when there is nothing to do: one CPU, no affinity API)."""
    if not hasattr(os, "sched_setaffinity"):
        return []
    cpus = sorted(os.sched_getaffinity(0))
    n = numba.config.NUMBA_NUM_THREADS
    if len(cpus) < 2 or n < 2:
        return []
    prev = numba.get_num_threads()
    numba.set_num_threads(n)
    try:
        tids = _worker_tids(n)
    finally:
        numba.set_num_threads(prev)
    main = getattr(os, "gettid", lambda: None)()
    pinned = []
    for i, tid in enumerate(dict.fromkeys(int(t) for t in tids)):
        if tid == main:          # a layer that runs an iteration on the caller: leave it
            continue
        os.sched_setaffinity(tid, {cpus[i % len(cpus)]})
        pinned.append((tid, cpus[i % len(cpus)]))
    return pinned
