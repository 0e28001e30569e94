"""The bench's targets and options of issue 13: the user-written LeNet-5 rows,
every ratio beside its target with a met/MISSED mark, ``--threads 2,1`` (one
table per thread count) and ``--busy`` (slowdown beside a CPU-busy process,
which must never outlive the driver). No test here depends on a timing: the
aggregation is checked on fixed figures, the CLI runs in ``--quick`` mode and
only its structure and arithmetic are checked."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import neuronet as nt
from neuronet.bench import runner
from neuronet.bench.__main__ import main as bench_main, parse_thread_counts
from neuronet.bench.workloads import (TARGET_RSS_RATIO, TARGET_USER_OVER_ZOO, WORKLOADS,
                                      build_neuronet_model, make_data, user_written_lenet5)
from helpers import requires_torch, torch

ROOT = Path(__file__).resolve().parents[2]
SPIN_MARK = "os.getppid() == parent"          # a line of the busy process's program


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def _bench(*args, timeout=120):
    proc = subprocess.run([sys.executable, "-m", "neuronet.bench", *args], cwd=ROOT, env=_env(),
                          capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"exit {proc.returncode}\nstdout:\n{proc.stdout[-2000:]}\nstderr:\n{proc.stderr[-2000:]}"
    return proc.stdout


def _median(res):
    return res["images_per_s"]["median"]


# ----------------------------------------------------------------------------- workloads


def test_workload_table_has_user_written_rows_and_issue_targets():
    for zoo, user in (("lenet64", "lenet64-user"), ("lenet256", "lenet256-user"),
                      ("lenet-infer1000", "lenet-infer1000-user")):
        z, u = WORKLOADS[zoo], WORKLOADS[user]
        assert u.zoo_twin == zoo and z.zoo_twin is None
        assert (u.batch, u.input_shape, u.train, u.target_ratio) == \
               (z.batch, z.input_shape, z.train, z.target_ratio)
        assert z.model == "lenet5" and u.model == "lenet5-user"
    assert WORKLOADS["lenet64"].target_ratio == 1.0 and WORKLOADS["lenet256"].target_ratio == 1.0
    assert WORKLOADS["lenet-infer1000"].target_ratio == 1.2
    assert WORKLOADS["resnet20"].target_ratio == 0.6 and WORKLOADS["vgg"].target_ratio == 0.6
    assert TARGET_RSS_RATIO == 0.5 and TARGET_USER_OVER_ZOO == 0.95


def test_user_written_lenet_is_a_plain_sequential_of_the_zoo_network():
    """Same layers and parameter shapes as the zoo's lenet5 (61,706 params),
    and nothing but stock layers in a Sequential."""
    from neuronet import nn
    user = build_neuronet_model("lenet5-user")
    zoo = build_neuronet_model("lenet5")
    assert type(user) is nn.Sequential
    assert all(type(m).__module__.startswith("neuronet.nn") for m in user)
    shapes = [tuple(p.shape) for p in user.parameters()]
    assert shapes == [tuple(p.shape) for p in zoo.parameters()]
    assert sum(int(np.prod(s)) for s in shapes) == 61706
    # Same weights -> same outputs as the zoo model.
    with nt.no_grad():
        for a, b in zip(user.parameters(), zoo.parameters()):
            a.copy_(b)
    x, _ = make_data(WORKLOADS["lenet64-user"], 4)
    np.testing.assert_allclose(user(nt.tensor(x)).numpy(), zoo(nt.tensor(x)).numpy(),
                               rtol=1e-5, atol=1e-6)


@requires_torch
def test_user_written_lenet_matches_its_torch_twin():
    """The one definition, given torch.nn, builds the network the PyTorch
    worker times; with copied weights both compute the same loss."""
    from neuronet.bench._torch_models import build_torch_model
    from neuronet.nn import functional as F
    ours, theirs = build_neuronet_model("lenet5-user"), build_torch_model("lenet5-user")
    assert isinstance(theirs, torch.nn.Sequential) and len(theirs) == len(ours)
    with torch.no_grad():
        for a, b in zip(ours.parameters(), theirs.parameters()):
            b.copy_(torch.from_numpy(a.numpy()))
    x, y = make_data(WORKLOADS["lenet64-user"], 5)
    loss = F.cross_entropy(ours(nt.tensor(x)), nt.tensor(y))
    t_loss = torch.nn.functional.cross_entropy(theirs(torch.from_numpy(x)), torch.from_numpy(y))
    assert loss.item() == pytest.approx(t_loss.item(), rel=1e-5)
    assert user_written_lenet5(torch.nn)[0].padding == (2, 2)


# ----------------------------------------------------------------------------- aggregation on fixed figures

# images/s and peak RSS each fake worker reports: (framework, workload, busy) -> (img/s, MiB)
FIGURES = {
    ("neuronet", "lenet64", False): (1000.0, 100.0), ("torch", "lenet64", False): (900.0, 300.0),
    ("neuronet", "lenet64-user", False): (900.0, 160.0), ("torch", "lenet64-user", False): (1000.0, 300.0),
    ("neuronet", "lenet64", True): (800.0, 100.0), ("torch", "lenet64", True): (600.0, 300.0),
    ("neuronet", "lenet64-user", True): (450.0, 160.0), ("torch", "lenet64-user", True): (800.0, 300.0),
    ("neuronet", "resnet20", False): (100.0, 200.0),
}


def _fake_worker(framework, workload, threads=2, warmup=2, repeats=5, steps=0, rep_time=1.0,
                 batch=None, timeout=1800, busy=False):
    key = (framework, workload, busy)
    if key not in FIGURES:
        return None, "exit 1: no such figure"
    ips, rss = FIGURES[key]
    return {"images_per_s": {"median": ips, "min": ips, "max": ips, "all": [ips]},
            "peak_rss_mib": rss, "rss_mib": {"growth": 0.5}, "numba_loaded": False,
            "check": {"loss": 2.3, "params_updated_in_place": True}, "threads": threads}, None


def test_report_computes_ratios_marks_and_counts(monkeypatch):
    monkeypatch.setattr(runner, "run_worker", _fake_worker)
    wls = [WORKLOADS[n] for n in ("lenet64", "lenet64-user", "resnet20")]
    rep = runner.run_benchmarks(wls, ("neuronet", "torch"), threads=1, busy=True)
    r = {row["workload"]: row for row in rep["results"]}
    # lenet64: 1000/900 >= 1.0 met; RSS 100/300 <= 0.5 met;
    # slowdown nn 1000/800 = 1.25 <= torch 900/600 = 1.5: met.
    assert r["lenet64"]["ratio"] == pytest.approx(1000 / 900) and r["lenet64"]["ratio_met"] is True
    assert r["lenet64"]["rss_ratio"] == pytest.approx(1 / 3) and r["lenet64"]["rss_met"] is True
    assert r["lenet64"]["slowdown"] == pytest.approx({"neuronet": 1.25, "torch": 1.5})
    assert r["lenet64"]["busy_met"] is True
    # lenet64-user: 0.9 < 1.0 missed; RSS 160/300 > 0.5 missed; slowdown 2.0 > 1.25 missed.
    u = r["lenet64-user"]
    assert (u["ratio_met"], u["rss_met"], u["busy_met"]) == (False, False, False)
    # resnet20: torch failed -> nothing measured, the error kept.
    assert r["resnet20"]["ratio"] is None and r["resnet20"]["ratio_met"] is None
    assert r["resnet20"]["busy_met"] is None and set(r["resnet20"]["errors"]) == \
        {"torch", "neuronet busy", "torch busy"}
    # user-written / zoo = 900 / 1000 = 0.9 < 0.95.
    assert rep["user_vs_zoo"] == [{"user": "lenet64-user", "zoo": "lenet64", "ratio": pytest.approx(0.9),
                                   "target": 0.95, "met": False}]
    assert rep["targets"] == {"met": 3, "missed": 4, "not_measured": 3}
    assert rep["settings"]["busy"] is True and rep["environment"]["threads"] == 1

    text = runner.format_table(rep)
    _, main, _, pairs, busy, *_ = text.split("\n\n")
    rows = {ln.split()[0]: ln for ln in main.splitlines()[2:]}
    assert " 1.11   >=1.0     met " in rows["lenet64"] and " 0.33   <=0.5     met " in rows["lenet64"]
    assert " 0.90   >=1.0  MISSED " in rows["lenet64-user"]
    assert " 0.53   <=0.5  MISSED " in rows["lenet64-user"]
    assert " -   >=0.6       - " in rows["resnet20"]
    assert pairs.splitlines()[-1].split() == ["lenet64-user", "lenet64", "0.90", ">=0.95", "MISSED"]
    busy_rows = {ln.split()[0]: ln.split() for ln in busy.splitlines()[3:]}
    assert busy_rows["lenet64"][-5:] == ["1.25", "600", "(600-600)", "1.50", "met"]
    assert busy_rows["lenet64-user"][-5:] == ["2.00", "800", "(800-800)", "1.25", "MISSED"]
    assert busy_rows["resnet20"][1:] == ["-"] * 5
    assert "targets: 3 met, 4 missed, 3 not measured" in text
    assert "error: resnet20 on torch busy" in text


def test_report_without_busy_or_twin_has_neither_section(monkeypatch):
    monkeypatch.setattr(runner, "run_worker", _fake_worker)
    rep = runner.run_benchmarks([WORKLOADS["lenet64-user"]], ("neuronet", "torch"))
    assert rep["user_vs_zoo"] == [] and "busy_met" not in rep["results"][0]
    text = runner.format_table(rep)
    assert "user-written / zoo" not in text and "CPU-busy" not in text
    assert "targets: 0 met, 2 missed" in text


# ----------------------------------------------------------------------------- CLI


def test_parse_thread_counts():
    assert parse_thread_counts("2") == [2]
    assert parse_thread_counts("2,1") == [2, 1]
    for bad in ("0", "2,x", "", "-1", "2,,1"):
        with pytest.raises(ValueError, match="--threads"):
            parse_thread_counts(bad)


def test_bad_threads_is_one_clear_error(capsys):
    with pytest.raises(SystemExit) as e:
        bench_main(["--threads", "2,zero", "--quick"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "--threads" in err and "'2,zero'" in err and "Traceback" not in err


def _check_busy_row(r, frameworks, threads):
    assert r["errors"] == {}
    assert set(r["busy"]) == set(frameworks)
    for fw in frameworks:
        quiet, loaded = r[fw], r["busy"][fw]
        assert quiet["threads"] == loaded["threads"] == threads
        assert _median(loaded) > 0 and isinstance(quiet["numba_loaded"], bool)
        assert r["slowdown"][fw] == pytest.approx(_median(quiet) / _median(loaded))


def test_quick_threads_list_json():
    out = json.loads(_bench("--quick", "--json", "--no-torch", "--threads", "2,1",
                            "--workloads", "lenet64,lenet64-user"))
    runs = out["runs"]
    assert [rep["environment"]["threads"] for rep in runs] == [2, 1]
    for rep, threads in zip(runs, (2, 1)):
        assert rep["settings"]["busy"] is False
        assert [r["workload"] for r in rep["results"]] == ["lenet64", "lenet64-user"]
        for r in rep["results"]:
            assert r["errors"] == {} and r["neuronet"]["threads"] == threads
            assert r["ratio_met"] is None and r["rss_met"] is None and "busy" not in r
        (pair,) = rep["user_vs_zoo"]
        user, zoo = rep["results"][1]["neuronet"], rep["results"][0]["neuronet"]
        assert pair["ratio"] == pytest.approx(_median(user) / _median(zoo))
        assert pair["met"] == (pair["ratio"] >= 0.95)
        assert rep["targets"] == {"met": int(pair["met"]), "missed": 1 - int(pair["met"]),
                                  "not_measured": 4}


@requires_torch
def test_quick_busy_json_with_torch():
    rep = json.loads(_bench("--quick", "--json", "--threads", "1", "--busy", "--workloads",
                            "lenet-infer1000-user"))
    (r,) = rep["results"]
    _check_busy_row(r, ["neuronet", "torch"], 1)
    assert r["torch"]["versions"]["torch_threads"] == 1
    assert r["busy_met"] == (r["slowdown"]["neuronet"] <= r["slowdown"]["torch"])
    assert r["ratio_met"] == (r["ratio"] >= 1.2)
    assert r["rss_met"] == (r["rss_ratio"] <= 0.5)
    assert rep["user_vs_zoo"] == []                  # its zoo twin was not run
    assert sum(rep["targets"].values()) == 3 and rep["targets"]["not_measured"] == 0


def test_quick_threads_list_table_once_per_count():
    out = _bench("--quick", "--no-torch", "--threads", "1,2", "--workloads", "lenet-infer1000-user")
    headers = [ln for ln in out.splitlines() if ln.startswith("python ")]
    assert len(headers) == 2 and "threads 1 " in headers[0] and "threads 2 " in headers[1]
    rows = [ln for ln in out.splitlines() if ln.startswith("lenet-infer1000-user ")]
    assert len(rows) == 2 and all(">=1.2" in ln for ln in rows)
    assert out.count("targets: 0 met, 0 missed, 2 not measured") == 2


def test_worker_serve_protocol_times_what_it_is_asked():
    """--serve: ready once warmed up, one repetition per quiet/busy line, the
    result on done with the busy figures apart."""
    import io
    from neuronet.bench._worker import Measurement, serve
    m = Measurement("neuronet", "lenet-infer1000-user", threads=1, warmup=1, steps=2, batch=4)
    out = io.StringIO()
    serve(m, io.StringIO("quiet\nbusy\nquiet\ndone\nquiet\n"), out)
    lines = [json.loads(ln) for ln in out.getvalue().splitlines()]
    assert lines[0] == {"ready": 2} and all(ln["seconds"] > 0 for ln in lines[1:4])
    res = lines[4]
    assert len(lines) == 5, "commands after done must not run"
    assert res["repeats"] == 2 and res["busy"]["repeats"] == 1
    assert sorted(res["images_per_s"]["all"]) == sorted(4 * 2 / lines[i]["seconds"] for i in (1, 3))
    assert res["busy"]["images_per_s"]["median"] == pytest.approx(4 * 2 / lines[2]["seconds"])
    assert res["check"]["graph_free"] is True and res["rss_mib"]["last_step"] == 1 + 3 * 2
    with pytest.raises(SystemExit, match="unknown command 'fast'"):
        serve(m, io.StringIO("fast\n"), io.StringIO())


def test_quick_interleaved_busy_json():
    frameworks = ["neuronet"] + (["torch"] if torch is not None else [])
    rep = json.loads(_bench("--quick", "--json", "--interleave", "--busy", "--threads", "1",
                            "--workloads", "lenet64-user", *([] if torch is not None else ["--no-torch"])))
    assert rep["settings"]["interleave"] is True
    (r,) = rep["results"]
    _check_busy_row(r, frameworks, 1)
    for fw in frameworks:
        assert r[fw]["repeats"] == r["busy"][fw]["repeats"] == 1 and "busy" not in r[fw]
        # quiet and busy figures come from the same worker process
        assert r[fw]["peak_rss_mib"] <= r["busy"][fw]["peak_rss_mib"]


def test_interleaved_worker_failure_is_one_error():
    """A worker that dies is reported with its last words; the other
    framework's figures are kept."""
    got = runner.run_interleaved(["nosuch", "neuronet"], "lenet64", threads=1, warmup=0, repeats=2,
                                 steps=1, batch=2, timeout=120)
    assert got["neuronet"][1] is None and got["neuronet"][0]["repeats"] == 2
    res, err = got["nosuch"]
    assert res is None and err.startswith("exit 2: ") and "invalid choice: 'nosuch'" in err
    assert not runner._live


# ----------------------------------------------------------------------------- the busy process never stays


def _alive(pid):
    """Running (not gone, not a zombie waiting to be reaped)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _wait_gone(pid, seconds=10):
    end = time.monotonic() + seconds
    while _alive(pid) and time.monotonic() < end:
        time.sleep(0.05)
    return not _alive(pid)


def _children(ppid, mark=SPIN_MARK):
    """pids of the processes whose parent is ``ppid`` and whose command line
    holds ``mark`` (by default: the busy process's spin loop)."""
    found = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                parent = int(f.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{d}/cmdline", "rb") as f:
                cmd = f.read().decode(errors="replace")
        except (OSError, ValueError, IndexError):
            continue
        if parent == ppid and mark in cmd:
            found.append(int(d))
    return found


linux_only = pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="reads /proc")


@linux_only
def test_busy_process_runs_and_is_stopped_on_an_exception():
    with pytest.raises(KeyboardInterrupt):
        with runner.busy_process() as proc:
            time.sleep(0.2)
            assert proc.poll() is None and _alive(proc.pid)
            raise KeyboardInterrupt
    assert proc.poll() is not None and not _alive(proc.pid)
    assert proc not in runner._live


@linux_only
def test_busy_process_outlives_no_killed_driver():
    """SIGKILL skips every finally: the spin loop itself notices its parent
    is gone and exits."""
    code = ("import sys, time\n"
            "from neuronet.bench.runner import busy_process\n"
            "with busy_process() as p:\n"
            "    print(p.pid, flush=True)\n"
            "    time.sleep(60)\n")
    driver = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=_env(), stdout=subprocess.PIPE,
                              text=True)
    try:
        spinner = int(driver.stdout.readline())
        assert _alive(spinner)
        driver.kill()
        driver.wait(10)
        assert _wait_gone(spinner), f"busy process {spinner} outlived its killed driver"
    finally:
        driver.kill()
        driver.wait(10)


# A driver whose busy measurements run for minutes (the quiet ones one step):
# the spin loop is alive when the signal comes, and only the driver's own
# clean-up can stop it in time.
SLOW_BUSY_DRIVER = """
import sys, time
from neuronet.bench import runner
from neuronet.bench.__main__ import main
real = runner.run_worker
def run_worker(fw, wl, threads=2, warmup=2, repeats=5, steps=0, rep_time=1.0, batch=None,
               timeout=1800, busy=False):
    if busy:
        warmup, repeats, steps = 0, 1000, 1000
    return real(fw, wl, threads, warmup, repeats, steps, rep_time, batch, timeout, busy)
runner.run_worker = run_worker
real_ask = runner._Session.ask
def ask(self, command, timeout):          # --interleave: a busy repetition that lasts
    if command == "busy":
        time.sleep(600)
    return real_ask(self, command, timeout)
runner._Session.ask = ask
sys.exit(main(sys.argv[1:]))
"""


@linux_only
@pytest.mark.parametrize("mode", ["sequential", "parallel", "interleave"])
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_interrupted_bench_leaves_no_busy_process(sig, mode):
    args = ["--busy", "--no-torch", "--workloads", "lenet64", "--warmup", "0", "--repeats", "1",
            "--steps", "1"] + {"sequential": [], "parallel": ["--quick"], "interleave": ["--interleave"]}[mode]
    driver = subprocess.Popen([sys.executable, "-c", SLOW_BUSY_DRIVER, *args], cwd=ROOT, env=_env(),
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        end, spinners = time.monotonic() + 60, []
        while not spinners and time.monotonic() < end and driver.poll() is None:
            time.sleep(0.05)
            spinners = _children(driver.pid)
        assert spinners, "the busy process never started: " + (driver.stderr.read() if driver.poll() is not None else "")
        time.sleep(0.3)                      # well inside the busy measurement
        workers = _children(driver.pid, "neuronet.bench._worker")
        assert workers and all(_alive(pid) for pid in spinners + workers)
        driver.send_signal(sig)
        driver.wait(30)
        assert driver.returncode != 0
        assert all(_wait_gone(pid, 5) for pid in spinners), "busy process left behind"
        assert all(_wait_gone(pid, 5) for pid in workers), "worker left behind"
        assert "Traceback" not in driver.stderr.read() or sig == signal.SIGINT
    finally:
        driver.kill()
        driver.wait(10)
