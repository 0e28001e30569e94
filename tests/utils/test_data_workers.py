"""DataLoader with worker processes: order, seeding, worker info, errors,
cleanup, timeout, persistence, iterable sharding. Small datasets and few
workers: a fork costs milliseconds, but the machine has 2 shared cores."""
import gc
import multiprocessing
import os
import random
import signal
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

import neuronet as nt
from neuronet.data import mnist_sample
from neuronet.data import transforms as T
from neuronet.utils.data import (DataLoader, Dataset, IterableDataset, Subset, TensorDataset, default_collate,
                                 get_worker_info)

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="worker tests use the fork start method")


@pytest.fixture(autouse=True)
def _reap_after_a_failure():
    """A failing test's traceback can keep its workers alive; stop them so
    that the next test's process count starts from zero."""
    yield
    gc.collect()
    for p in multiprocessing.active_children():
        p.terminate()
        p.join()


def no_workers_left():
    """True when this process has no live child processes (multiprocessing's
    view, and the kernel's: /proc/<pid>/task/*/children)."""
    for _ in range(50):
        if not multiprocessing.active_children() and not _proc_children():
            return True
        time.sleep(0.02)
    return False


def _proc_children():
    kids = set()
    task_dir = f"/proc/{os.getpid()}/task"
    if not os.path.isdir(task_dir):
        return kids
    for tid in os.listdir(task_dir):
        try:
            with open(f"{task_dir}/{tid}/children") as f:
                kids |= {int(p) for p in f.read().split()}
        except OSError:
            pass
    return {p for p in kids if _state(p) not in ("Z", None) and not _is_mp_helper(p)}


def _is_mp_helper(pid):
    """multiprocessing's resource tracker (started once by spawn, kept for the session) is no worker."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return b"resource_tracker" in f.read()
    except OSError:
        return False


def _state(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


class Probe(Dataset):
    """Sample i: (i, worker id, worker seed, np.random, random, neuronet generator
    draws, pid). Slow on some indices so that batches arrive out of order."""

    def __init__(self, n=24, slow=()):
        self.n, self.slow = n, set(slow)

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if i in self.slow:
            time.sleep(0.15)
        info = get_worker_info()
        return (i, -1 if info is None else info.id, -1 if info is None else info.seed,
                float(np.random.rand()), random.random(), float(nt.data.random_generator().random()),
                os.getpid())


def run(loader):
    return [[t.tolist() for t in b] for b in loader]


def test_order_seeds_worker_info_and_init_fn():
    ds = Probe(24, slow={0, 1, 2, 3})           # worker 0's first batch is slow: later ones arrive first
    assert get_worker_info() is None
    nt.manual_seed(5)
    single = run(DataLoader(ds, batch_size=4, shuffle=True))
    nt.manual_seed(5)
    multi = run(DataLoader(ds, batch_size=4, shuffle=True, num_workers=2))
    nt.manual_seed(5)
    again = run(DataLoader(ds, batch_size=4, shuffle=True, num_workers=2))
    assert [b[0] for b in multi] == [b[0] for b in single]         # same batch order as num_workers=0
    assert sorted(sum((b[0] for b in multi), [])) == list(range(24))
    assert [b[:6] for b in multi] == [b[:6] for b in again]       # the same draws (pids aside)
    workers = [b[1] for b in multi]
    assert [w[0] for w in workers] == [k % 2 for k in range(6)]     # batch k built by worker k % 2
    seeds = {w[0]: s[0] for w, s in zip(workers, (b[2] for b in multi))}
    assert seeds[1] == seeds[0] + 1                                 # base_seed + worker id
    pids = {w[0]: p[0] for w, p in zip(workers, (b[6] for b in multi))}
    assert len(set(pids.values())) == 2 and os.getpid() not in pids.values()
    # each worker's numpy / random / neuronet streams are seeded, and differ between workers
    for col in (3, 4, 5):
        assert multi[0][col] != multi[1][col]
    # worker_init_fn runs in the worker after seeding
    def init(worker_id):
        info = get_worker_info()
        assert info.id == worker_id and info.num_workers == 2 and isinstance(info.dataset, Probe)
        np.random.seed(1000 + worker_id)
    b = run(DataLoader(ds, batch_size=2, num_workers=2, worker_init_fn=init, generator=0))
    assert b[0][3][0] == np.random.RandomState(1000).rand() and b[1][3][0] == np.random.RandomState(1001).rand()
    # batch 0 (worker 0) is slow: in order it still comes first; in_order=False
    # hands out worker 1's batch 1, ready earlier, and still every batch once
    assert run(DataLoader(ds, batch_size=4, num_workers=2))[0][0] == [0, 1, 2, 3]
    unordered = run(DataLoader(ds, batch_size=4, num_workers=2, in_order=False))
    assert unordered[0][0] == [4, 5, 6, 7]
    assert sorted(sum((b[0] for b in unordered), [])) == list(range(24))
    assert no_workers_left()


def test_random_augmentation_reproducible_for_seed_and_num_workers():
    data = Subset(mnist_sample(train=False, transform=T.Compose([
        T.RandomAffine(15, translate=(0.1, 0.1)), T.ToTensor()])), range(48))

    def epoch(num_workers, seed):
        nt.manual_seed(seed)
        dl = DataLoader(data, batch_size=16, shuffle=True, num_workers=num_workers, collate_fn=default_collate)
        return [(x.numpy(), y.numpy()) for x, y in dl]
    a, b, c, single = epoch(2, 1), epoch(2, 1), epoch(2, 2), epoch(0, 1)
    for (xa, ya), (xb, yb), (_, ys) in zip(a, b, single):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)
        np.testing.assert_array_equal(ya, ys)                      # same samples in the same order
    assert not np.array_equal(a[0][0], c[0][0])
    assert not np.array_equal(a[0][0], single[0][0])           # augmentation draws depend on num_workers


class Faulty(Dataset):
    def __init__(self, exc):
        self.exc = exc

    def __len__(self):
        return 8

    def __getitem__(self, i):
        if i == 5:
            raise self.exc
        return np.float32(i)


class TwoArgError(Exception):
    def __init__(self, a, b):
        super().__init__(a, b)


def test_worker_exception_reraised_with_type_and_traceback():
    dl = DataLoader(Faulty(ValueError("sample 5 is corrupt")), batch_size=2, num_workers=2)
    got = []
    with pytest.raises(ValueError) as e:
        for x in dl:
            got.append(x.tolist())
    msg = str(e.value)
    assert got == [[0.0, 1.0], [2.0, 3.0]]                         # the batches before the bad one
    assert "Caught ValueError in DataLoader worker process 0" in msg     # batch 2 -> worker 0
    assert "Traceback (most recent call last)" in msg and "sample 5 is corrupt" in msg
    assert "test_data_workers.py" in msg and "__getitem__" in msg
    del e
    assert no_workers_left()
    with pytest.raises(KeyError, match="Caught KeyError"):
        list(DataLoader(Faulty(KeyError("k")), batch_size=4, num_workers=1))
    with pytest.raises(RuntimeError, match="Caught TwoArgError in DataLoader worker process"):
        list(DataLoader(Faulty(TwoArgError(1, 2)), batch_size=4, num_workers=1))

    with pytest.raises(RuntimeError, match="Caught StopIteration"):     # not a silent end of the epoch
        list(DataLoader(Faulty(StopIteration()), batch_size=4, num_workers=1))
    unpicklable = lambda samples: (lambda: samples)                     # noqa: E731
    with pytest.raises(Exception, match="(?s)worker process 0 while sending batch 0.*pickle"):
        list(DataLoader(Faulty(ValueError()), batch_size=4, num_workers=1, collate_fn=unpicklable))

    def bad_init(worker_id):
        raise OSError("cannot open shard")
    with pytest.raises(OSError, match="cannot open shard"):
        list(DataLoader(TensorDataset(np.arange(4)), batch_size=2, num_workers=1, worker_init_fn=bad_init))
    assert no_workers_left()


def test_no_worker_left_after_break_exception_interrupt_or_gc():
    dl = DataLoader(TensorDataset(np.arange(64)), batch_size=4, num_workers=2)
    for _ in dl:
        break
    assert no_workers_left()
    with pytest.raises(ZeroDivisionError):
        for _ in dl:
            1 / 0
    assert no_workers_left()
    with pytest.raises(KeyboardInterrupt):                         # Ctrl-C in the loop body
        for _ in dl:
            raise KeyboardInterrupt
    assert no_workers_left()
    it = iter(dl)
    next(it)
    assert len(multiprocessing.active_children()) == 2
    del it
    gc.collect()
    assert no_workers_left()
    assert sum(len(b[0]) for b in dl) == 64                        # and a full epoch still works
    assert no_workers_left()


class Sleepy(Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        time.sleep(3)
        return i


def test_timeout_interrupt_while_waiting_and_killed_worker():
    t0 = time.monotonic()
    with pytest.raises(RuntimeError, match="DataLoader timed out after 0.3 seconds"):
        next(iter(DataLoader(Sleepy(), num_workers=1, timeout=0.3)))
    assert time.monotonic() - t0 < 2.5 and no_workers_left()
    # Ctrl-C while the main process waits for a batch
    timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        next(iter(DataLoader(Sleepy(), num_workers=1)))
    assert time.monotonic() - t0 < 5 and no_workers_left()

    class Suicidal(Dataset):
        def __len__(self):
            return 4

        def __getitem__(self, i):
            if i == 2:
                os.kill(os.getpid(), signal.SIGKILL)
            return i
    with pytest.raises(RuntimeError, match=r"DataLoader worker \(pid \d+\) exited unexpectedly.*SIGKILL"):
        list(DataLoader(Suicidal(), batch_size=1, num_workers=1))
    assert time.monotonic() - t0 < 8 and no_workers_left()


def test_more_workers_than_cpus_warns():
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    with pytest.warns(UserWarning, match="more workers than CPUs"):
        got = [int(x) for x in DataLoader(Shard(3), batch_size=None, num_workers=cpus + 1)]
    assert got == [0, 1, 2]                       # worker i (of >= 3) yields range(i, 3, workers)
    assert no_workers_left()


def test_persistent_workers_survive_epochs():
    ds = Probe(12)
    dl = DataLoader(ds, batch_size=3, num_workers=2, persistent_workers=True, generator=4)
    e1, e2 = run(dl), run(dl)
    pids1 = {p for b in e1 for p in b[6]}
    assert pids1 == {p for b in e2 for p in b[6]} and len(pids1) == 2      # the same two processes
    assert len(multiprocessing.active_children()) == 2                     # kept between epochs
    assert [b[3] for b in e1] != [b[3] for b in e2]                        # their random state goes on
    for _ in dl:                                                            # an abandoned epoch ...
        break
    e3 = run(dl)                                                            # ... leaves nothing stale
    assert sorted(sum((b[0] for b in e3), [])) == list(range(12))
    fresh = DataLoader(ds, batch_size=3, num_workers=2, generator=4)
    assert {p for b in run(fresh) for p in b[6]} != {p for b in run(fresh) for p in b[6]}  # new each epoch
    del dl
    gc.collect()
    assert no_workers_left()


class Shard(IterableDataset):
    def __init__(self, n, split=True):
        self.n, self.split = n, split

    def __iter__(self):
        info = get_worker_info()
        if info is None or not self.split:
            return iter(range(self.n))
        return iter(range(info.id, self.n, info.num_workers))


def test_iterable_dataset_sharding_with_workers():
    got = [b.tolist() for b in DataLoader(Shard(11), batch_size=2, num_workers=2)]
    assert got == [[0, 2], [1, 3], [4, 6], [5, 7], [8, 10], [9]]
    assert sorted(sum(got, [])) == list(range(11))
    # without a split each worker yields the whole stream, as in PyTorch
    dup = sum((b.tolist() for b in DataLoader(Shard(5, split=False), batch_size=2, num_workers=2)), [])
    assert sorted(dup) == sorted(list(range(5)) * 2)
    # drop_last applies per worker; persistent workers restart their stream each epoch
    dl = DataLoader(Shard(11), batch_size=2, num_workers=2, drop_last=True, persistent_workers=True)
    assert run_flat(dl) == run_flat(dl) == [0, 2, 1, 3, 4, 6, 5, 7, 8, 10]
    assert [int(x) for x in DataLoader(Shard(5), batch_size=None, num_workers=2)] == [0, 1, 2, 3, 4]
    del dl
    assert no_workers_left()


def run_flat(loader):
    return sum((b.tolist() for b in loader), [])


def test_spawn_context_and_interpreter_exit():
    # spawn: the dataset travels pickled; batches as in fork
    ds = TensorDataset(np.arange(10), np.arange(10) * 2)
    got = [[t.tolist() for t in b] for b in
           DataLoader(ds, batch_size=3, num_workers=2, multiprocessing_context="spawn")]
    assert got == [[[0, 1, 2], [0, 2, 4]], [[3, 4, 5], [6, 8, 10]], [[6, 7, 8], [12, 14, 16]], [[9], [18]]]
    assert no_workers_left()
    # a script that exits (or is killed) while its workers are running leaves none behind
    script = textwrap.dedent("""
        import os, sys, numpy as np
        from neuronet.utils.data import DataLoader, TensorDataset
        dl = DataLoader(TensorDataset(np.arange(100)), batch_size=2, num_workers=2, persistent_workers=True)
        it = iter(dl)
        next(it)
        print(" ".join(str(w.pid) for w in it._pool.workers), flush=True)
        if sys.argv[1] == "kill":
            os.kill(os.getpid(), 9)
    """)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    for how in ("exit", "kill"):
        out = subprocess.run([sys.executable, "-c", script, how], capture_output=True, text=True, cwd=root,
                             timeout=60).stdout
        pids = [int(p) for p in out.split()]
        assert len(pids) == 2
        deadline = time.monotonic() + 3
        while any(_state(p) not in (None, "Z") for p in pids) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert all(_state(p) in (None, "Z") for p in pids), f"{how}: workers {pids} still running"
