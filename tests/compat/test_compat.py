"""Issue 10's goal, checked end to end: PyTorch tutorial-style scripts run on
neuronet with only their imports changed, and learn as they do on PyTorch.

For each script in ``scripts/`` (see ``_runner.py`` for the directives):

- ``test_runs_on_neuronet``: exits 0 under neuronet, prints every RESULT the
  PyTorch run prints, and passes the script's named checks (loss fell,
  accuracy above a floor, resume identical...).
- ``test_reference_torch``: the same text with the imports rewritten runs on
  PyTorch and passes the same checks (the scripts themselves are right).
- ``test_matches_torch``: results marked exact-comparable (data and initial
  weights from formulas, not from a random generator) equal PyTorch's within
  the stated tolerance, and printed tensors match PyTorch's lines.
"""
import os
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _runner as R  # noqa: E402

SCRIPTS = sorted(p.name for p in R.SCRIPTS.glob("[0-9]*.py"))
COMPARED = [s for s in SCRIPTS if (lambda sp: sp.exact or sp.exact_all or sp.repr)(R.read_spec(R.SCRIPTS / s))]


@pytest.fixture(scope="module", autouse=True)
def _start_all_runs(request):
    """Queue every selected run at once so the subprocesses overlap (they are
    mostly interpreter start-up and single-threaded NumPy)."""
    selected = {getattr(item, "callspec", None) and item.callspec.params.get("name")
                for item in request.session.items}
    for name in SCRIPTS:
        if name in selected:
            R.submit(name, "neuronet")
            if _reference_available(name):
                R.submit(name, "torch")
    yield


def _need_torch(name):
    """Skip (or, under NEURONET_REQUIRE_TORCH=1, fail) when the oracle is missing:
    PyTorch, and torchvision for the scripts that use the vision namespace."""
    missing = None
    if not R.torch_available():
        missing = "PyTorch not installed (the oracle)"
    elif R.uses_torchvision((R.SCRIPTS / name).read_text()) and not R.torchvision_usable():
        missing = "torchvision not importable (pip install --no-deps torchvision==0.28.0)"
    if missing:
        if os.environ.get("NEURONET_REQUIRE_TORCH") == "1":
            pytest.fail(f"NEURONET_REQUIRE_TORCH=1 but {missing}")
        pytest.skip(missing)


def _reference_available(name):
    return R.torch_available() and (not R.uses_torchvision((R.SCRIPTS / name).read_text())
                                    or R.torchvision_usable())


def test_there_are_enough_scripts():
    assert len(SCRIPTS) >= 14


@pytest.mark.parametrize("name", SCRIPTS)
def test_script_imports_only_neuronet(name):
    """The scripts are PyTorch code with only the imports changed: nothing of
    torch's own may be imported (the neuronet runs also block it on the path)."""
    text = (R.SCRIPTS / name).read_text()
    direct = re.findall(r"^\s*(?:import|from)\s+(?:torch|torchvision)\b.*$", text, flags=re.M)
    assert not direct, f"{name} imports PyTorch directly: {direct}"
    assert re.search(r"^import neuronet as torch$", text, flags=re.M) or "from neuronet" in text


@pytest.mark.parametrize("name", SCRIPTS)
def test_reference_torch(name):
    _need_torch(name)
    run = R.run_script(name, "torch")
    assert run.returncode == 0, run.failure()
    bad = R.check_expectations(run, R.read_spec(R.SCRIPTS / name))
    assert not bad, "the script fails its own checks on PyTorch:\n" + "\n".join(bad)


@pytest.mark.parametrize("name", SCRIPTS)
def test_runs_on_neuronet(name):
    spec = R.read_spec(R.SCRIPTS / name)
    run = R.run_script(name, "neuronet")
    assert run.returncode == 0, run.failure()
    bad = R.check_expectations(run, spec)
    if _reference_available(name):
        ref = R.run_script(name, "torch")
        bad += [f"RESULT {k} printed on PyTorch but not on neuronet" for k in ref.results if k not in run.results]
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("name", COMPARED)
def test_matches_torch(name):
    _need_torch(name)
    spec = R.read_spec(R.SCRIPTS / name)
    ref = R.run_script(name, "torch")
    assert ref.returncode == 0, ref.failure()
    ours = R.run_script(name, "neuronet")
    assert ours.returncode == 0, ours.failure()
    bad = R.compare_exact(ours, ref, spec)
    if spec.repr:
        bad += R.compare_reprs(ours, ref)
    assert not bad, "\n".join(bad)


def test_rewrite_map():
    src = ("import neuronet as torch\nfrom neuronet import nn, optim\nimport neuronet.nn.functional as F\n"
           "from neuronet.utils.data import DataLoader\nfrom neuronet.vision import datasets, transforms\n")
    out = R.to_torch(src)
    assert out.startswith(R.TORCHVISION_PRELUDE)
    body = out[len(R.TORCHVISION_PRELUDE):]
    assert body == ("import torch\nfrom torch import nn, optim\nimport torch.nn.functional as F\n"
                    "from torch.utils.data import DataLoader\nfrom torchvision import datasets, transforms\n")
    assert "neuronet" not in R.to_torch(src)
    assert not R.to_torch("import neuronet as torch\n").startswith(R.TORCHVISION_PRELUDE)


def test_neuronet_runs_cannot_import_torch():
    import subprocess
    r = subprocess.run([sys.executable, "-c", "import torch"], env=R._env("neuronet"), capture_output=True, text=True)
    assert r.returncode != 0 and "compat: the neuronet run imported torch" in r.stderr
