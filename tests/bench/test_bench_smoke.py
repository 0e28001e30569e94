"""Smoke tests of ``python -m neuronet.bench``: the command runs end to end
(one tiny iteration per workload), its JSON has numbers where they belong and
nulls where a framework is absent; the per-op timer and the NumPy baseline
are checked in-process. Benchmark *speed* is not tested here."""
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import neuronet as nt
from neuronet.bench.workloads import WORKLOADS, make_data, parse_workloads
from helpers import requires_torch, torch

ROOT = Path(__file__).resolve().parents[2]


def _run(*args, timeout=120):
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    proc = subprocess.run([sys.executable, "-m", "neuronet.bench", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"exit {proc.returncode}\nstdout:\n{proc.stdout[-2000:]}\nstderr:\n{proc.stderr[-2000:]}"
    return proc.stdout


def _check_result(res, framework, workload, batch):
    assert res["framework"] == framework and res["workload"] == workload
    assert res["batch"] == batch
    ips = res["images_per_s"]
    assert 0 < ips["min"] <= ips["median"] <= ips["max"] and np.isfinite(ips["max"])
    assert res["peak_rss_mib"] > 10
    if WORKLOADS[workload].train:
        assert np.isfinite(res["check"]["loss"]) and res["check"]["loss"] > 0
        if framework == "neuronet":
            assert res["check"]["params_updated_in_place"] is True
    else:
        assert res["check"]["graph_free"] is True, "no_grad inference built a graph"
        assert res["check"]["out_shape"] == [batch, 10]


def test_quick_json_every_workload():
    report = json.loads(_run("--quick", "--json"))
    env = report["environment"]
    assert env["threads"] == 2 and env["numpy"] == np.__version__
    assert [r["workload"] for r in report["results"]] == list(WORKLOADS)
    for r in report["results"]:
        assert r["errors"] == {}
        assert r["batch"] == min(WORKLOADS[r["workload"]].batch, 8)
        _check_result(r["neuronet"], "neuronet", r["workload"], r["batch"])
        assert r["baseline"] is None and r["speedup_vs_baseline"] is None
        if torch is None:
            assert r["torch"] is None and r["ratio"] is None and r["rss_ratio"] is None
        else:
            _check_result(r["torch"], "torch", r["workload"], r["batch"])
            nn_ips = r["neuronet"]["images_per_s"]["median"]
            assert r["ratio"] == pytest.approx(nn_ips / r["torch"]["images_per_s"]["median"])
            assert r["rss_ratio"] == pytest.approx(
                r["neuronet"]["peak_rss_mib"] / r["torch"]["peak_rss_mib"])


def test_quick_without_torch_with_baseline_table():
    out = _run("--quick", "--no-torch", "--baseline", "--workloads", "lenet64")
    lines = out.splitlines()
    assert "threads 2" in lines[1] and "OPENBLAS_CORETYPE=" in lines[1]
    rows = [ln for ln in lines if ln.startswith("lenet64 ")]
    assert len(rows) == 1 and "error" not in out
    # torch columns empty ("-"), the baseline's speedup filled ("1.3x").
    assert " - " in rows[0] and "x " in rows[0]


def test_quick_json_without_torch():
    report = json.loads(_run("--quick", "--json", "--no-torch", "--baseline", "--workloads",
                             "lenet64,lenet-infer1000"))
    assert [r["workload"] for r in report["results"]] == ["lenet64", "lenet-infer1000"]
    for r in report["results"]:
        assert r["torch"] is None and r["ratio"] is None and r["rss_ratio"] is None
        _check_result(r["neuronet"], "neuronet", r["workload"], 8)
        _check_result(r["baseline"], "baseline", r["workload"], 8)
        assert r["speedup_vs_baseline"] > 0


def test_profile_command_names_the_ops():
    r = json.loads(_run("profile", "lenet64", "--quick", "--json"))
    assert r["workload"] == "lenet64" and r["batch"] == 8 and r["steps"] == 1
    names = {o["op"] for o in r["ops"]}
    assert any("conv" in n.lower() for n in names), names
    conv = next(o for o in r["ops"] if "conv" in o["op"].lower())
    assert conv["calls_per_step"] == 2 and conv["fwd_ms"] > 0 and conv["bwd_ms"] > 0
    assert {"forward", "backward", "optimizer.step", "zero_grad"} <= set(r["phases_ms"])
    assert r["ops_ms"] <= r["step_ms"]


def test_micro_command_json():
    r = json.loads(_run("micro", "--quick", "--json", "--baseline"))
    assert [row["op"] for row in r["rows"]] == _case_ops()    # one case of every op
    for row in r["rows"]:
        assert row["errors"] == {}, row
        assert row["neuronet"]["fwd_ms"] > 0
        has_bwd = row["op"] not in ("im2col", "col2im")
        assert (row["neuronet"]["bwd_ms"] is not None) == has_bwd
        assert (row["torch"] is None) == (torch is None)
        if row["op"] in ("conv2d", "max_pool2d", "im2col", "col2im"):
            assert row["baseline"]["fwd_ms"] > 0


def _case_ops():
    from neuronet.bench.micro import CASES
    ops = []
    for _, spec in CASES:
        if spec["op"] not in ops:
            ops.append(spec["op"])
    return ops


def test_op_timer_counts_calls_and_restores_methods():
    from neuronet import nn
    from neuronet.autograd.function import Function
    from neuronet.bench.profile import OpTimer, _all_subclasses
    from neuronet.nn import functional as F

    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(2 * 4 * 4, 3))
    x = nt.randn(2, 1, 6, 6)
    before = {(c, k): c.__dict__.get(k) for c in _all_subclasses(Function) for k in ("forward", "backward")}
    with OpTimer() as timer:
        F.cross_entropy(model(x), nt.tensor([0, 2])).backward()
        F.cross_entropy(model(x), nt.tensor([1, 2])).backward()
    after = {(c, k): c.__dict__.get(k) for c in _all_subclasses(Function) for k in ("forward", "backward")}
    assert before == after
    conv = [(k, v) for k, v in timer.stats.items() if "conv" in k[0].lower()]
    assert {k[1] for k, _ in conv} == {"forward", "backward"}
    assert all(v[0] == 2 and v[1] > 0 for _, v in conv)


def test_parse_workloads():
    assert [w.name for w in parse_workloads("lenet64,vgg")] == ["lenet64", "vgg"]
    assert len(parse_workloads(None)) == len(WORKLOADS)
    with pytest.raises(ValueError, match="lenet65"):
        parse_workloads("lenet65")


def _baseline():
    path = ROOT / "bench" / "baselines" / "naive_numpy.py"
    spec = importlib.util.spec_from_file_location("naive_numpy_under_test", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@requires_torch
@pytest.mark.parametrize("model, workload", [("lenet5", "lenet64"), ("resnet20", "resnet20")])
def test_baseline_computes_what_torch_computes(model, workload):
    """The baseline is honest only if it does the same work: same loss and
    gradients as the PyTorch twin with copied weights, in float64."""
    from neuronet.bench._torch_models import build_torch_model
    B = _baseline()
    m = B.build_model(model)
    for p in m.params():
        p.data = p.data.astype(np.float64)
    tm = build_torch_model(model).double()
    bp, tp = list(m.params()), list(tm.parameters())
    assert len(bp) == len(tp)
    with torch.no_grad():
        for a, b in zip(bp, tp):
            b.copy_(torch.from_numpy(a.data))
    x, y = make_data(WORKLOADS[workload], 3)
    x = x.astype(np.float64)
    opt = B.MomentumSGD(m.params(), lr=0.0)       # lr 0: the step leaves weights as compared
    loss = B.train_step(m, opt, x, y)
    t_loss = torch.nn.functional.cross_entropy(tm(torch.from_numpy(x)), torch.from_numpy(y))
    t_loss.backward()
    np.testing.assert_allclose(float(loss.data), t_loss.item(), rtol=1e-10)
    for a, b in zip(bp, tp):
        np.testing.assert_allclose(a.grad, b.grad.numpy(), rtol=1e-7, atol=1e-10)
