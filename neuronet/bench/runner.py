"""The bench driver: one subprocess per (workload, framework), a table or JSON.

The driver itself imports neither PyTorch nor the library's layers: every
number comes from a worker (``_worker.py``) started with the same thread
settings, so the frameworks compete on equal terms and each peak RSS belongs
to one workload on one framework.

With ``busy=True`` each (workload, framework) is measured a second time with
one concurrent CPU-bound process beside it (:func:`busy_process`: a pure-Python
spin loop), to compare how much each framework slows down on a shared machine.
"""
from __future__ import annotations

import datetime
import importlib.util
import json
import os
import platform
import subprocess
import sys
import threading
from contextlib import contextmanager

from .workloads import TARGET_RSS_RATIO, TARGET_USER_OVER_ZOO, WORKLOADS

__all__ = ["environment_info", "worker_env", "run_worker", "run_benchmarks", "format_table",
           "torch_available", "busy_process", "stop_children", "BUSY_FRAMEWORKS", "Interrupted",
           "run_interleaved"]

# NUMBA_NUM_THREADS: neuronet's compiled kernels run on numba's own pool,
# which otherwise takes every core whatever --threads says.
THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")

# The frameworks measured again under load (--busy): the two the target compares.
BUSY_FRAMEWORKS = ("neuronet", "torch")


def torch_available():
    return importlib.util.find_spec("torch") is not None


def _package_root():
    """The directory that holds the ``neuronet`` package (put on the workers'
    PYTHONPATH so a source checkout works without ``pip install -e``)."""
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def worker_env(threads):
    """The parent's environment with the thread count pinned for BLAS and
    OpenMP. ``OPENBLAS_CORETYPE`` and everything else is passed through as is."""
    env = dict(os.environ)
    for var in THREAD_VARS:
        env[var] = str(threads)
    root = _package_root()
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _blas_info():
    """What NumPy says it was built against (numpy >= 1.25: show_config(mode='dicts'))."""
    import numpy
    try:
        cfg = numpy.show_config(mode="dicts")
        blas = cfg.get("Build Dependencies", {}).get("blas", {})
        return " ".join(str(blas.get(k)) for k in ("name", "version") if blas.get(k)) or "unknown"
    except Exception:  # older NumPy: no dict mode
        return "unknown"


def _version(dist):
    try:
        from importlib.metadata import version
        return version(dist)
    except Exception:
        return None


def environment_info(threads):
    """The header facts: when, where, which versions, which BLAS, how loaded."""
    import numpy
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "torch": _version("torch") if torch_available() else None,
        "blas": _blas_info(),
        "threads": threads,
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
        # neuronet's optional compiled im2col loops (the `fast` extra): they
        # change both speed and RSS (LLVM is loaded on first use).
        "numba": _version("numba"),
        "NEURONET_NUMBA": os.environ.get("NEURONET_NUMBA"),
        "loadavg_start": list(load) if load else None,
    }


# ----------------------------------------------------------------------------- busy process

# The load: one core's worth of pure-Python work. It also watches its parent
# (the driver's pid, passed as argv[1]) and exits within milliseconds once
# the driver is gone, so even a driver killed with SIGKILL leaves none behind.
_SPIN = ("import os, sys\n"
         "parent = int(sys.argv[1])\n"
         "while os.getppid() == parent:\n"
         "    for _ in range(100000):\n"
         "        pass\n")

# Every child the driver starts (workers and busy processes), so an
# interruption can stop them all at once, from any thread.
_lock = threading.Lock()
_live = set()               # Popen objects started and not yet reaped
_closing = [False]          # set by stop_children(): start no new child


class Interrupted(RuntimeError):
    """Raised in a job that tries to start a child after :func:`stop_children`."""


def _start(cmd, **kwargs):
    with _lock:
        if _closing[0]:
            raise Interrupted("the bench is stopping: no new process started")
        proc = subprocess.Popen(cmd, **kwargs)
        _live.add(proc)
    return proc


def _stop(proc):
    """Kill ``proc`` if it still runs, reap it, forget it."""
    try:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        pass
    with _lock:
        _live.discard(proc)


def stop_children():
    """Kill every worker and busy process still running and start no new one
    (until the next :func:`run_benchmarks`): what an interrupted run does on
    its way out."""
    with _lock:
        _closing[0] = True
        live = list(_live)
    for proc in live:
        _stop(proc)


@contextmanager
def busy_process():
    """Run one CPU-busy child process (a pure-Python spin loop) for the
    duration of the ``with`` block; yields its ``Popen``. It is killed and
    reaped on leaving the block, whatever the exit (an exception, Ctrl-C)."""
    proc = _start([sys.executable, "-I", "-c", _SPIN, str(os.getpid())],
                  stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield proc
    finally:
        _stop(proc)


# ----------------------------------------------------------------------------- workers

def run_worker(framework, workload, threads=2, warmup=2, repeats=5, steps=0, rep_time=1.0,
               batch=None, timeout=1800, busy=False):
    """Run one measurement in a fresh interpreter; returns ``(result, error)``.
    ``busy``: with one :func:`busy_process` running beside it."""
    if busy:
        with busy_process():
            return run_worker(framework, workload, threads, warmup, repeats, steps, rep_time,
                              batch, timeout)
    cmd = [sys.executable, "-m", "neuronet.bench._worker", "--framework", framework,
           "--workload", workload, "--threads", str(threads), "--warmup", str(warmup),
           "--repeats", str(repeats), "--steps", str(steps), "--rep-time", str(rep_time)]
    if batch is not None:
        cmd += ["--batch", str(batch)]
    proc = _start(cmd, env=worker_env(threads), stdin=subprocess.DEVNULL,
                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, f"timed out after {timeout} s"
    finally:
        _stop(proc)
    if proc.returncode != 0:
        tail = (stderr or stdout).strip().splitlines()[-3:]
        return None, f"exit {proc.returncode}: " + " | ".join(tail)
    try:
        return json.loads(stdout.strip().splitlines()[-1]), None
    except (ValueError, IndexError):
        return None, "worker printed no JSON: " + stdout[-300:]


class _Session:
    """A ``--serve`` worker: one framework on one workload, warmed up and
    waiting for the driver to ask for a repetition."""

    def __init__(self, framework, workload, threads, warmup, steps, rep_time, batch):
        import queue
        import tempfile
        self.framework = framework
        cmd = [sys.executable, "-m", "neuronet.bench._worker", "--serve", "--framework", framework,
               "--workload", workload, "--threads", str(threads), "--warmup", str(warmup),
               "--steps", str(steps), "--rep-time", str(rep_time)]
        if batch is not None:
            cmd += ["--batch", str(batch)]
        # stderr to a file: a pipe nobody reads could fill and block the worker.
        self.stderr = tempfile.TemporaryFile(mode="w+")
        self.proc = _start(cmd, env=worker_env(threads), stdin=subprocess.PIPE,
                           stdout=subprocess.PIPE, stderr=self.stderr, text=True, bufsize=1)
        self.lines = queue.Queue()
        reader = threading.Thread(target=self._read, daemon=True)
        reader.start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)                   # end of output: the worker is gone

    def ask(self, command, timeout):
        """Send ``command`` (None: only read) and return the worker's JSON
        answer; raises RuntimeError with the worker's last words if it fails."""
        import queue
        try:
            if command is not None:
                self.proc.stdin.write(command + "\n")
                self.proc.stdin.flush()
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise RuntimeError(f"timed out after {timeout} s") from None
        except OSError:
            line = None
        if line is None:
            self.proc.wait(timeout=10)
            self.stderr.seek(0)
            tail = self.stderr.read().strip().splitlines()[-3:]
            raise RuntimeError(f"exit {self.proc.returncode}: " + " | ".join(tail))
        try:
            return json.loads(line)
        except ValueError:
            raise RuntimeError("worker printed no JSON: " + line[-300:]) from None

    def close(self):
        _stop(self.proc)
        self.stderr.close()


def run_interleaved(frameworks, workload, threads=2, warmup=2, repeats=5, steps=0, rep_time=1.0,
                    batch=None, timeout=1800, busy=False):
    """Measure ``workload`` on every framework with their repetitions
    interleaved: each framework's worker is started and warmed up in turn
    (one at a time), then each round times one repetition per framework,
    the order alternating between rounds, and with ``busy`` one more per
    framework in :data:`BUSY_FRAMEWORKS` beside a :func:`busy_process`.
    Returns ``{framework: (result, error)}``; a busy figure is in
    ``result["busy"]``."""
    sessions, out = {}, {}
    try:
        for fw in frameworks:
            try:
                sessions[fw] = _Session(fw, workload, threads, warmup, steps, rep_time, batch)
                sessions[fw].ask(None, timeout)
            except RuntimeError as e:
                out[fw] = (None, str(e))
        for r in range(repeats):
            order = [fw for fw in frameworks if fw in sessions and fw not in out]
            order = order if r % 2 == 0 else order[::-1]
            for label in ("quiet", "busy") if busy else ("quiet",):
                todo = [fw for fw in order if label == "quiet" or fw in BUSY_FRAMEWORKS]
                if not todo:
                    continue
                with busy_process() if label == "busy" else _nothing():
                    for fw in todo:
                        if fw in out:
                            continue
                        try:
                            sessions[fw].ask(label, timeout)
                        except RuntimeError as e:
                            out[fw] = (None, str(e))
        for fw, sess in sessions.items():
            if fw not in out:
                try:
                    out[fw] = (sess.ask("done", timeout), None)
                except RuntimeError as e:
                    out[fw] = (None, str(e))
    finally:
        for sess in sessions.values():
            sess.close()
    return out


@contextmanager
def _nothing():
    yield


def _ratio(a, b):
    return a / b if a is not None and b not in (None, 0) else None


def _met(value, target, at_most=False):
    """Whether ``value`` meets ``target`` (``>=``, or ``<=`` with ``at_most``);
    None when there is no value."""
    if value is None:
        return None
    return value <= target if at_most else value >= target


def run_benchmarks(workloads, frameworks=("neuronet", "torch"), threads=2, warmup=2, repeats=5,
                   steps=0, rep_time=1.0, quick_batch=None, timeout=1800, log=None, parallel=1,
                   busy=False, interleave=False):
    """Measure every workload on every framework; returns the report dict.

    ``quick_batch``: cap each workload's batch (``--quick``). ``log``: a
    callable given one progress line per measurement (stderr in the CLI).
    ``parallel``: workers run at once -- only for smoke runs, whose timings
    mean nothing; real measurements run one at a time (the default).
    ``busy``: measure neuronet and PyTorch again, each with one concurrent
    CPU-busy process, right after their quiet runs of the same workload.
    ``interleave``: the frameworks' repetitions of a workload alternate
    (:func:`run_interleaved`), so load from elsewhere hits them alike.

    Each result row carries its targets and whether they are met (``ratio_met``,
    ``rss_met``, ``busy_met``: True/False, None when not measured);
    ``report["user_vs_zoo"]`` compares each user-written row with its zoo twin.
    """
    report = {"environment": environment_info(threads), "settings": {
        "warmup_steps": warmup, "repeats": repeats, "steps_per_repeat": steps or "auto",
        "rep_time_s": rep_time, "frameworks": list(frameworks), "quick": quick_batch is not None,
        "parallel_workers": parallel, "busy": bool(busy), "interleave": bool(interleave)},
        "results": []}
    rows, jobs = [], []
    for wl in workloads:
        batch = wl.batch if quick_batch is None else min(wl.batch, quick_batch)
        row = {"workload": wl.name, "description": wl.description, "batch": batch,
               "train": wl.train, "target_ratio": wl.target_ratio,
               "target_rss_ratio": TARGET_RSS_RATIO, "errors": {},
               "neuronet": None, "torch": None, "baseline": None}
        if busy:
            row["busy"] = {fw: None for fw in BUSY_FRAMEWORKS if fw in frameworks}
        rows.append(row)
        fws = [fw for fw in ("neuronet", "torch", "baseline") if fw in frameworks]
        if interleave:
            jobs.append((row, tuple(fws), None))
            continue
        jobs += [(row, fw, False) for fw in fws]
        if busy:
            jobs += [(row, fw, True) for fw in fws if fw in BUSY_FRAMEWORKS]

    def file_result(row, fw, loaded, res, err):
        key = fw + " busy" if loaded else fw
        if loaded:
            row["busy"][fw] = res
        else:
            row[fw] = res
        if err:
            row["errors"][key] = err
        if log:
            if res:
                log(f"  {row['workload']:<20} {key:<13} {res['images_per_s']['median']:>10.1f} img/s  "
                    f"peak RSS {res['peak_rss_mib']:.0f} MiB")
            else:
                log(f"  {row['workload']:<20} {key:<13} FAILED: {err}")

    def job(item):
        row, fw, loaded = item
        if loaded is not None:
            res, err = run_worker(fw, row["workload"], threads, warmup, repeats, steps, rep_time,
                                  row["batch"], timeout, busy=loaded)
            file_result(row, fw, loaded, res, err)
            return
        both = run_interleaved(fw, row["workload"], threads, warmup, repeats, steps, rep_time,
                               row["batch"], timeout, busy)
        for f in fw:
            res, err = both[f]
            loaded_res = None
            if res is not None and "busy" in res:
                # The busy figures come from the same process: its facts, their images/s.
                loaded_res = dict(res, **res.pop("busy"))
            file_result(row, f, False, res, err)
            if busy and f in BUSY_FRAMEWORKS:
                file_result(row, f, True, loaded_res, None)   # a failure is filed once, above

    with _lock:
        _closing[0] = False
    if parallel > 1:
        from concurrent.futures import ThreadPoolExecutor
        pool = ThreadPoolExecutor(max_workers=parallel)
        try:
            list(pool.map(job, jobs))
        except BaseException:
            # Ctrl-C / SIGTERM reach the main thread only: stop every child
            # now rather than wait for the running jobs to finish.
            pool.shutdown(wait=False, cancel_futures=True)
            stop_children()
            raise
        pool.shutdown()
    else:
        for item in jobs:
            job(item)

    def med(res):
        return res["images_per_s"]["median"] if res else None

    for row in rows:
        def rss(fw):
            return row[fw]["peak_rss_mib"] if row[fw] else None
        row["ratio"] = _ratio(med(row["neuronet"]), med(row["torch"]))
        row["ratio_met"] = _met(row["ratio"], row["target_ratio"])
        row["rss_ratio"] = _ratio(rss("neuronet"), rss("torch"))
        row["rss_met"] = _met(row["rss_ratio"], TARGET_RSS_RATIO, at_most=True)
        row["speedup_vs_baseline"] = _ratio(med(row["neuronet"]), med(row["baseline"]))
        if busy:
            # slowdown = quiet images/s / busy images/s (1.0: unaffected).
            row["slowdown"] = {fw: _ratio(med(row[fw]), med(row["busy"][fw])) for fw in row["busy"]}
            nn_s, t_s = row["slowdown"].get("neuronet"), row["slowdown"].get("torch")
            row["busy_met"] = None if nn_s is None or t_s is None else nn_s <= t_s
        report["results"].append(row)

    by_name = {r["workload"]: r for r in rows}
    report["user_vs_zoo"] = []
    for row in rows:
        twin = WORKLOADS[row["workload"]].zoo_twin if row["workload"] in WORKLOADS else None
        if twin in by_name:
            ratio = _ratio(med(row["neuronet"]), med(by_name[twin]["neuronet"]))
            report["user_vs_zoo"].append({"user": row["workload"], "zoo": twin, "ratio": ratio,
                                          "target": TARGET_USER_OVER_ZOO,
                                          "met": _met(ratio, TARGET_USER_OVER_ZOO)})
    report["targets"] = _target_counts(report)
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    report["environment"]["loadavg_end"] = list(load) if load else None
    return report


def _target_counts(report):
    """How many of the run's targets were met, missed, or not measured."""
    marks = []
    for r in report["results"]:
        marks += [r["ratio_met"], r["rss_met"]]
        if "busy_met" in r:
            marks.append(r["busy_met"])
    marks += [u["met"] for u in report["user_vs_zoo"]]
    return {"met": marks.count(True), "missed": marks.count(False),
            "not_measured": marks.count(None)}


# ----------------------------------------------------------------------------- table

def _fmt(v, spec, none="-"):
    return none if v is None else format(v, spec)


def _ips(res):
    if not res:
        return "-"
    i = res["images_per_s"]
    return f"{i['median']:.0f} ({i['min']:.0f}-{i['max']:.0f})"


def _mark(met):
    """The met/missed column: ``met``, ``MISSED`` (capitals: the eye should
    catch those), ``-`` when not measured."""
    return "-" if met is None else ("met" if met else "MISSED")


def _columns(head, rows, left=1):
    """Aligned text table: the first ``left`` columns flush left, the rest right."""
    widths = [max(len(h), *(len(row[i]) for row in rows)) if rows else len(h)
              for i, h in enumerate(head)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(head, widths)).rstrip(),
             "  ".join("-" * w for w in widths)]
    for row in rows:
        lines.append("  ".join(c.ljust(w) if i < left else c.rjust(w)
                               for i, (c, w) in enumerate(zip(row, widths))))
    return lines


def format_table(report):
    """The report as text: a header of environment facts, one row per
    workload with each ratio beside its target and a met/MISSED mark, then
    the user-written / zoo ratios, the busy-machine slowdowns (``--busy``)
    and a count of targets met."""
    env = report["environment"]
    s = report["settings"]
    lines = [
        f"neuronet bench  {env['date']}  {env['cpu']} ({env['cpu_count']} CPUs)",
        f"python {env['python']}  numpy {env['numpy']}  torch {env['torch'] or 'not installed'}  "
        f"BLAS {env['blas']}  threads {env['threads']}  "
        f"OPENBLAS_CORETYPE={env['OPENBLAS_CORETYPE'] or '(unset)'}  "
        f"numba {env.get('numba') or 'not installed'}"
        + (f" (NEURONET_NUMBA={env['NEURONET_NUMBA']})" if env.get("NEURONET_NUMBA") else ""),
        f"load average at start {_load(env.get('loadavg_start'))}, at end "
        f"{_load(env.get('loadavg_end'))}; warm-up {s['warmup_steps']} steps, "
        f"{s['repeats']} timed repetitions of {s['steps_per_repeat']} steps "
        f"(auto: ~{s['rep_time_s']} s each)"
        + ("; frameworks' repetitions interleaved" if s.get("interleave") else "")
        + "; img/s = median (min-max)",
    ]
    if s.get("quick"):
        lines.append("--quick: one tiny step per measurement, workers overlapping -- "
                     "the figures and marks below mean nothing")
    lines.append("")
    has_base = any(r["baseline"] for r in report["results"])
    head = ["workload", "batch", "neuronet img/s", "torch img/s", "ratio", "target", "met"]
    if has_base:
        head += ["baseline img/s", "vs base"]
    head += ["nn RSS MiB", "torch RSS MiB", "RSS ratio", "target", "met", "nn growth MiB", "numba"]
    rows = []
    for r in report["results"]:
        nn = r["neuronet"]
        row = [r["workload"], str(r["batch"]), _ips(nn), _ips(r["torch"]),
               _fmt(r["ratio"], ".2f"), f">={r['target_ratio']:.1f}", _mark(r.get("ratio_met"))]
        if has_base:
            row += [_ips(r["baseline"]), _fmt(r["speedup_vs_baseline"], ".1f", "-") +
                    ("x" if r["speedup_vs_baseline"] is not None else "")]
        loaded = nn.get("numba_loaded") if nn else None
        row += [_fmt(nn and nn["peak_rss_mib"], ".0f"),
                _fmt(r["torch"] and r["torch"]["peak_rss_mib"], ".0f"),
                _fmt(r["rss_ratio"], ".2f"), f"<={TARGET_RSS_RATIO}", _mark(r.get("rss_met")),
                _fmt(nn and nn["rss_mib"]["growth"], "+.1f"),
                "-" if loaded is None else ("loaded" if loaded else "no")]
        rows.append(row)
    lines += _columns(head, rows)
    lines.append("")
    lines.append(f"ratio = neuronet/PyTorch images/s (target: the issue's); RSS ratio = neuronet/PyTorch "
                 f"peak RSS, target <= {TARGET_RSS_RATIO}; growth = RSS after the last step minus after "
                 "step ~10 (after warm-up in short runs); numba = whether the neuronet worker loaded "
                 "numba (and LLVM).")

    pairs = report.get("user_vs_zoo") or []
    if pairs:
        lines += ["", f"user-written / zoo LeNet-5, neuronet images/s (target >= {TARGET_USER_OVER_ZOO}):"]
        lines += _columns(["user-written", "zoo", "ratio", "target", "met"],
                          [[u["user"], u["zoo"], _fmt(u["ratio"], ".2f"),
                            f">={u['target']}", _mark(u["met"])] for u in pairs], left=2)

    if s.get("busy"):
        lines += ["", "under one concurrent CPU-busy process (a pure-Python spin loop); "
                      "slowdown = quiet img/s / busy img/s; target: neuronet's <= PyTorch's:"]
        brows = []
        for r in report["results"]:
            b, sl = r["busy"], r["slowdown"]
            brows.append([r["workload"], _ips(b.get("neuronet")), _fmt(sl.get("neuronet"), ".2f"),
                          _ips(b.get("torch")), _fmt(sl.get("torch"), ".2f"),
                          _mark(r.get("busy_met"))])
        lines += _columns(["workload", "neuronet busy img/s", "slowdown", "torch busy img/s",
                           "slowdown", "nn <= torch"], brows)

    t = report.get("targets")
    if t:
        lines += ["", f"targets: {t['met']} met, {t['missed']} missed"
                      + (f", {t['not_measured']} not measured" if t["not_measured"] else "")]
    for r in report["results"]:
        for fw, err in r["errors"].items():
            lines.append(f"error: {r['workload']} on {fw}: {err}")
        nn = r["neuronet"]
        if nn and not r["train"] and not nn["check"].get("graph_free", True):
            lines.append(f"warning: {r['workload']}: no_grad inference built a graph")
        if nn and not nn["check"].get("params_updated_in_place", True):
            lines.append(f"warning: {r['workload']}: SGD replaced parameter arrays (not in place)")
    return "\n".join(lines)


def _load(v):
    return "-" if not v else "/".join(f"{x:.1f}" for x in v)
