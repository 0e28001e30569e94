"""neuronet.amp: GradScaler's loss-scaling algorithm as PyTorch's; autocast accepted."""
import warnings

import numpy as np
import pytest

import neuronet as nt
from tests.helpers import requires_torch, torch

W0 = np.array([[0.5, -1.0], [2.0, 0.25]], dtype=np.float32)
X = np.array([[1.0, 2.0], [3.0, -1.0], [0.5, 0.5]], dtype=np.float32)


def _run(lib, init_scale, growth_interval, steps=6):
    w = lib.tensor(W0.copy(), requires_grad=True)
    opt = lib.optim.SGD([w], lr=0.01)
    scaler = lib.amp.GradScaler("cpu", init_scale=init_scale, growth_interval=growth_interval)
    scales, weights = [], []
    for _ in range(steps):
        opt.zero_grad()
        loss = ((lib.tensor(X) @ w) ** 2).sum()
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        scales.append(float(scaler.get_scale()))
        weights.append(w.detach().numpy().copy())
    return scales, weights


@requires_torch
@pytest.mark.parametrize("init_scale,growth_interval", [(1e38, 2000), (1024.0, 2)])
def test_grad_scaler_matches_torch(init_scale, growth_interval):
    s_nt, w_nt = _run(nt, init_scale, growth_interval)
    s_th, w_th = _run(torch, init_scale, growth_interval)
    assert s_nt == s_th                       # backoff after overflow, growth after clean steps
    for a, b in zip(w_nt, w_th):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_disabled_scaler_passes_through():
    scaler = nt.amp.GradScaler(enabled=False)
    loss = nt.tensor(2.0)
    assert scaler.scale(loss) is loss and not scaler.is_enabled() and scaler.get_scale() == 1.0
    w = nt.tensor([1.0], requires_grad=True)
    opt = nt.optim.SGD([w], lr=0.5)
    (w * 2).sum().backward()
    scaler.step(opt)
    scaler.update()
    assert w.tolist() == [0.0]


def test_unscale_twice_is_an_error():
    w = nt.tensor([1.0], requires_grad=True)
    opt = nt.optim.SGD([w], lr=0.5)
    scaler = nt.amp.GradScaler()
    scaler.scale((w * 2).sum()).backward()
    scaler.unscale_(opt)
    assert w.grad.tolist() == [2.0]
    with pytest.raises(RuntimeError, match="already been called"):
        scaler.unscale_(opt)


def test_autocast_runs_in_full_precision_and_says_so():
    x = nt.ones(2, 2)
    import neuronet.amp as amp
    amp._warned = False
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with nt.autocast("cpu", dtype=nt.float16):
            y = x @ x
    assert y.dtype == nt.float32
    assert any("full precision" in str(w.message) for w in caught)
    with nt.autocast("cpu", enabled=False):
        pass
