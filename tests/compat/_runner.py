"""Run a compatibility script under neuronet and, rewritten, under PyTorch.

Each script in ``scripts/`` is ordinary PyTorch tutorial code whose imports
name neuronet (``import neuronet as torch``, ``from neuronet.vision import
datasets``...). It prints its key results as lines ``RESULT <name> <value>``
and may print tensors between ``BEGIN_REPR <name>`` / ``END_REPR`` lines.
Comment lines at its top say what the runner checks::

    # compat: expect <name> <op> <value>    a named check on both frameworks
    # compat: exact <name> [rtol] [atol]    same number(s) as PyTorch
    # compat: exact-all [rtol] [atol]       every numeric RESULT as PyTorch
    # compat: repr                          every REPR block as PyTorch prints it
    # compat: timeout <seconds>

The PyTorch reference run is the same text with the imports rewritten by
``to_torch`` (and a prelude that lets torchvision 0.x import beside a CPU
torch build that lacks its compiled operators). The neuronet runs find
stand-in ``torch``/``torchvision`` packages that refuse to import first on
their path, so nothing can quietly run on the real PyTorch.

To reproduce one script by hand: ``python tests/compat/_runner.py 06_mnist_cnn.py``
(``--torch`` for the PyTorch run, ``-v`` for its whole output).
"""
import concurrent.futures
import functools
import gzip
import importlib.util
import math
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = HERE / "scripts"
REPO = HERE.parent.parent
SAMPLE = REPO / "neuronet" / "data" / "sample"

# import rewrites, applied in this order (vision first: it becomes a separate package)
REWRITES = [
    (r"\bneuronet\.vision\b", "torchvision"),
    (r"\bneuronet\.utils\b", "torch.utils"),
    (r"\bimport neuronet as torch\b", "import torch"),
    (r"\bneuronet\b", "torch"),
]

# torchvision's Python package registers fake kernels for its C++ operators
# ``nms``/``qnms`` at import; with a torch wheel that does not ship them that
# fails ("operator torchvision::nms does not exist") unless they are declared.
TORCHVISION_PRELUDE = '''\
import torch.library as _compat_tl
try:
    _compat_tvlib = _compat_tl.Library("torchvision", "DEF")
    _compat_tvlib.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    _compat_tvlib.define("qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
except RuntimeError:  # already defined by a torchvision build with its operators
    pass
'''

DIRECTIVE = re.compile(r"^#\s*compat:\s*(\S+)\s*(.*)$")
RESULT = re.compile(r"^RESULT (\S+) ?(.*)$")


def parse_value(text):
    """``True``/``False`` -> bool, numbers -> float, ``a,b,c`` -> list, else the string."""
    text = text.strip()
    if text in ("True", "False"):
        return text == "True"
    if "," in text:
        return [parse_value(t) for t in text.split(",")]
    try:
        return float(text)
    except ValueError:
        return text


@dataclass
class Spec:
    expects: list = field(default_factory=list)   # (name, op, value)
    exact: dict = field(default_factory=dict)     # name -> (rtol, atol)
    exact_all: tuple = None                       # (rtol, atol) or None
    repr: bool = False
    timeout: float = 120.0


def read_spec(path):
    spec = Spec()
    for line in Path(path).read_text().splitlines():
        m = DIRECTIVE.match(line)
        if not m:
            continue
        kind, rest = m.group(1), m.group(2).split()
        if kind == "expect":
            spec.expects.append((rest[0], rest[1], parse_value(" ".join(rest[2:]))))
        elif kind == "exact":
            tol = [float(t) for t in rest[1:]] + [1e-5, 1e-7][len(rest) - 1:]
            spec.exact[rest[0]] = (tol[0], tol[1])
        elif kind == "exact-all":
            tol = [float(t) for t in rest] + [1e-5, 1e-7][len(rest):]
            spec.exact_all = (tol[0], tol[1])
        elif kind == "repr":
            spec.repr = True
        elif kind == "timeout":
            spec.timeout = float(rest[0])
        else:
            raise ValueError(f"{path}: unknown directive '# compat: {kind}'")
    return spec


def to_torch(source):
    """The PyTorch text of a script: imports rewritten, torchvision's prelude added if used."""
    for pattern, repl in REWRITES:
        source = re.sub(pattern, repl, source)
    if uses_torchvision(source):
        source = TORCHVISION_PRELUDE + source
    return source


def uses_torchvision(source):
    return "torchvision" in source or "neuronet.vision" in source


@dataclass
class Run:
    framework: str
    returncode: int
    stdout: str
    stderr: str
    results: dict
    reprs: dict
    seconds: float = 0.0

    def failure(self):
        tail = "\n".join(self.stderr.strip().splitlines()[-25:])
        return f"{self.framework} run exited {self.returncode}\n--- stderr (tail) ---\n{tail}"


def parse_output(stdout):
    results, reprs, block = {}, {}, None
    for line in stdout.splitlines():
        if block is not None:
            if line == "END_REPR":
                block = None
            else:
                reprs[block].append(line)
            continue
        if line.startswith("BEGIN_REPR "):
            block = line.split(" ", 1)[1]
            reprs[block] = []
            continue
        m = RESULT.match(line)
        if m:
            results[m.group(1)] = parse_value(m.group(2))
    return results, reprs


@functools.lru_cache(None)
def torch_available():
    return importlib.util.find_spec("torch") is not None


@functools.lru_cache(None)
def torchvision_usable():
    if importlib.util.find_spec("torchvision") is None:
        return False
    probe = TORCHVISION_PRELUDE + "import torchvision\nfrom torchvision import datasets, transforms\n"
    r = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    return r.returncode == 0


@functools.lru_cache(None)
def data_root():
    """A folder laid out as torchvision's MNIST expects (``MNIST/raw/<idx file>``,
    uncompressed) holding the bundled real-MNIST sample."""
    root = Path(tempfile.mkdtemp(prefix="compat-data-"))
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for gz in sorted(SAMPLE.glob("*-ubyte.gz")):
        (raw / gz.name[:-3]).write_bytes(gzip.decompress(gz.read_bytes()))
    return str(root)


@functools.lru_cache(None)
def torch_blocker():
    """A folder whose ``torch`` and ``torchvision`` packages raise ImportError:
    first on the neuronet runs' path, so a script (or neuronet) that reached for
    the real PyTorch would fail instead of silently passing on it."""
    root = Path(tempfile.mkdtemp(prefix="compat-no-torch-"))
    for name in ("torch", "torchvision"):
        (root / name).mkdir()
        (root / name / "__init__.py").write_text(
            f"raise ImportError('compat: the neuronet run imported {name}; scripts must use neuronet only')\n")
    return str(root)


def _env(framework):
    env = dict(os.environ)
    env["DATA_ROOT"] = data_root()
    path = [str(REPO), str(HERE)]
    if framework == "neuronet":
        path.insert(0, torch_blocker())
    env["PYTHONPATH"] = os.pathsep.join(path + [p for p in [env.get("PYTHONPATH")] if p])
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        env.setdefault(var, "1")
    env.setdefault("PYTHONHASHSEED", "0")
    return env


_POOL = None
_FUTURES = {}
_LOCK = threading.Lock()


def submit(name, framework):
    """Start (once per session) the run of ``scripts/<name>`` under ``framework``
    on a small thread pool of subprocesses; returns its future."""
    global _POOL
    with _LOCK:
        if (name, framework) not in _FUTURES:
            if _POOL is None:
                workers = int(os.environ.get("COMPAT_WORKERS", min(4, max(2, os.cpu_count() or 1))))
                _POOL = concurrent.futures.ThreadPoolExecutor(max_workers=workers)
            _FUTURES[name, framework] = _POOL.submit(_run_script, name, framework)
        return _FUTURES[name, framework]


def run_script(name, framework):
    """The (cached) run of ``scripts/<name>`` under ``framework`` ("neuronet" or "torch")."""
    return submit(name, framework).result()


def _run_script(name, framework):
    path = SCRIPTS / name
    spec = read_spec(path)
    source = path.read_text()
    if framework == "torch":
        source = to_torch(source)
    workdir = Path(tempfile.mkdtemp(prefix=f"compat-{framework}-"))
    script = workdir / name
    script.write_text(source)
    start = time.perf_counter()
    try:
        r = subprocess.run([sys.executable, str(script)], cwd=workdir, env=_env(framework), capture_output=True,
                           text=True, timeout=spec.timeout)
        code, out, err = r.returncode, r.stdout, r.stderr
    except subprocess.TimeoutExpired as e:
        code = -1
        out = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        err = (e.stderr.decode() if isinstance(e.stderr, bytes) else (e.stderr or "")) + \
            f"\nTIMEOUT after {spec.timeout} s"
    results, reprs = parse_output(out)
    return Run(framework, code, out, err, results, reprs, time.perf_counter() - start)


_OPS = {"==": lambda a, b: a == b, "!=": lambda a, b: a != b, ">=": lambda a, b: a >= b,
        "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, "<": lambda a, b: a < b}


def check_expectations(run, spec):
    """The named checks; returns a list of failure lines."""
    bad = []
    for name, op, value in spec.expects:
        if name not in run.results:
            bad.append(f"RESULT {name} missing")
            continue
        got = run.results[name]
        try:
            ok = _OPS[op](got, value)
        except TypeError:
            ok = False
        if not ok:
            bad.append(f"expected {name} {op} {value}, got {got!r}")
    return bad


def close(a, b, rtol, atol):
    if isinstance(a, list) or isinstance(b, list):
        return (isinstance(a, list) and isinstance(b, list) and len(a) == len(b)
                and all(close(x, y, rtol, atol) for x, y in zip(a, b)))
    if isinstance(a, bool) or isinstance(b, bool) or isinstance(a, str) or isinstance(b, str):
        return a == b
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return abs(a - b) <= atol + rtol * abs(b)


def compare_exact(ours, ref, spec):
    """Results marked exact-comparable against PyTorch's; returns failure lines."""
    names = dict(spec.exact)
    if spec.exact_all is not None:
        for name in ref.results:
            names.setdefault(name, spec.exact_all)
    bad = []
    for name, (rtol, atol) in sorted(names.items()):
        if name not in ref.results:
            bad.append(f"{name}: missing from the PyTorch run (script bug)")
        elif name not in ours.results:
            bad.append(f"{name}: missing")
        elif not close(ours.results[name], ref.results[name], rtol, atol):
            bad.append(f"{name}: neuronet {ours.results[name]!r} != torch {ref.results[name]!r} "
                       f"(rtol={rtol}, atol={atol})")
    return bad


def compare_reprs(ours, ref):
    """Printed blocks line by line; the module's own name is the one thing
    allowed to differ (``neuronet.float32`` prints where torch has ``torch.float32``)."""
    bad = []
    for name, lines in ref.reprs.items():
        got = ours.reprs.get(name)
        if got is not None:
            got = [re.sub(r"\bneuronet\b", "torch", line) for line in got]
        if got is None:
            bad.append(f"REPR {name}: missing")
        elif got != lines:
            bad.append(f"REPR {name}:\n  torch:    " + "\n            ".join(lines)
                       + "\n  neuronet: " + "\n            ".join(got))
    return bad


def main(argv=None):
    """``python tests/compat/_runner.py [SCRIPT ...] [--torch]``: run scripts (all by
    default) on neuronet, or on PyTorch with --torch, and print each one's outcome."""
    import argparse
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("scripts", nargs="*", help="file names in tests/compat/scripts (default: all)")
    parser.add_argument("--torch", action="store_true", help="run the rewritten script on PyTorch")
    parser.add_argument("-v", "--verbose", action="store_true", help="print the whole output")
    args = parser.parse_args(argv)
    framework = "torch" if args.torch else "neuronet"
    names = args.scripts or sorted(p.name for p in SCRIPTS.glob("[0-9]*.py"))
    for name in names:
        run = run_script(os.path.basename(name), framework)
        bad = check_expectations(run, read_spec(SCRIPTS / os.path.basename(name))) if run.returncode == 0 else []
        status = "PASS" if run.returncode == 0 and not bad else "FAIL"
        print(f"{status} {name} ({framework}, {run.seconds:.1f} s)")
        if args.verbose:
            print(run.stdout)
        if run.returncode != 0:
            print("  " + run.failure().replace("\n", "\n  "))
        for line in bad:
            print("  " + line)


if __name__ == "__main__":
    main()
