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
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _runner as R  # noqa: E402

SCRIPTS = sorted(p.name for p in R.SCRIPTS.glob("[0-9]*.py"))
COMPARED = [s for s in SCRIPTS if (lambda sp: sp.exact or sp.exact_all or sp.repr)(R.read_spec(R.SCRIPTS / s))]


def _need_torch():
    if not R.torch_available():
        if os.environ.get("NEURONET_REQUIRE_TORCH") == "1":
            pytest.fail("NEURONET_REQUIRE_TORCH=1 but PyTorch is not importable")
        pytest.skip("PyTorch not installed (the oracle)")


def test_there_are_enough_scripts():
    assert len(SCRIPTS) >= 14


@pytest.mark.parametrize("name", SCRIPTS)
def test_reference_torch(name):
    _need_torch()
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
    if R.torch_available():
        ref = R.run_script(name, "torch")
        bad += [f"RESULT {k} printed on PyTorch but not on neuronet" for k in ref.results if k not in run.results]
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("name", COMPARED)
def test_matches_torch(name):
    _need_torch()
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
    out = R.to_torch(src, torchvision=True)
    body = out[len(R.TORCHVISION_PRELUDE):]
    assert body == ("import torch\nfrom torch import nn, optim\nimport torch.nn.functional as F\n"
                    "from torch.utils.data import DataLoader\nfrom torchvision import datasets, transforms\n")
    assert "_tv_shim" in R.to_torch(src, torchvision=False)
