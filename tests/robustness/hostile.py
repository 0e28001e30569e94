"""Helpers for the hostile-user suite: small checkpoints, rewriting a saved
file's entries, a guard against hangs, and the command line in a subprocess."""
import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import zipfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
META = "__neuronet__.npy"


def cli(*args, timeout=60, cwd=None):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("NEURONET_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "neuronet", *args], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=cwd or ROOT)


def popen(*args, cwd=None, **kw):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("NEURONET_DEBUG", None)
    return subprocess.Popen([sys.executable, *args], env=env, cwd=cwd or ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kw)


def one_line_error(r, *patterns, code=1):
    """Exit status ``code``, one non-empty stderr line holding every pattern, no traceback."""
    lines = [ln for ln in r.stderr.strip().splitlines() if ln]
    assert r.returncode == code, (r.returncode, r.stderr)
    assert "Traceback" not in r.stderr, r.stderr
    assert len(lines) == 1, r.stderr
    for p in patterns:
        assert p in lines[0], (p, lines[0])
    return lines[0]


@contextlib.contextmanager
def within(seconds):
    """Fail (instead of hanging the suite) when the block runs longer than ``seconds``."""
    def on_alarm(signum, frame):
        raise TimeoutError(f"still running after {seconds} s: a hang")
    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def small_checkpoint(path, scheduler="step"):
    """A real checkpoint of a tiny MLP with an SGD state and a scheduler."""
    import neuronet as nt
    from neuronet import models, optim
    from neuronet.optim import lr_scheduler as S
    from neuronet.train import save_checkpoint
    model = models.get_model("mlp", in_features=12, hidden=(8,), num_classes=3)
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(nt.randn(4, 12)).sum().backward()
    opt.step()
    sched = S.StepLR(opt, step_size=2) if scheduler == "step" else S.CosineAnnealingLR(opt, T_max=5)
    save_checkpoint(path, model, opt, sched, epoch=1, step=1,
                    preprocessing={"classes": ["a", "b", "c"], "in_channels": 1})
    return model, opt, sched


def read_entries(path):
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist()}


def npy_bytes(arr):
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=True)
    return buf.getvalue()


def meta_of(entries):
    return json.loads(np.load(io.BytesIO(entries[META])).tobytes())


def write_entries(path, entries, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression) as z:
        for n, b in entries.items():
            z.writestr(n, b)


def with_meta(path, out, edit=None, raw=None):
    """``out``: ``path`` with its metadata JSON edited by ``edit(meta)`` (or
    replaced by the bytes ``raw``)."""
    entries = read_entries(path)
    if raw is None:
        meta = meta_of(entries)
        edit(meta)
        raw = json.dumps(meta).encode()
    entries[META] = npy_bytes(np.frombuffer(raw, np.uint8))
    write_entries(out, entries)
    return out
