"""`mpiexec -n 2 neuronet train ...`: data parallel through the CLI; rank 0
alone writes the run; resume works with another world size."""
import json
import os
import subprocess
import sys
import time

import pytest

from tests.distributed.test_distributed import MPIEXEC, needs_mpi

ARGS = ["lenet5", "--data", "mnist-sample", "--subset", "256", "--batch-size", "32", "--no-report", "--quiet"]


def _run(n, *args, timeout=180):
    env = dict(os.environ, HYDRA_IFACE="lo", OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", NUMBA_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "neuronet", "train", *args]
    if n > 1:
        cmd = [MPIEXEC, "-n", str(n), *cmd]
    t0 = time.perf_counter()
    p = subprocess.run(["timeout", str(timeout), *cmd], capture_output=True, text=True, env=env)
    return p, time.perf_counter() - t0


@needs_mpi
def test_two_ranks_train_through_the_cli_and_only_rank_0_writes(tmp_path):
    out = tmp_path / "run"
    p, _ = _run(2, *ARGS, "--epochs", "1", "--out", str(out))
    assert p.returncode == 0, p.stdout + p.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["epochs"] == 1 and summary["n_test"] == 2000
    assert sorted(os.listdir(tmp_path)) == ["run"]            # no second run directory
    from neuronet.train import load_checkpoint
    keys = list(load_checkpoint(str(out / "last.npz")).model_state)
    assert keys and not any(k.startswith("module.") for k in keys)   # the unwrapped model is saved
    assert p.stdout.count("test accuracy") == 1               # one rank reports


@needs_mpi
def test_resume_with_another_world_size(tmp_path):
    out = tmp_path / "run"
    p, _ = _run(1, *ARGS, "--epochs", "1", "--scheduler", "none", "--out", str(out))
    assert p.returncode == 0, p.stderr
    p, _ = _run(2, *ARGS, "--epochs", "2", "--scheduler", "none", "--resume", str(out / "last.npz"))
    assert p.returncode == 0, p.stdout + p.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["epochs"] == 2


@needs_mpi
def test_an_error_on_the_ranks_ends_the_job_in_seconds(tmp_path):
    out = tmp_path / "run"
    p, _ = _run(1, *ARGS, "--epochs", "1", "--out", str(out))
    assert p.returncode == 0, p.stderr
    # a one-cycle schedule planned for 1 epoch refuses --epochs 2: every rank errs, none hangs
    p, seconds = _run(2, *ARGS, "--epochs", "2", "--resume", str(out / "last.npz"), timeout=60)
    assert p.returncode not in (0, 124), p.stdout + p.stderr
    assert seconds < 45 and "planned for 1 epochs" in p.stderr
