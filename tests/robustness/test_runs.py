"""Lost data: runs that collide, two trainers at once, kills during a save,
a full disk (``ulimit -f``). Earlier files must come out byte-identical."""
import glob
import os
import resource
import signal
import socket
import subprocess
import sys
import textwrap
import time

import pytest
from hostile import ROOT, cli, one_line_error, popen, small_checkpoint

from neuronet.serialization import CheckpointError, atomic_write, load_file, save
from neuronet.train.rundir import RunDirectoryError, RunLock

TRAIN = ("train", "mlp", "--subset", "64", "--epochs", "1", "--val-split", "0", "--no-report", "--quiet",
         "--batch-size", "32")


def snapshot(d):
    return {n: open(os.path.join(d, n), "rb").read() for n in sorted(os.listdir(d))
            if os.path.isfile(os.path.join(d, n))}


def test_second_run_goes_to_a_fresh_directory_and_says_so(tmp_path):
    out = tmp_path / "runs" / "x"
    r = cli(*TRAIN, "--out", str(out))
    assert r.returncode == 0, r.stderr
    before = snapshot(out)
    assert {"last.npz", "metrics.csv", "history.json", "summary.json"} <= set(before)
    umask = os.umask(0o022)
    os.umask(umask)
    modes = {n: os.stat(out / n).st_mode & 0o777 for n in before}
    assert set(modes.values()) == {0o666 & ~umask}, modes        # checkpoints as every other file
    r = cli(*TRAIN, "--out", str(out), "--seed", "1")
    assert r.returncode == 0, r.stderr
    assert f"{out} already holds a run; this run goes to {out}-2" in r.stderr
    assert snapshot(out) == before                      # byte-identical
    assert (tmp_path / "runs" / "x-2" / "last.npz").exists()
    # --resume continues the run in its own directory; --overwrite replaces it
    one_line_error(cli(*TRAIN[:5], "2", *TRAIN[6:], "--resume", str(out / "last.npz")),
                   "planned for 1 epochs", "--epochs 1")
    r = cli(*TRAIN[:5], "2", *TRAIN[6:], "--resume", str(out / "last.npz"), "--scheduler", "none")
    assert r.returncode == 0, r.stderr
    import json
    assert [h["epoch"] for h in json.loads((out / "history.json").read_text())] == [1, 2]
    assert not (tmp_path / "runs" / "x-3").exists()
    r = cli(*TRAIN, "--out", str(out), "--overwrite")
    assert r.returncode == 0, r.stderr
    assert [h["epoch"] for h in json.loads((out / "history.json").read_text())] == [1]
    one_line_error(cli(*TRAIN, "--resume", str(out / "last.npz"), "--overwrite"), "give one of the two")
    assert not os.path.exists(out / ".lock")


def test_two_concurrent_trainers(tmp_path):
    """A trains (paused mid-run with SIGSTOP, so the overlap is certain); B asks
    to overwrite A's directory: one clear error, A unharmed. C, with the same
    --out, trains into DIR-2. A then resumes and finishes intact."""
    out = tmp_path / "run"
    a = popen("-m", "neuronet", *TRAIN[:2], "--subset", "512", "--epochs", "3", *TRAIN[6:], "--out", str(out))
    try:
        t0 = time.time()
        while not (out / ".lock").exists():
            assert a.poll() is None and time.time() - t0 < 30, a.communicate()
            time.sleep(0.01)
        a.send_signal(signal.SIGSTOP)
        b = cli(*TRAIN, "--out", str(out), "--overwrite")
        c = cli(*TRAIN, "--out", str(out))
        a.send_signal(signal.SIGCONT)
        _, err = a.communicate(timeout=60)
    finally:
        if a.poll() is None:
            a.kill()
    assert a.returncode == 0, err
    one_line_error(b, f"run directory '{out}' is in use by another trainer (process {a.pid}",
                   "choose another --out")
    assert c.returncode == 0, c.stderr
    assert f"this run goes to {out}-2" in c.stderr
    ck = load_file(out / "last.npz")[0]
    assert ck["epoch"] == 3 and ck["data"]["train_size"] == 512        # A's, complete
    assert load_file(f"{out}-2/last.npz")[0]["data"]["train_size"] == 64
    assert not glob.glob(str(out / ".tmp-*")) and not (out / ".lock").exists()


def test_stale_lock_of_a_dead_process_is_taken_over(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (tmp_path / ".lock").write_text(f"{dead.pid} {socket.gethostname()}\n")
    with RunLock(tmp_path) as lock:
        assert (tmp_path / ".lock").read_text().split()[0] == str(os.getpid())
        with RunLock(tmp_path):         # re-entrant in one process
            pass
        assert (tmp_path / ".lock").exists() and lock
    assert not (tmp_path / ".lock").exists()
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        (tmp_path / ".lock").write_text(f"{live.pid} {socket.gethostname()}\n")
        with pytest.raises(RunDirectoryError, match=f"in use by another trainer \\(process {live.pid}"):
            RunLock(tmp_path).acquire()
    finally:
        live.kill()
        live.wait()
    # another machine's lock on a shared disk cannot be checked: taken as live
    (tmp_path / ".lock").write_text(f"{dead.pid} some-other-host\n")
    with pytest.raises(RunDirectoryError, match="in use by another trainer"):
        RunLock(tmp_path).acquire()


KILLED_SAVE = textwrap.dedent("""
    import sys, time
    from neuronet.serialization import atomic_write
    def write(f):
        f.write(b"x" * (1 << 20)); f.flush()
        print("writing", flush=True)
        time.sleep(60)
    atomic_write(sys.argv[1], write)
""")


def test_kill_during_save_keeps_the_old_file_and_the_leftover_is_cleaned(tmp_path):
    target = tmp_path / "last.npz"
    small_checkpoint(target)
    before = target.read_bytes()
    for _ in range(3):                                   # three killed saves
        p = popen("-c", KILLED_SAVE, str(target))
        assert p.stdout.readline().strip() == "writing"
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=10)
        assert target.read_bytes() == before
    left = glob.glob(str(tmp_path / ".tmp-*-last.npz"))
    assert len(left) == 3                                # named by the dead writers' process ids
    load_file(target)                                    # still a whole checkpoint
    save({"w": 1}, target, kind="object")                # the next save removes the dead writers' files
    assert not glob.glob(str(tmp_path / ".tmp-*"))
    # the lock does the same for a run directory, and for older loggers' fixed names
    (tmp_path / ".tmp-999999999-best.npz").write_bytes(b"x")
    (tmp_path / "history.json.tmp").write_text("[")
    with RunLock(tmp_path) as lock:
        assert sorted(lock.removed) == [".tmp-999999999-best.npz", "history.json.tmp"]


def test_full_disk_keeps_the_old_file(tmp_path):
    """``ulimit -f`` below the new file's size: the save fails with an error
    naming the file; the old checkpoint is byte-identical, no temporary left."""
    target = tmp_path / "best.npz"
    small_checkpoint(target)
    before = target.read_bytes()
    code = textwrap.dedent("""
        import resource, signal, sys
        import numpy as np
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))
        from neuronet.serialization import save
        try:
            save({"w": np.zeros(1_000_000, np.float32)}, sys.argv[1])
        except OSError as e:
            print("OSError", e)
    """)
    p = popen("-c", code, str(target))
    out, err = p.communicate(timeout=30)
    assert p.returncode == 0 and out.startswith("OSError"), (out, err)
    assert "File too large" in out or "No space" in out
    assert target.read_bytes() == before
    assert not glob.glob(str(tmp_path / ".tmp-*"))


def test_temporary_names_are_unique_per_process(tmp_path):
    names = []

    def write(f):
        names.extend(n for n in os.listdir(tmp_path) if n.startswith(".tmp-"))
        f.write(b"1")
    atomic_write(tmp_path / "history.json", write)
    assert names[0].startswith(f".tmp-{os.getpid()}-") and names[0].endswith("-history.json")
    assert resource and ROOT and CheckpointError       # (imported for the other tests)
