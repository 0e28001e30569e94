"""Smoke test of ``python -m neuronet.bench data``: the DataLoader workers
benchmark runs end to end and reports both settings and their ratio (its
speed is not tested: 2 shared cores make it a matter of load)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="uses worker processes (fork)")
def test_data_benchmark_quick_json():
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    proc = subprocess.run([sys.executable, "-m", "neuronet.bench", "data", "--quick", "--json"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    r = json.loads(proc.stdout)
    assert r["samples"] == 256 and r["workers"] == 2 and r["repeats"] == 1
    ips = {k: v["median"] for k, v in r["images_per_s"].items()}
    assert set(ips) == {"0", "2"} and all(v > 0 for v in ips.values())
    assert r["speedup"] == pytest.approx(ips["2"] / ips["0"])
    assert "RandomAffine" in r["pipeline"] and r["worker_startup_s"] > 0
